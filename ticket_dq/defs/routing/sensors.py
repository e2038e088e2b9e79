"""Routing and escalation sensors. Both read only the Dagster event log, never the warehouse, so they
never compete for the DuckDB lock; the runs they launch do the work. Run keys are deterministic, so a
retried tick launches nothing twice."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.routing.assets import ISSUES_KEY, NOTIFICATIONS_KEY, notifications_job

ESCALATION_INTERVAL_S = 300
ROUTING_INTERVAL_S = 5
INLINE_TAG = "ticket_dq/dispatch"


def _dispatched_inline(instance: dg.DagsterInstance, run_ids: set[str]) -> set[str]:
    """Runs that carried dq/notifications themselves (landing batch runs) and did not fail: their issues
    are already routed and sent, so another dispatch run would only queue behind the next batch."""
    if not run_ids:
        return set()
    records = instance.get_run_records(dg.RunsFilter(run_ids=sorted(run_ids)))
    return {r.dagster_run.run_id for r in records
            if r.dagster_run.tags.get(INLINE_TAG) == "inline" and r.dagster_run.status != dg.DagsterRunStatus.FAILURE}


def _run_config(trigger: str) -> dict:
    return {"ops": {keys.op_name(NOTIFICATIONS_KEY): {"config": {"trigger": trigger}}}}


@dg.sensor(
    name="routing_sensor",
    job=notifications_job,
    minimum_interval_seconds=ROUTING_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 5 s: launches notifications_dispatch for new materializations of dq/issues, read from "
                "the event log after the storage id in the cursor (one run covers every new materialization), "
                "except those of landing batch runs, which dispatch in the same run.",
)
def routing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    after = int(context.cursor) if context.cursor and context.cursor.isdigit() else 0
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ISSUES_KEY, after_storage_id=after), limit=1000, ascending=True)
    records = result.records
    if not records:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"no new materialization of dq/issues after storage id {after}"), cursor=str(after))
    latest = max(r.storage_id for r in records)
    records = [r for r in records if r.run_id not in _dispatched_inline(context.instance, {r.run_id for r in records})]
    if not records:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"dq/issues materializations up to storage id {latest} came from batch runs that dispatch "
            f"themselves"), cursor=str(latest))
    runs = sorted({r.run_id for r in records})
    context.log.info(f"{len(records)} new dq/issues materialization(s) (storage ids {records[0].storage_id}..{latest},"
                     f" runs {', '.join(runs[:5])}); requesting dispatch")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=f"dispatch:issues@{latest}",
            run_config=_run_config(f"routing_sensor: dq/issues storage id {latest}"),
            tags={"ticket_dq/trigger": "routing_sensor", "ticket_dq/issues_storage_id": str(latest),
                  **settings.clock_tags()},
        )],
        cursor=str(latest),
    )


def escalation_bucket(now: datetime, interval_s: int = ESCALATION_INTERVAL_S) -> str:
    """The SLA-walk slot ``now`` falls in (Beijing time), e.g. 2026-03-08T10:05."""
    epoch = int(now.timestamp()) // interval_s * interval_s
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%dT%H:%M")


@dg.sensor(
    name="escalation_sensor",
    job=notifications_job,
    minimum_interval_seconds=ESCALATION_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every 5 min: launches the SLA walk (notifications_dispatch: escalates unacknowledged P0/P1 "
                "issues past their team's ack SLA, sends repeats and retries due rows). One run per 5-min slot.",
)
def escalation_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    latest = context.instance.fetch_materializations(ISSUES_KEY, limit=1)
    if not latest.records:
        return dg.SkipReason("dq/issues was never materialized: no open issues to walk yet")
    slot = escalation_bucket(settings.now())
    if context.cursor == slot:
        return dg.SkipReason(f"SLA walk for slot {slot} already requested")
    context.log.info(f"requesting the SLA walk for slot {slot}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=f"escalation:{slot}",
            run_config=_run_config(f"escalation_sensor: slot {slot}"),
            tags={"ticket_dq/trigger": "escalation_sensor", "ticket_dq/slot": slot, **settings.clock_tags()},
        )],
        cursor=slot,
    )
