"""Handler events -> issue status: the issue lifecycle as a state machine over ``raw.issue_events``.

The ``issue_events`` feed (CONTRACT.md section 3) and the triage CLI deliver what handlers did. Late,
duplicate and out-of-order events happen, so the status of an issue is always recomputed by
*replaying every event of the issue in event-time order* (``event_ts``), never by applying events in
the order they arrived. A late event therefore lands in its right place in the history, and the
result is a pure function of the event table: re-running gives the same answer.

States and the legal transitions (``to_status`` of an event -> new status)::

    OPEN          --ACKNOWLEDGED-->   ACKNOWLEDGED
    OPEN          --CONFIRMED-->      CONFIRMED        (a verdict implies acknowledgement)
    OPEN          --FALSE_POSITIVE--> FALSE_POSITIVE   (a verdict implies acknowledgement)
    ACKNOWLEDGED  --CONFIRMED-->      CONFIRMED
    ACKNOWLEDGED  --FALSE_POSITIVE--> FALSE_POSITIVE
    ACKNOWLEDGED  --RESOLVED-->       RESOLVED
    CONFIRMED     --RESOLVED-->       RESOLVED
    RESOLVED      --REOPENED-->       OPEN
    FALSE_POSITIVE--REOPENED-->       OPEN

Every issue starts OPEN. Anything else is rejected and kept for audit with a reason:

- ``DUPLICATE``: same (issue_id, event_ts, to_status) as an earlier-ingested event (the contract key of
  the feed); the first ingested copy is applied, the others are rejected.
- ``UNKNOWN_STATUS``: ``to_status`` outside CONTRACT.md's handler statuses.
- ``MISSING_FIELD``: no issue_id, event_ts or to_status.
- ``NO_CHANGE``: the issue is already in that status (e.g. a second ACKNOWLEDGED).
- ``ILLEGAL_TRANSITION``: e.g. RESOLVED while OPEN, REOPENED while ACKNOWLEDGED, CONFIRMED after
  FALSE_POSITIVE without a REOPENED between. A rejected event does not change the state; later
  events are judged against the state the legal events built.

Ties on ``event_ts`` within one issue are broken by lifecycle order (ACKNOWLEDGED, then the verdicts,
then RESOLVED, then REOPENED), then by arrival (ingested_at, ingest_file, ingest_line), so a
handler tool that stamps ack and verdict with the same second still produces a legal history.

``handler_states(con)`` creates or replaces two TEMP tables on ``con`` (visible to that connection
only) and returns their row counts:

``handler_state`` - one row per issue with at least one applied event:
    issue_id, status (OPEN | ACKNOWLEDGED | CONFIRMED | FALSE_POSITIVE | RESOLVED), status_at (event_ts
    of the last applied event), resolution_code (of the RESOLVED / FALSE_POSITIVE event that put it in
    its current status; NULL otherwise), handler, team (of the last applied event),
    acknowledged_at (when it first left OPEN in the current cycle; NULL while OPEN), resolved_at
    (status_at when status is RESOLVED), reopened_at (event_ts of the last applied REOPENED, or NULL),
    events_applied, events_rejected, last_event_ts (latest event_ts seen, applied or not).
    ``status = 'OPEN'`` here means *reopened by a handler*: the issue is open again whatever
    detection had said about it.

``handler_rejected_events`` - one row per rejected event:
    issue_id, event_ts, to_status, handler, team, resolution_code, comment, source, ingest_file,
    ingest_line, ingested_at, from_status (state when it was judged; NULL for DUPLICATE /
    MISSING_FIELD), reason_code (above), reason (a readable sentence).

Pure SQL: a recursive CTE walks all issues at once, one step per event (depth = most events on one
issue), so the cost is linear in the number of events.
"""

from __future__ import annotations

from typing import Mapping

import duckdb

from ticket_dq.lib import contract, warehouse

INITIAL_STATUS = "OPEN"
HANDLER_STATUSES = contract.HANDLER_STATUSES  # event to_status values
RESOLUTION_CODES = contract.RESOLUTION_CODES

