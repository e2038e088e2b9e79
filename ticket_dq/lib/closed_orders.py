"""Closed orders: the event feeds' history leaves the live tables once nothing can change what it shows.

Snapshot retention (``retention.py``) bounds the schedule feeds; the event feeds (orders, pickup codes) need a
rule of their own, since an order's state is built from all its events. The window keeps the business dates
of the last ``TICKET_DQ_RETENTION_DAYS``, today included (as the snapshot window counts delivery dates); its
start is the *boundary*. An order is *closed* when its show started before the boundary less the refund watch
of ``outcome_rules`` (so no live refund hour can need it) and its newest event came before the boundary. A
retention run then, for every order closed since the last one:

1. writes its events (``raw.orders``) and its pickup codes (``raw.pickup_codes``) to Parquet, one new file per
   feed and run: ``<archive>/<feed>/closed_before=YYYY-MM-DD/<feed>__<boundary>__<run time>_<random>.parquet``
   (temp name, fsync, rename), read back and counted;
2. in one transaction: deletes those rows from raw and the order's rows from ``cur.order_state`` and
   ``cur.order_outcome`` (rebuilt from ``audit.orders`` if ever needed); adds its share of the outcome-spike
   cells to ``hist.outcome_cells`` (counts add up: ``sql/outcome_cells.sql``); lists it in
   ``hist.closed_orders``; brings the two incremental file states down by the rows archived; records each
   (Parquet file, delivered file, rows) in ``meta.archived_events``; and moves the boundary
   (``meta.closed_history``).

Detection then judges only shows (spike hours) from the boundary on, and carries its earlier findings as they
were (``candidates.carry_closed_history``): the orders behind them are no longer live, and what they showed is
final. A late event of a closed order stays in raw, out of the live state, and is archived with its order by
the next run. The ledger still balances per file: ingested = raw + ``meta.archived_files`` +
``meta.archived_events``. Readers that look orders up by id (complaint links, messages, the triage page) read
``audit.orders`` / ``audit.pickup_codes``: raw and archived rows together.

Crash safety as in ``retention.py``: a kill after the Parquet write and before the commit leaves an unrecorded
file, which the views do not read and the next run removes.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ticket_dq.lib import export, retention, sqlscript, warehouse
from ticket_dq.lib.detection import scripts
from ticket_dq.lib.pause_points import pause_point

FEEDS = ("orders", "pickup_codes")
MOVES = "meta.archived_events"
# The live tables whose closed rows move to hist.<name>.
STATE_TABLES = ("order_state", "order_outcome")


@dataclass
class Report:
    boundary: datetime | None  # orders of shows before it may have left (None: retention off)
    orders_closed: int = 0
    rows_moved: dict[str, int] = field(default_factory=dict)  # this run, per feed
    rows_in_raw: dict[str, int] = field(default_factory=dict)
    rows_archived: dict[str, int] = field(default_factory=dict)  # all archived rows per feed
    parquet: list[str] = field(default_factory=list)


BUSINESS_DAY_STARTS = timedelta(hours=6)  # a show's business date is its start less 6 h (the night belongs to the day before)


def boundary(now: datetime, days: int) -> datetime | None:
    """Start of the oldest business date kept live, today included (as the snapshot window counts delivery
    dates): a closed order's show started, and its newest event came, before it. 0 days: off."""
    if days <= 0:
        return None
    today = (now - BUSINESS_DAY_STARTS).date()
    return datetime.combine(today - timedelta(days=days - 1), datetime.min.time()) + BUSINESS_DAY_STARTS


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchone()[0] > 0


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _parquet_glob(root: Path, feed: str) -> str:
    return str(Path(root) / feed / "closed_before=*" / "*.parquet")


def create_views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """``archive.<feed>`` over the recorded Parquet files, ``audit.<feed>`` = raw + archive (caller's transaction)."""
    for feed in FEEDS:
        recorded = con.execute(f"SELECT count(*) FROM {MOVES} WHERE feed = ?", [feed]).fetchone()[0]
        archived = (f"SELECT * EXCLUDE (filename) FROM read_parquet({_sql_text(_parquet_glob(root, feed))}, "
                    f"hive_partitioning = true, union_by_name = true, filename = true) "
                    f"WHERE filename IN (SELECT {_sql_text(str(Path(root)) + os.sep)} || parquet FROM {MOVES} "
                    f"WHERE feed = '{feed}')") if recorded else None
        retention.publish_views(con, feed, archived, "closed_before")


