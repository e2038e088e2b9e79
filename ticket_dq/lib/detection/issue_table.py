"""dq.issues from every issue-candidate table: identity, inhibition, severity, team and lifecycle.

``build_issues`` unions the candidate tables into TEMP ``cand_all``, replays the handlers' events into
TEMP ``handler_state`` (``lifecycle.handler_states``), then runs ``sql/issues.sql`` over both with the
rules of ``lib/issues.py`` filled in, and replaces dq.issues, all in one transaction.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from ticket_dq.lib import issues as rules
from ticket_dq.lib import lifecycle, masking, sqlscript, warehouse
from ticket_dq.lib.detection import candidates, scripts
from ticket_dq.lib.pause_points import pause_point

OUT_COLUMNS = ("issue_id, category, rule, severity, team, status, source, cinema_code, business_date, show_start_time, "
               "order_id, pickup_code, affected_orders, reason, evidence, first_detected_at, last_detected_at, "
               "resolved_at, business_key, hours_to_show, impact_fen, suppressed_by, detection_status, "
               "status_changed_at, reopened_at, resolution_reason")
PLATFORMS_SQL = "SELECT DISTINCT source FROM meta.ingested_files WHERE feed = 'competitor_schedule'"


def fragments() -> dict[str, str]:
    """The ``{name}`` placeholders of issues.sql: SQL expressions of the rules in lib/issues.py."""
    return {"issue_id": rules.ISSUE_ID_SQL, "severity": rules.SEVERITY_SQL, "team": rules.team_sql(PLATFORMS_SQL),
            "inhibiting": rules.sql_list(rules.INHIBITING), "orders_feed_fault": rules.ORDERS_FEED_FAULT_SQL,
            "show_level": rules.sql_list(rules.SHOW_LEVEL)}


def build_issues(con: duckdb.DuckDBPyConnection, now: datetime) -> dict:
    """Merge the current candidates into dq.issues; returns counts for run metadata."""
    scripts.prepare(con)
    with warehouse.transaction(con):
        tables = candidates.candidate_tables(con)
        con.execute(f"CREATE OR REPLACE TEMP TABLE cand_all AS {candidates.union_sql(tables)}")
        lifecycle.handler_states(con)
        sqlscript.run_file(con, scripts.path("issues"), {"now": now}, fragments=fragments())
        masking.mask_columns(con, "issues_next", ("reason", "evidence"))  # last line of defence (lib/masking.py)
        con.execute("DELETE FROM dq.issues")
        con.execute(f"INSERT INTO dq.issues ({OUT_COLUMNS}) SELECT {OUT_COLUMNS} FROM issues_next")
        pause_point("dq.issues:written")
    pause_point("dq.issues:committed")
    q = lambda s: con.execute(s).fetchall()  # noqa: E731
    return {
        "tables": tables,
        "by_category": q("SELECT category, status, count(*) FROM issues_next GROUP BY ALL ORDER BY ALL"),
        "by_severity": q("SELECT severity, count(*) FROM issues_next WHERE status NOT IN ('RESOLVED', 'SUPPRESSED') GROUP BY ALL ORDER BY ALL"),
        "by_status": q("SELECT status, count(*) FROM issues_next GROUP BY ALL ORDER BY ALL"),
        "new": q("SELECT count(*) FROM issues_next WHERE is_new")[0][0],
        "resolved_now": q("SELECT count(*) FROM issues_next WHERE status = 'RESOLVED' AND prev_status IS DISTINCT FROM 'RESOLVED'")[0][0],
        "reopened": q("SELECT count(*) FROM issues_next WHERE status = 'OPEN' AND prev_status = 'RESOLVED'")[0][0],
        "total": q("SELECT count(*) FROM issues_next")[0][0],
        # Metric days (an alert counts on its first-detection day) whose counts this run changed.
        "metric_days": [str(r[0]) for r in q(
            "SELECT DISTINCT CAST(first_detected_at AS DATE) FROM issues_next "
            "WHERE is_new OR status IS DISTINCT FROM prev_status ORDER BY 1")],
    }
