"""Parquet export of the output tables for BI tools (lib/export)."""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import export, markdown

EXPORTED = [dg.AssetKey(t.split(".")) for t in export.EXPORT_TABLES]


@dg.asset(
    key=keys.EXPORT_PARQUET,
    group_name="export",
    deps=EXPORTED,
    pool=DUCKDB_POOL,  # opens the warehouse through the shared resource (one process at a time)
    kinds={"parquet"},
    tags={"layer": "export"},
    # Never while an upstream blocking check (the dq.issues contract) failed: inside a run the failed
    # check skips this step; runs the automation sensor starts need the same rule stated here.
    automation_condition=dg.AutomationCondition.eager() & ~dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.any_checks_match(dg.AutomationCondition.check_failed(), blocking_only=True)),
)
def parquet(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """dq.issues, dq.notifications, dq.metrics_daily, dq.metrics_breakdown and dq.complaint_links
    (whichever exist) as Parquet files under settings.export_dir(), each replaced atomically (temp
    file + os.replace) so a BI tool reading while a run writes never sees a half-written file."""
    out = settings.export_dir()
    with warehouse.get_connection() as con:
        done = export.export_tables(con, out, settings.now())
    table = markdown.table(("table", "file", "rows", "bytes"),
                           [(t, d["file"], d["rows"], d["bytes"]) for t, d in done.items()], numeric=(2, 3))
    return dg.MaterializeResult(metadata={
        "export_dir": dg.MetadataValue.path(str(out)),
        "files": dg.MetadataValue.md(table),
        **{f"rows/{d['file']}": d["rows"] for d in done.values()},
    })
