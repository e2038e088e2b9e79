"""Retention: raw snapshot rows older than the window move to Parquet (lib/retention.py).

One asset, ``meta/archived_files``: it owns the table of moved deliveries, the Parquet archive and the
``archive.*`` / ``audit.*`` views. It runs after everything that reads the raw snapshot tables, so in a
full materialization it is the last reader's successor, and daily on its own schedule (schedules.py).
It deletes rows of the raw layer, the one place data flows upward; only rows no downstream step reads
any more (lib/retention.py says which), and each delivery's rows stay queryable through ``audit.<feed>``.
"""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.metadata import inline_table, table_metadata
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import retention

ARCHIVED_FILES = dg.AssetKey(["meta", "archived_files"])
GROUP = "retention"


@dg.asset(
    key=ARCHIVED_FILES,
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"duckdb", "parquet"},
    tags={"layer": "housekeeping"},
    # After every reader of raw.partner_schedule / raw.competitor_schedule (and the validation that reads
    # new files), so a run that ingests never archives what it has not yet compared.
    deps=[keys.raw("partner_schedule"), keys.raw("competitor_schedule"), keys.CUR_PARTNER, keys.CUR_CHANGE_LOG,
          keys.CUR_COMPETITOR, keys.MAP_CINEMA, keys.MAP_FILM, keys.VALIDATION_FAILED],
)
def archived_files(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Table `meta.archived_files`: every delivered partner snapshot and platform crawl whose rows moved from the raw
    table to the Parquet archive (`$TICKET_DQ_ARCHIVE`, default `archive/` beside the warehouse; hive layout
    `<feed>/delivery_date=YYYY-MM-DD/`), with its row count. Moves deliveries dated before the last
    `$TICKET_DQ_RETENTION_DAYS` (default 2) delivery dates that detection no longer reads; `archive.<feed>` reads the
    moved rows, `audit.<feed>` raw and archived rows together."""
    root, days = settings.archive_dir(), settings.retention_days()
    with warehouse.get_connection() as con:
        report = retention.apply(con, root, settings.now(), days, context.run_id)
        broken = retention.conservation_breaks(con)
        table = table_metadata(con, ARCHIVED_FILES)
    if broken:
        raise RuntimeError(f"ingested rows != raw + archived rows: {broken}")
    summary = (f"retention off (TICKET_DQ_RETENTION_DAYS=0)" if report.cutoff is None else
               f"{len(report.moved)} deliveries ({report.rows_moved} rows) archived; deliveries from "
               f"{report.cutoff} on stay in raw")
    return dg.MaterializeResult(metadata={
        "summary": dg.MetadataValue.text(summary),
        "archive_dir": dg.MetadataValue.path(str(root)),
        "retention_days": days,
        "moved": inline_table(("file", "delivery date", "rows", "parquet"),
                              [(m.file, str(m.delivery_date), m.rows, m.parquet) for m in report.moved]),
        "rows_moved": report.rows_moved,
        **{f"rows_in_raw/{f}": n for f, n in report.rows_in_raw.items()},
        **{f"rows_archived/{f}": n for f, n in report.rows_archived.items()},
        **table,
    })
