"""Retention: raw snapshot rows older than the window move from DuckDB to Parquet, one file per delivery.

Which tables: the two snapshot feeds, ``raw.partner_schedule`` and ``raw.competitor_schedule``. Each of their
deliveries is a whole schedule that the next one supersedes; daily work reads only each source's current
snapshot and the one before it (``partner_current.sql``, ``competitor_current.sql``, ``change_log.sql``), so
older snapshots are history, needed only for audits and BI. The event feeds of orders and pickup codes have
their own rule, by closed order (``closed_orders.py``); complaints and issue events stay (a complaint's link
and an issue's lifecycle are built from all of them). The ledger (``meta.*``) and ``dq.*`` are kept for good.

The unit moved is one delivered file (the ledger's unit, so conservation stays checkable per file): its rows
go to ``<archive>/<feed>/delivery_date=YYYY-MM-DD/<source>__<stem>__<hash>.parquet`` (hive layout; the
delivery date is the landing folder's date, the date the ledger and the window count in), then leave the raw
table. A file is moved when its delivery date is before the window (the last ``days`` delivery dates, today
included) and it is older than what detection still reads: its source's current snapshot and, for partners,
the newest snapshot the change log has paired (the next delivery is compared with it).

Crash safety: the Parquet file is written under a temp name, fsynced and renamed first; the raw rows are
deleted and the move recorded in ``meta.archived_files`` in one transaction after. A kill between the two
leaves the rows in raw and the file unrecorded: the views read only recorded files, so nothing is counted
twice, and the next run writes the file again (same rows) and then deletes. A re-run with nothing to move
does nothing.

Views: ``archive.<feed>`` (the recorded Parquet files, with ``delivery_date`` from the folder name) and
``audit.<feed>`` (raw rows and archived rows together, the table as if nothing had moved).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from ticket_dq.lib import export, warehouse
from ticket_dq.lib.pause_points import pause_point

FEEDS = ("partner_schedule", "competitor_schedule")
TABLE = "meta.archived_files"
DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
  file VARCHAR PRIMARY KEY,      -- the delivered file (meta.ingested_files.file)
  feed VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  delivery_date DATE NOT NULL,
  rows_archived BIGINT NOT NULL, -- = the ledger's rows_ingested: raw + archive still hold every ingested row
  parquet VARCHAR NOT NULL,      -- path relative to the archive root
  archived_at TIMESTAMP NOT NULL,
  run_id VARCHAR
)"""

# The newest snapshot time per source that detection still reads; every delivery of the source before it
# (and before the window) may move. A source without a current file keeps everything.
_GUARD = {
    "partner_schedule": """
        SELECT c.source, least(c.snapshot_ts, l.logged_ts) AS guard_ts FROM cur.partner_current_file c
        JOIN (SELECT source, max(new_snapshot_ts) AS logged_ts FROM cur.change_log GROUP BY source) l USING (source)""",
    "competitor_schedule": "SELECT source, snapshot_ts AS guard_ts FROM cur.competitor_current_file",
}
_GUARD_TABLES = {"partner_schedule": ("cur.partner_current_file", "cur.change_log"),
                 "competitor_schedule": ("cur.competitor_current_file",)}
_DELIVERY_DATE = "coalesce(i.folder_date, CAST(i.snapshot_ts AS DATE), CAST(i.ingested_at AS DATE))"


@dataclass(frozen=True)
class Move:
    file: str
    feed: str
    source: str
    delivery_date: date
    rows: int
    parquet: str  # relative to the archive root


@dataclass
class Report:
    cutoff: date | None  # deliveries dated before this may move (None: retention off)
    moved: list[Move] = field(default_factory=list)
    rows_in_raw: dict[str, int] = field(default_factory=dict)
    rows_archived: dict[str, int] = field(default_factory=dict)  # all archived rows per feed, this run's included

    @property
    def rows_moved(self) -> int:
        return sum(m.rows for m in self.moved)


