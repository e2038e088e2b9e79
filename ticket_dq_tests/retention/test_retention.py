"""Retention on a simulated three-day landing area: old partner snapshots and crawls move to Parquet, stay
queryable, are never lost or doubled (a real process SIGKILLed between the Parquet write and the delete
included), and detection finds exactly what it finds when nothing is archived."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ticket_dq import cli
from ticket_dq.lib import closed_orders, replay, retention, warehouse
from ticket_dq_tests.reliability.procs import TICKET_DQ

DAY1 = datetime(2026, 3, 8, 21, 5)
DAY2, DAY3 = DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)
# Everything up to dq.issues and the retention step; notifications, metrics and the export read no raw table.
DETECTION = "not group:routing and not group:metrics and not group:export"


def _deliver(sim: Path, landing: Path, until: datetime) -> None:
    p = replay.plan(sim)
    for rel in p.setup:
        replay.copy(sim, landing, rel)
    for d in p.deliveries:
        if d.at <= until:
            for rel in d.files:
                replay.copy(sim, landing, rel)


def _materialize(monkeypatch, landing: Path, db: Path, now: datetime, days: int) -> None:
    monkeypatch.setenv("TICKET_DQ_LANDING", str(landing))
    monkeypatch.setenv("TICKET_DQ_WAREHOUSE", str(db))
    monkeypatch.setenv("TICKET_DQ_ARCHIVE", str(db.parent / "archive"))
    monkeypatch.setenv("TICKET_DQ_RETENTION_DAYS", str(days))
    monkeypatch.setenv("TICKET_DQ_NOW", f"{now:%Y-%m-%d %H:%M:%S}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["materialize", "--quiet", "--select", DETECTION]) == 0, out.getvalue()


def _copy_warehouse(src: Path, dst_dir: Path) -> Path:
    dst_dir.mkdir(parents=True)
    shutil.copy(src, dst_dir / src.name)
    return dst_dir / src.name


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Days 1-2 materialized with nothing archived (the shared start); then day 3 twice: once after
    retention with a one-day window, once with retention off."""
    root = tmp_path_factory.mktemp("retention")
    sim, landing = root / "sim", root / "landing"
    subprocess.run([TICKET_DQ, "simulate", "--out", str(sim), "--cinemas", "6", "--days", "3",
                    "--snapshots-per-day", "2", "--crawls-per-day", "2"], check=True, capture_output=True)
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("DAGSTER_HOME", "")
        mp.setenv("TICKET_DQ_OUTBOX", str(root / "outbox"))
        _deliver(sim, landing, DAY2)
        base = root / "base" / "ticket_dq.duckdb"
        _materialize(mp, landing, base, DAY2, days=0)
        start = _copy_warehouse(base, root / "start")
        kept, archived = _copy_warehouse(base, root / "kept"), _copy_warehouse(base, root / "archived")
        with warehouse.connect(archived) as con:
            first = retention.apply(con, archived.parent / "archive", DAY2, days=1)
        _deliver(sim, landing, DAY3)
        _materialize(mp, landing, kept, DAY3, days=0)
        _materialize(mp, landing, archived, DAY3, days=1)
    finally:
        mp.undo()
    return {"root": root, "landing": landing, "start": start, "kept": kept, "archived": archived, "first": first}


def _rows(db: Path, sql: str) -> Counter:
    with duckdb.connect(str(db), read_only=True) as con:
        return Counter(con.execute(sql).fetchall())


def test_retention_moves_exactly_the_snapshots_older_than_the_window_and_not_current(world):
    first = world["first"]
    assert first.moved, "day 1's superseded snapshots should have moved"
    with duckdb.connect(str(world["start"]), read_only=True) as con:
        ledger = con.execute("""SELECT file, feed, source, folder_date, snapshot_ts, rows_ingested FROM meta.ingested_files
                                WHERE feed IN ('partner_schedule', 'competitor_schedule') AND status = 'INGESTED'""").fetchall()
        current = {r[0] for r in con.execute("SELECT file FROM cur.partner_current_file UNION ALL "
                                             "SELECT file FROM cur.competitor_current_file").fetchall()}
    moved = {m.file for m in first.moved}
    newest = {}
    for file, feed, source, folder, ts, _ in ledger:
        newest[(feed, source)] = max(newest.get((feed, source), ts), ts)
    for file, feed, source, folder, ts, rows in ledger:
        if file in moved:
            assert folder < DAY2.date() and file not in current and ts < newest[(feed, source)], file
        elif folder < DAY2.date():
            # an old delivery that stayed is what detection still reads: its source's current snapshot
            assert file in current or ts >= newest[(feed, source)], file
    assert {m.feed for m in first.moved} == {"partner_schedule", "competitor_schedule"}
    for m in first.moved:
        part = world["archived"].parent / "archive" / m.parquet
        assert part.parent.name == f"delivery_date={m.delivery_date:%Y-%m-%d}" and part.parent.parent.name == m.feed
        assert part.is_file()


