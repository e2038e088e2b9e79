"""The one place that opens the DuckDB warehouse and creates its shared tables.

DuckDB allows one writing process per file and never waits for a lock: a second process fails at
once with "Could not set lock on file". ``connect`` therefore retries with backoff for a bounded
time, and callers hold connections only for the work at hand (``with connect(...) as con``).
"""

from __future__ import annotations

import functools
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from ticket_dq import settings
from ticket_dq.lib import contract

SCHEMAS = ("meta", "raw", "ref", "cand", "dq", "hist", "audit")


class WarehouseLocked(RuntimeError):
    """Another process held the warehouse lock for longer than the retry budget."""


_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def set_memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> None:
    """``SET memory_limit``: DuckDB spills larger joins, aggregates and sorts to disk past it."""
    if not _SIZE.fullmatch(limit.strip()):
        raise ValueError(f"TICKET_DQ_DUCKDB_MEMORY_LIMIT={limit!r}: expected a size such as 2GB or 1500MB")
    con.execute(f"SET memory_limit = '{limit.strip()}'")


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Could not set lock" in text or "Conflicting lock" in text)


@contextmanager
def connect(path: str | Path, *, read_only: bool = False, timeout_s: float = 120.0,
            ensure: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, retrying while another process holds its lock; close it on exit.

    ``ensure`` creates the shared schemas and tables idempotently (skipped for read-only opens).
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except (duckdb.IOException, duckdb.ConnectionException) as exc:  # lock held elsewhere
            if not _is_lock_error(exc) or time.monotonic() >= deadline:
                if _is_lock_error(exc):
                    raise WarehouseLocked(f"warehouse {path} stayed locked for {timeout_s:.0f}s: {exc}") from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    try:
        # Timestamps in the warehouse are naive Beijing time; keep DuckDB's own clock functions
        # from silently converting through the machine's zone.
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        limit = settings.duckdb_memory_limit()
        if limit:
            set_memory_limit(con, limit)
        if ensure and not read_only:
            ensure_schema(con)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Everything written inside commits together or not at all: a crash or an error midway leaves
    the tables as they were before (DuckDB's write-ahead log replays only committed transactions)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def raw_table_ddl(feed: contract.Feed) -> str:
    cols = feed.raw_columns() + list(contract.LINEAGE_COLUMNS)
    body = ",\n  ".join(f"{name} {typ}" for name, typ in cols)
    return f"CREATE TABLE IF NOT EXISTS {feed.table} (\n  {body}\n)"


def reference_table_ddl(feed: contract.Feed) -> str:
    cols = feed.raw_columns() + [("ingest_file", "VARCHAR"), ("ingest_line", "BIGINT"), ("ingested_at", "TIMESTAMP")]
    body = ",\n  ".join(f"{name} {typ}" for name, typ in cols)
    return f"CREATE TABLE IF NOT EXISTS {contract.reference_table(feed.name)} (\n  {body}\n)"


# Tables shared across stages. Stage-private tables are created by the asset that owns them.
SHARED_DDL = (
    # The landing ledger: one row per delivered file (manifest present). Conservation rule:
    # rows_manifest = rows_ingested + rows_quarantined for every row.
    """CREATE TABLE IF NOT EXISTS meta.ingested_files (
      file VARCHAR PRIMARY KEY,      -- data file path relative to the landing root
      feed VARCHAR NOT NULL,
      source VARCHAR NOT NULL,
      folder_date DATE,              -- the <YYYY-MM-DD> folder it was delivered in
      stem VARCHAR NOT NULL,
      sha256 VARCHAR NOT NULL,
      snapshot_ts TIMESTAMP,
      schema_version INTEGER,
      encoding VARCHAR,
      rows_manifest BIGINT NOT NULL,
      rows_in_file BIGINT,
      rows_ingested BIGINT NOT NULL,
      rows_quarantined BIGINT NOT NULL,
      status VARCHAR NOT NULL,       -- INGESTED | REJECTED
      reason VARCHAR,
      run_id VARCHAR,
      ingested_at TIMESTAMP NOT NULL
    )""",
    # Rows (or whole files, ingest_line NULL) that could not be ingested, with the reason.
    """CREATE TABLE IF NOT EXISTS raw.quarantine (
      feed VARCHAR NOT NULL,
      source VARCHAR,
      ingest_file VARCHAR NOT NULL,
      ingest_line BIGINT,
      raw_text VARCHAR,
      reason VARCHAR NOT NULL,
      run_id VARCHAR,
      quarantined_at TIMESTAMP NOT NULL
    )""",
    # dq.issues: CONTRACT.md section 4 columns first, then ours (columns may be added, never removed).
    """CREATE TABLE IF NOT EXISTS dq.issues (
      issue_id VARCHAR PRIMARY KEY,
      category VARCHAR NOT NULL,
      rule VARCHAR,
      severity VARCHAR NOT NULL,
      team VARCHAR NOT NULL,
      status VARCHAR NOT NULL,
      source VARCHAR,
      cinema_code VARCHAR,
      business_date DATE,
      show_start_time TIMESTAMP,
      order_id VARCHAR,
      pickup_code VARCHAR,
      affected_orders INTEGER,
      reason VARCHAR,
      evidence JSON,
      first_detected_at TIMESTAMP NOT NULL,
      last_detected_at TIMESTAMP NOT NULL,
      resolved_at TIMESTAMP,
      business_key VARCHAR,          -- identity of the fault within category + source
      hours_to_show DOUBLE,
      impact_fen BIGINT,
      suppressed_by VARCHAR,         -- issue_id of the feed-level issue that inhibits this one
      detection_status VARCHAR,      -- OPEN | RESOLVED | SUPPRESSED, as detection alone sees it
      status_changed_at TIMESTAMP,
      reopened_at TIMESTAMP,         -- last REOPENED (handler event or detection finding it again)
      resolution_reason VARCHAR      -- "no longer detected" or the handler's resolution_code
    )""",
)

# Closed orders (lib/closed_orders.py): the boundary below which order history is final, the orders
# moved out of the live tables, and their share of the outcome-spike baselines, carried forward.
EVENT_HISTORY_DDL = (
    "CREATE SCHEMA IF NOT EXISTS hist",
    "CREATE SCHEMA IF NOT EXISTS audit",
    """CREATE TABLE IF NOT EXISTS meta.closed_history (
      closed_before TIMESTAMP NOT NULL, -- orders of shows before it may have left the live tables
      closed_at TIMESTAMP NOT NULL,
      events_until TIMESTAMP            -- newest order event time seen, archived ones included
    )""",
    """CREATE TABLE IF NOT EXISTS meta.archived_events (
      parquet VARCHAR NOT NULL,      -- path relative to the archive root
      feed VARCHAR NOT NULL,         -- orders | pickup_codes
      file VARCHAR NOT NULL,         -- the delivered file the rows came from (meta.ingested_files.file)
      rows_archived BIGINT NOT NULL,
      closed_before TIMESTAMP NOT NULL,
      archived_at TIMESTAMP NOT NULL,
      run_id VARCHAR,
      PRIMARY KEY (parquet, file)
    )""",
    "CREATE TABLE IF NOT EXISTS hist.closed_orders (order_id VARCHAR NOT NULL, closed_before TIMESTAMP NOT NULL)",
    """CREATE TABLE IF NOT EXISTS hist.outcome_cells (
      kind VARCHAR, partner_code VARCHAR, hour TIMESTAMP, n BIGINT, k BIGINT, entries BIGINT, exits BIGINT
    )""",
    # Readers of order events by order id read these (raw + archived rows); lib/closed_orders.py replaces
    # them once rows are archived.
    "CREATE VIEW IF NOT EXISTS audit.orders AS SELECT * FROM raw.orders",
    "CREATE VIEW IF NOT EXISTS audit.pickup_codes AS SELECT * FROM raw.pickup_codes",
)

# Issue candidates: every comparison asset writes one table of this shape in schema ``cand``; the
# issues asset unions them. Keep columns in this order.
CANDIDATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("category", "VARCHAR"),
    ("rule", "VARCHAR"),
    ("source", "VARCHAR"),
    ("cinema_code", "VARCHAR"),
    ("business_date", "DATE"),
    ("show_start_time", "TIMESTAMP"),
    ("order_id", "VARCHAR"),
    ("pickup_code", "VARCHAR"),
    ("affected_orders", "INTEGER"),
    ("impact_fen", "BIGINT"),
    ("business_key", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("evidence", "JSON"),
)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, bool]]:
    """``(name, type, nullable)`` of each column of the table or view ``table`` (``schema.name``) in
    order; [] if there is none. A catalog query, never an error: inside a transaction a failed lookup
    (pragma_table_info of a missing table) would abort the caller's transaction."""
    schema, name = table.split(".")
    return [(col, typ, nullable) for col, typ, nullable in con.execute(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name]).fetchall()]