def cutoff(now: datetime, days: int) -> date | None:
    """First delivery date that stays in raw: ``days`` dates, today included. ``days`` 0 keeps everything."""
    return None if days <= 0 else now.date() - timedelta(days=days - 1)


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchone()[0] > 0


def due(con: duckdb.DuckDBPyConnection, feed: str, first_kept: date) -> list[tuple[str, str, date, int]]:
    """Delivered files of ``feed`` to move now: (file, source, delivery date, rows ingested), oldest first."""
    if not all(_exists(con, t) for t in _GUARD_TABLES[feed]):
        return []
    return con.execute(f"""
        WITH guard AS ({_GUARD[feed]})
        SELECT i.file, i.source, {_DELIVERY_DATE} AS delivery_date, i.rows_ingested
        FROM meta.ingested_files i JOIN guard g ON g.source = i.source
        WHERE i.feed = ? AND i.status = 'INGESTED' AND {_DELIVERY_DATE} < ? AND i.snapshot_ts < g.guard_ts
          AND i.file NOT IN (SELECT file FROM {TABLE})
        ORDER BY delivery_date, i.snapshot_ts, i.file""", [feed, first_kept]).fetchall()


def parquet_name(feed: str, source: str, delivery_date: date, file: str) -> str:
    """Archive path of one delivered file, relative to the archive root (stable: a re-run writes the same one)."""
    safe = lambda text: re.sub(r"[^A-Za-z0-9_.-]", "_", text)  # noqa: E731
    tag = hashlib.sha256(file.encode("utf-8")).hexdigest()[:10]
    return f"{feed}/delivery_date={delivery_date:%Y-%m-%d}/{safe(source)}__{safe(Path(file).stem)}__{tag}.parquet"


def _sql_text(value: str) -> str:
    """A path as a SQL string literal (COPY takes no parameter for its target)."""
    return "'" + value.replace("'", "''") + "'"