def test_archived_rows_are_the_raw_rows_and_the_views_return_them(world):
    moved = [m for m in world["first"].moved if m.feed == "partner_schedule"]
    files = [m.file for m in moved]
    original = _rows(world["start"], f"SELECT * FROM raw.partner_schedule WHERE ingest_file IN {tuple(files + [''])}")
    assert sum(original.values()) == sum(m.rows for m in moved) > 0
    with duckdb.connect(str(world["archived"]), read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM raw.partner_schedule WHERE ingest_file IN {tuple(files + [''])}"
                           ).fetchone()[0] == 0
        archived = Counter(con.execute(f"SELECT * EXCLUDE (delivery_date) FROM archive.partner_schedule "
                                       f"WHERE ingest_file IN {tuple(files + [''])}").fetchall())
        dates = {r[0] for r in con.execute("SELECT DISTINCT delivery_date FROM archive.partner_schedule").fetchall()}
        # audit.<feed> is the table as if nothing had moved: every ingested row once
        for feed in retention.FEEDS:
            n, distinct, ledger = con.execute(f"""SELECT count(*), count(DISTINCT (ingest_file, ingest_line)),
                (SELECT sum(rows_ingested) FROM meta.ingested_files WHERE feed = '{feed}' AND status = 'INGESTED')
                FROM audit.{feed}""").fetchone()
            assert n == distinct == ledger, feed
    assert archived == original
    assert dates and all(d < DAY3.date() for d in dates)


def test_ingested_rows_are_conserved_across_raw_and_archive(world):
    with duckdb.connect(str(world["archived"]), read_only=True) as con:
        assert con.execute("SELECT sum(rows_archived) FROM meta.archived_files").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM meta.ingested_files "
                           "WHERE rows_manifest <> rows_ingested + rows_quarantined").fetchone()[0] == 0
    with warehouse.connect(world["archived"]) as con:
        assert retention.conservation_breaks(con) == []


def test_a_second_retention_run_moves_nothing(world, tmp_path):
    db = _copy_warehouse(world["archived"], tmp_path / "again")
    shutil.copytree(world["archived"].parent / "archive", tmp_path / "again" / "archive")
    archive = tmp_path / "again" / "archive"
    before = {p: p.stat().st_mtime_ns for p in archive.rglob("*.parquet")}
    with warehouse.connect(db) as con:
        counts = con.execute("SELECT (SELECT count(*) FROM raw.partner_schedule), "
                             "(SELECT count(*) FROM meta.archived_files)").fetchone()
        report = retention.apply(con, archive, DAY3, days=1)
        assert report.moved == []
        assert con.execute("SELECT (SELECT count(*) FROM raw.partner_schedule), "
                           "(SELECT count(*) FROM meta.archived_files)").fetchone() == counts
    assert {p: p.stat().st_mtime_ns for p in archive.rglob("*.parquet")} == before


DETECTION_TABLES = ("cand.feed_health", "cand.unmapped_entity", "cand.schedule_discrepancy", "cand.schedule_integrity",
                    "cand.order_show", "cand.seat_double_sold", "cand.pickup_code", "cand.order_not_issued",
                    "cand.order_outcome_spike", "cand.validation_failed", "cur.change_log", "cur.partner_schedule",
                    "cur.competitor_schedule", "dq.issues")


def test_detection_finds_the_same_with_and_without_retention(world):
    with duckdb.connect(str(world["archived"]), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT delivery_date) FROM meta.archived_files").fetchone()[0] >= 1
    for table in DETECTION_TABLES:
        kept, archived = _rows(world["kept"], f"SELECT * FROM {table}"), _rows(world["archived"], f"SELECT * FROM {table}")
        assert archived == kept, table
    for table in ("dq.issues", "cand.schedule_discrepancy", "cur.change_log", "cur.partner_schedule"):
        assert sum(_rows(world["kept"], f"SELECT * FROM {table}").values()) > 0, f"{table} is empty: proves nothing"