def candidate_table_ddl(table: str) -> str:
    body = ",\n  ".join(f"{n} {t}" for n, t in CANDIDATE_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {body}\n)"


_CREATED = re.compile(r"CREATE (?:TABLE|VIEW) IF NOT EXISTS (\w+)\.(\w+)|CREATE SCHEMA IF NOT EXISTS (\w+)$")


@functools.cache
def _schema_ddl() -> tuple[tuple[str, ...], frozenset | None]:
    """Every statement ``ensure_schema`` runs, in order, and the (schema, object) pairs they create
    (``(schema, None)`` for a schema); None when a statement creates nothing the catalog can show."""
    statements = (tuple(f"CREATE SCHEMA IF NOT EXISTS {schema}" for schema in SCHEMAS)
                  + tuple(raw_table_ddl(feed) for feed in contract.FEEDS.values())
                  + tuple(reference_table_ddl(feed) for feed in contract.REFERENCE.values())
                  + SHARED_DDL + EVENT_HISTORY_DDL)
    found = [_CREATED.match(ddl.strip()) for ddl in statements]
    if not all(found):
        return statements, None
    return statements, frozenset((m[3], None) if m[3] else (m[1], m[2]) for m in found)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schemas and shared tables if missing; idempotent. It runs on every connect, so a
    warehouse that already has every one of them costs one catalog query instead of the ~40
    statements (about 14 ms on a demo warehouse)."""
    statements, created = _schema_ddl()
    if created is not None and created <= set(con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal "
            "UNION ALL SELECT schema_name, NULL FROM duckdb_schemas() WHERE database_name = current_database()"
    ).fetchall()):
        return
    for ddl in statements:
        con.execute(ddl)
