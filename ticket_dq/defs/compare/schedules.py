"""Absence is data: a partner that goes silent sends no file to trigger anything, so feed health (and
the issues it feeds) also runs on a clock."""

import dagster as dg

from ticket_dq.defs import keys

FEED_HEALTH_EVERY_15_MIN = dg.ScheduleDefinition(
    name="feed_health_every_15_min",
    cron_schedule="*/15 * * * *",
    execution_timezone="Asia/Shanghai",
    target=dg.AssetSelection.assets(keys.cand("feed_health"), keys.ISSUES),
    description="Re-evaluate FEED_LATE / FEED_PARTIAL / FEED_VOLUME_DROP and merge into dq.issues every 15 minutes.",
    # On by default: it is the only thing that notices a partner that has gone silent.
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
