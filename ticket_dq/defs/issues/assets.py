"""dq.issues: every issue candidate (cand.*) with identity, severity, team, inhibition and lifecycle."""


from pathlib import Path

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.compare.assets import CAND_KEYS
from ticket_dq.defs.outcomes.assets import OUTCOME_CAND_KEYS
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import issues as lib_issues
from ticket_dq.lib import lifecycle, matching, warehouse

SQL = Path(__file__).parent / "sql" / "issues.sql"
VALIDATION_KEY = dg.AssetKey(["cand", "validation_failed"])
ISSUE_EVENTS_KEY = dg.AssetKey(["raw", "issue_events"])
OUT_COLUMNS = ("issue_id, category, rule, severity, team, status, source, cinema_code, business_date, show_start_time, "
               "order_id, pickup_code, affected_orders, reason, evidence, first_detected_at, last_detected_at, "
               "resolved_at, business_key, hours_to_show, impact_fen, suppressed_by, detection_status, "
               "status_changed_at, reopened_at, resolution_reason")


def candidate_tables(con) -> list[str]:
    """Every table in schema cand that has all candidate columns (ours and other engineers')."""
    need = [n for n, _ in warehouse.CANDIDATE_COLUMNS]
    rows = con.execute(
        """SELECT table_name FROM information_schema.columns WHERE table_schema = 'cand' AND column_name IN ?
           GROUP BY table_name HAVING count(DISTINCT column_name) = ? ORDER BY table_name""",
        [need, len(need)]).fetchall()
    return [r[0] for r in rows]


def build_issues(con, now) -> dict:
    """Merge this run's candidates into dq.issues (lib/issues.py rules); returns counts for metadata."""
    matching.prepare(con)
    tables = candidate_tables(con)
    cols = ", ".join(f"CAST({n} AS {t}) AS {n}" for n, t in warehouse.CANDIDATE_COLUMNS)
    union = " UNION ALL ".join(f'SELECT {cols} FROM cand."{t}"' for t in tables) or (
        f"SELECT {cols} FROM (SELECT " + ", ".join(f"NULL AS {n}" for n, _ in warehouse.CANDIDATE_COLUMNS) + ") WHERE false")
    con.execute(f"CREATE OR REPLACE TEMP TABLE cand_all AS {union}")
    lifecycle.handler_states(con)
    platforms = "SELECT DISTINCT source FROM meta.ingested_files WHERE feed = 'competitor_schedule'"
    sql = (SQL.read_text(encoding="utf-8")
           .replace("{issue_id}", lib_issues.ISSUE_ID_SQL)
           .replace("{severity}", lib_issues.SEVERITY_SQL)
           .replace("{team}", lib_issues.team_sql(platforms))
           .replace("{inhibiting}", lib_issues._in(lib_issues.INHIBITING))
           .replace("{orders_feed_fault}", lib_issues.ORDERS_FEED_FAULT_SQL)
           .replace("{show_level}", lib_issues._in(lib_issues.SHOW_LEVEL)))
    params = {"now": now}
    for stmt in matching.split_statements(sql):
        code = "\n".join(line.split("--", 1)[0] for line in stmt.splitlines())
        con.execute(code, params if "$now" in code else None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM dq.issues")
        con.execute(f"INSERT INTO dq.issues ({OUT_COLUMNS}) SELECT {OUT_COLUMNS} FROM issues_next")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
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


def _md(header: tuple[str, ...], rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


@dg.asset(
    key=["dq", "issues"],
    group_name="issues",
    pool=DUCKDB_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    deps=[*CAND_KEYS, *OUTCOME_CAND_KEYS, VALIDATION_KEY, ISSUE_EVENTS_KEY],
)
def issues(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per data-quality issue (CONTRACT.md section 4): the union of every cand.* candidate table,
    identified by hash(category, source, business_key) so the same fault keeps its issue_id across runs.
    Re-detection updates last_detected_at; an issue no longer detected is RESOLVED ("no longer detected");
    one that comes back reopens. FEED_PARTIAL / FEED_VOLUME_DROP of a source and date suppress that
    source/date's show-level issues (SUPPRESSED, suppressed_by). Severity from impact, team from the
    default map, and the handlers' statuses (raw.issue_events via lib.lifecycle) merged in."""
    with warehouse.get_connection() as con:
        r = build_issues(con, settings.now())
    context.log.info(f"dq.issues: {r['total']} issues, {r['new']} new, {r['resolved_now']} resolved this run")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(r["total"]),
        "new_this_run": dg.MetadataValue.int(r["new"]),
        "resolved_this_run": dg.MetadataValue.int(r["resolved_now"]),
        "reopened_this_run": dg.MetadataValue.int(r["reopened"]),
        "by_category_status": dg.MetadataValue.md(_md(("category", "status", "issues"), r["by_category"])),
        "open_by_severity": dg.MetadataValue.md(_md(("severity", "issues"), r["by_severity"])),
        "by_status": dg.MetadataValue.md(_md(("status", "issues"), r["by_status"])),
        "candidate_tables": dg.MetadataValue.json(r["tables"]),
        # Read by the metrics sensor (it never opens the warehouse): the days to recompute.
        "metric_days_touched": dg.MetadataValue.json(r["metric_days"]),
    })


REJECTED_TABLE = "dq.issue_events_rejected"


def save_rejected_events(con) -> dict:
    """Replay raw.issue_events and replace dq.issue_events_rejected with what the replay refused."""
    counts = lifecycle.handler_states(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {REJECTED_TABLE} AS SELECT * FROM handler_rejected_events")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    counts["by_reason"] = con.execute(
        f"SELECT reason_code, count(*) FROM {REJECTED_TABLE} GROUP BY ALL ORDER BY 2 DESC").fetchall()
    counts["sample"] = con.execute(
        f"SELECT issue_id, event_ts, to_status, handler, reason FROM {REJECTED_TABLE} "
        "ORDER BY event_ts DESC LIMIT 10").fetchall()
    return counts


@dg.asset(
    key=["dq", "issue_events_rejected"],
    group_name="issues",
    pool=DUCKDB_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    deps=[ISSUE_EVENTS_KEY],
)
def issue_events_rejected(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Handler events (raw.issue_events, from the feed or the triage CLI) that the lifecycle replay
    refused, with the reason: duplicates, unknown statuses, missing fields, illegal transitions such as
    FALSE_POSITIVE -> RESOLVED. Rejected events change no status; this table is their audit trail, so a
    handler whose click 'did nothing' can see why. Replaced in full on each run (the replay is cheap:
    300k events in ~1.6 s)."""
    with warehouse.get_connection() as con:
        r = save_rejected_events(con)
    context.log.info(f"issue events: {r['events']} replayed, {r['applied']} applied, {r['rejected']} rejected")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(r["rejected"]),
        "events_replayed": dg.MetadataValue.int(r["events"]),
        "events_applied": dg.MetadataValue.int(r["applied"]),
        "by_reason": dg.MetadataValue.md(_md(("reason_code", "events"), r["by_reason"])),
        "latest_rejections": dg.MetadataValue.md(_md(("issue_id", "event_ts", "to_status", "handler", "reason"),
                                                     r["sample"])),
    })
