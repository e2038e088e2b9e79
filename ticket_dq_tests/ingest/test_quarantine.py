"""Rows that cannot be parsed are quarantined with line, raw text and reason; the rest lands."""

from __future__ import annotations

from ticket_dq.lib import contract, ingest
from ticket_dq_tests.ingest.conftest import NOW
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, jsonl_bytes, sample_row


def _conservation_breaks(con) -> int:
    return con.execute("SELECT count(*) FROM meta.ingested_files "
                       "WHERE rows_manifest <> rows_ingested + rows_quarantined").fetchone()[0]


def test_malformed_rows_are_quarantined_with_line_and_reason_while_the_rest_lands(con, landing):
    cols = contract.FEEDS["orders"].contract_names
    good = sample_row("orders", order_id="O1")
    multiline = sample_row("orders", order_id="O2", status_reason="line one\nline two")
    bad_int = sample_row("orders", order_id="O3", ticket_count="two")
    bad_ts = sample_row("orders", order_id="O4", event_ts="2026-03-08 25:99:00")
    body = csv_bytes([good, multiline, bad_int, bad_ts])
    body += b"2026-03-08 10:00:00,O5,short row\n"  # line 7: too few fields (O2 spans lines 3-4)
    body += csv_bytes([sample_row("orders", order_id="O6")]).split(b"\n", 1)[1]  # line 8
    deliver(landing, "orders", "FH", "2026-03-08", "orders_1", body, 6)

    report = ingest.ingest_feed(con, landing, "orders", "run-1", NOW)

    f = report.files[0]
    assert (f.status, f.rows_ingested, f.rows_quarantined) == ("INGESTED", 3, 3)
    assert con.execute("SELECT order_id, ingest_line FROM raw.orders ORDER BY ingest_line").fetchall() == [
        ("O1", 2), ("O2", 3), ("O6", 8)]
    q = con.execute("SELECT ingest_line, raw_text, reason FROM raw.quarantine ORDER BY ingest_line").fetchall()
    assert [(line, reason) for line, _, reason in q] == [
        (5, 'column ticket_count: cannot parse "two" as an integer'),
        (6, 'column event_ts: cannot parse "2026-03-08 25:99:00" as a timestamp (YYYY-MM-DD HH:MM:SS)'),
        (7, f"expected {len(cols)} fields as in the header, found 3"),
    ]
    assert q[0][1].startswith("2026-03-08 10:00:00,O3,")
    assert q[2][1] == "2026-03-08 10:00:00,O5,short row"
    assert _conservation_breaks(con) == 0


def test_row_with_several_bad_columns_names_each_of_them(con, landing):
    row = sample_row("partner_schedule", seat_total="x", business_date="08/03/2026", list_price_fen="12.5")
    deliver(landing, "partner_schedule", "FH", "2026-03-08", "s1", csv_bytes([row, sample_row("partner_schedule")]), 2)

    ingest.ingest_feed(con, landing, "partner_schedule", "run-1", NOW)

    reason = con.execute("SELECT reason FROM raw.quarantine").fetchone()[0]
    assert "column seat_total" in reason and "column business_date" in reason and "column list_price_fen" in reason
    assert con.execute("SELECT count(*) FROM raw.partner_schedule").fetchone()[0] == 1


def test_unterminated_quote_at_end_of_file_is_quarantined_not_fatal(con, landing):
    body = csv_bytes([sample_row("complaints", complaint_id="C1")]) + b'C2,2026-03-08 10:00:00,APP,,,OTHER,"never closed\n'
    deliver(landing, "complaints", "internal", "2026-03-08", "c1", body, 2)

    report = ingest.ingest_feed(con, landing, "complaints", "run-1", NOW)

    assert (report.files[0].rows_ingested, report.files[0].rows_quarantined) == (1, 1)
    line, reason = con.execute("SELECT ingest_line, reason FROM raw.quarantine").fetchone()
    assert line == 3 and reason.startswith("unterminated quoted field")


