"""Metrics sensor: new complaints, issue events or issues -> recompute only the days they touch.

The sensor reads the event log only (materializations of raw.complaints / raw.issue_events after
its cursor), never the warehouse, so it never competes for the DuckDB lock. It cannot know the days
itself (an issue event's day is the first-detection day of its issue, which lives in the warehouse),
so it passes the ids of the runs that ingested the new rows; the metrics assets map those runs to days
through the raw tables' ``ingest_run_id`` lineage column and delete + rewrite exactly those days.
A dq/issues materialization says itself which metric days it changed (metadata
``metric_days_touched``: first-detection days of new issues and of issues whose status changed), so
new alerts show up in the metrics without waiting for feedback or the daily schedule.
"""

import json
import time

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.metrics.assets import ISSUES, METRICS_ASSETS, RAW_COMPLAINTS, RAW_ISSUE_EVENTS
from ticket_dq.defs.realtime.assets import LATENCY_ASSETS

WATCHED = {"complaints": RAW_COMPLAINTS, "issue_events": RAW_ISSUE_EVENTS}
MAX_RECORDS = 500
# Metrics are never urgent: while a landing batch run (a delivery on its way to the people who act on
# it) is queued or running, the metrics run waits, at most this long, so the two do not fight over
# the DuckDB pool and the run workers' start-up on a small machine.
YIELD_TO_BATCH_MAX_S = 300
_ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
           dg.DagsterRunStatus.STARTED]


def _batch_in_flight(instance: dg.DagsterInstance) -> bool:
    return bool(instance.get_run_records(
        dg.RunsFilter(tags={"ticket_dq/trigger": "landing_sensor"}, statuses=_ACTIVE), limit=1))


def metrics_run_config(*, days: list[str] | None = None, ingest_run_ids: list[str] | None = None) -> dict:
    cfg = {"days": list(days or []), "ingest_run_ids": list(ingest_run_ids or [])}
    return {"ops": {keys.op_name(key): {"config": cfg} for key in (keys.METRICS_DAILY, keys.METRICS_BREAKDOWN)}}


@dg.sensor(
    name="metrics_on_new_feedback",
    target=[*METRICS_ASSETS, *LATENCY_ASSETS],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Recompute complaint links and the metrics of the days touched by newly ingested "
                "complaints / issue events and by dq/issues runs that created or changed issues.",
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
    days: set[str] = set()
    issues_seen = False
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ISSUES, after_storage_id=cursor.get("issues")),
        limit=MAX_RECORDS, ascending=True)
    for record in result.records:
        issues_seen = True
        new_cursor["issues"] = max(new_cursor.get("issues") or 0, record.storage_id)
        touched = record.asset_materialization.metadata.get("metric_days_touched")
        days.update(touched.value if touched is not None else [])
    if issues_seen and not run_ids and not days:
        context.update_cursor(json.dumps(new_cursor, sort_keys=True))  # issues changed nothing countable
        return dg.SkipReason("new dq/issues materializations changed no issue's metric day")
    if not run_ids and not days:
        return dg.SkipReason("no new materialization of raw/complaints, raw/issue_events or dq/issues "
                             "since the last tick")
    waited = time.time() - float(cursor.get("yielding_since") or time.time())
    if _batch_in_flight(context.instance) and waited < YIELD_TO_BATCH_MAX_S:
        cursor["yielding_since"] = cursor.get("yielding_since") or time.time()
        context.update_cursor(json.dumps(cursor, sort_keys=True))  # same feedback, seen again next tick
        return dg.SkipReason(f"a landing batch run is in flight; metrics wait for it ({waited:.0f}s so far)")
    new_cursor.pop("yielding_since", None)
    context.update_cursor(json.dumps(new_cursor, sort_keys=True))
    ids = sorted(run_ids)
    return dg.RunRequest(
        run_key="metrics-" + "-".join(f"{k}{new_cursor[k]}" for k in sorted(new_cursor) if k in ("issues", *WATCHED)),
        run_config=metrics_run_config(days=sorted(days), ingest_run_ids=ids),
        asset_selection=[*METRICS_ASSETS, *LATENCY_ASSETS],
        tags={**settings.clock_tags(), "ticket_dq/trigger": "new_feedback" if ids else "issues_changed",
              "ticket_dq/ingest_runs": ",".join(ids)[:200], "ticket_dq/days": ",".join(sorted(days))[:200]},
    )
