"""Every feed lands in its raw table, typed per the contract, with lineage; encodings are detected."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ticket_dq.lib import contract, ingest
from ticket_dq_tests.ingest.conftest import NOW
from ticket_dq_tests.ingest.landing_helpers import SAMPLE_CODES, csv_bytes, deliver, jsonl_bytes, sample_row

CSV_FEEDS = [f for f, spec in contract.FEEDS.items() if spec.fmt == "csv"]


@pytest.mark.parametrize("feed", CSV_FEEDS)
def test_every_csv_feed_round_trips_to_its_raw_table_with_lineage(con, landing, feed):
    rows = [sample_row(feed), sample_row(feed)]
    deliver(landing, feed, "FH", "2026-03-08", f"{feed}_0001", csv_bytes(rows), 2)

    report = ingest.ingest_feed(con, landing, feed, "run-1", NOW)

    assert [f.status for f in report.files] == ["INGESTED"]
    spec = contract.FEEDS[feed]
    got = con.execute(
        f"SELECT source, ingest_file, ingest_line, ingested_at, ingest_run_id, extras FROM {spec.table} "
        f"ORDER BY ingest_line").fetchall()
    assert got == [
        ("FH", f"{feed}/FH/2026-03-08/{feed}_0001.csv", 2, NOW, "run-1", None),
        ("FH", f"{feed}/FH/2026-03-08/{feed}_0001.csv", 3, NOW, "run-1", None),
    ]
    # Typed columns really are typed: every contract column is non-null and of its DuckDB type.
    for name, typ in spec.columns:
        col = spec.raw_column(name)
        value = con.execute(f"SELECT {col} FROM {spec.table} LIMIT 1").fetchone()[0]
        expected = SAMPLE_CODES[dict(spec.codes)[name]] if name in dict(spec.codes) else {"text": "影城文本", "int": 2, "fen": 1500, "timestamp": datetime(2026, 3, 8, 10),
                    "date": date(2026, 3, 8), "bool": False}[typ]
        assert value == expected, (col, value)
    ledger = con.execute("SELECT feed, source, folder_date, stem, rows_manifest, rows_in_file, rows_ingested, "
                         "rows_quarantined, status, encoding, run_id FROM meta.ingested_files").fetchall()
    assert ledger == [(feed, "FH", date(2026, 3, 8), f"{feed}_0001", 2, 2, 2, 0, "INGESTED", "utf-8", "run-1")]


def test_competitor_jsonl_lands_with_fen_price_and_after_midnight_start_on_next_day(con, landing):
    late = sample_row("competitor_schedule", start_time="00:30", price_yuan=45.5, sold_out=True,
                      show_date="2026-03-08", city="北京")
    evening = sample_row("competitor_schedule", start_time="19:05", price_yuan="39.90", sold_out=False,
                         show_date="2026-03-08")
    deliver(landing, "competitor_schedule", "MAOYAN", "2026-03-08", "crawl_1", jsonl_bytes([late, evening]), 2)

    report = ingest.ingest_feed(con, landing, "competitor_schedule", "run-1", NOW)

    assert report.files[0].status == "INGESTED"
    got = con.execute("SELECT start_time, start_ts, price_fen, sold_out, city, ingest_line "
                      "FROM raw.competitor_schedule ORDER BY ingest_line").fetchall()
    assert got == [
        ("00:30", datetime(2026, 3, 9, 0, 30), 4550, True, "北京", 1),
        ("19:05", datetime(2026, 3, 8, 19, 5), 3990, False, "影城文本", 2),
    ]


def test_gbk_partner_file_ingests_with_chinese_intact(con, landing):
    row = sample_row("partner_schedule", cinema_name="万达影城（CBD店）", hall_name="3号激光厅",
                     film_name="龙猫（数字）")
    deliver(landing, "partner_schedule", "DX", "2026-03-08", "snap_1", csv_bytes([row], encoding="gb18030"), 1)

    report = ingest.ingest_feed(con, landing, "partner_schedule", "run-1", NOW)

    assert report.files[0].encoding == "gb18030"
    assert con.execute("SELECT cinema_name, hall_name, film_name FROM raw.partner_schedule").fetchall() == [
        ("万达影城（CBD店）", "3号激光厅", "龙猫（数字）")]


def test_utf8_bom_file_ingests_with_first_column_named_correctly(con, landing):
    row = sample_row("partner_schedule", snapshot_ts="2026-03-08 09:30:00", cinema_name="横店电影城")
    body = b"\xef\xbb\xbf" + csv_bytes([row], newline="\r\n")
    deliver(landing, "partner_schedule", "MTX", "2026-03-08", "snap_1", body, 1)

    report = ingest.ingest_feed(con, landing, "partner_schedule", "run-1", NOW)

    assert report.files[0].encoding == "utf-8-sig"
    assert con.execute("SELECT snapshot_ts, cinema_name, partner_update_time FROM raw.partner_schedule").fetchall() == [
        (datetime(2026, 3, 8, 9, 30), "横店电影城", datetime(2026, 3, 8, 10))]


def test_iso_t_timestamps_parse_like_space_separated_ones(con, landing):
    row = sample_row("partner_schedule", start_time="2026-03-08T23:40:00", end_time="2026-03-09T01:35:00",
                     cinema_name="博纳国际影城")
    deliver(landing, "partner_schedule", "FH", "2026-03-08", "snap_1", csv_bytes([row]), 1)

    ingest.ingest_feed(con, landing, "partner_schedule", "run-1", NOW)

    assert con.execute("SELECT start_time, end_time, cinema_name FROM raw.partner_schedule").fetchall() == [
        (datetime(2026, 3, 8, 23, 40), datetime(2026, 3, 9, 1, 35), "博纳国际影城")]


def test_empty_values_become_null_and_quoted_commas_and_newlines_survive(con, landing):
    rows = [sample_row("complaints", order_id="", cinema_code="", description="座位,不对\n第二行"),
            sample_row("complaints", complaint_id="C2")]
    deliver(landing, "complaints", "internal", "2026-03-08", "c_1", csv_bytes(rows), 2)

    report = ingest.ingest_feed(con, landing, "complaints", "run-1", NOW)

    assert report.files[0].rows_ingested == 2
    assert con.execute("SELECT order_id, cinema_code, description, ingest_line FROM raw.complaints "
                       "ORDER BY ingest_line").fetchall() == [
        (None, None, "座位,不对\n第二行", 2), ("影城文本", "影城文本", "影城文本", 4)]
