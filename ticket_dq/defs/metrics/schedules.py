"""Daily schedule: recompute yesterday's metrics in full (Beijing day), whatever the sensor saw.

A full day recomputation also picks up what the sensor cannot see: issues detected or re-judged
by detection (not by a feed), and links of older complaints to issues that appeared later.
"""

from datetime import timedelta

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.metrics.assets import METRICS_ASSETS
from ticket_dq.defs.metrics.sensors import metrics_run_config


@dg.schedule(
    name="metrics_daily_recompute",
    cron_schedule="30 0 * * *",
    execution_timezone="Asia/Shanghai",
    target=list(METRICS_ASSETS),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="00:30 Beijing: recompute complaint links and yesterday's metrics.",
)
def metrics_daily_recompute(context: dg.ScheduleEvaluationContext):
    tick = context.scheduled_execution_time
    local = tick.astimezone(settings.BEIJING) if tick is not None else settings.now().replace(tzinfo=settings.BEIJING)
    yesterday = (local.date() - timedelta(days=1)).isoformat()
    return dg.RunRequest(run_key=f"metrics-day-{yesterday}",
                         run_config=metrics_run_config(days=[yesterday]),
                         tags={"ticket_dq/trigger": "daily", "ticket_dq/day": yesterday})
