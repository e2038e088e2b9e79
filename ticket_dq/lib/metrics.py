"""Daily data-quality metrics: accuracy, recall, closed-loop rate and Q (docs/evaluation.md).

Counts are *cohort* counts: an alert belongs to the Beijing day it was first detected and keeps
that day for life; its review outcome (as known at ``now``) is counted on that same day. So a late
issue event changes exactly one day, the day the issue was first detected, and a late complaint
changes exactly the day it was created.

- alert          non-SUPPRESSED issue of dq.issues, day = date(first_detected_at)
- confirmed      alert whose latest verdict event (CONFIRMED / FALSE_POSITIVE in raw.issue_events,
                 every delivered event) is CONFIRMED; with no verdict event, a RESOLVED event counts as an
                 implicit confirmation, else dq.issues.status CONFIRMED / FALSE_POSITIVE is used
- false_positive alert whose verdict is FALSE_POSITIVE
- pending        alert with no verdict yet (alerts = confirmed + false_positive + pending)
- resolved       confirmed alert whose latest RESOLVED/REOPENED event is RESOLVED (no such event:
                 dq.issues.status = RESOLVED, e.g. the fault disappeared after confirmation)
- complaint_only distinct faults behind data-related complaints created that day that no issue
                 covered before the complaint (dq.complaint_links; one per linked issue, else one
                 per complaint)

accuracy = confirmed / alerts (NULL if no alerts); recall = confirmed / (confirmed + complaint_only)
(NULL if both 0); closed_loop_rate = resolved / confirmed (NULL if none confirmed);
q_score = 0.3 accuracy + 0.3 recall + 0.4 closed_loop_rate, NULL as soon as one part is NULL
(never re-weighted, so |q - (0.3a + 0.3r + 0.4c)| = 0 whenever q is set).
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from ticket_dq.lib import complaints, contract, lifecycle, markdown, warehouse

W_ACCURACY, W_RECALL, W_CLOSED_LOOP = 0.3, 0.3, 0.4
DAILY_TABLE = "dq.metrics_daily"
BREAKDOWN_TABLE = "dq.metrics_breakdown"
REJECTED_TABLE = lifecycle.REJECTED_TABLE  # written by the lifecycle replay (dq/issue_events_rejected)
DIMENSIONS = ("category", "source", "team")

_COUNT_COLS = """
  alerts BIGINT NOT NULL,
  confirmed BIGINT NOT NULL,
  false_positive BIGINT NOT NULL,
  complaint_only BIGINT NOT NULL,
  resolved BIGINT NOT NULL,
  accuracy DOUBLE,
  recall DOUBLE,
  closed_loop_rate DOUBLE,
  q_score DOUBLE,
  complaints_total BIGINT,
  complaints_data_related BIGINT,
  data_complaint_ratio DOUBLE,
  pending BIGINT NOT NULL,           -- alerts not reviewed yet (neither confirmed nor false positive)
  accuracy_reviewed DOUBLE,          -- confirmed / (confirmed + false_positive): accuracy of what is known
  complaints_linked BIGINT,          -- data complaints of the day linked to some issue
  computed_at TIMESTAMP NOT NULL"""

DAILY_DDL = f"""CREATE TABLE IF NOT EXISTS {DAILY_TABLE} (
  metric_date DATE PRIMARY KEY,{_COUNT_COLS}
)"""

BREAKDOWN_DDL = f"""CREATE TABLE IF NOT EXISTS {BREAKDOWN_TABLE} (
  metric_date DATE NOT NULL,
  dimension VARCHAR NOT NULL,        -- category | source | team
  value VARCHAR NOT NULL,            -- the category / source / team (UNKNOWN when not attributable)
{_COUNT_COLS},
  PRIMARY KEY (metric_date, dimension, value)
)"""

# One row per alert (first detected by $now) with its review state from the delivered events. Temp table: per connection.
ALERT_STATE_SQL = """
CREATE OR REPLACE TEMP TABLE _alert_state AS
WITH scope AS (  -- the alerts of the days being recomputed ($days NULL: every day)
  SELECT * FROM dq.issues
  WHERE status <> 'SUPPRESSED' AND first_detected_at <= $now
    AND ($days IS NULL OR CAST(first_detected_at AS DATE) IN (SELECT unnest($days::DATE[])))
),
ev AS (
  SELECT issue_id, event_ts, to_status
  FROM raw.issue_events e
  -- Every delivered event counts, whatever its event_ts: handler tools report facts, and a replayed
  -- demo clock (TICKET_DQ_NOW) may lag the handlers' own clock (docs/evaluation.md) ...
  WHERE issue_id IN (SELECT issue_id FROM scope)
  -- ... except the ones the lifecycle refused (e.g. CONFIRMED after FALSE_POSITIVE with no REOPENED),
  -- so a verdict here is the verdict dq.issues shows.
    AND NOT EXISTS (SELECT 1 FROM _rejected_events r
                    WHERE r.ingest_file = e.ingest_file AND r.ingest_line = e.ingest_line AND r.issue_id = e.issue_id)
  -- duplicate deliveries of one event count once
  QUALIFY row_number() OVER (PARTITION BY issue_id, event_ts, to_status ORDER BY ingested_at) = 1
),
verdict AS (
  SELECT issue_id, to_status AS verdict FROM ev WHERE to_status IN ('CONFIRMED', 'FALSE_POSITIVE')
  QUALIFY row_number() OVER (PARTITION BY issue_id ORDER BY event_ts DESC, to_status) = 1
),
life AS (
  SELECT issue_id, to_status AS last_life FROM ev WHERE to_status IN ('RESOLVED', 'REOPENED')
  QUALIFY row_number() OVER (PARTITION BY issue_id ORDER BY event_ts DESC, to_status) = 1
),
st AS (
  SELECT i.issue_id, CAST(i.first_detected_at AS DATE) AS metric_date,
         i.category, coalesce(i.source, 'UNKNOWN') AS source, coalesce(i.team, 'UNKNOWN') AS team,
         coalesce(v.verdict,
                  CASE WHEN l.last_life IS NOT NULL THEN 'CONFIRMED' END,
                  CASE WHEN i.status IN ('CONFIRMED', 'FALSE_POSITIVE') THEN i.status END
         ) AS verdict,
         coalesce(l.last_life = 'RESOLVED', i.status = 'RESOLVED') AS resolved_flag
  FROM scope i LEFT JOIN verdict v USING (issue_id) LEFT JOIN life l USING (issue_id)
)
SELECT issue_id, metric_date, category, source, team,
       verdict = 'CONFIRMED' AS is_confirmed,
       verdict = 'FALSE_POSITIVE' AS is_false_positive,
       verdict IS NULL AS is_pending,
       verdict = 'CONFIRMED' AND resolved_flag AS is_resolved
