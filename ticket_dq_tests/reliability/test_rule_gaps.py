"""Inputs users expect to be flagged, through `ticket-dq materialize` on hand-made files: negative money
and seats, a key sent again in a later file, GBK text that happens to be valid UTF-8."""

from __future__ import annotations

from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, sample_row
from ticket_dq_tests.reliability.test_landing_faults import DAY, _materialize, _partner_rows, _sql

# Common GB2312 characters whose GBK bytes are also valid two-byte UTF-8 (they read as Latin/Cyrillic).
GBK_AND_UTF8 = "茂路陆鹿卢庐山麓芦炉"


def _failed(env, asset: str) -> dict[str, int]:
    return dict(_sql(env, "SELECT expectation, sum(unexpected_count) FROM dq.validation_results "
                          "WHERE asset = ? AND NOT success GROUP BY ALL", [asset]))


def test_negative_fees_seats_and_prices_fail_validation(isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    rows = _partner_rows(4)
    rows[1]["service_fee_fen"] = "-300"
    rows[2]["seats_available"] = "-5"
    deliver(landing, "partner_schedule", "FH", DAY, "FH_1000", csv_bytes(rows), 4)
    orders = [sample_row("orders", order_id=f"O{i}", status="PAID", event_ts=f"{DAY} 09:00:00",
                         show_start_time=f"{DAY} 20:00:00", seats="1排1座,1排2座", ticket_count="2",
                         unit_price_fen="4000", service_fee_fen="300", total_fen="8300") for i in range(3)]
    orders[0].update(unit_price_fen="-4000", total_fen="-7700")
    deliver(landing, "orders", "internal", DAY, "orders_09", csv_bytes(orders), 3)
    _materialize(monkeypatch, "key:raw/partner_schedule", "key:raw/orders")

    assert _failed(isolated_env, "raw.partner_schedule").get("partner_schedule_amounts_non_negative") == 2
    assert _failed(isolated_env, "raw.orders").get("orders_amounts_non_negative") == 1


def test_a_key_delivered_again_in_a_later_file_is_reported_without_blocking(isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    row = sample_row("orders", order_id="O1", status="PAID", event_ts=f"{DAY} 09:00:00", seats="1排1座",
                     ticket_count="1", unit_price_fen="4000", service_fee_fen="300", total_fen="4300",
                     show_start_time=f"{DAY} 20:00:00")
    deliver(landing, "orders", "internal", DAY, "orders_09", csv_bytes([row]), 1)
    _materialize(monkeypatch, "key:raw/orders")
    assert _failed(isolated_env, "raw.orders") == {}
    other = dict(row, order_id="O2")
    deliver(landing, "orders", "internal", DAY, "orders_10", csv_bytes([row, other]), 2)
    _materialize(monkeypatch, "key:raw/orders")
    failed = _failed(isolated_env, "raw.orders")
    assert failed == {"orders_key_unique_across_files": 1}, failed  # WARN: the ERROR key rules all pass


def test_gbk_text_that_is_also_valid_utf8_is_ingested_with_a_warning(isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    rows = [sample_row("complaints", complaint_id=f"C{i}", channel="APP", category="OTHER", order_id="",
                       cinema_code="", description=GBK_AND_UTF8) for i in range(3)]
    body = csv_bytes(rows, encoding="gbk")
    body.decode("utf-8")  # the trap: valid UTF-8 too
    deliver(landing, "complaints", "internal", DAY, "gbk", body, 3)
    utf8 = [dict(r, complaint_id=f"U{i}") for i, r in enumerate(rows)]
    deliver(landing, "complaints", "internal", DAY, "utf8", csv_bytes(utf8), 3)
    logs = _materialize(monkeypatch, "key:raw/complaints")
    ledger = dict(_sql(isolated_env, "SELECT stem, reason FROM meta.ingested_files"))
    assert "reads like GBK" in (ledger["gbk"] or "")
    assert ledger["utf8"] is None  # real UTF-8 Chinese is not suspected
    assert "gbk.csv: valid UTF-8 that reads like GBK" in logs
