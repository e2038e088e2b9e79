"""The ``dq.notifications`` outbox: route issues into rows, then dispatch due rows as digests.

Guarantees:
- A row exists before any send (``enqueue`` commits rows; ``dispatch`` only sends existing rows).
- Idempotent per (issue_id, channel, recipient, occurrence): a UNIQUE constraint plus INSERT OR
  IGNORE, so re-routing the same issues never adds rows. ``notification_id`` = md5 of that key.
- Occurrences: ``new`` (first notification), ``reopened-<ts>`` (OPEN again after a change at ts),
  ``repeat-<n>`` (n-th repeat_interval elapsed since
  first detection while the issue is still open), ``escalation`` (P0/P1 still unacknowledged after the
  team's ack_sla; goes to the team's escalate_to recipients).
- A failed send marks the rows RETRY with attempts+1 and ``next_attempt_at`` = now + backoff
  (60 s * 2^attempts, capped at 1 h); after MAX_ATTEMPTS they become FAILED (kept, visible). An outage
  therefore only delays delivery; a restart resumes from the table. After the first failure of a
  channel in a batch the remaining groups of that channel are not attempted (they stay due).
- Rows are marked SENT in batches at most SENT_FLUSH_S (0.5 s) after the server accepted their
  message (and always before dispatch returns or handles a failure); rows already SENT are never
  picked again. The only window for a duplicate is a process crash inside that half second; messages
  carry a deterministic Message-ID (md5 of their notification ids) so receivers can drop it.
- Holds (a route's ``pending_for``, Alertmanager's ``for:``): a row is written at once but not due
  before ``hold_until``; if the issue is closed (auto-resolved, false positive, suppressed) before
  it is sent, the row is WITHDRAWN unsent. A half-delivered batch's passing disagreement reaches nobody.
- Follow-ups (a route's ``send_resolved``): a notified issue that is withdrawn or resolved sends one
  short notice to the same recipients (occurrence ``resolved-<ts>``, lib/followup.py).
- Digests: due rows are grouped by (team, channel, recipient, group_key) and each group is ONE
  message listing its issues (chunked at MAX_ISSUES_PER_MESSAGE). A group is due once its oldest row
  is ``group_wait`` old.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

import duckdb
import pyarrow as pa

from ticket_dq.lib import closed_orders, followup, lifecycle, messages, routing
from ticket_dq.lib.ids import hash_id
from ticket_dq.lib.channels import ChannelError

MAX_ATTEMPTS = 12
BACKOFF_BASE_S = 60
BACKOFF_MAX_S = 3600
MAX_ISSUES_PER_MESSAGE = 200
# SENT marks are written in batches: at most this long / this many rows after the server accepted.
SENT_FLUSH_S = 0.5
SENT_FLUSH_ROWS = 2000
ESCALATE_SEVERITIES = ("P0", "P1")

NOTIFICATIONS_DDL = """
CREATE TABLE IF NOT EXISTS dq.notifications (
  notification_id VARCHAR PRIMARY KEY,   -- hash_id(issue_id|channel|recipient|occurrence)
  issue_id VARCHAR NOT NULL,
  channel VARCHAR NOT NULL,              -- file | smtp | webhook
  recipient VARCHAR NOT NULL,
  team VARCHAR NOT NULL,
  status VARCHAR NOT NULL,               -- PENDING | RETRY | SENT | FAILED
  attempts INTEGER NOT NULL,
  sent_at TIMESTAMP,
  error VARCHAR,
  occurrence VARCHAR NOT NULL,           -- new | repeat-<n> | escalation
  route VARCHAR,                         -- route name in routes.yaml that chose this receiver
  group_key VARCHAR NOT NULL,            -- digest key: route + group_by values
  group_wait_s INTEGER NOT NULL,
  next_attempt_at TIMESTAMP,
  message_id VARCHAR,                    -- the digest message that carried it
  created_at TIMESTAMP NOT NULL,
  UNIQUE (issue_id, channel, recipient, occurrence)
)"""
# Added after the first release (columns are only ever added).
NOTIFICATIONS_ADDED = ("ALTER TABLE dq.notifications ADD COLUMN IF NOT EXISTS hold_until TIMESTAMP",)

_COLS = ("notification_id", "issue_id", "channel", "recipient", "team", "occurrence", "route", "group_key",
         "group_wait_s", "hold_until")

# Open issues as routing sees them: detection status merged with the handlers' events (so routing is
# right even if dq.issues was built before the latest events were ingested).
_OPEN_ISSUES_SQL = """
SELECT i.issue_id, i.category, i.severity, i.source, i.team, i.status, i.affected_orders,
    coalesce(epoch(i.show_start_time - $now) / 3600.0, i.hours_to_show) AS hours_to_show,
    i.first_detected_at, i.cinema_code, i.business_date, i.status_changed_at,
    (i.status <> 'OPEN' OR (hs.acknowledged_at IS NOT NULL
        AND hs.acknowledged_at >= coalesce(i.status_changed_at, i.first_detected_at))) AS acknowledged