FROM st
"""

COMPLAINT_DAY_SQL = """
CREATE OR REPLACE TEMP TABLE _complaints AS
SELECT complaint_id, CAST(created_ts AS DATE) AS metric_date, category IN (SELECT unnest($data_categories)) AS data_related
FROM raw.complaints
WHERE complaint_id IS NOT NULL AND created_ts IS NOT NULL AND created_ts <= $now
QUALIFY row_number() OVER (PARTITION BY complaint_id ORDER BY ingested_at DESC, ingest_file DESC, ingest_line DESC) = 1
"""

# The formulas, NULL-safe. Input relation has alerts, confirmed, false_positive, complaint_only, resolved.
_FORMULAS = """
  CASE WHEN alerts > 0 THEN confirmed / alerts END AS accuracy,
  CASE WHEN confirmed + complaint_only > 0 THEN confirmed / (confirmed + complaint_only) END AS recall,
  CASE WHEN confirmed > 0 THEN resolved / confirmed END AS closed_loop_rate"""

DAILY_SQL = f"""
INSERT INTO {DAILY_TABLE}
WITH days AS (SELECT unnest($days)::DATE AS metric_date),
a AS (
  SELECT metric_date, count(*) AS alerts, count(*) FILTER (is_confirmed) AS confirmed,
         count(*) FILTER (is_false_positive) AS false_positive, count(*) FILTER (is_pending) AS pending,
         count(*) FILTER (is_resolved) AS resolved
  FROM _alert_state GROUP BY 1
),
co AS (
  SELECT complaint_date AS metric_date,
         count(DISTINCT coalesce(issue_id, complaint_id)) FILTER (complaint_only) AS complaint_only,
         count(*) FILTER (issue_id IS NOT NULL) AS complaints_linked
  FROM {complaints.TABLE} WHERE created_ts <= $now GROUP BY 1
),
ct AS (
  SELECT metric_date, count(*) AS complaints_total, count(*) FILTER (data_related) AS complaints_data_related
  FROM _complaints GROUP BY 1
),
base AS (
  SELECT d.metric_date,
         coalesce(a.alerts, 0)::BIGINT AS alerts, coalesce(a.confirmed, 0)::BIGINT AS confirmed,
         coalesce(a.false_positive, 0)::BIGINT AS false_positive,
         coalesce(co.complaint_only, 0)::BIGINT AS complaint_only, coalesce(a.resolved, 0)::BIGINT AS resolved,
         coalesce(a.pending, 0)::BIGINT AS pending,
         coalesce(ct.complaints_total, 0)::BIGINT AS complaints_total,
         coalesce(ct.complaints_data_related, 0)::BIGINT AS complaints_data_related,
         coalesce(co.complaints_linked, 0)::BIGINT AS complaints_linked
  FROM days d LEFT JOIN a USING (metric_date) LEFT JOIN co USING (metric_date) LEFT JOIN ct USING (metric_date)
),
f AS (SELECT *, {_FORMULAS} FROM base)
SELECT metric_date, alerts, confirmed, false_positive, complaint_only, resolved,
       accuracy, recall, closed_loop_rate,
       {W_ACCURACY} * accuracy + {W_RECALL} * recall + {W_CLOSED_LOOP} * closed_loop_rate AS q_score,
       complaints_total, complaints_data_related,
       CASE WHEN complaints_total > 0 THEN complaints_data_related / complaints_total END,
       pending,
       CASE WHEN confirmed + false_positive > 0 THEN confirmed / (confirmed + false_positive) END,
       complaints_linked, $now
