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
from ticket_dq.lib import closed_orders, retention
from ticket_dq.lib.detection import candidates, outcome_rules

ARCHIVED_FILES = dg.AssetKey(["meta", "archived_files"])
ARCHIVED_EVENTS = dg.AssetKey(["meta", "archived_events"])
# Every reader of the live order data: the order state and outcomes, and the checks that read them.
ORDER_READERS = [keys.raw("orders"), keys.raw("pickup_codes"), keys.CUR_ORDER_STATE, keys.CUR_ORDER_OUTCOME,
                 keys.cand("order_show"), keys.cand("schedule_discrepancy"),
                 *(keys.cand(c.name) for c in candidates.COMPARISONS.values() if c.closed_history)]
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


@dg.asset(
    key=ARCHIVED_EVENTS,
    group_name=GROUP,
    pool=DUCKDB_POOL,
    kinds={"duckdb", "parquet"},
    tags={"layer": "housekeeping"},
    deps=ORDER_READERS,  # after every reader, so a run never archives an order it has not yet judged
)
def archived_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Table `meta.archived_events`: order events and pickup codes of closed orders moved from the raw tables to
    the Parquet archive (`<feed>/closed_before=YYYY-MM-DD/`), per delivered file. An order closes when its show
    started and its last event came before the window of `$TICKET_DQ_RETENTION_DAYS` business dates; its state rows
    leave `cur.*`, its share of the spike baselines goes to `hist.outcome_cells`, and the
    order checks carry their findings before the boundary (`meta.closed_history`) as they were
    (lib/closed_orders.py). `audit.orders` / `audit.pickup_codes` read raw and archived rows together."""
    root, days = settings.archive_dir(), settings.retention_days()
    with warehouse.get_connection() as con:
        report = closed_orders.apply(con, root, settings.now(), days,
                                     outcome_rules.OutcomeRules.from_env().refund_after_start_h, context.run_id)
        broken = closed_orders.conservation_breaks(con)
        table = table_metadata(con, ARCHIVED_EVENTS)
    if broken:
        raise RuntimeError(f"ingested rows != raw + archived rows: {broken}")
    summary = ("retention off (TICKET_DQ_RETENTION_DAYS=0)" if report.boundary is None else
               f"{report.orders_closed} orders closed, {sum(report.rows_moved.values())} rows archived; shows "
               f"before {report.boundary:%Y-%m-%d %H:%M} are final")
    return dg.MaterializeResult(metadata={
        "summary": dg.MetadataValue.text(summary),
        "orders_closed": report.orders_closed,
        "parquet": dg.MetadataValue.json(report.parquet),
        **{f"rows_moved/{f}": n for f, n in report.rows_moved.items()},
        **{f"rows_in_raw/{f}": n for f, n in report.rows_in_raw.items()},
        **{f"rows_archived/{f}": n for f, n in report.rows_archived.items()},
        **table,
    })
