"""Metrics sensor: new complaints or issue events -> recompute only the days they touch.

The sensor reads the event log only (materializations of raw.complaints / raw.issue_events after
its cursor), never the warehouse, so it never competes for the DuckDB lock. It cannot know the days
itself (an issue event's day is the first-detection day of its issue, which lives in the warehouse),
so it passes the ids of the runs that ingested the new rows; the metrics assets map those runs to days
through the raw tables' ``ingest_run_id`` lineage column and delete + rewrite exactly those days.
"""

import json

import dagster as dg

from ticket_dq.defs.metrics.assets import METRICS_ASSETS, RAW_COMPLAINTS, RAW_ISSUE_EVENTS

WATCHED = {"complaints": RAW_COMPLAINTS, "issue_events": RAW_ISSUE_EVENTS}
MAX_RECORDS = 500


def metrics_run_config(*, days: list[str] | None = None, ingest_run_ids: list[str] | None = None) -> dict:
    cfg = {"days": list(days or []), "ingest_run_ids": list(ingest_run_ids or [])}
    return {"ops": {"dq__metrics_daily": {"config": cfg}, "dq__metrics_breakdown": {"config": cfg}}}


@dg.sensor(
    name="metrics_on_new_feedback",
    target=list(METRICS_ASSETS),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Recompute complaint links and the metrics of the days touched by newly ingested "
                "complaints / issue events.",
)
def metrics_on_new_feedback(context: dg.SensorEvaluationContext):
    cursor = json.loads(context.cursor) if context.cursor else {}
    run_ids: set[str] = set()
    new_cursor = dict(cursor)
    for name, key in WATCHED.items():
        result = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=cursor.get(name)),
            limit=MAX_RECORDS, ascending=True)
        for record in result.records:
            run_ids.add(record.run_id)
            new_cursor[name] = max(new_cursor.get(name) or 0, record.storage_id)
    if not run_ids:
        return dg.SkipReason("no new materialization of raw/complaints or raw/issue_events since the last tick")
    context.update_cursor(json.dumps(new_cursor, sort_keys=True))
    ids = sorted(run_ids)
    return dg.RunRequest(
        run_key="metrics-" + "-".join(f"{k}{new_cursor[k]}" for k in sorted(new_cursor)),
        run_config=metrics_run_config(ingest_run_ids=ids),
        asset_selection=list(METRICS_ASSETS),
        tags={"ticket_dq/trigger": "new_feedback", "ticket_dq/ingest_runs": ",".join(ids)[:200]},
    )
