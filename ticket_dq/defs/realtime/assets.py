"""Real-time numbers: how long each fault waited, and p50 / p95 per category and day (lib/latency.py).
Recomputed by the metrics sensor's runs (after new issues and notifications) and by materialize."""

from __future__ import annotations

import dagster as dg

from ticket_dq.defs.metadata import layer, table_metadata
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import latency

ISSUE_LATENCY = dg.AssetKey(["dq", "issue_latency"])
DETECTION_DELAY = dg.AssetKey(["dq", "detection_delay"])
LATENCY_ASSETS = (ISSUE_LATENCY, DETECTION_DELAY)


@dg.asset(key=ISSUE_LATENCY, group_name="metrics", pool=DUCKDB_POOL, **layer(ISSUE_LATENCY),
          deps=[dg.AssetKey(["dq", "issues"]), dg.AssetKey(["dq", "notifications"])])
def issue_latency(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Output table `dq.issue_latency`: one row per issue (not SUPPRESSED): when its first evidence landed (the
    delivery time of the earliest file of its source in the ingestion wave that led to its first detection), when it
    was first detected, when it was first notified, and the delays between them in seconds."""
    with warehouse.get_connection() as con:
        latency.build_issue_latency(con)
        table = table_metadata(con, ISSUE_LATENCY)
    return dg.MaterializeResult(metadata=table)


@dg.asset(key=DETECTION_DELAY, group_name="metrics", pool=DUCKDB_POOL, **layer(DETECTION_DELAY),
          deps=[ISSUE_LATENCY])
def detection_delay(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Output table `dq.detection_delay`: per day of first detection and issue category (and '*' for all): issues,
    notified, and p50 / p95 of evidence -> detected, detected -> notified and evidence -> notified, in seconds."""
    with warehouse.get_connection() as con:
        latency.build_detection_delay(con)
        rows = latency.delay_rows(con)
        table = table_metadata(con, DETECTION_DELAY)
    return dg.MaterializeResult(metadata={
        **table,
        "delays": dg.MetadataValue.md(latency.markdown([r for r in rows if r[1] == "*"] or rows)),
    })
