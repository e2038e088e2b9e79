"""`ticket-dq materialize` on a landing area nobody here generated: a partner code we have never seen,
writing GB18030 with ISO times, its own column order and an extra column; a platform crawl with its own
hall and film spellings. Only CONTRACT.md is shared. The run must succeed, keep every row, and raise
exactly the one real discrepancy, not a flood from naming differences."""

from __future__ import annotations

import contextlib
import io

import duckdb

from ticket_dq import cli
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, jsonl_bytes

DAY = "2026-05-01"
NOW = "2026-05-01 10:20:00"
FILM = "201900000001"


def _reference(root):
    ref = root / "reference"
    ref.mkdir(parents=True)
    (ref / "cinemas.csv").write_bytes(csv_bytes([
        {"cinema_code": "31010001", "cinema_name": "上海星光影城", "city": "上海", "district": "黄浦", "brand": "星光", "status": "OPEN"},
        {"cinema_code": "31010002", "cinema_name": "上海银河影院", "city": "上海", "district": "徐汇", "brand": "银河", "status": "OPEN"},
    ]))
    (ref / "films.csv").write_bytes(csv_bytes([
        {"film_code": FILM, "film_name": "流浪地球3", "version": "2D", "language": "国语", "duration_min": "150",
         "release_date": "2026-04-28"},
    ]))
    (ref / "cinema_aliases.csv").write_bytes(csv_bytes([
        {"source": "MAOYAN", "source_cinema_id": "m-101", "cinema_code": "31010001"},
        {"source": "MAOYAN", "source_cinema_id": "m-102", "cinema_code": "31010002"},
    ]))


# (cinema, hall as the partner spells it, hall as the platform spells it, start, platform start)
SHOWS = [
    ("31010001", "1号激光厅", "1号厅(激光)", "2026-05-01 10:00", "10:00"),
    ("31010001", "1号激光厅", "1号厅(激光)", "2026-05-01 13:00", "13:00"),
    ("31010001", "1号激光厅", "1号厅(激光)", "2026-05-01 19:30", "19:30"),
    ("31010001", "1号激光厅", "1号厅(激光)", "2026-05-02 00:30", "00:30"),  # after midnight: business day 05-01
    ("31010002", "2号厅", "2厅", "2026-05-01 14:00", "14:00"),
    ("31010002", "2号厅", "2厅", "2026-05-01 18:00", "18:30"),  # the one real discrepancy
]


def _partner_snapshot(root):
    rows = []
    for i, (cinema, hall, _, start, _) in enumerate(SHOWS):
        s = start.replace(" ", "T") + ":00"
        hh, mm = int(start[11:13]), int(start[14:16])
        end_h = (hh * 60 + mm + 150) // 60
        end = f"{start[:10]}T{end_h % 24:02d}:{(mm + 150) % 60:02d}:00" if end_h < 24 else \
            f"2026-05-02T{end_h - 24:02d}:{(mm + 150) % 60:02d}:00"
        rows.append({
            "remark": "", "show_code": f"QX{i:04d}", "cinema_code": cinema, "snapshot_ts": f"{DAY}T10:00:00",
            "partner_cinema_id": f"q{cinema[-3:]}", "cinema_name": "星光" if cinema.endswith("1") else "银河",
            "hall_code": hall[0], "hall_name": hall, "hall_type": "激光" if "激光" in hall else "普通", "seat_total": "120",
            "business_date": DAY, "start_time": s, "end_time": end, "film_code": FILM, "film_name": "流浪地球3（数字）",
            "language": "国语", "version": "2D", "duration_min": "150", "list_price_fen": "6000",
            "sale_price_fen": "4500", "service_fee_fen": "300", "seats_available": "80", "show_status": "ON_SALE",
            "partner_update_time": f"{DAY}T09:58:00",
        })
    body = csv_bytes(rows, encoding="gb18030", newline="\r\n")  # Excel on Chinese Windows
    deliver(root, "partner_schedule", "QX", DAY, "QX_20260501_1000", body, len(rows),
            manifest_overrides={"snapshot_ts": f"{DAY} 10:00:00"})


def _platform_crawl(root):
    rows = [{
        "crawl_ts": f"{DAY} 10:05:00", "platform": "MAOYAN", "platform_cinema_id": f"m-1{cinema[-2:]}",
        "cinema_name": "星光影城(上海店)" if cinema.endswith("1") else "银河影院", "city": "上海",
        "platform_film_id": "f-88", "film_name": "流浪地球3", "platform_show_id": f"ms{i}", "show_date": DAY,
        "start_time": hhmm, "hall_name": hall, "version_text": "国语 2D", "price_yuan": "47.00", "sold_out": False,
    } for i, (cinema, _, hall, _, hhmm) in enumerate(SHOWS)]
    deliver(root, "competitor_schedule", "MAOYAN", DAY, "MAOYAN_20260501_1005", jsonl_bytes(rows), len(rows),
            manifest_overrides={"snapshot_ts": f"{DAY} 10:05:00"})


def test_a_landing_area_we_did_not_generate_goes_through_materialize(isolated_env, monkeypatch):
    root = isolated_env["landing"]
    _reference(root)
    _partner_snapshot(root)
    _platform_crawl(root)
    monkeypatch.setenv("TICKET_DQ_NOW", NOW)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["materialize"]) == 0, out.getvalue()

    with duckdb.connect(str(isolated_env["warehouse"]), read_only=True) as con:
        ledger = con.execute("SELECT feed, status, rows_manifest, rows_ingested, rows_quarantined "
                             "FROM meta.ingested_files ORDER BY feed").fetchall()
        assert ledger == [("competitor_schedule", "INGESTED", 6, 6, 0), ("partner_schedule", "INGESTED", 6, 6, 0)]
        partner = con.execute("SELECT cinema_name, hall_name, film_name, start_time, business_date, extras "
                              "FROM raw.partner_schedule ORDER BY start_time").fetchall()
        assert partner[0][:3] == ("星光", "1号激光厅", "流浪地球3（数字）")  # GB18030 decoded, text intact
        assert str(partner[-1][3]) == "2026-05-02 00:30:00" and str(partner[-1][4]) == DAY  # ISO 'T' times
        assert all("remark" in (r[5] or "") for r in partner)  # the extra column is kept, not dropped
        issues = con.execute("SELECT category, cinema_code, strftime(show_start_time, '%H:%M'), rule, source, reason "
                             "FROM dq.issues WHERE category NOT IN ('VALIDATION_FAILED') ORDER BY ALL").fetchall()
    # Hall spellings (1号激光厅 / 1号厅(激光), 2号厅 / 2厅), film spellings and the after-midnight show all
    # match; the 18:00 vs 18:30 show is the only finding.
    assert [(i[0], i[1]) for i in issues] == [("SHOW_TIME_MISMATCH", "31010002")], issues
    # One platform against one partner: no majority, so it is raised as unconfirmed, not dropped.
    _, _, start, rule, source, reason = issues[0]
    assert (start, rule, source) == ("18:30", "time_shift_single_platform", "QX")
    assert "unconfirmed" in reason
