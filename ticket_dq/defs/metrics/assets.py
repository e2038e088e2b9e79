"""Evaluation assets: complaint links, daily metrics and their breakdown (lib/complaints, lib/metrics)."""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.metadata import layer, table_metadata
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import complaints, metrics, report

GROUP = "metrics"
COMPLAINT_LINKS, METRICS_DAILY, METRICS_BREAKDOWN = keys.COMPLAINT_LINKS, keys.METRICS_DAILY, keys.METRICS_BREAKDOWN
METRICS_ASSETS = (COMPLAINT_LINKS, METRICS_DAILY, METRICS_BREAKDOWN)


def _chart_file(name: str, png: bytes) -> dg.MetadataValue:
    """Also keep the chart as a file beside the warehouse (<warehouse dir>/charts/), for tools that do
    not render inline images."""
    path = settings.warehouse_dir() / "charts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{name}.tmp")
    tmp.write_bytes(png)
    tmp.replace(path)
    return dg.MetadataValue.path(str(path))

ISSUES = keys.ISSUES
RAW_COMPLAINTS = keys.raw("complaints")
RAW_ISSUE_EVENTS = keys.raw("issue_events")
REJECTED_EVENTS = keys.ISSUE_EVENTS_REJECTED


class MetricsConfig(dg.Config):
    """Which days to recompute. Neither field set: every day (a full rebuild)."""

    days: list[str] = []  # explicit days, YYYY-MM-DD (the daily schedule passes yesterday)
    ingest_run_ids: list[str] = []  # runs that ingested complaints / issue events (the metrics sensor)


@dg.asset(
    key=COMPLAINT_LINKS,
    group_name=GROUP,
    deps=[RAW_COMPLAINTS, keys.raw("orders"), keys.raw("pickup_codes"), ISSUES],
    pool=DUCKDB_POOL,
    **layer(COMPLAINT_LINKS),
)
def complaint_links(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Output table `dq.complaint_links`: one row per data-related complaint (raw.complaints, first seven categories):
    the issue it reports (by order id, the order's pickup code, the order's show, else cinema + time + category
    map), with method and confidence, and whether it is a miss (`complaint_only`: no covering issue was detected
    before the complaint was made). Unlinked complaints keep a row with method NONE."""
    with warehouse.get_connection() as con:
        counts = complaints.link_complaints(con, settings.now())
        table = table_metadata(con, COMPLAINT_LINKS)
    context.log.info(f"complaint links: {counts}")
    return dg.MaterializeResult(metadata={
        **table,
        "linked": counts["linked"],
        "unlinked": counts["unlinked"],
        "complaint_only": counts["complaint_only"],
        "by_method": dg.MetadataValue.json(counts["by_method"]),
    })


@dg.asset(
    key=METRICS_DAILY,
    group_name=GROUP,
    deps=[COMPLAINT_LINKS, ISSUES, RAW_ISSUE_EVENTS, REJECTED_EVENTS, RAW_COMPLAINTS],
    pool=DUCKDB_POOL,
    **layer(METRICS_DAILY),
)
def metrics_daily(context: dg.AssetExecutionContext, config: MetricsConfig,
                  warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Output table `dq.metrics_daily`: one row per day: alerts first detected that day and their review outcome
    (confirmed, false positive, pending, resolved), misses found by complaints created that day, accuracy, recall,
    closed-loop rate, Q = 0.3a + 0.3r + 0.4c, and the data-related complaint ratio. Recomputes only the days in the
    run config (or touched by the given ingest runs); all days without config."""
    with warehouse.get_connection() as con:
        days = metrics.compute_daily(con, settings.now(), config.days, config.ingest_run_ids)
        rows = metrics.daily_rows(con)
        table = table_metadata(con, METRICS_DAILY)
    chart = report.chart_quality_over_time(rows)
    context.log.info(f"metrics_daily recomputed {len(days)} day(s): {[str(d) for d in days]}")
    return dg.MaterializeResult(metadata={
        **table,
        "days_recomputed": dg.MetadataValue.json([str(d) for d in days]),
        "full_rebuild": not (config.days or config.ingest_run_ids),
        "summary": dg.MetadataValue.md(metrics.summary_markdown(rows)),
        "chart": dg.MetadataValue.md(report.markdown_image(chart, "Q and its parts over time")),
        "chart_file": _chart_file("quality_over_time.png", chart),
    })


@dg.asset(
    key=METRICS_BREAKDOWN,
    group_name=GROUP,
    deps=[COMPLAINT_LINKS, METRICS_DAILY, ISSUES, RAW_ISSUE_EVENTS, REJECTED_EVENTS],
    pool=DUCKDB_POOL,
    **layer(METRICS_BREAKDOWN),
)
def metrics_breakdown(context: dg.AssetExecutionContext, config: MetricsConfig,
                      warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Output table `dq.metrics_breakdown`: the counts and rates of dq.metrics_daily per day and per value of one
    dimension (issue category, source, team). Complaints are attributed through their link (else the mapped category
    / the order's partner / UNKNOWN); complaints_total is NULL here (only data complaints attribute)."""
    with warehouse.get_connection() as con:
        days = metrics.compute_breakdown(con, settings.now(), config.days, config.ingest_run_ids)
        table = table_metadata(con, METRICS_BREAKDOWN)
        chart = report.chart_issues_by(con)
    return dg.MaterializeResult(metadata={
        **table,
        "days_recomputed": dg.MetadataValue.json([str(d) for d in days]),
        "chart": dg.MetadataValue.md(report.markdown_image(chart, "alerts by category and team")),
        "chart_file": _chart_file("alerts_by_category_and_team.png", chart),
    })
