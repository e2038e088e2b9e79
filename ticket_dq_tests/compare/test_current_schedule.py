"""Current schedule per partner from hand-made snapshots: latest complete snapshot, volume drops skipped,
only the partner that delivered is rewritten, and the change log recognises a re-issued show code."""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.compare import assets as compare
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import warehouse

DAY = "2026-03-10"


def _snapshot(con, source: str, ts: str, shows: list[tuple[str, str, str]]):
    """shows: (show_code, start HH:MM, hall_name); one file per snapshot with a ledger row."""
    f = f"partner_schedule/{source}/{DAY}/{source}_{ts[11:13]}{ts[14:16]}.csv"
    for i, (code, hhmm, hall) in enumerate(shows):
        con.execute(
            """INSERT INTO raw.partner_schedule (snapshot_ts, cinema_code, hall_name, show_code, business_date, start_time,
                 end_time, film_code, film_name, version, duration_min, sale_price_fen, service_fee_fen, show_status,
                 source, ingest_file, ingest_line, ingested_at)
               VALUES (?, '11011004', ?, ?, ?, CAST(? AS TIMESTAMP), NULL, '001100112025', '哪吒之魔童闹海（数字）', '2D', 120,
                       3000, 300, 'ON_SALE', ?, ?, ?, ?)""",
            [ts, hall, code, DAY, f"{DAY} {hhmm}:00", source, f, i + 2, ts])
    con.execute(
        """INSERT INTO meta.ingested_files (file, feed, source, folder_date, stem, sha256, snapshot_ts, rows_manifest,
             rows_ingested, rows_quarantined, status, ingested_at)
           VALUES (?, 'partner_schedule', ?, ?, ?, 'x', ?, ?, ?, 0, 'INGESTED', ?)""",
        [f, source, DAY, f, ts, len(shows), len(shows), ts])


FULL = [("A1", "10:00", "1号厅"), ("A2", "13:00", "1号厅"), ("A3", "16:00", "3号激光厅"), ("A4", "19:00", "3号激光厅")]


def _materialize(*assets):
    result = dg.materialize(list(assets), resources=build_resources())
    assert result.success
    return result


def _meta(result, key):
    return result.asset_materializations_for_node(key)[0].metadata


