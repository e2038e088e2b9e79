"""The code location: every object under defs/ plus location-wide resources and executor."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.resources import build_resources


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(
            resources=build_resources(),
            # In-process: every writing step shares one DuckDB file behind a pool of 1, so separate
            # step processes buy no parallelism and cost ~1.5 s of start-up each (measured, README).
            executor=dg.in_process_executor,
            # Runs the assets' AutomationCondition.eager(): a landing-sensor ingestion cascades to the
            # comparisons, dq.issues and the export (notifications and metrics follow their own
            # sensors). On by default, or nothing below ingestion happens until someone switches it on.
            # Every 10 s; its runs carry the clock spec the location loaded with (the now each run
            # reads follows from it: fixed, or a replay clock that moves).
            sensors=[dg.AutomationConditionSensorDefinition(
                "default_automation_condition_sensor", target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=10,
                run_tags={"ticket_dq/clock": settings.clock().spec()})],
        ),
    )
