"""Resolved / withdrawn follow-ups (Alertmanager's ``send_resolved``).

A notified issue that detection withdraws (no longer detected: a passing disagreement, a correction
the partner already sent) or a handler closes would otherwise leave its recipients acting on it — a CS
agent calling a customer about a show that did not move. For routes with ``send_resolved: true`` each
recipient that was SENT a message about the issue gets one short notice, through the same channel,
as its own digest (group ``resolved|team=<team>``, no group_wait). Idempotent like every outbox row:
the occurrence is ``resolved-<when it closed>``, so a reopened and re-closed issue sends a new one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

import duckdb

from ticket_dq.lib import ids, messages, routing

GROUP_PREFIX = "resolved|"
CLOSED = ("RESOLVED", "FALSE_POSITIVE")

# New rows only, by an anti-join on the table's unique key (INSERT OR IGNORE would check every closed
# issue's notice again on every run, one index probe a row); GROUP BY makes the rows unique.
_ENQUEUE_SQL = f"""
INSERT INTO dq.notifications
  (notification_id, issue_id, channel, recipient, team, occurrence, route, group_key, group_wait_s, hold_until,
   status, attempts, next_attempt_at, created_at)
SELECT {ids.dashed_md5_sql("issue_id || '|' || channel || '|' || recipient || '|' || occurrence")}, issue_id, channel, recipient,
       team, occurrence, route, '{GROUP_PREFIX}team=' || team, 0, NULL, 'PENDING', 0, $now, $now
FROM (
  SELECT n.issue_id, n.channel, n.recipient, min(n.team) AS team, min(n.route) AS route,
         'resolved-' || strftime(coalesce(i.resolved_at, i.status_changed_at), '%Y%m%dT%H%M%S') AS occurrence
  FROM dq.notifications n JOIN dq.issues i ON i.issue_id = n.issue_id
  WHERE n.status = 'SENT' AND n.occurrence NOT LIKE 'resolved-%'
    AND n.route IN (SELECT unnest($routes)) AND n.channel IN (SELECT unnest($channels))
    AND i.status IN {CLOSED}
    -- closed after the recipient heard of it (not a notice for an old, long-closed issue)
    AND coalesce(i.resolved_at, i.status_changed_at) >= n.sent_at
  GROUP BY ALL) notice
ANTI JOIN dq.notifications known USING (issue_id, channel, recipient, occurrence)
"""


def resolved_routes(cfg: routing.RouteConfig) -> list[str]:
    out, stack = [], [cfg.root]
    while stack:
        node = stack.pop()
        if node.send_resolved:
            out.append(node.name)
        stack.extend(node.routes)
    return sorted(out)


def enqueue_resolved(con: duckdb.DuckDBPyConnection, cfg: routing.RouteConfig, enabled: Iterable[str],
                     now: datetime) -> int:
    """Insert the follow-up rows closed issues call for; returns how many are new."""
    routes, channels = resolved_routes(cfg), sorted(enabled)
    if not routes or not channels:
        return 0
    rows = con.execute(_ENQUEUE_SQL + " RETURNING 1", {"now": now, "routes": routes, "channels": channels}).fetchall()
    return len(rows)


def why_closed(issue: Mapping[str, Any]) -> str:
    status = issue.get("status")
    when = issue.get("resolved_at") or issue.get("status_changed_at")
    if status == "FALSE_POSITIVE":
        return f"marked a false positive by a handler ({when})"
    reason = issue.get("resolution_reason") or ""
    if reason == "no longer detected":
        return f"withdrawn: no longer detected ({when})"
    return f"resolved ({reason or 'handler'}, {when})"


def render(team: str, channel: str, recipient: str, message_id: str,
           issues: list[Mapping[str, Any]]) -> messages.Message:
    """A short notice: which issues no longer need action, and why."""
    n = len(issues)
    cats = sorted({str(i.get("category")) for i in issues})
    subject = (f"[ticket-dq][{team}] RESOLVED / WITHDRAWN: {n} issue{'s' if n != 1 else ''} no longer need "
               f"action: {', '.join(cats[:3])}")
    lines = [f"{n} issue(s) you were told about no longer need action. If you have not acted yet, do not."]
    for i in issues:
        where = " ".join(str(x) for x in (i.get("source"), i.get("cinema_code"),
                                          f"show {i['show_start_time']}" if i.get("show_start_time") else None,
                                          f"order {i['order_id']}" if i.get("order_id") else None) if x)
        lines.append(f"[{i.get('severity')}] {i.get('category')} {i.get('issue_id')} ({where}) - {why_closed(i)}")
    return messages.Message(message_id=message_id, team=team, channel=channel, recipient=recipient,
                            subject=messages.mask(subject), body=messages.mask("\n".join(lines)),
                            issue_ids=[str(i.get("issue_id")) for i in issues])