FROM f
"""

BREAKDOWN_SQL = f"""
INSERT INTO {BREAKDOWN_TABLE}
WITH days AS (SELECT unnest($days)::DATE AS metric_date),
alert_dims AS (
  SELECT s.*, unnest(['category', 'source', 'team']) AS dimension, unnest([category, source, team]) AS value
  FROM _alert_state s WHERE metric_date IN (SELECT metric_date FROM days)
),
a AS (
  SELECT metric_date, dimension, value, count(*) AS alerts, count(*) FILTER (is_confirmed) AS confirmed,
         count(*) FILTER (is_false_positive) AS false_positive, count(*) FILTER (is_pending) AS pending,
         count(*) FILTER (is_resolved) AS resolved
  FROM alert_dims GROUP BY ALL
),
complaint_dims AS (
  SELECT l.*, l.complaint_date AS metric_date, unnest(['category', 'source', 'team']) AS dimension,
         unnest([l.category, l.source, l.team]) AS value
  FROM {complaints.TABLE} l
  WHERE l.created_ts <= $now AND l.complaint_date IN (SELECT metric_date FROM days)
),
co AS (
  SELECT metric_date, dimension, value,
         count(DISTINCT coalesce(issue_id, complaint_id)) FILTER (complaint_only) AS complaint_only,
         count(*) AS complaints_data_related, count(*) FILTER (issue_id IS NOT NULL) AS complaints_linked
  FROM complaint_dims GROUP BY ALL
),
base AS (
  SELECT metric_date, dimension, value,
         coalesce(a.alerts, 0)::BIGINT AS alerts, coalesce(a.confirmed, 0)::BIGINT AS confirmed,
         coalesce(a.false_positive, 0)::BIGINT AS false_positive,
         coalesce(co.complaint_only, 0)::BIGINT AS complaint_only, coalesce(a.resolved, 0)::BIGINT AS resolved,
         coalesce(a.pending, 0)::BIGINT AS pending,
         co.complaints_data_related::BIGINT AS complaints_data_related,
         coalesce(co.complaints_linked, 0)::BIGINT AS complaints_linked
  FROM a FULL OUTER JOIN co USING (metric_date, dimension, value)
),
f AS (SELECT *, {_FORMULAS} FROM base)
SELECT metric_date, dimension, value, alerts, confirmed, false_positive, complaint_only, resolved,
       accuracy, recall, closed_loop_rate,
       {W_ACCURACY} * accuracy + {W_RECALL} * recall + {W_CLOSED_LOOP} * closed_loop_rate,
       -- all complaints of a day cannot be attributed to a category/source/team: only data ones
       NULL::BIGINT, coalesce(complaints_data_related, 0), NULL::DOUBLE,
       pending,
       CASE WHEN confirmed + false_positive > 0 THEN confirmed / (confirmed + false_positive) END,
       complaints_linked, $now