def test_latest_complete_snapshot_is_current_and_only_the_changed_partner_is_rewritten(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", f"{DAY} 09:00:00")
    with warehouse.connect(settings.warehouse_path()) as con:
        _snapshot(con, "FH", f"{DAY} 07:00:00", FULL)
        _snapshot(con, "DX", f"{DAY} 07:10:00", FULL)
    r = _materialize(compare.partner_schedule_current)
    assert _meta(r, "cur__partner_schedule")["rewritten_sources"].value == ["DX", "FH"]

    with warehouse.connect(settings.warehouse_path()) as con:
        _snapshot(con, "FH", f"{DAY} 08:00:00", FULL[:1])  # 1 row of a usual 4: a volume drop, not current
    r = _materialize(compare.partner_schedule_current)
    assert _meta(r, "cur__partner_schedule")["rewritten_sources"].value == []

    with warehouse.connect(settings.warehouse_path()) as con:
        moved = [FULL[0], ("B2", "13:00", "1号厅"), FULL[2], ("A4", "19:45", "3号激光厅")]  # A2 re-issued as B2, A4 moved
        _snapshot(con, "FH", f"{DAY} 08:30:00", moved)
    r = _materialize(compare.partner_schedule_current, compare.change_log)
    assert _meta(r, "cur__partner_schedule")["rewritten_sources"].value == ["FH"]
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        cur = con.execute("SELECT source, count(*), max(snapshot_ts) FROM cur.partner_schedule GROUP BY 1 ORDER BY 1").fetchall()
        assert [(s, n, str(t)) for s, n, t in cur] == [("DX", 4, f"{DAY} 07:10:00"), ("FH", 4, f"{DAY} 08:30:00")]
        keys = con.execute("SELECT DISTINCT hall_key, film_key FROM cur.partner_schedule ORDER BY 1").fetchall()
        assert keys == [("1", "哪吒之魔童闹海"), ("3", "哪吒之魔童闹海")]
        log = con.execute("SELECT change, show_code, old_value, new_value FROM cur.change_log "
                          "WHERE source = 'FH' ORDER BY change").fetchall()
    assert ("REISSUED", "A2", "A2", "B2") in log
    assert ("TIME", "A4", f"{DAY} 19:00:00", f"{DAY} 19:45:00") in log
    assert not any(c in ("ADDED", "REMOVED") for c, *_ in log)  # the re-issue is not a delete + add


def test_feed_health_flags_late_partner_and_volume_drop(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", f"{DAY} 10:00:00")
    with warehouse.connect(settings.warehouse_path()) as con:
        _snapshot(con, "FH", f"{DAY} 09:30:00", FULL)
        _snapshot(con, "JY", f"{DAY} 07:00:00", FULL)  # silent for 180 min
        _snapshot(con, "DX", f"{DAY} 07:00:00", FULL)
        _snapshot(con, "DX", f"{DAY} 08:00:00", FULL[:1])
        _snapshot(con, "DX", f"{DAY} 09:00:00", FULL)
    _materialize(compare.feed_health)
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        rows = con.execute("SELECT category, source, CAST(business_date AS VARCHAR) FROM cand.feed_health ORDER BY 1, 2").fetchall()
    assert rows == [("FEED_LATE", "JY", DAY), ("FEED_VOLUME_DROP", "DX", DAY)]  # DX at 09:00 is within its SLA


def test_feed_faults_say_whether_a_later_complete_snapshot_superseded_them_and_how_old_the_current_data_is(monkeypatch):
    # DX: a volume drop at 08:00 then a complete snapshot at 09:00 (superseded); MTX: the drop is its latest
    # delivery (not superseded: the current data is its 08:45 snapshot); FH: a partial file at 08:30
    # followed by a complete 09:30 snapshot; HX: a partial file as its latest (current data 09:00).
    monkeypatch.setenv("TICKET_DQ_NOW", f"{DAY} 10:00:00")
    with warehouse.connect(settings.warehouse_path()) as con:
        _snapshot(con, "DX", f"{DAY} 07:00:00", FULL)
        _snapshot(con, "DX", f"{DAY} 08:00:00", FULL[:1])
        _snapshot(con, "DX", f"{DAY} 09:00:00", FULL)
        _snapshot(con, "MTX", f"{DAY} 08:45:00", FULL)
        _snapshot(con, "MTX", f"{DAY} 09:15:00", FULL[:1])
        _snapshot(con, "FH", f"{DAY} 09:30:00", FULL)
        _snapshot(con, "HX", f"{DAY} 09:00:00", FULL)
        for src, ts in (("FH", "08:30:00"), ("HX", "09:30:00")):
            con.execute("""INSERT INTO meta.ingested_files (file, feed, source, folder_date, stem, sha256, snapshot_ts,
                             rows_manifest, rows_ingested, rows_quarantined, status, reason, ingested_at)
                           VALUES (?, 'partner_schedule', ?, ?, ?, 'x', ?, 4, 0, 0, 'REJECTED', 'sha256 mismatch', ?)""",
                        [f"partner_schedule/{src}/{DAY}/{src}_p.csv", src, DAY, f"{src}_p", f"{DAY} {ts}", f"{DAY} {ts}"])
    _materialize(compare.feed_health)
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        rows = con.execute("""SELECT category, source, json_extract(evidence, '$.superseded')::BOOLEAN,
                                     json_extract_string(evidence, '$.current_data_as_of')::TIMESTAMP::VARCHAR
                              FROM cand.feed_health WHERE category <> 'FEED_LATE' ORDER BY 1, 2""").fetchall()
    assert rows == [("FEED_PARTIAL", "FH", True, f"{DAY} 09:30:00"), ("FEED_PARTIAL", "HX", False, f"{DAY} 09:00:00"),
                    ("FEED_VOLUME_DROP", "DX", True, f"{DAY} 09:00:00"),
                    ("FEED_VOLUME_DROP", "MTX", False, f"{DAY} 08:45:00")]