FROM dq.issues i
LEFT JOIN handler_state hs ON hs.issue_id = i.issue_id
WHERE i.status IN ('OPEN', 'ACKNOWLEDGED', 'CONFIRMED')
  -- closed by a handler after dq.issues last changed this issue (events not merged yet)
  AND NOT (coalesce(hs.status, '') IN ('RESOLVED', 'FALSE_POSITIVE')
           AND hs.status_at >= coalesce(i.status_changed_at, i.first_detected_at))
  AND i.first_detected_at <= $now
  -- closed history (lib/closed_orders.py): an issue of a show over for the retention window is not
  -- routed again (no repeats or escalations); its handlers still see it, and its past messages stay
  AND coalesce(i.show_start_time, i.business_date + INTERVAL 1 DAY, CAST('infinity' AS TIMESTAMP)) >=
      coalesce((SELECT max(closed_before) FROM meta.closed_history), CAST('-infinity' AS TIMESTAMP))
"""


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(NOTIFICATIONS_DDL)
    for ddl in NOTIFICATIONS_ADDED:
        con.execute(ddl)


def notification_id(issue_id: str, channel: str, recipient: str, occurrence: str) -> str:
    return hash_id(f"{issue_id}|{channel}|{recipient}|{occurrence}")


def plan(issues: Iterable[Mapping[str, Any]], cfg: routing.RouteConfig, enabled: Iterable[str],
         now: datetime) -> list[tuple]:
    """Pure: the outbox rows (``_COLS`` order) the given open issues call for at ``now``."""
    enabled = set(enabled)
    rows: list[tuple] = []
    for issue in issues:
        iid = issue["issue_id"]
        first = issue.get("first_detected_at")
        age_s = (now - first).total_seconds() if first else 0.0
        changed = issue.get("status_changed_at")
        reopened = issue.get("status") == "OPEN" and changed and first and changed > first
        for d in cfg.decide(issue):
            # The hold runs from the moment the issue (re)opened; it must stay open that long.
            since = changed if reopened else first
            hold = since + timedelta(seconds=d.pending_for_s) if d.pending_for_s and since else None
            team = cfg.teams.get(d.team)
            if team is None:
                continue
            gk = routing.group_key(d, issue)
            occ = ["new"]
            n = math.floor(age_s / d.repeat_interval_s) if d.repeat_interval_s else 0
            if n >= 1:
                occ.append(f"repeat-{n}")
            if reopened:
                occ.append(f"reopened-{changed:%Y%m%dT%H%M%S}")  # reopened by detection or a handler
            for ch in team.channels:
                if ch.type not in enabled:
                    continue
                for rcpt in ch.recipients:
                    for o in occ:
                        rows.append((notification_id(iid, ch.type, rcpt, o), iid, ch.type, rcpt, d.team, o,
                                     d.route, gk, d.group_wait_s, hold))
            if (issue.get("severity") in ESCALATE_SEVERITIES and not issue.get("acknowledged")
                    and age_s >= team.ack_sla_s and team.escalate_to):
                for ch in team.channels:
                    if ch.type not in enabled:
                        continue
                    for rcpt in team.escalate_to:
                        rows.append((notification_id(iid, ch.type, rcpt, "escalation"), iid, ch.type, rcpt,
                                     d.team, "escalation", d.route, f"escalation|team={d.team}", 0, hold))
    return rows


def enqueue(con: duckdb.DuckDBPyConnection, cfg: routing.RouteConfig, enabled: Iterable[str],
            now: datetime) -> dict[str, int]:
    """Route every open issue and insert the rows it calls for (existing ones are ignored).

    Returns {"issues": open issues considered, "planned": rows planned, "inserted": new rows,
    "escalations": new escalation rows}."""
    ensure_table(con)
    lifecycle.handler_states(con)
    cur = con.execute(_OPEN_ISSUES_SQL, {"now": now})
    names = [c[0] for c in cur.description]
    issues = [dict(zip(names, r)) for r in cur.fetchall()]
    rows = plan(issues, cfg, enabled, now)
    before = con.execute("SELECT count(*), count(*) FILTER (WHERE occurrence = 'escalation') "
                         "FROM dq.notifications").fetchall()[0]
    if rows:
        cols = list(zip(*rows))
        staged = pa.table({**{name: pa.array(list(vals)) for name, vals in zip(_COLS, cols)},
                           "plan_order": pa.array(range(len(rows)), pa.int64())})
        con.register("_outbox_staged", staged)
        try:
            # Most planned rows exist already, and INSERT OR IGNORE checks every row against the keys one by
            # one (~0.2 ms a row: seconds on a national day): new rows are picked by an anti-join instead,
            # the first planned wins when two routes reach the same recipient with the same occurrence.
            con.execute(f"""
                INSERT INTO dq.notifications
                  ({', '.join(_COLS)}, status, attempts, next_attempt_at, created_at)
                SELECT {', '.join(_COLS)}, 'PENDING', 0, greatest($now, coalesce(hold_until, $now)), $now
                FROM _outbox_staged s
                -- keyed as the table's UNIQUE constraint (ids made by an older id scheme stay valid)
                ANTI JOIN dq.notifications n USING (issue_id, channel, recipient, occurrence)
                QUALIFY row_number() OVER (PARTITION BY s.issue_id, s.channel, s.recipient, s.occurrence
                                           ORDER BY s.plan_order) = 1""",
                        {"now": now})
        finally:
            con.unregister("_outbox_staged")
    after = con.execute("SELECT count(*), count(*) FILTER (WHERE occurrence = 'escalation') "
                        "FROM dq.notifications").fetchall()[0]
    withdrawn = withdraw_held(con, now)
    resolved = followup.enqueue_resolved(con, cfg, enabled, now)
    return {"issues": len(issues), "planned": len(rows), "inserted": after[0] - before[0],
            "escalations": after[1] - before[1], "withdrawn": withdrawn, "resolved_notices": resolved}


def withdraw_held(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Held rows never sent whose issue has closed are WITHDRAWN (kept as the trace): closed during its
    hold, or after it but before any dispatch ran — either way nobody was told, and nobody needs to be."""
    n = con.execute("""
        UPDATE dq.notifications AS n SET status = 'WITHDRAWN', next_attempt_at = NULL,
               error = 'issue ' || lower(i.status) || ' before it was sent (pending_for hold); not sent'
        FROM dq.issues i
        WHERE i.issue_id = n.issue_id AND n.status = 'PENDING' AND n.hold_until IS NOT NULL
          AND i.status NOT IN ('OPEN', 'ACKNOWLEDGED', 'CONFIRMED')
        RETURNING 1""").fetchall()
    return len(n)


