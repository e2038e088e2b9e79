"""The handlers' view of the issues, shared by the triage CLI and the triage page.

Neither writes the warehouse. They read it read-only and briefly (DuckDB lets no reader in while the
pipeline writes, and no writer in while a reader holds the file), copy what they show into an
in-memory DuckDB, and deliver what a handler does as an ``issue_events`` feed file (lib/delivery.py).

The status a handler sees is the lifecycle replay (lib/lifecycle.py) of the warehouse's
raw.issue_events plus every issue_events file already delivered to the landing area but not yet
ingested ("pending": it takes effect on the next pipeline run), so ``acknowledge`` then ``confirm``
in quick succession works and the page can show what is still on its way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ticket_dq.lib import closed_orders, contract, delivery, lifecycle, messages, warehouse

# verb (CLI subcommand, page button) -> event to_status
ACTIONS = {
    "acknowledge": "ACKNOWLEDGED",
    "confirm": "CONFIRMED",
    "false-positive": "FALSE_POSITIVE",
    "resolve": "RESOLVED",
    "reopen": "REOPENED",
}
VERBS = {v: k for k, v in ACTIONS.items()}
# Statuses a handler still has work on.
ACTIVE_STATUSES = ("OPEN", "ACKNOWLEDGED", "CONFIRMED")


class Unreadable(RuntimeError):
    """The warehouse is missing or locked by a running job."""


class Refused(ValueError):
    """A handler action that cannot be delivered (unknown issue, illegal transition, bad code)."""


@dataclass
class Snapshot:
    """What the handlers' views read from the warehouse, copied out in one brief read-only open."""
    issues: pa.Table
    events: pa.Table
    notifications: pa.Table | None
    ingested_event_files: set[str]
    read_at: datetime
    stamp: tuple = field(default=())