def write_parquet(con: duckdb.DuckDBPyConnection, feed: str, file: str, target: Path) -> int:
    """Write the raw rows of one delivered file to ``target`` durably: temp name, fsync, rename, fsync the
    folder. Returns the rows written (read back from the file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    con.execute("SET VARIABLE retention_file = ?", [file])
    con.execute(f"COPY (SELECT * FROM raw.{feed} WHERE ingest_file = getvariable('retention_file') "
                f"ORDER BY ingest_line) TO {_sql_text(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
    export.replace_atomically(tmp, target)  # fsync, rename, fsync the folder
    return con.execute("SELECT count(*) FROM read_parquet(?)", [str(target)]).fetchone()[0]


def create_views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """``archive.<feed>`` over the recorded Parquet files and ``audit.<feed>`` = raw + archive (in the caller's
    transaction). Without recorded files the archive view is empty but typed, so both always answer."""
    for feed in FEEDS:
        n = con.execute(f"SELECT count(*) FROM {TABLE} WHERE feed = ?", [feed]).fetchone()[0]
        glob = _sql_text(str(Path(root) / feed / "delivery_date=*" / "*.parquet"))
        # Only recorded files: one written just before a crash, its rows still in raw, is not counted twice.
        archived = (f"SELECT * FROM read_parquet({glob}, hive_partitioning = true, union_by_name = true) "
                    f"WHERE ingest_file IN (SELECT file FROM {TABLE} WHERE feed = '{feed}')") if n else None
        publish_views(con, feed, archived, "delivery_date")


def publish_views(con: duckdb.DuckDBPyConnection, feed: str, archived: str | None, partition: str) -> None:
    """``archive.<feed>`` = ``archived`` (a SELECT over the recorded Parquet files, with the hive column
    ``partition``; None: nothing recorded yet, an empty view typed as raw) and ``audit.<feed>`` = raw + archive."""
    con.execute("CREATE SCHEMA IF NOT EXISTS archive")
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    body = archived or f"SELECT *, NULL::DATE AS {partition} FROM raw.{feed} WHERE false"
    con.execute(f"CREATE OR REPLACE VIEW archive.{feed} AS {body}")
    con.execute(f"CREATE OR REPLACE VIEW audit.{feed} AS SELECT * FROM raw.{feed} "
                f"UNION ALL BY NAME SELECT * EXCLUDE ({partition}) FROM archive.{feed}")


def apply(con: duckdb.DuckDBPyConnection, root: Path, now: datetime, days: int, run_id: str | None = None) -> Report:
    """Move every due delivery of the snapshot feeds to the archive under ``root``; idempotent."""
    root = Path(root)
    con.execute(DDL)
    first_kept = cutoff(now, days)
    report = Report(first_kept)
    for feed in FEEDS:
        todo = due(con, feed, first_kept) if first_kept else []
        moves = []
        for file, source, delivery_date, rows_ingested in todo:
            rel = parquet_name(feed, source, delivery_date, file)
            written = write_parquet(con, feed, file, root / rel)
            if written != rows_ingested:  # raw does not hold what the ledger says: leave it for a person
                raise RuntimeError(f"retention: {file} has {written} rows in raw.{feed}, the ledger says "
                                   f"{rows_ingested}; nothing moved")
            moves.append(Move(file, feed, source, delivery_date, written, rel))
        pause_point(f"retention:{feed}:written")
        with warehouse.transaction(con):
            for m in moves:
                con.execute(f"DELETE FROM raw.{feed} WHERE ingest_file = ?", [m.file])
                con.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [m.file, m.feed, m.source, m.delivery_date, m.rows, m.parquet, now, run_id])
            create_views(con, root)
        pause_point(f"retention:{feed}:committed")
        report.moved += moves
    if report.moved:
        con.execute("CHECKPOINT")  # hand the deleted rows' blocks back for reuse now, not at some later write
    report.rows_in_raw, report.rows_archived = row_counts(con, FEEDS, TABLE)
    return report


def row_counts(con: duckdb.DuckDBPyConnection, feeds: tuple[str, ...], moves: str
               ) -> tuple[dict[str, int], dict[str, int]]:
    """Per feed: rows in ``raw.<feed>``, and rows ``moves`` records as archived."""
    raw = {f: con.execute(f"SELECT count(*) FROM raw.{f}").fetchone()[0] for f in feeds}
    archived = {f: con.execute(f"SELECT coalesce(sum(rows_archived), 0) FROM {moves} WHERE feed = ?",
                               [f]).fetchone()[0] for f in feeds}
    return raw, archived


def conservation_breaks(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int, int]]:
    """Snapshot feeds whose ingested rows (ledger) differ from raw + archived rows (``ledger_breaks``)."""
    con.execute(DDL)
    return ledger_breaks(con, FEEDS, TABLE)


def ledger_breaks(con: duckdb.DuckDBPyConnection, feeds: tuple[str, ...], moves: str
                  ) -> list[tuple[str, int, int, int]]:
    """Feeds whose ingested rows (ledger) differ from the rows in ``raw.<feed>`` + those ``moves`` records as
    archived: (feed, ledger, raw, archived). Empty when every ingested row is in exactly one of the two places."""
    out = []
    for feed in feeds:
        ledger = con.execute("SELECT coalesce(sum(rows_ingested), 0) FROM meta.ingested_files "
                             "WHERE feed = ? AND status = 'INGESTED'", [feed]).fetchone()[0]
        raw = con.execute(f"SELECT count(*) FROM raw.{feed}").fetchone()[0]
        archived = con.execute(f"SELECT coalesce(sum(rows_archived), 0) FROM {moves} WHERE feed = ?",
                               [feed]).fetchone()[0]
        if ledger != raw + archived:
            out.append((feed, ledger, raw, archived))
    return out