def test_jsonl_line_that_is_not_an_object_is_quarantined_with_its_line(con, landing):
    rows = jsonl_bytes([sample_row("competitor_schedule")]) + b"{broken\n" + jsonl_bytes(
        [sample_row("competitor_schedule", price_yuan="free")])
    deliver(landing, "competitor_schedule", "TAOPIAOPIAO", "2026-03-08", "c1", rows, 3)

    report = ingest.ingest_feed(con, landing, "competitor_schedule", "run-1", NOW)

    assert (report.files[0].rows_ingested, report.files[0].rows_quarantined) == (1, 2)
    assert con.execute("SELECT ingest_line, raw_text, reason FROM raw.quarantine ORDER BY 1").fetchall() == [
        (2, "{broken", "line is not a JSON object"),
        (3, rows.decode().splitlines()[2], 'column price_yuan: cannot parse "free" as a decimal yuan amount'),
    ]
    assert _conservation_breaks(con) == 0


def test_blank_lines_are_not_rows(con, landing):
    body = csv_bytes([sample_row("issue_events")]) + b"\n\n" + csv_bytes([sample_row("issue_events")]).split(b"\n", 1)[1]
    deliver(landing, "issue_events", "internal", "2026-03-08", "e1", body, 2)

    report = ingest.ingest_feed(con, landing, "issue_events", "run-1", NOW)

    assert (report.files[0].status, report.files[0].rows_ingested) == ("INGESTED", 2)
    assert [r[0] for r in con.execute("SELECT ingest_line FROM raw.issue_events ORDER BY 1").fetchall()] == [2, 5]


def test_jsonl_with_blank_lines_and_a_raw_control_character_keeps_physical_line_numbers(con, landing):
    good = jsonl_bytes([sample_row("competitor_schedule", platform_show_id="P1")])
    odd = jsonl_bytes([sample_row("competitor_schedule", platform_show_id="P3")]).replace(b'"P3"', b'"P\x1f3"')
    last = jsonl_bytes([sample_row("competitor_schedule", platform_show_id="P4")])
    deliver(landing, "competitor_schedule", "MAOYAN", "2026-03-08", "c1", good + b"\n" + odd + last, 3)

    report = ingest.ingest_feed(con, landing, "competitor_schedule", "run-1", NOW)

    f = report.files[0]
    assert (f.rows_ingested, f.rows_quarantined) == (2, 1)
    lines = dict(con.execute("SELECT platform_show_id, ingest_line FROM raw.competitor_schedule").fetchall())
    assert lines == {"P1": 1, "P4": 4}
    # A raw control character inside a JSON string is not valid JSON (RFC 8259).
    assert con.execute("SELECT ingest_line, reason FROM raw.quarantine").fetchall() == [(3, "line is not a JSON object")]


def test_jsonl_with_crlf_and_whitespace_only_lines_strips_the_cr_and_skips_the_blank_ones(con, landing):
    # parse_jsonl strips CRs and filters blank lines only when the file has them (each pass copies the
    # whole text column: 0.55 GB on a national crawl); both must still behave as before.
    rows = [jsonl_bytes([sample_row("competitor_schedule", platform_show_id=f"P{i}")]).rstrip(b"\n") for i in (1, 2, 3)]
    body = rows[0] + b"\r\n  \r\n" + rows[1] + b"\r\n\xe3\x80\x80\r\n" + rows[2] + b"\r\n"  # blank, U+3000 only
    body += b'{"platform": "MAOYAN"\r\n'  # line 6: truncated JSON, quarantined without its CR
    deliver(landing, "competitor_schedule", "MAOYAN", "2026-03-08", "c2", body, 4)

    f = ingest.ingest_feed(con, landing, "competitor_schedule", "run-1", NOW).files[0]

    assert (f.status, f.rows_ingested, f.rows_quarantined) == ("INGESTED", 3, 1)
    assert con.execute("SELECT ingest_line, raw_text FROM raw.quarantine").fetchall() == [(6, '{"platform": "MAOYAN"')]
    got = con.execute("SELECT platform_show_id, ingest_line, extras FROM raw.competitor_schedule ORDER BY 2").fetchall()
    assert [(p, ln) for p, ln, _ in got] == [("P1", 1), ("P2", 3), ("P3", 5)]
    assert not any(e and "\r" in str(e) for _, _, e in got)