# (current status, event to_status) -> new status
LEGAL_TRANSITIONS: Mapping[tuple[str, str], str] = {
    ("OPEN", "ACKNOWLEDGED"): "ACKNOWLEDGED",
    ("OPEN", "CONFIRMED"): "CONFIRMED",
    ("OPEN", "FALSE_POSITIVE"): "FALSE_POSITIVE",
    ("ACKNOWLEDGED", "CONFIRMED"): "CONFIRMED",
    ("ACKNOWLEDGED", "FALSE_POSITIVE"): "FALSE_POSITIVE",
    ("ACKNOWLEDGED", "RESOLVED"): "RESOLVED",
    ("CONFIRMED", "RESOLVED"): "RESOLVED",
    ("RESOLVED", "REOPENED"): "OPEN",
    ("FALSE_POSITIVE", "REOPENED"): "OPEN",
}

# Lifecycle order used only to break ties between events with the same event_ts.
TIE_RANK = {"ACKNOWLEDGED": 1, "CONFIRMED": 2, "FALSE_POSITIVE": 2, "RESOLVED": 3, "REOPENED": 4}

# Statuses in which the issue counts as acknowledged by a handler (for the escalation SLA).
ACKNOWLEDGED_STATUSES = ("ACKNOWLEDGED", "CONFIRMED", "FALSE_POSITIVE", "RESOLVED")


class IllegalTransition(ValueError):
    """A handler action that the lifecycle does not allow from the issue's current status."""


def allowed_events(current: str) -> list[str]:
    """Event to_status values legal from ``current`` (for messages and the triage CLI)."""
    return [ev for (frm, ev) in LEGAL_TRANSITIONS if frm == current]


def next_status(current: str | None, to_status: str) -> str:
    """Apply one event to a status in Python (the triage CLI's immediate check).

    ``current`` None means no handler has acted yet (OPEN). Raises IllegalTransition with a readable
    message. Detection-only statuses (SUPPRESSED) are treated as OPEN: a handler may act on them.
    """
    cur = (current or INITIAL_STATUS).upper()
    if cur == "SUPPRESSED":
        cur = INITIAL_STATUS
    ev = to_status.upper()
    if ev not in HANDLER_STATUSES:
        raise IllegalTransition(f"unknown status {to_status!r}; expected one of {', '.join(HANDLER_STATUSES)}")
    if (cur, ev) in LEGAL_TRANSITIONS:
        return LEGAL_TRANSITIONS[(cur, ev)]
    if cur == ev:
        raise IllegalTransition(f"issue is already {cur}")
    legal = allowed_events(cur)
    raise IllegalTransition(f"cannot go {cur} -> {ev}; allowed from {cur}: {', '.join(legal) or 'nothing'}")