def _retention_env(world: dict, db: Path, archive: Path, outbox: Path, now: datetime) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKET_DQ_", "DAGSTER_"))}
    env.update(TICKET_DQ_LANDING=str(world["landing"]), TICKET_DQ_WAREHOUSE=str(db), TICKET_DQ_ARCHIVE=str(archive),
               TICKET_DQ_OUTBOX=str(outbox), TICKET_DQ_RETENTION_DAYS="1", TICKET_DQ_NOW=f"{now:%Y-%m-%d %H:%M:%S}")
    return env


def _kill_at(cmd: list[str], env: dict, point: str, marker: Path) -> None:
    """Run ``cmd`` until it stands at the pause point ``point``, then SIGKILL it there."""
    proc = subprocess.Popen(cmd, env={**env, "TICKET_DQ_PAUSE_AT": point, "TICKET_DQ_PAUSE_FILE": str(marker)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the run never reached the pause point"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_sigkill_between_parquet_write_and_delete_loses_and_duplicates_nothing(world, tmp_path):
    db = _copy_warehouse(world["start"], tmp_path / "killed")
    archive = tmp_path / "killed" / "archive"
    env = _retention_env(world, db, archive, tmp_path / "outbox", DAY2)
    cmd = [TICKET_DQ, "materialize", "--quiet", "--select", "key:meta/archived_files"]
    _kill_at(cmd, env, "retention:partner_schedule:written", tmp_path / "paused")
    written = list(archive.rglob("*.parquet"))
    assert written, "the Parquet files are written before the delete"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.archived_files").fetchone()[0] == 0
        # the rows are still in raw, and the views do not count the unrecorded files a second time
        for feed in retention.FEEDS:
            n, ledger = con.execute(f"""SELECT (SELECT count(*) FROM audit.{feed}), (SELECT sum(rows_ingested)
                FROM meta.ingested_files WHERE feed = '{feed}' AND status = 'INGESTED')""").fetchone()
            assert n == ledger, feed
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    with duckdb.connect(str(db), read_only=True) as con:
        assert sorted(r[0] for r in con.execute("SELECT file FROM meta.archived_files").fetchall()) == \
            sorted(m.file for m in world["first"].moved)
        for feed in retention.FEEDS:
            n, distinct, ledger, archived = con.execute(f"""SELECT count(*), count(DISTINCT (ingest_file, ingest_line)),
                (SELECT sum(rows_ingested) FROM meta.ingested_files WHERE feed = '{feed}' AND status = 'INGESTED'),
                (SELECT count(*) FROM archive.{feed}) FROM audit.{feed}""").fetchone()
            assert n == distinct == ledger, feed
            assert archived == con.execute("SELECT coalesce(sum(rows_archived), 0) FROM meta.archived_files WHERE feed = ?",
                                           [feed]).fetchone()[0]
    assert not list(archive.rglob("*.tmp"))


# ---- closed orders (lib/closed_orders.py): the event feeds' history, archived at day 3 with a one-day window


def _boundary(db: Path) -> datetime:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT max(closed_before) FROM meta.closed_history").fetchone()[0]


def test_closed_orders_leave_the_live_tables_whole_and_stay_queryable(world):
    kept, archived = world["kept"], world["archived"]
    boundary = _boundary(archived)
    assert boundary == datetime(DAY3.year, DAY3.month, DAY3.day, 6, 0)  # today's business date, from 06:00
    run_stamps = "EXCLUDE (ingested_at, ingest_run_id)"  # the two warehouses ingested in different runs
    for feed in closed_orders.FEEDS:
        before = _rows(kept, f"SELECT * {run_stamps} FROM raw.{feed}")
        left = _rows(archived, f"SELECT * FROM raw.{feed}")
        assert 0 < sum(left.values()) < sum(before.values()), feed
        # every row once, in raw or in the archive: the table as if nothing had moved
        assert _rows(archived, f"SELECT * {run_stamps} FROM audit.{feed}") == before, feed
        assert _rows(archived, f"SELECT * FROM archive.{feed}") == \
            _rows(archived, f"SELECT *, DATE '{boundary:%Y-%m-%d}' FROM audit.{feed} EXCEPT ALL SELECT *, "
                            f"DATE '{boundary:%Y-%m-%d}' FROM raw.{feed}"), feed
    with warehouse.connect(archived) as con:
        assert closed_orders.conservation_breaks(con) == []
        assert retention.conservation_breaks(con) == []
        closed = [r[0] for r in con.execute("SELECT order_id FROM hist.closed_orders").fetchall()]
    assert len(closed) == len(set(closed)) > 0
    with duckdb.connect(str(kept), read_only=True) as con:
        # a closed order: its show began before the boundary (less the 3 h refund watch), its last event too
        con.execute("CREATE TEMP TABLE closed AS SELECT unnest(?) AS order_id", [closed])
        late = con.execute("""SELECT count(*) FROM cur.order_state WHERE order_id IN (SELECT order_id FROM closed)
                              AND (show_start_time >= ? - INTERVAL 3 HOUR OR last_event_ts >= ?)""",
                           [boundary, boundary]).fetchone()[0]
        assert late == 0
        # and every order that qualifies was closed
        assert con.execute("""SELECT count(*) FROM cur.order_state WHERE order_id NOT IN (SELECT order_id FROM closed)
                              AND show_start_time < ? - INTERVAL 3 HOUR AND last_event_ts < ?""",
                           [boundary, boundary]).fetchone()[0] == 0
        # the live state is the state with nothing archived, less the closed orders
        for table in ("order_state", "order_outcome"):
            expected = Counter(con.execute(f"SELECT * FROM cur.{table} WHERE order_id NOT IN "
                                           f"(SELECT order_id FROM closed)").fetchall())
            assert _rows(archived, f"SELECT * FROM cur.{table}") == expected, table


@pytest.fixture(scope="module")
def rerun(world, tmp_path_factory):
    """Day 3 materialized once more on a copy of `archived`, after its closed orders left. Same clock and no new
    file, so it must find what `kept` (nothing archived) found at day 3: any difference is the archive's doing."""
    root = tmp_path_factory.mktemp("closed_rerun")
    archived = _copy_warehouse(world["archived"], root / "archived")
    shutil.copytree(world["archived"].parent / "archive", root / "archived" / "archive")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("DAGSTER_HOME", "")
        mp.setenv("TICKET_DQ_OUTBOX", str(root / "outbox"))
        _materialize(mp, world["landing"], archived, DAY3, days=1)
    finally:
        mp.undo()
    return {"kept": world["kept"], "archived": archived}


def test_detection_after_orders_closed_finds_the_same_and_carries_the_closed_findings(rerun):
    boundary = _boundary(rerun["archived"])
    for table in DETECTION_TABLES:
        assert _rows(rerun["archived"], f"SELECT * FROM {table}") == _rows(rerun["kept"], f"SELECT * FROM {table}"), table
    carried = _rows(rerun["archived"], f"""SELECT category FROM dq.issues
                                           WHERE category IN ('SEAT_DOUBLE_SOLD', 'PICKUP_CODE_DUPLICATE', 'PICKUP_CODE_INVALID',
                                                              'ORDER_NOT_ISSUED')
                                             AND show_start_time < TIMESTAMP '{boundary}'""")
    assert sum(carried.values()) > 0, "no order finding before the boundary: the carry is not exercised"
    with duckdb.connect(str(rerun["archived"]), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM hist.closed_orders").fetchone()[0] > 0
        # the order state stayed incremental across the archive (its file state was brought down with it)
        assert con.execute("""SELECT count(*) FROM (SELECT * FROM cur.order_state_files
                              EXCEPT SELECT i.file, i.rows_ingested - coalesce(sum(a.rows_archived), 0)
                              FROM meta.ingested_files i LEFT JOIN meta.archived_events a ON a.file = i.file
                                                         AND a.feed = 'orders'
                              WHERE i.feed = 'orders' AND i.status = 'INGESTED' GROUP BY i.file, i.rows_ingested)"""
                           ).fetchone()[0] == 0


def test_a_late_event_of_a_closed_order_stays_out_of_the_live_state_and_is_archived_next(world, tmp_path):
    db = _copy_warehouse(world["archived"], tmp_path / "late")
    shutil.copytree(world["archived"].parent / "archive", tmp_path / "late" / "archive")
    landing = tmp_path / "late_landing"
    shutil.copytree(world["landing"], landing)
    header = next((landing / "orders").rglob("orders_*.csv")).read_text(encoding="utf-8").splitlines()[0]
    with duckdb.connect(str(db), read_only=True) as con:
        order_id, = con.execute("SELECT order_id FROM hist.closed_orders ORDER BY order_id LIMIT 1").fetchone()
        con.execute(f"""COPY (SELECT {header.replace('event_ts', "event_ts + INTERVAL 1 MINUTE AS event_ts")
                                   .replace('status,', "'REFUNDED' AS status,", 1)}
                              FROM audit.orders WHERE order_id = ? ORDER BY event_ts DESC LIMIT 1)
                        TO '{tmp_path / "late.csv"}' (HEADER, QUOTE '"')""", [order_id])
    folder = landing / "orders" / "internal" / f"{DAY3:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    data = (tmp_path / "late.csv").read_bytes()
    (folder / "orders_late_refund.csv").write_bytes(data)
    (folder / "_manifest_orders_late_refund.json").write_text(json.dumps(
        {"file": "orders_late_refund.csv", "feed": "orders", "source": "internal", "rows": 1,
         "sha256": hashlib.sha256(data).hexdigest(), "snapshot_ts": f"{DAY3:%Y-%m-%d %H:%M:%S}",
         "schema_version": 1}), encoding="utf-8")
    archived_before = _rows(db, "SELECT * FROM audit.orders")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("DAGSTER_HOME", "")
        mp.setenv("TICKET_DQ_OUTBOX", str(tmp_path / "outbox"))
        _materialize(mp, landing, db, DAY3, days=1)
    finally:
        mp.undo()
    # the second move of the day (same boundary) wrote a file of its own: every row archived before is still there
    assert _rows(db, "SELECT * FROM audit.orders WHERE ingest_file NOT LIKE '%orders_late_refund.csv'") == archived_before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT parquet) FROM meta.archived_events WHERE feed = 'orders'"
                           ).fetchone()[0] == 2
    with warehouse.connect(db) as con:
        assert con.execute("SELECT rows_ingested FROM meta.ingested_files WHERE file LIKE '%orders_late_refund.csv'"
                           ).fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM cur.order_state WHERE order_id = ?", [order_id]).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM raw.orders WHERE order_id = ?", [order_id]).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM audit.orders WHERE order_id = ? AND status = 'REFUNDED'",
                           [order_id]).fetchone()[0] == 1
        assert closed_orders.conservation_breaks(con) == []


