"""Every shape CONTRACT.md section 1 allows for a file: CSV or JSON Lines for any feed, and each money
column in integer fen (`x_fen`) or decimal yuan (`x_yuan`), converted exactly to fen."""

from __future__ import annotations

import pytest

from ticket_dq.lib import contract, ingest, variants
from ticket_dq_tests.ingest.conftest import NOW
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, jsonl_bytes, sample_row


def _yuan_row(feed: str, **values) -> dict:
    """A sample row whose money columns are named ``*_yuan`` (values given as yuan strings)."""
    row = {}
    for name, value in sample_row(feed).items():
        stem = variants.money_stem(name, dict(contract.FEEDS[feed].columns)[name])
        row[f"{stem}_yuan" if stem else name] = value
    row.update(values)
    return row


def test_as_delivered_renames_money_to_the_unit_the_file_uses_and_keeps_the_raw_table():
    feed = contract.FEEDS["orders"]
    names = [n.replace("_fen", "_yuan") for n in feed.contract_names]
    shaped = variants.as_delivered(feed, "jsonl", names)
    assert shaped.fmt == "jsonl" and "total_yuan" in shaped.contract_names and "total_fen" not in shaped.contract_names
    assert shaped.raw_columns() == feed.raw_columns()
    assert variants.as_delivered(feed, "csv", feed.contract_names) is feed
    crawl = contract.FEEDS["competitor_schedule"]
    assert "price_fen" in variants.as_delivered(crawl, "csv", ["price_fen"]).contract_names
    with pytest.raises(variants.AmbiguousMoney, match="sale_price_fen and sale_price_yuan"):
        variants.as_delivered(contract.FEEDS["partner_schedule"], "csv", ["sale_price_fen", "sale_price_yuan"])


def test_csv_header_is_read_through_bom_gb18030_crlf_and_leading_blank_lines():
    assert variants.csv_header(b"\xef\xbb\xbfa, b\r\n1,2\r\n") == ["a", "b"]
    assert variants.csv_header("\n\nx,\"y\"\n影城,1\n".encode("gb18030")) == ["x", "y"]


@pytest.mark.parametrize("value,fen", [("45.19", 4519), ("45.1", 4510), ("45", 4500), ("0.29", 29), ("-3.05", -305),
                                       ("1234567.89", 123456789)])
def test_partner_yuan_money_becomes_the_exact_integer_fen(con, landing, value, fen):
    row = _yuan_row("partner_schedule", sale_price_yuan=value, list_price_yuan="39.90")
    deliver(landing, "partner_schedule", "QX", "2026-03-08", "s1", csv_bytes([row]), 1)

    f = ingest.ingest_feed(con, landing, "partner_schedule", "run-1", NOW).files[0]

    assert (f.status, f.rows_ingested) == ("INGESTED", 1), f.reason
    assert con.execute("SELECT sale_price_fen, list_price_fen FROM raw.partner_schedule").fetchone() == (fen, 3990)


def test_yuan_with_a_third_decimal_or_not_a_number_is_quarantined_naming_the_column(con, landing):
    rows = [_yuan_row("orders", order_id="O1"), _yuan_row("orders", order_id="O2", unit_price_yuan="45.001"),
            _yuan_row("orders", order_id="O3", total_yuan="四十五")]
    deliver(landing, "orders", "internal", "2026-03-08", "o1", csv_bytes(rows), 3)

    f = ingest.ingest_feed(con, landing, "orders", "run-1", NOW).files[0]

    assert (f.status, f.rows_ingested, f.rows_quarantined) == ("INGESTED", 1, 2)
    assert con.execute("SELECT ingest_line, reason FROM raw.quarantine ORDER BY 1").fetchall() == [
        (3, 'column unit_price_yuan: cannot parse "45.001" as a decimal yuan amount'),
        (4, 'column total_yuan: cannot parse "四十五" as a decimal yuan amount'),
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_file_naming_one_money_column_in_fen_and_in_yuan_is_rejected_with_that_reason(con, landing, fmt):
    row = sample_row("partner_schedule", service_fee_yuan="3.00")
    body = csv_bytes([row]) if fmt == "csv" else jsonl_bytes([row])
    deliver(landing, "partner_schedule", "QX", "2026-03-08", "s1", body, 1, ext=fmt)

    f = ingest.ingest_feed(con, landing, "partner_schedule", "run-1", NOW).files[0]

    assert (f.status, f.rows_ingested, f.rows_quarantined) == ("REJECTED", 0, 1)
    assert f.reason == "money column(s) delivered both in fen and in yuan: service_fee_fen and service_fee_yuan"


@pytest.mark.parametrize("feed", list(contract.FEEDS))
def test_every_feed_ingests_as_csv_and_as_jsonl(con, landing, feed):
    row = sample_row(feed)
    deliver(landing, feed, "SRC", "2026-03-08", "as_csv", csv_bytes([row]), 1, ext="csv")
    deliver(landing, feed, "SRC", "2026-03-08", "as_jsonl", jsonl_bytes([row]), 1, ext="jsonl")

    files = ingest.ingest_feed(con, landing, feed, "run-1", NOW).files

    assert [(f.file.rsplit("/", 1)[1], f.status, f.rows_ingested) for f in files] == [
        ("as_csv.csv", "INGESTED", 1), ("as_jsonl.jsonl", "INGESTED", 1)], [f.reason for f in files]
    cols = [c for c, _ in contract.FEEDS[feed].raw_columns()]
    a, b = con.execute(f"SELECT {', '.join(cols)} FROM {contract.FEEDS[feed].table} ORDER BY ingest_file").fetchall()
    assert a == b


def test_jsonl_yuan_as_json_numbers_and_a_file_of_another_extension_is_rejected(con, landing):
    row = _yuan_row("orders", unit_price_yuan=45.5, service_fee_yuan=3, total_yuan=48.5, ticket_count=1)
    deliver(landing, "orders", "internal", "2026-03-08", "o1", jsonl_bytes([row]), 1, ext="jsonl")
    deliver(landing, "orders", "internal", "2026-03-08", "o2", b"x", 1, ext="xlsx")

    files = {f.file.rsplit("/", 1)[1]: f for f in ingest.ingest_feed(con, landing, "orders", "run-1", NOW).files}

    assert files["o1.jsonl"].status == "INGESTED", files["o1.jsonl"].reason
    assert con.execute("SELECT unit_price_fen, service_fee_fen, total_fen FROM raw.orders").fetchone() == (4550, 300, 4850)
    assert (files["o2.xlsx"].status, files["o2.xlsx"].reason) == (
        "REJECTED", "manifest names 'o2.xlsx'; a delivery is a .csv or .jsonl file")