def _remove_unrecorded(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """Parquet files a killed run wrote but never recorded: nothing reads them; remove them."""
    recorded = {r[0] for r in con.execute(f"SELECT parquet FROM {MOVES}").fetchall()}
    for feed in FEEDS:
        for p in (Path(root) / feed).glob("closed_before=*/*.parquet"):
            if str(p.relative_to(root)) not in recorded:
                p.unlink()


def _write(con: duckdb.DuckDBPyConnection, select: str, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    con.execute(f"COPY ({select}) TO {_sql_text(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
    export.replace_atomically(tmp, target)  # fsync, rename, fsync the folder
    return con.execute("SELECT count(*) FROM read_parquet(?)", [str(target)]).fetchone()[0]


def apply(con: duckdb.DuckDBPyConnection, root: Path, now: datetime, days: int, refund_after_start_h: int,
          run_id: str | None = None) -> Report:
    """Archive every order closed by ``now`` (and late events of orders closed before); idempotent."""
    root = Path(root)
    scripts.prepare(con)  # hist.*, meta.closed_history, meta.archived_events
    cut = boundary(now, days)
    report = Report(cut)
    if cut is None or not all(_exists(con, f"cur.{t}") for t in STATE_TABLES):
        return _counts(con, report)
    _remove_unrecorded(con, root)
    show_before = cut - timedelta(hours=refund_after_start_h)
    # An order with an event in a file the state has not read yet (retention run alone, after new deliveries)
    # waits: its state and spike cells must be final before they are carried.
    seen = " AND ".join(f"ingest_file IN (SELECT ingest_file FROM cur.{t}_files)" for t in STATE_TABLES
                        if _exists(con, f"cur.{t}_files")) or "true"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE co_closing AS
                    SELECT order_id FROM cur.order_state WHERE show_start_time < ? AND last_event_ts < ?
                    AND order_id NOT IN (SELECT order_id FROM raw.orders WHERE order_id IS NOT NULL AND NOT ({seen}))""",
                [show_before, cut])
    # Every lookup below is against the live orders (bounded by the window), never hist.closed_orders (which
    # grows with history): an order with events in a seen file is live or closed, nothing else.
    con.execute("CREATE OR REPLACE TEMP TABLE co_live AS SELECT order_id FROM cur.order_state ANTI JOIN co_closing USING (order_id)")
    # the orders whose events leave raw now: those closing and those closed before with a late event
    con.execute(f"""CREATE OR REPLACE TEMP TABLE co_moving AS
                    SELECT order_id FROM co_closing
                    UNION SELECT DISTINCT order_id FROM raw.orders
                    WHERE order_id IS NOT NULL AND ({seen}) AND order_id NOT IN (SELECT order_id FROM co_live)""")
    # Pickup codes of shows before the boundary (less the refund watch) whose order is not live; a code that a
    # live order also holds stays until that order closes too, so the duplicate is still judged.
    con.execute("""CREATE OR REPLACE TEMP TABLE co_codes AS
                   SELECT rowid AS rid FROM raw.pickup_codes p
                   WHERE show_start_time < ? AND (order_id IS NULL OR order_id NOT IN (SELECT order_id FROM co_live))
                     AND NOT EXISTS (SELECT 1 FROM raw.pickup_codes q
                                     WHERE q.pickup_code = p.pickup_code
                                       AND q.channel_partner IS NOT DISTINCT FROM p.channel_partner
                                       AND q.order_id IN (SELECT order_id FROM co_live))""", [show_before])
    moving = {"orders": "order_id IN (SELECT order_id FROM co_moving)",
              "pickup_codes": "rowid IN (SELECT rid FROM co_codes)"}
    # Several runs share a boundary (every run of a day does): each writes its own file, never over another's.
    tag = f"{cut:%Y%m%dT%H%M}__{now:%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"
    written: dict[str, tuple[str, int]] = {}
    con.execute("CREATE OR REPLACE TEMP TABLE co_files (feed VARCHAR, file VARCHAR, n BIGINT)")
    for feed in FEEDS:
        con.execute(f"INSERT INTO co_files SELECT '{feed}', ingest_file, count(*) FROM raw.{feed} "
                    f"WHERE {moving[feed]} GROUP BY ingest_file")
        expected = con.execute("SELECT coalesce(sum(n), 0) FROM co_files WHERE feed = ?", [feed]).fetchone()[0]
        if not expected:
            continue
        # table order is delivery order already: no sort of millions of wide rows
        select = f"SELECT * FROM raw.{feed} WHERE {moving[feed]}"
        rel = f"{feed}/closed_before={cut:%Y-%m-%d}/{feed}__{tag}.parquet"
        n = _write(con, select, root / rel)
        if n != expected:
            raise RuntimeError(f"closed orders: {rel} holds {n} rows, raw.{feed} {expected}; nothing moved")
        written[feed] = (rel, n)
    pause_point("closed_orders:written")
    with warehouse.transaction(con):
        # before any event leaves: the order checks' horizon must not move back (closed_history.sql)
        con.execute("""CREATE OR REPLACE TEMP TABLE co_seen AS
                       SELECT greatest((SELECT max(event_ts) FROM raw.orders),
                                       (SELECT max(events_until) FROM meta.closed_history)) AS events_until""")
        sqlscript.run_file(con, scripts.path("outcome_cells"), {})
        con.execute("""CREATE OR REPLACE TEMP TABLE co_outcome AS
                       SELECT * FROM cur.order_outcome WHERE order_id IN (SELECT order_id FROM co_closing)""")
        con.execute("""CREATE OR REPLACE TEMP TABLE co_cells AS
                       SELECT kind, partner_code, hour, sum(n) AS n, sum(k) AS k, sum(entries) AS entries,
                              sum(exits) AS exits
                       FROM (SELECT * FROM hist.outcome_cells UNION ALL SELECT * FROM outcome_cells('co_outcome', ?))
                       GROUP BY ALL""", [refund_after_start_h])
        con.execute("DELETE FROM hist.outcome_cells")
        con.execute("INSERT INTO hist.outcome_cells SELECT * FROM co_cells")
        for t in STATE_TABLES:
            con.execute(f"DELETE FROM cur.{t} WHERE order_id IN (SELECT order_id FROM co_closing)")
        con.execute("INSERT INTO hist.closed_orders SELECT order_id, ? FROM co_closing", [cut])
        for feed, (rel, _) in written.items():
            con.execute(f"INSERT INTO {MOVES} SELECT ?, feed, file, n, ?, ?, ? FROM co_files WHERE feed = ?",
                        [rel, cut, now, run_id, feed])
            if feed == "orders":
                _file_states_down(con, rel)
            con.execute(f"DELETE FROM raw.{feed} WHERE {moving[feed]}")
            report.rows_moved[feed] = written[feed][1]
            report.parquet.append(rel)
        con.execute("DELETE FROM meta.closed_history")
        con.execute("INSERT INTO meta.closed_history SELECT ?, ?, events_until FROM co_seen", [cut, now])
        create_views(con, root)
    pause_point("closed_orders:committed")
    report.orders_closed = con.execute("SELECT count(*) FROM co_closing").fetchone()[0]
    return _counts(con, report)  # no CHECKPOINT: the commit of this much WAL checkpoints by itself


def _file_states_down(con: duckdb.DuckDBPyConnection, rel: str) -> None:
    """The incremental file states of order_state.sql / order_outcome.sql lose the rows archived now, so the
    next run stays incremental (a file state that no longer matches raw means a full rebuild)."""
    moved = f"(SELECT file, rows_archived FROM {MOVES} WHERE parquet = {_sql_text(rel)})"
    for t in ("cur.order_state_files", "cur.order_outcome_files"):
        if not _exists(con, t):
            continue
        con.execute(f"UPDATE {t} SET n_rows = n_rows - m.rows_archived FROM {moved} m WHERE m.file = {t}.ingest_file")
        con.execute(f"DELETE FROM {t} WHERE n_rows <= 0")


def lookup_relation(con: duckdb.DuckDBPyConnection, feed: str, order_ids: list[str]) -> str:
    """Where to look ``order_ids`` up: ``raw.<feed>`` while none of them is closed (the usual case: messages go
    out for live orders), else ``audit.<feed>``, which also reads the archive."""
    if not order_ids or not _exists(con, "hist.closed_orders"):
        return f"raw.{feed}"
    closed = con.execute("SELECT count(*) FROM hist.closed_orders WHERE order_id IN (SELECT unnest(?))",
                         [order_ids]).fetchone()[0]
    return f"audit.{feed}" if closed else f"raw.{feed}"


def _counts(con: duckdb.DuckDBPyConnection, report: Report) -> Report:
    report.rows_in_raw, report.rows_archived = retention.row_counts(con, FEEDS, MOVES)
    return report


def conservation_breaks(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int, int]]:
    """Event feeds whose ingested rows (ledger) differ from raw + archived rows (``retention.ledger_breaks``)."""
    return retention.ledger_breaks(con, FEEDS, MOVES)