def test_sigkill_between_closed_orders_parquet_and_commit_loses_and_duplicates_nothing(world, tmp_path):
    db = _copy_warehouse(world["kept"], tmp_path / "killed")
    archive = tmp_path / "killed" / "archive"
    env = _retention_env(world, db, archive, tmp_path / "outbox", DAY3)
    cmd = [TICKET_DQ, "materialize", "--quiet", "--select", "key:meta/archived_events"]
    _kill_at(cmd, env, "closed_orders:written", tmp_path / "paused")
    assert list(archive.rglob("*.parquet")), "the Parquet files are written before the commit"
    before = {f: _rows(world["kept"], f"SELECT * FROM raw.{f}") for f in closed_orders.FEEDS}
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.archived_events").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM hist.closed_orders").fetchone()[0] == 0
    for feed in closed_orders.FEEDS:  # nothing left raw; the unrecorded file is not read
        assert _rows(db, f"SELECT * FROM audit.{feed}") == before[feed], feed
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    for feed in closed_orders.FEEDS:
        assert _rows(db, f"SELECT * FROM audit.{feed}") == before[feed], feed
        assert sum(_rows(db, f"SELECT * FROM archive.{feed}").values()) > 0, feed
    with warehouse.connect(db) as con:
        assert closed_orders.conservation_breaks(con) == []
        recorded = {r[0] for r in con.execute("SELECT DISTINCT parquet FROM meta.archived_events").fetchall()}
    assert {str(p.relative_to(archive)) for p in archive.rglob("*.parquet") if "closed_before=" in str(p)} == recorded
    assert not list(archive.rglob("*.tmp"))