def _load_transitions(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""CREATE OR REPLACE TEMP TABLE handler_transitions (
        from_status VARCHAR, to_status VARCHAR, new_status VARCHAR)""")
    con.executemany("INSERT INTO handler_transitions VALUES (?, ?, ?)",
                    [(f, e, n) for (f, e), n in LEGAL_TRANSITIONS.items()])
    con.execute("CREATE OR REPLACE TEMP TABLE handler_tie_rank (to_status VARCHAR, rnk INTEGER)")
    con.executemany("INSERT INTO handler_tie_rank VALUES (?, ?)", list(TIE_RANK.items()))
    con.execute("CREATE OR REPLACE TEMP TABLE handler_known_status (to_status VARCHAR)")
    con.executemany("INSERT INTO handler_known_status VALUES (?)", [(s,) for s in HANDLER_STATUSES])


_EVENTS_SQL = """
CREATE OR REPLACE TEMP TABLE handler_events_seq AS
WITH src AS (
    SELECT
        nullif(trim(issue_id), '') AS issue_id, event_ts,
        upper(nullif(trim(to_status), '')) AS to_status,
        nullif(trim(handler), '') AS handler, upper(nullif(trim(team), '')) AS team,
        upper(nullif(trim(resolution_code), '')) AS resolution_code, comment,
        source, ingest_file, ingest_line, ingested_at
    FROM raw.issue_events
), ranked AS (
    SELECT s.*,
        row_number() OVER (PARTITION BY s.issue_id, s.event_ts, s.to_status
                           ORDER BY s.ingested_at, s.ingest_file, s.ingest_line) AS copy_no,
        first_value(s.ingest_file || ':' || coalesce(CAST(s.ingest_line AS VARCHAR), '?'))
            OVER (PARTITION BY s.issue_id, s.event_ts, s.to_status
                  ORDER BY s.ingested_at, s.ingest_file, s.ingest_line) AS first_copy
    FROM src s
)
SELECT r.*,
    CASE
        WHEN r.issue_id IS NULL OR r.event_ts IS NULL OR r.to_status IS NULL THEN 'MISSING_FIELD'
        WHEN r.copy_no > 1 THEN 'DUPLICATE'
        WHEN k.to_status IS NULL THEN 'UNKNOWN_STATUS'
    END AS pre_reject,
    CASE WHEN r.issue_id IS NOT NULL AND r.event_ts IS NOT NULL AND r.to_status IS NOT NULL
              AND r.copy_no = 1 AND k.to_status IS NOT NULL
         THEN row_number() OVER (
              PARTITION BY r.issue_id,
                  (r.issue_id IS NOT NULL AND r.event_ts IS NOT NULL AND r.to_status IS NOT NULL
                   AND r.copy_no = 1 AND k.to_status IS NOT NULL)
              ORDER BY r.event_ts, coalesce(t.rnk, 9), r.ingested_at, r.ingest_file, r.ingest_line)
    END AS seq
FROM ranked r
LEFT JOIN handler_known_status k ON k.to_status = r.to_status
LEFT JOIN handler_tie_rank t ON t.to_status = r.to_status
"""

# One step per event, all issues at once. seq 0 is the implicit OPEN start.
_WALK_SQL = """
CREATE OR REPLACE TEMP TABLE handler_walk AS
WITH RECURSIVE walk AS (
    SELECT issue_id, 0::BIGINT AS seq, 'OPEN' AS status, NULL::TIMESTAMP AS status_at,
        NULL::VARCHAR AS resolution_code, NULL::VARCHAR AS handler, NULL::VARCHAR AS team,
        NULL::TIMESTAMP AS acknowledged_at, NULL::TIMESTAMP AS reopened_at,
        NULL::VARCHAR AS from_status, NULL::BOOLEAN AS applied
    FROM (SELECT DISTINCT issue_id FROM handler_events_seq WHERE seq IS NOT NULL)
    UNION ALL
    SELECT e.issue_id, e.seq,
        coalesce(tr.new_status, w.status),
        CASE WHEN tr.new_status IS NOT NULL THEN e.event_ts ELSE w.status_at END,
        CASE WHEN tr.new_status IS NULL THEN w.resolution_code
             WHEN tr.new_status IN ('RESOLVED', 'FALSE_POSITIVE') THEN e.resolution_code
             ELSE NULL END,
        CASE WHEN tr.new_status IS NOT NULL THEN e.handler ELSE w.handler END,
        CASE WHEN tr.new_status IS NOT NULL THEN e.team ELSE w.team END,
        CASE WHEN tr.new_status IS NULL THEN w.acknowledged_at
             WHEN tr.new_status = 'OPEN' THEN NULL
             WHEN w.status = 'OPEN' THEN e.event_ts
             ELSE w.acknowledged_at END,
        CASE WHEN tr.new_status = 'OPEN' THEN e.event_ts ELSE w.reopened_at END,
        w.status,
        tr.new_status IS NOT NULL
    FROM walk w
    JOIN handler_events_seq e ON e.issue_id = w.issue_id AND e.seq = w.seq + 1
    LEFT JOIN handler_transitions tr ON tr.from_status = w.status AND tr.to_status = e.to_status
)
SELECT * FROM walk
"""

_STATE_SQL = """
CREATE OR REPLACE TEMP TABLE handler_state AS
WITH last_applied AS (
    SELECT issue_id, max(seq) AS seq
    FROM handler_walk WHERE applied GROUP BY issue_id
), counts AS (
    SELECT issue_id, count(*) FILTER (WHERE pre_reject IS NULL) AS n_ok,
        count(*) FILTER (WHERE pre_reject IS NOT NULL) AS n_pre, max(event_ts) AS last_event_ts
    FROM handler_events_seq WHERE issue_id IS NOT NULL GROUP BY issue_id
), walk_counts AS (
    SELECT issue_id, count(*) FILTER (WHERE applied) AS applied,
        count(*) FILTER (WHERE NOT applied) AS rejected
    FROM handler_walk WHERE seq > 0 GROUP BY issue_id
)
SELECT w.issue_id, w.status, w.status_at, w.resolution_code, w.handler, w.team,
    w.acknowledged_at,
    CASE WHEN w.status = 'RESOLVED' THEN w.status_at END AS resolved_at,
    w.reopened_at,
    wc.applied AS events_applied,
    wc.rejected + c.n_pre AS events_rejected,
    c.last_event_ts
FROM last_applied l
JOIN handler_walk w USING (issue_id, seq)
JOIN walk_counts wc USING (issue_id)
JOIN counts c USING (issue_id)
ORDER BY w.issue_id
"""

_REJECTED_SQL = """
CREATE OR REPLACE TEMP TABLE handler_rejected_events AS
SELECT e.issue_id, e.event_ts, e.to_status, e.handler, e.team, e.resolution_code, e.comment,
    e.source, e.ingest_file, e.ingest_line, e.ingested_at,
    w.from_status,
    CASE
        WHEN e.pre_reject IS NOT NULL THEN e.pre_reject
        WHEN w.from_status = e.to_status THEN 'NO_CHANGE'
        ELSE 'ILLEGAL_TRANSITION'
    END AS reason_code,
    CASE
        WHEN e.pre_reject = 'MISSING_FIELD' THEN 'event has no issue_id, event_ts or to_status'
        WHEN e.pre_reject = 'DUPLICATE' THEN 'duplicate of the event already applied from ' || e.first_copy
        WHEN e.pre_reject = 'UNKNOWN_STATUS' THEN 'unknown to_status ' || e.to_status
        WHEN w.from_status = e.to_status THEN 'issue was already ' || w.from_status
        ELSE 'cannot go ' || w.from_status || ' -> ' || e.to_status || '; allowed from '
             || w.from_status || ': ' || coalesce(
                 (SELECT string_agg(t.to_status, ', ' ORDER BY t.to_status)
                  FROM handler_transitions t WHERE t.from_status = w.from_status), 'nothing')
    END AS reason
FROM handler_events_seq e
LEFT JOIN handler_walk w ON w.issue_id = e.issue_id AND w.seq = e.seq
WHERE e.pre_reject IS NOT NULL OR NOT w.applied
ORDER BY e.issue_id, e.event_ts, e.ingest_file, e.ingest_line
"""


def handler_states(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Replay raw.issue_events; (re)create TEMP tables handler_state and handler_rejected_events.

    Returns {"events": n, "issues": n, "applied": n, "rejected": n}. See the module docstring for the
    exact columns and the legal transitions.
    """
    _load_transitions(con)
    con.execute(_EVENTS_SQL)
    con.execute(_WALK_SQL)
    con.execute(_STATE_SQL)
    con.execute(_REJECTED_SQL)
    events = con.execute("SELECT count(*) FROM handler_events_seq").fetchall()[0][0]
    issues, applied = con.execute(
        "SELECT count(*), coalesce(sum(events_applied), 0) FROM handler_state").fetchall()[0]
    rejected = con.execute("SELECT count(*) FROM handler_rejected_events").fetchall()[0][0]
    for tmp in ("handler_walk", "handler_events_seq"):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    return {"events": int(events), "issues": int(issues), "applied": int(applied), "rejected": int(rejected)}


REJECTED_TABLE = "dq.issue_events_rejected"


def save_rejected_events(con: duckdb.DuckDBPyConnection) -> dict:
    """Replay raw.issue_events and replace dq.issue_events_rejected with what the replay refused."""
    with warehouse.transaction(con):
        counts = handler_states(con)
        con.execute(f"CREATE OR REPLACE TABLE {REJECTED_TABLE} AS SELECT * FROM handler_rejected_events")
    counts["by_reason"] = con.execute(
        f"SELECT reason_code, count(*) FROM {REJECTED_TABLE} GROUP BY ALL ORDER BY 2 DESC").fetchall()
    counts["sample"] = con.execute(
        f"SELECT issue_id, event_ts, to_status, handler, reason FROM {REJECTED_TABLE} "
        "ORDER BY event_ts DESC LIMIT 10").fetchall()
    return counts
