"""Normalisation to contract types is strict: lenient casts DuckDB would accept are quarantined."""

from __future__ import annotations

from datetime import datetime

import pytest

from ticket_dq.lib import ingest
from ticket_dq_tests.ingest.conftest import NOW
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, sample_row

BAD = [
    ("ticket_count", "12.5"), ("ticket_count", "1e3"), ("ticket_count", "0x1F"), ("ticket_count", "1_000"),
    ("total_fen", "39.9元"), ("event_ts", "2026-03-08"), ("event_ts", "2026-03-08 10:00+08"),
    ("event_ts", "2026/03/08 10:00:00"), ("event_ts", "2026-02-30 10:00:00"), ("show_start_time", "2026-3-8 9:00:00"),
]


@pytest.mark.parametrize("column,value", BAD)
def test_values_that_are_not_exactly_the_contract_type_are_quarantined(con, landing, column, value):
    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([sample_row("orders", **{column: value})]), 1)

    report = ingest.ingest_feed(con, landing, "orders", "run-1", NOW)

    assert (report.files[0].rows_ingested, report.files[0].rows_quarantined) == (0, 1)
    assert con.execute("SELECT reason FROM raw.quarantine").fetchone()[0].startswith(f"column {column}: cannot parse")


def test_signed_padded_and_iso_values_are_accepted(con, landing):
    row = sample_row("orders", ticket_count=" +2 ", total_fen="-300", event_ts="2026-03-08T23:59:59",
                     show_start_time=" 2026-03-09 00:30:00 ")
    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([row]), 1)

    ingest.ingest_feed(con, landing, "orders", "run-1", NOW)

    assert con.execute("SELECT ticket_count, total_fen, event_ts, show_start_time FROM raw.orders").fetchall() == [
        (2, -300, datetime(2026, 3, 8, 23, 59, 59), datetime(2026, 3, 9, 0, 30))]


@pytest.mark.parametrize("start_time,price", [("9:05", "100000000000000"), ("24:00", "99999999999999.995"),
                                              ("19:30", "-0.5")])
def test_crawl_times_and_yuan_amounts_are_typed_or_quarantined_never_failing_the_file(con, landing, start_time, price):
    rows = [sample_row("competitor_schedule", platform_show_id="P1", start_time=start_time, price_yuan=price),
            sample_row("competitor_schedule", platform_show_id="P2", start_time="07:05", price_yuan="99999999999999.99")]
    deliver(landing, "competitor_schedule", "MAOYAN", "2026-03-08", "c1", csv_bytes(rows), 2, ext="csv")

    report = ingest.ingest_feed(con, landing, "competitor_schedule", "run-1", NOW)

    landed = con.execute("SELECT platform_show_id, start_time, start_ts, price_fen FROM raw.competitor_schedule "
                         "ORDER BY 1").fetchall()
    reasons = [r[0] for r in con.execute("SELECT reason FROM raw.quarantine").fetchall()]
    assert landed[-1] == ("P2", "07:05", datetime(2026, 3, 8, 7, 5), 9999999999999999)
    if price == "-0.5":
        assert landed[0] == ("P1", "19:30", datetime(2026, 3, 8, 19, 30), -50) and not reasons
    else:  # an amount too large for fen, or an hour past 23: quarantined with the value
        assert report.files[0].rows_quarantined == 1 and len(landed) == 1
        assert ("price_yuan" if start_time == "9:05" else "start_time") in reasons[0]


# Values at the edges of each type's canonical shortcut (``decode._canonical``): padded, Unicode
# spaces, fractions, other separators, years outside four digits, BC dates, overflow, signs, case.
EDGE_VALUES = {
    "int": ["7", "+7", "-7", "007", " 7", "7 ", "\u30007", "7\u3000", "7.0", "7.5", "1e3", "0x10", "1_000", "",
            " ", "2147483647", "2147483648", "-2147483648", "-0", "true", "七"],
    "fen": ["6800", "-300", "+300", " 300 ", "9223372036854775807", "9223372036854775808", "68.00", "1e2",
            "\u00a0300"],
    "yuan": ["39.90", "39.9", "39", "-0.5", "+1.00", " 39.90", "39.90 ", "39.905", "1e2", ".5", "5.",
             "99999999999999.99", "100000000000000", "0.00", "-0.00"],
    "timestamp": ["2026-03-08 10:00:00", "2026-03-08T10:00:00", " 2026-03-08 10:00:00", "2026-03-08 10:00:00 ",
                  "2026-03-08 10:00:00.5", "2026-03-08 10:00:00.000000", "2026-03-08 10:00", "2026-03-08",
                  "10000-01-01 00:00:00", "0001-01-01 00:00:00 (BC)", "0999-01-01 00:00:00", "2026-02-30 10:00:00",
                  "2026-3-8 9:00:00", "2026-03-08 24:00:00", "2026/03/08 10:00:00", "2026-03-08 10:00:00+08",
                  "infinity", "\u30002026-03-08 10:00:00", "2026-03-08  10:00:00", ""],
    "date": ["2026-03-08", " 2026-03-08", "2026-03-08 ", "2026-3-8", "2026-02-30", "10000-01-01",
             "0001-01-01 (BC)", "2026-03-08 00:00:00", "infinity", "20260308", ""],
    "hhmm": ["09:05", "9:05", "23:59", "24:00", "00:00", " 09:05", "09:05 ", "09:05:00", "9:5", "19:60", ""],
    "bool": ["true", "false", "TRUE", "t", "1", "0", " true", "yes", "maybe", ""],
}


@pytest.mark.parametrize("typ", sorted(EDGE_VALUES))
def test_the_canonical_shortcut_types_every_value_as_the_careful_expression_does(typ):
    """A value DuckDB prints back unchanged skips the trim, shape and regex tests: on every edge value
    (and NULL) the shortcut gives exactly the typed value the careful expression gives."""
    import duckdb

    from ticket_dq.lib import decode

    con = duckdb.connect()
    con.execute("CREATE TABLE v (s VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?)", [[x] for x in EDGE_VALUES[typ]] + [[None]])
    cast = f"TRY_CAST(s AS {decode._CANONICAL_CAST[typ]})" if typ in decode._CANONICAL_CAST else "NULL"
    rows = con.execute(
        f"SELECT s, {decode._canonical('s', typ, cast)}, {decode._typed_expr('s', typ, decode._trimmed('s'))} "
        f"FROM v").fetchall()
    assert [r for r in rows if r[1] != r[2] or (r[1] is None) != (r[2] is None)] == []
    # the careful expression both accepts and refuses some of them: the edges are edges
    assert {r[2] is None for r in rows if r[0]} == {True, False}
