"""The DuckDB fast path for clean UTF-8 CSV and the careful numpy + Polars path give the same result,
and a file the fast path cannot take falls back without losing or duplicating rows."""

from __future__ import annotations

import pytest

from ticket_dq.lib import decode, ingest, warehouse
from ticket_dq_tests.ingest.conftest import NOW
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, sample_row

FEED = "partner_schedule"
ROWS = [
    sample_row(FEED, show_code="S1", hall_name="5号厅(全景声影厅)", cinema_name='万达"IMAX"影城'),
    sample_row(FEED, show_code="S2", hall_name="7号激光厅, VIP", seat_total=""),
    sample_row(FEED, show_code="S3", start_time="2026-03-08T23:30:00", sale_price_fen="12.5"),
]


def _ingest_into(path, landing):
    with warehouse.connect(path) as con:
        report = ingest.ingest_feed(con, landing, FEED, "run-1", NOW)
        rows = con.execute("SELECT * EXCLUDE (ingested_at) FROM raw.partner_schedule ORDER BY ingest_line").fetchall()
        quarantine = con.execute("SELECT ingest_line, raw_text, reason FROM raw.quarantine ORDER BY 1").fetchall()
    return report.files[0], rows, quarantine


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_fast_and_careful_paths_land_identical_rows_and_quarantine(landing, isolated_env, monkeypatch, encoding):
    deliver(landing, FEED, "FH", "2026-03-08", "s1", csv_bytes(ROWS, encoding=encoding), 3)
    parsed = decode.parse_csv((landing / FEED / "FH" / "2026-03-08" / "s1.csv").read_bytes(), decode.contract.FEEDS[FEED],
                              expected_rows=3)
    assert parsed.fast is not None  # this file qualifies for the fast path
    assert (parsed.transcoded is not None) == (encoding == "gb18030")

    fast = _ingest_into(isolated_env["tmp"] / "fast.duckdb", landing)
    monkeypatch.setattr(ingest, "_fast", lambda *a, **k: None)  # force the careful path
    careful = _ingest_into(isolated_env["tmp"] / "careful.duckdb", landing)

    assert fast[0].fast_path and not careful[0].fast_path
    assert fast[1] == careful[1] and fast[2] == careful[2]
    assert fast[0].encoding == careful[0].encoding == encoding
    assert (fast[0].rows_ingested, fast[0].rows_quarantined) == (2, 1)
    assert [r[8] for r in fast[1]] == ["S1", "S2"] and fast[1][0][3] == '万达"IMAX"影城'
    assert fast[2][0][0] == 4 and "sale_price_fen" in fast[2][0][2]


def test_gbk_file_whose_chinese_starts_after_the_sniffed_prefix_falls_back_and_keeps_chinese(con, landing):
    ascii_rows = [sample_row(FEED, show_code=f"A{i}", cinema_name="Wanda CBD " + "x" * 200, film_name="Totoro",
                             hall_name="Hall 1", hall_type="NORMAL", language="ja", version="2D")
                  for i in range(16000)]  # > 4 MiB of ASCII before the first Chinese byte
    chinese = sample_row(FEED, show_code="Z1", cinema_name="横店电影城", film_name="哪吒之魔童闹海")
    body = csv_bytes(ascii_rows + [chinese], encoding="gb18030")
    assert len(body) > 4 << 20
    deliver(landing, FEED, "DX", "2026-03-08", "big", body, len(ascii_rows) + 1)

    report = ingest.ingest_feed(con, landing, FEED, "run-1", NOW)

    f = report.files[0]
    assert (f.status, f.encoding, f.rows_ingested, f.rows_quarantined) == ("INGESTED", "gb18030", 16001, 0)
    assert con.execute("SELECT cinema_name, film_name, ingest_line FROM raw.partner_schedule WHERE show_code = 'Z1'"
                       ).fetchall() == [("横店电影城", "哪吒之魔童闹海", 16002)]
