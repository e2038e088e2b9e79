"""Schema drift: a missing contract column rejects the file, unknown columns are kept in extras, a column
whose values no longer cast is quarantined row by row and recorded as a type change."""

from __future__ import annotations

import json

from ticket_dq.lib import contract, ingest
from ticket_dq_tests.ingest.conftest import NOW
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, jsonl_bytes, sample_row


def test_header_missing_a_required_column_rejects_the_whole_file(con, landing):
    header = [c for c in contract.FEEDS["orders"].contract_names if c != "mobile"]
    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([sample_row("orders")] * 2, header=header), 2)

    report = ingest.ingest_feed(con, landing, "orders", "run-1", NOW)

    f = report.files[0]
    assert (f.status, f.reason, f.rows_ingested, f.rows_quarantined) == ("REJECTED", "missing required column mobile", 0, 2)
    assert con.execute("SELECT reason FROM raw.quarantine").fetchone()[0] == "file rejected: missing required column mobile"
    assert con.execute("SELECT kind, column_name FROM meta.schema_drift").fetchall() == [("missing_column", "mobile")]
    assert con.execute("SELECT count(*) FROM raw.orders").fetchone()[0] == 0


def test_unknown_extra_columns_are_kept_per_row_in_extras_and_recorded(con, landing):
    rows = [sample_row("pickup_codes", pickup_code="P1", remark="加急", batch_no="7"),
            sample_row("pickup_codes", pickup_code="P2", remark="", batch_no="8")]
    deliver(landing, "pickup_codes", "TAOBAO", "2026-03-08", "p1", csv_bytes(rows), 2)

    report = ingest.ingest_feed(con, landing, "pickup_codes", "run-1", NOW)

    assert report.files[0].status == "INGESTED"
    assert "extra column(s) kept in extras: remark, batch_no" in report.files[0].reason
    extras = [json.loads(r[0]) for r in con.execute("SELECT extras FROM raw.pickup_codes ORDER BY ingest_line").fetchall()]
    assert extras == [{"remark": "加急", "batch_no": "7"}, {"remark": None, "batch_no": "8"}]
    assert con.execute("SELECT kind, column_name FROM meta.schema_drift ORDER BY column_name").fetchall() == [
        ("extra_column", "batch_no"), ("extra_column", "remark")]


def test_column_that_changed_type_quarantines_its_rows_and_is_recorded_as_drift(con, landing):
    rows = [sample_row("partner_schedule", sale_price_fen="35.00", show_code=f"S{i}") for i in range(3)]
    deliver(landing, "partner_schedule", "FH", "2026-03-08", "s1", csv_bytes(rows), 3)

    report = ingest.ingest_feed(con, landing, "partner_schedule", "run-1", NOW)

    f = report.files[0]
    assert (f.status, f.rows_ingested, f.rows_quarantined) == ("INGESTED", 0, 3)
    assert con.execute("SELECT kind, column_name, detail FROM meta.schema_drift").fetchall() == [
        ("type_change", "sale_price_fen", "all 3 non-empty values fail to cast, e.g. '35.00'")]
    assert {r[0] for r in con.execute("SELECT reason FROM raw.quarantine").fetchall()} == {
        'column sale_price_fen: cannot parse "35.00" as integer fen'}


def test_jsonl_without_a_contract_key_in_any_line_is_rejected_and_extra_keys_kept(con, landing):
    no_city = {k: v for k, v in sample_row("competitor_schedule").items() if k != "city"}
    deliver(landing, "competitor_schedule", "MAOYAN", "2026-03-08", "c1", jsonl_bytes([no_city]), 1)
    deliver(landing, "competitor_schedule", "MAOYAN", "2026-03-08", "c2",
            jsonl_bytes([sample_row("competitor_schedule", tags=["IMAX", "杜比"])]), 1)

    report = ingest.ingest_feed(con, landing, "competitor_schedule", "run-1", NOW)

    by_file = {f.file.rsplit("/", 1)[1]: f for f in report.files}
    assert (by_file["c1.jsonl"].status, by_file["c1.jsonl"].reason) == ("REJECTED", "missing required column city")
    assert by_file["c2.jsonl"].status == "INGESTED"
    assert json.loads(con.execute("SELECT extras FROM raw.competitor_schedule").fetchone()[0]) == {"tags": ["IMAX", "杜比"]}
    assert con.execute("SELECT count(*) FROM meta.ingested_files WHERE rows_manifest <> rows_ingested + rows_quarantined"
                       ).fetchone()[0] == 0


def test_contract_columns_in_another_order_with_padded_names_still_map_by_name(con, landing):
    names = list(reversed(contract.FEEDS["issue_events"].contract_names))
    row = sample_row("issue_events", issue_id="ISS-1", handler="张三")
    body = csv_bytes([row], header=names).replace(b"issue_id", b" issue_id ", 1)
    deliver(landing, "issue_events", "internal", "2026-03-08", "e1", body, 1)

    report = ingest.ingest_feed(con, landing, "issue_events", "run-1", NOW)

    assert (report.files[0].status, report.files[0].rows_ingested) == ("INGESTED", 1)
    assert con.execute("SELECT issue_id, handler FROM raw.issue_events").fetchall() == [("ISS-1", "张三")]