_DUE_SQL = """
SELECT team, channel, recipient, group_key,
    -- 'notification_id|issue_id' pairs in one list (md5 ids contain no '|')
    list(notification_id || '|' || issue_id ORDER BY issue_id, notification_id) AS pairs,
    bool_or(occurrence = 'escalation') AS escalation,
    list(DISTINCT route) AS routes
FROM dq.notifications
WHERE status IN ('PENDING', 'RETRY') AND coalesce(next_attempt_at, created_at) <= $now
GROUP BY team, channel, recipient, group_key
HAVING min(created_at) + to_seconds(max(group_wait_s)) <= $now
ORDER BY channel, team, recipient, group_key
"""

_ISSUES_SQL = """
SELECT issue_id, category, rule, severity, team, status, source, cinema_code, business_date, show_start_time,
    order_id, pickup_code, affected_orders, reason, CAST(evidence AS VARCHAR) AS evidence, first_detected_at,
    resolved_at, resolution_reason, status_changed_at
FROM dq.issues WHERE issue_id IN (SELECT unnest($ids))
ORDER BY severity, show_start_time NULLS LAST, issue_id
"""

# CS only: the customer's latest order row, looked up by order_id (mobile masked before use).
_ORDERS_SQL = """
SELECT order_id, arg_max(mobile, event_ts) AS mobile, arg_max(film_name, event_ts) AS film_name,
    arg_max(ticket_count, event_ts) AS ticket_count
FROM {orders} WHERE order_id IN (SELECT unnest($ids)) GROUP BY order_id
"""