FROM f
"""


def q_score(accuracy: float | None, recall: float | None, closed_loop_rate: float | None) -> float | None:
    """Q = 0.3 accuracy + 0.3 recall + 0.4 closed-loop rate; None when any part is unknown."""
    if accuracy is None or recall is None or closed_loop_rate is None:
        return None
    return W_ACCURACY * accuracy + W_RECALL * recall + W_CLOSED_LOOP * closed_loop_rate


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS dq")
    con.execute(DAILY_DDL)
    con.execute(BREAKDOWN_DDL)
    complaints.ensure_table(con)


def _prepare(con: duckdb.DuckDBPyConnection, now: datetime, days: list[date] | None) -> None:
    """Temp tables of the alerts (with review state) and complaints; alerts only of ``days`` (None: all)."""
    # dq.issue_events_rejected belongs to the issues stage; until it exists nothing is filtered.
    has_rejected = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dq' "
                               "AND table_name = ?", [REJECTED_TABLE.split(".")[1]]).fetchone()[0]
    con.execute("CREATE OR REPLACE TEMP TABLE _rejected_events AS " + (
        f"SELECT issue_id, ingest_file, ingest_line FROM {REJECTED_TABLE} WHERE ingest_file IS NOT NULL"
        if has_rejected else
        "SELECT NULL::VARCHAR AS issue_id, NULL::VARCHAR AS ingest_file, NULL::BIGINT AS ingest_line WHERE false"))
    con.execute(ALERT_STATE_SQL, {"now": now, "days": days})
    con.execute(COMPLAINT_DAY_SQL, {"now": now, "data_categories": list(contract.DATA_COMPLAINT_CATEGORIES)})


def all_days(con: duckdb.DuckDBPyConnection, now: datetime) -> list[date]:
    """Every day from the first alert or complaint to the last, gaps included (a quiet day is data)."""
    row = con.execute(
        "SELECT min(d), max(d) FROM ("
        "  SELECT CAST(first_detected_at AS DATE) AS d FROM dq.issues"
        "  WHERE status <> 'SUPPRESSED' AND first_detected_at <= $now"
        "  UNION ALL SELECT CAST(created_ts AS DATE) FROM raw.complaints WHERE created_ts <= $now)",
        {"now": now}).fetchone()
    if row[0] is None:
        return []
    return [r[0] for r in con.execute(
        "SELECT CAST(unnest(generate_series($a::DATE, $b::DATE, INTERVAL 1 DAY)) AS DATE)",
        {"a": row[0], "b": row[1]}).fetchall()]


def affected_days(con: duckdb.DuckDBPyConnection, ingest_run_ids: list[str]) -> list[date]:
    """Days whose metrics can change because of rows ingested by these runs: the first-detection
    day of every issue that got an event, and the creation day of every complaint."""
    if not ingest_run_ids:
        return []
    rows = con.execute(
        """
        SELECT DISTINCT CAST(i.first_detected_at AS DATE) AS d
        FROM raw.issue_events e JOIN dq.issues i USING (issue_id) WHERE e.ingest_run_id IN (SELECT unnest($ids))
        UNION
        SELECT DISTINCT CAST(created_ts AS DATE) FROM raw.complaints
        WHERE ingest_run_id IN (SELECT unnest($ids)) AND created_ts IS NOT NULL
        ORDER BY d
        """, {"ids": list(ingest_run_ids)}).fetchall()
    return [r[0] for r in rows]


def resolve_days(con: duckdb.DuckDBPyConnection, now: datetime, days: list[str] | None,
                 ingest_run_ids: list[str] | None) -> tuple[list[date], bool]:
    """The days to recompute and whether that is a full rebuild (neither days nor runs given)."""
    if not days and not ingest_run_ids:
        return all_days(con, now), True
    chosen = {date.fromisoformat(str(d)) for d in (days or [])}
    chosen |= set(affected_days(con, list(ingest_run_ids or [])))
    return sorted(chosen), False


def _write(con, table: str, sql: str, day_list: list[date], full: bool, now: datetime) -> None:
    with warehouse.transaction(con):
        # Delete the recomputed window before inserting it, so a recomputation replaces exactly the
        # affected days and a full rebuild also drops days that no longer have data.
        if full:
            con.execute(f"DELETE FROM {table}")
        elif day_list:
            con.execute(f"DELETE FROM {table} WHERE metric_date IN (SELECT unnest($days)::DATE)",
                        {"days": day_list})
        if day_list:
            con.execute(sql, {"days": day_list, "now": now})


def compute_daily(con: duckdb.DuckDBPyConnection, now: datetime, days: list[str] | None = None,
                  ingest_run_ids: list[str] | None = None) -> list[date]:
    """Recompute dq.metrics_daily for the given days / the days touched by the given ingest runs
    (all days when neither is given). Returns the days written."""
    ensure_tables(con)
    day_list, full = resolve_days(con, now, days, ingest_run_ids)
    _prepare(con, now, None if full else day_list)
    _write(con, DAILY_TABLE, DAILY_SQL, day_list, full, now)
    return day_list


def compute_breakdown(con: duckdb.DuckDBPyConnection, now: datetime, days: list[str] | None = None,
                      ingest_run_ids: list[str] | None = None) -> list[date]:
    """Same days as compute_daily, for dq.metrics_breakdown (by category, source and team)."""
    ensure_tables(con)
    day_list, full = resolve_days(con, now, days, ingest_run_ids)
    _prepare(con, now, None if full else day_list)
    _write(con, BREAKDOWN_TABLE, BREAKDOWN_SQL, day_list, full, now)
    return day_list


def daily_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    cur = con.execute(f"SELECT * FROM {DAILY_TABLE} ORDER BY metric_date")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def summary_markdown(rows: list[dict], limit: int = 14) -> str:
    """A markdown table of the latest days, for asset metadata and the report."""
    def fmt(v):
        return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    cols = ("metric_date", "alerts", "confirmed", "false_positive", "pending", "resolved", "complaint_only",
            "accuracy", "recall", "closed_loop_rate", "q_score", "complaints_total", "complaints_data_related",
            "data_complaint_ratio")
    body = [[fmt(r.get(c)) for c in cols] for r in rows[-limit:]]
    return markdown.table(cols, body or [["(no days with alerts or complaints yet)"] + [""] * (len(cols) - 1)])
