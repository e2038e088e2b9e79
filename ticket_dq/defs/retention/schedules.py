"""Daily retention run: at 04:30 Beijing, the quietest hour (shows of the previous business day are over,
the first partner snapshots of the day are still to come)."""

import dagster as dg

from ticket_dq.defs.retention.assets import ARCHIVED_EVENTS, ARCHIVED_FILES

RETENTION_DAILY = dg.ScheduleDefinition(
    name="raw_retention_daily",
    cron_schedule="30 4 * * *",
    execution_timezone="Asia/Shanghai",
    target=dg.AssetSelection.assets(ARCHIVED_FILES, ARCHIVED_EVENTS),
    description="04:30 Beijing: move raw snapshot rows older than the retention window, and closed orders, to the Parquet archive.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