def _mark_sent(con, sent: list[tuple[str, str]], now: datetime) -> None:
    """Mark (notification_id, message_id) pairs SENT in one statement."""
    if not sent:
        return
    staged = pa.table({"nid": [n for n, _ in sent], "mid": [m for _, m in sent]})
    con.register("_outbox_sent", staged)
    try:
        con.execute("""UPDATE dq.notifications AS n SET status = 'SENT', attempts = n.attempts + 1, sent_at = $now,
                       error = NULL, message_id = s.mid, next_attempt_at = NULL
                       FROM _outbox_sent s
                       WHERE n.notification_id = s.nid AND n.status IN ('PENDING', 'RETRY')""", {"now": now})
    finally:
        con.unregister("_outbox_sent")


def _mark_failed(con, ids: list[str], now: datetime, error: str) -> None:
    con.execute(f"""UPDATE dq.notifications SET attempts = attempts + 1, error = $err,
                   status = CASE WHEN attempts + 1 >= {MAX_ATTEMPTS} THEN 'FAILED' ELSE 'RETRY' END,
                   next_attempt_at = $now + to_seconds(least({BACKOFF_BASE_S} * pow(2, attempts), {BACKOFF_MAX_S})::BIGINT)
                   WHERE notification_id IN (SELECT unnest($ids)) AND status IN ('PENDING', 'RETRY')""",
                {"now": now, "err": error[:1000], "ids": ids})