def warehouse_stamp(wh: Path) -> tuple:
    """Changes whenever the DuckDB file or its write-ahead log changes (cheap: two stat calls)."""
    out = []
    for p in (wh, wh.with_name(wh.name + ".wal")):
        try:
            st = p.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def _has_table(con, schema: str, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchall()[0][0] > 0


def read_snapshot(wh: Path, timeout_s: float = 3.0) -> Snapshot:
    wh = Path(wh)
    if not wh.is_file():
        raise Unreadable(f"no warehouse at {wh}: run `ticket-dq materialize` first")
    stamp = warehouse_stamp(wh)
    try:
        with warehouse.connect(wh, read_only=True, timeout_s=timeout_s) as con:
            if not _has_table(con, "dq", "issues"):
                raise Unreadable(f"the warehouse {wh} has no dq.issues yet: run `ticket-dq materialize` first")
            issues = con.sql("SELECT * FROM dq.issues").to_arrow_table()
            events = con.sql("SELECT * FROM raw.issue_events").to_arrow_table()
            known = {r[0] for r in con.execute(
                "SELECT file FROM meta.ingested_files WHERE feed = 'issue_events'").fetchall()}
            notes = (con.sql("SELECT * FROM dq.notifications").to_arrow_table()
                     if _has_table(con, "dq", "notifications") else None)
    except warehouse.WarehouseLocked as exc:
        raise Unreadable(f"the warehouse {wh} is locked by a running job (DuckDB allows one writer and no "
                         f"readers beside it); try again when it finishes. ({exc})") from None
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise Unreadable(f"the warehouse {wh} is locked by a running job; try again when it finishes") from None
        raise
    return Snapshot(issues, events, notes, known, datetime.now(), stamp)


def pending_event_files(landing: Path, snapshot: Snapshot) -> list[Path]:
    """issue_events files delivered (manifest present) that the warehouse has not ingested yet."""
    landing = Path(landing)
    return [p for p in delivery.delivered_files(landing, "issue_events")
            if p.relative_to(landing).as_posix() not in snapshot.ingested_event_files]


def state_connection(snapshot: Snapshot, landing: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB: dq.issues, dq.notifications, raw.issue_events (ingested + pending, with a
    ``pending`` flag) and the replayed TEMP tables handler_state / handler_rejected_events."""
    mem = duckdb.connect()
    mem.execute("SET TimeZone = 'Asia/Shanghai'")
    mem.execute("CREATE SCHEMA dq; CREATE SCHEMA raw")
    mem.register("_i", snapshot.issues)
    mem.execute("CREATE TABLE dq.issues AS SELECT * FROM _i")
    mem.register("_e", snapshot.events)
    mem.execute("CREATE TABLE raw.issue_events AS SELECT *, false AS pending FROM _e")
    if snapshot.notifications is not None:
        mem.register("_n", snapshot.notifications)
        mem.execute("CREATE TABLE dq.notifications AS SELECT * FROM _n")
    for name in ("_i", "_e", "_n"):
        mem.unregister(name)
    landing = Path(landing)
    for path in pending_event_files(landing, snapshot):
        rel = path.relative_to(landing).as_posix()
        try:
            mem.execute("""INSERT INTO raw.issue_events BY NAME
                SELECT try_cast(event_ts AS TIMESTAMP) AS event_ts, issue_id, to_status, handler, team,
                       resolution_code, comment, $source AS source, $rel AS ingest_file,
                       1 + row_number() OVER () AS ingest_line, now()::TIMESTAMP AS ingested_at, true AS pending
                FROM read_csv($p, all_varchar = true, header = true)""",
                        {"p": str(path), "rel": rel, "source": path.parent.parent.name})
        except duckdb.Error:
            continue  # not readable as UTF-8 CSV here: ingestion judges (and quarantines) it
    lifecycle.handler_states(mem)
    return mem


def load_state(wh: Path, landing: Path, timeout_s: float = 3.0) -> duckdb.DuckDBPyConnection:
    return state_connection(read_snapshot(wh, timeout_s), landing)


# One row per issue as a handler sees it: the handlers' replayed status over detection's.
STATE_VIEW = """
SELECT i.issue_id, i.category, i.rule, i.severity, i.team,
    coalesce(hs.status, i.status) AS status,
    i.status AS status_in_issues, hs.status AS handler_status, hs.status_at, hs.handler,
    i.source, i.cinema_code, i.business_date, i.show_start_time, i.order_id, i.pickup_code,
    i.affected_orders, i.reason, i.evidence, i.first_detected_at, i.last_detected_at, i.resolved_at,
    i.hours_to_show, i.impact_fen,
    EXISTS (SELECT 1 FROM raw.issue_events e WHERE e.issue_id = i.issue_id AND e.pending) AS pending
FROM dq.issues i LEFT JOIN handler_state hs USING (issue_id)
"""

# Most urgent first: severity, then shows still to come by start time (nearest first), then the rest.
URGENCY_ORDER = ("severity, (show_start_time IS NULL OR show_start_time < $now), show_start_time, "
                 "first_detected_at DESC, issue_id")


def _filter_sql(filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """WHERE clause over STATE_VIEW for list filters; every value is a bound parameter."""
    where, params = [], {}
    for col in ("status", "team", "severity", "category", "source", "cinema_code"):
        vals = filters.get(col)
        if vals:
            where.append(f"{col} IN (SELECT unnest(${col}))")
            params[col] = [str(v).strip() for v in vals]
    if filters.get("date"):
        where.append("(business_date = $date OR CAST(show_start_time AS DATE) = $date)")
        params["date"] = filters["date"]
    return (" WHERE " + " AND ".join(where)) if where else "", params


def list_issues(con, filters: dict[str, Any], now: datetime, limit: int = 200) -> tuple[list[dict], int]:
    """(rows sorted by urgency, number matching) for filters {status, team, severity, category,
    source, cinema_code: [values], date: date}."""
    where, params = _filter_sql(filters)
    base = f"SELECT * FROM ({STATE_VIEW}){where}"
    matching = con.execute(f"SELECT count(*) FROM ({base})", params).fetchall()[0][0]
    cur = con.execute(f"SELECT * FROM ({base}) ORDER BY {URGENCY_ORDER} LIMIT $limit",
                      {**params, "now": now, "limit": limit})
    return _dicts(cur), matching


def facets(con, team: str | None = None) -> dict[str, list[str]]:
    """Distinct values for the filter menus (one team's issues, or all)."""
    out = {}
    for col in ("category", "source", "cinema_code", "status", "severity"):
        out[col] = [r[0] for r in con.execute(
            f"SELECT DISTINCT {col} FROM ({STATE_VIEW}) WHERE {col} IS NOT NULL AND ($team IS NULL OR team = $team) "
            "ORDER BY 1", {"team": team}).fetchall()]
    return out


def time_to_show(ts: datetime | None, now: datetime) -> str:
    """'in 1h30', '2h05 ago', 'in 3d 4h' (past two days), or '-' when the issue has no show time."""
    if ts is None:
        return "-"
    minutes = int((ts - now).total_seconds() // 60)
    h, m = divmod(abs(minutes), 60)
    text = f"{h // 24}d {h % 24}h" if h >= 48 else f"{h}h{m:02d}"
    return f"in {text}" if minutes >= 0 else f"{text} ago"


def _dicts(cur) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def evidence_of(value) -> Any:
    """The evidence JSON parsed, with every mobile number masked (a last line of defence)."""
    if value in (None, ""):
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    try:
        return json.loads(messages.mask(text))
    except ValueError:
        return messages.mask(text)


def order_ids(issue: dict) -> list[str]:
    """The orders an issue is about: its order_id and any order ids listed in its evidence."""
    ids = [issue["order_id"]] if issue.get("order_id") else []
    ev = evidence_of(issue.get("evidence"))
    if isinstance(ev, dict) and isinstance(ev.get("orders"), list):
        ids += [str(o) for o in ev["orders"] if isinstance(o, (str, int))]
    return list(dict.fromkeys(ids))


_ORDERS_SQL = """
SELECT order_id, arg_max(partner_code, event_ts) AS partner_code, arg_max(mobile, event_ts) AS mobile,
    arg_max(film_name, event_ts) AS film_name, arg_max(show_start_time, event_ts) AS show_start_time,
    arg_max(hall_name, event_ts) AS hall_name, arg_max(seats, event_ts) AS seats,
    arg_max(ticket_count, event_ts) AS ticket_count, arg_max(total_fen, event_ts) AS total_fen,
    arg_max(status, event_ts) AS status, max(event_ts) AS last_event_ts
FROM {orders} WHERE order_id IN (SELECT unnest($ids)) GROUP BY order_id ORDER BY order_id
"""


def orders(wh: Path, ids: list[str], timeout_s: float = 3.0) -> list[dict]:
    """The latest state of each order, mobile masked; read from the warehouse (briefly, read-only)."""
    if not ids:
        return []
    try:
        with warehouse.connect(wh, read_only=True, timeout_s=timeout_s) as con:
            rows = _dicts(con.execute(_ORDERS_SQL.format(orders=closed_orders.lookup_relation(con, "orders", ids)),
                                      {"ids": ids}))
    except warehouse.WarehouseLocked as exc:
        raise Unreadable(f"orders not readable now: the warehouse is locked by a running job ({exc})") from None
    for r in rows:
        r["mobile"] = messages.mask(r.get("mobile")) or None
    return rows


def issue_detail(con, issue_id: str) -> dict | None:
    """One issue as STATE_VIEW has it, plus its events (pending flagged), rejected events and notifications."""
    cur = con.execute(f"SELECT * FROM ({STATE_VIEW}) WHERE issue_id = $id", {"id": issue_id})
    rows = _dicts(cur)
    if not rows:
        return None
    issue = rows[0]
    issue["reason"] = messages.mask(issue.get("reason"))
    issue["evidence_parsed"] = evidence_of(issue.get("evidence"))
    issue["events"] = _dicts(con.execute(
        "SELECT event_ts, to_status, handler, team, resolution_code, comment, source, pending "
        "FROM raw.issue_events WHERE issue_id = $id ORDER BY event_ts, ingested_at", {"id": issue_id}))
    issue["rejected"] = _dicts(con.execute(
        "SELECT event_ts, to_status, handler, reason FROM handler_rejected_events WHERE issue_id = $id "
        "ORDER BY event_ts", {"id": issue_id}))
    issue["notifications"] = []
    if _has_table(con, "dq", "notifications"):
        issue["notifications"] = _dicts(con.execute(
            "SELECT channel, recipient, occurrence, status, attempts, sent_at, error FROM dq.notifications "
            "WHERE issue_id = $id ORDER BY created_at", {"id": issue_id}))
    return issue


def plan_event(con, issue_id: str, to_status: str, *, handler: str, team: str | None, now: datetime,
               resolution_code: str | None = None, comment: str = "") -> dict:
    """One issue_events row for a handler action, checked against the issue's current (replayed)
    status; raises Refused. ``team`` None: the issue's team. ``_new`` is the status it leads to."""
    if to_status not in contract.HANDLER_STATUSES:
        raise Refused(f"unknown action {to_status!r}")
    code = (resolution_code or "").strip().upper()
    if to_status == "FALSE_POSITIVE" and not code:
        code = "NO_ACTION"
    if to_status == "RESOLVED" and not code:
        raise Refused(f"{issue_id}: resolve needs a resolution code ({', '.join(contract.RESOLUTION_CODES)})")
    if code and code not in contract.RESOLUTION_CODES:
        raise Refused(f"unknown resolution code {code!r}; one of {', '.join(contract.RESOLUTION_CODES)}")
    row = con.execute("SELECT i.team, hs.status FROM dq.issues i LEFT JOIN handler_state hs USING (issue_id) "
                      "WHERE issue_id = $id", {"id": issue_id}).fetchall()
    if not row:
        raise Refused(f"{issue_id}: no such issue in dq.issues")
    issue_team, current = row[0]
    try:
        new = lifecycle.next_status(current, to_status)
    except lifecycle.IllegalTransition as exc:
        cur = (current or "OPEN")
        hint = [VERBS[e] for e in lifecycle.allowed_events(cur if cur != "SUPPRESSED" else "OPEN")]
        raise Refused(f"{issue_id}: {VERBS[to_status]} refused: {exc}"
                      + (f" (try: {' | '.join(hint)})" if hint else "")) from None
    return {"event_ts": now.replace(microsecond=0), "issue_id": issue_id, "to_status": to_status,
            "handler": handler, "team": (team or issue_team or "").upper(),
            "resolution_code": code if to_status in ("RESOLVED", "FALSE_POSITIVE") else "",
            "comment": comment or "", "_new": new}


def deliver_events(landing: Path, source: str, rows: list[dict], now: datetime) -> Path:
    """Deliver handler events as one issue_events file (data, then manifest) under ``source``."""
    return delivery.deliver(landing, "issue_events", source, rows, now, stem=delivery.unique_stem(source, now))