def dispatch(con: duckdb.DuckDBPyConnection, channels: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Send every due group as one digest (per chunk) through its channel; record the outcome.

    ``channels`` maps channel type -> object with ``send(Message)``. Rows of a channel type that is not
    configured stay PENDING. Returns counts and a per-message summary."""
    ensure_table(con)
    groups = con.execute(_DUE_SQL, {"now": now}).fetchall()
    sent_msgs = failed_msgs = deferred = rows_sent = 0
    broken: dict[str, str] = {}
    summary: list[dict] = []
    # Everything the messages need, fetched once for the whole batch (not per group).
    groups = [(t, c, r, k, [p.split("|", 1)[1] for p in pairs], [p.split("|", 1)[0] for p in pairs], e, rt)
              for t, c, r, k, pairs, e, rt in groups]
    wanted = sorted({i for g in groups if g[1] in channels for i in g[4]})
    issue_cache: dict[str, dict] = {}
    if wanted:
        cur = con.execute(_ISSUES_SQL, {"ids": wanted})
        names = [c[0] for c in cur.description]
        issue_cache = {r[0]: dict(zip(names, r)) for r in cur.fetchall()}
    oids = sorted({issue_cache[i]["order_id"] for g in groups if g[0] == "CS" for i in g[4]
                   if i in issue_cache and issue_cache[i].get("order_id")})
    orders: dict[str, dict] = {}
    if oids:
        cur = con.execute(_ORDERS_SQL.format(orders=closed_orders.lookup_relation(con, "orders", oids)), {"ids": oids})
        names = [c[0] for c in cur.description]
        orders = {r[0]: dict(zip(names, r)) for r in cur.fetchall()}
    unmarked: list[tuple[str, str]] = []  # sent, SENT not yet recorded (flushed every SENT_FLUSH_S)
    last_flush = time.monotonic()
    for team, channel, recipient, _gkey, issue_ids, ids, escalation, routes in groups:
        chan = channels.get(channel)
        if chan is None or channel in broken:
            deferred += 1
            continue
        by_issue: dict[str, list[str]] = defaultdict(list)
        for iid, nid in zip(issue_ids, ids):
            by_issue[iid].append(nid)
        issues = sorted((issue_cache[i] for i in by_issue if i in issue_cache),
                        key=lambda x: (x.get("severity") or "P9", str(x.get("show_start_time") or ""), x["issue_id"]))
        gone = [n for i, ns in by_issue.items() if i not in issue_cache for n in ns]
        if gone:  # issue rows vanished from dq.issues: nothing to say, do not retry forever
            _mark_failed(con, gone, now, "issue no longer in dq.issues")
        for start in range(0, len(issues), MAX_ISSUES_PER_MESSAGE):
            chunk = issues[start:start + MAX_ISSUES_PER_MESSAGE]
            chunk_ids = [nid for i in chunk for nid in by_issue[i["issue_id"]]]
            mid = hash_id("|".join(sorted(chunk_ids)))
            if _gkey.startswith(followup.GROUP_PREFIX):
                msg = followup.render(team, channel, recipient, mid, chunk)
            else:
                msg = messages.render(team, channel, recipient, mid, chunk, orders if team == "CS" else None,
                                      escalation=bool(escalation), routes=routes or ())
            try:
                chan.send(msg)
            except ChannelError as exc:
                _mark_sent(con, unmarked, now)
                unmarked = []
                _mark_failed(con, chunk_ids, now, str(exc))
                failed_msgs += 1
                broken[channel] = str(exc)
                break
            unmarked.extend((nid, mid) for nid in chunk_ids)
            if len(unmarked) >= SENT_FLUSH_ROWS or time.monotonic() - last_flush >= SENT_FLUSH_S:
                _mark_sent(con, unmarked, now)
                unmarked, last_flush = [], time.monotonic()
            sent_msgs += 1
            rows_sent += len(chunk_ids)
            summary.append({"team": team, "channel": channel, "recipient": recipient, "issues": len(chunk),
                            "escalation": bool(escalation), "message_id": mid})
    _mark_sent(con, unmarked, now)
    for chan in channels.values():
        close = getattr(chan, "close", None)
        if close:
            close()
    return {"groups_due": len(groups), "messages_sent": sent_msgs, "messages_failed": failed_msgs,
            "groups_deferred": deferred, "rows_sent": rows_sent, "broken_channels": broken,
            "messages": summary}


def status_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    ensure_table(con)
    return dict(con.execute("SELECT status, count(*) FROM dq.notifications GROUP BY status").fetchall())


def next_due(con: duckdb.DuckDBPyConnection) -> datetime | None:
    ensure_table(con)
    return con.execute("SELECT min(coalesce(next_attempt_at, created_at)) FROM dq.notifications "
                       "WHERE status IN ('PENDING', 'RETRY')").fetchall()[0][0]


def run_cycle(con: duckdb.DuckDBPyConnection, cfg: routing.RouteConfig, channels: Mapping[str, Any],
              now: datetime) -> dict[str, Any]:
    """Route then dispatch: what the ["dq","notifications"] asset does each run."""
    routed = enqueue(con, cfg, channels.keys(), now)
    sent = dispatch(con, channels, now)
    return {"routed": routed, "dispatch": sent, "status": status_counts(con)}




def summary_text(con: duckdb.DuckDBPyConnection) -> str:
    """A few lines for the `ticket-dq materialize` summary: notifications by team, channel and status."""
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dq' "
                      "AND table_name = 'notifications'").fetchall()[0][0]
    if not has:
        return "Notifications: none yet (dq.notifications not built)"
    rows = con.execute("""
        SELECT team, channel, count(*) FILTER (WHERE status = 'SENT'), count(*) FILTER (WHERE status IN ('PENDING', 'RETRY')),
               count(*) FILTER (WHERE status = 'FAILED'), count(*) FILTER (WHERE occurrence = 'escalation'),
               count(DISTINCT message_id)
        FROM dq.notifications GROUP BY ALL ORDER BY team, channel""").fetchall()
    lines = ["Notifications (dq.notifications)   team   channel   sent  pending  failed  escalations  messages"]
    for team, channel, sent, pending, failed, esc, msgs in rows:
        lines.append(f"  {'':<32}{team:<6} {channel:<8} {sent:>6,} {pending:>8,} {failed:>7,} {esc:>12,} {msgs:>9,}")
    waiting, groups, due = con.execute("""
        SELECT coalesce(sum(n), 0), count(*), min(due) FROM (
          SELECT group_key, count(*) AS n,
                 greatest(min(created_at) + to_seconds(max(group_wait_s)), min(coalesce(next_attempt_at, created_at))) AS due
          FROM dq.notifications WHERE status IN ('PENDING', 'RETRY') GROUP BY group_key)""").fetchall()[0]
    if waiting:
        # Pending is a state, not a failure: a digest waits for its group_wait, a failed send for its backoff.
        lines.append(f"  {waiting:,} pending in {groups:,} digest(s), first due {due:%Y-%m-%d %H:%M:%S} "
                     f"(group_wait / retry backoff); the dispatch sensor or the next run sends them then")
    return "\n".join(lines)
