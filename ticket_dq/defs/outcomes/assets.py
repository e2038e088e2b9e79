"""Order outcomes: each paid order's issuing timeline, and the two comparisons built on it
(ORDER_NOT_ISSUED, ORDER_OUTCOME_SPIKE). Thin wiring over ``lib.detection`` (scripts in
``lib/detection/sql/order_*.sql``, rules in ``lib.detection.outcome_rules``); the two comparisons are
registered in ``candidates.COMPARISONS`` and built like every other comparison asset."""

from __future__ import annotations

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.compare.assets import EAGER, GROUP, _candidate_asset
from ticket_dq.defs.metadata import layer, table_metadata
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib.detection import candidates, scripts


@dg.asset(key=keys.CUR_ORDER_OUTCOME, group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[keys.raw("orders")], **layer(keys.CUR_ORDER_OUTCOME))
def order_outcome(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Current layer, table `cur.order_outcome` (from `raw/orders`): each paid order's issuing timeline by event time (first PAID, first issuing outcome, first ticket,
    last ISSUE_FAILED, refund or cancellation), with the show as bought and how far the feed files holding
    its events have been seen. Shared by ORDER_NOT_ISSUED and ORDER_OUTCOME_SPIKE. Incremental: only orders
    with an event in a new orders file are recomputed (a changed or vanished file rebuilds all); the table
    and its file state (cur.order_outcome_files) commit in one transaction."""
    with warehouse.get_connection() as con:
        scripts.run(con, "order_outcome", now=settings.now())
        row = con.execute("""SELECT count(*), count(ticket_ts), count(failed_ts), count(refund_ts)
                             FROM cur.order_outcome""").fetchone()
        full = con.execute("SELECT full_run FROM oo_mode").fetchone()[0]
        recomputed = row[0] - con.execute("SELECT count(*) FROM oo_kept").fetchone()[0]
        table = table_metadata(con, keys.CUR_ORDER_OUTCOME)
    return dg.MaterializeResult(metadata={**table, "with_ticket": row[1],
                                          "issue_failed": row[2], "refunded": row[3], "full_rebuild": bool(full),
                                          "orders_recomputed": recomputed})


order_not_issued = _candidate_asset(
    "order_not_issued", [keys.CUR_ORDER_OUTCOME, keys.raw("pickup_codes")],
    "ORDER_NOT_ISSUED: one row per paid order with no ticket once its data have settled - no ISSUED/PRINTED "
    "within the issuing window after PAID (TICKET_DQ_ISSUING_WINDOW_MIN, default 10), ISSUE_FAILED with no "
    "REFUNDED after it, or a channel-partner order whose pickup code was never DELIVERED. Late events count by "
    "event time: a late ticket resolves the issue. affected_orders = the partner's not-issued orders that hour.")
order_outcome_spike = _candidate_asset(
    "order_outcome_spike",
    [keys.CUR_ORDER_OUTCOME, *(keys.cand(t.split(".", 1)[1]) for t in candidates.COMPARISONS["order_outcome_spike"].reads)],
    "ORDER_OUTCOME_SPIKE: partner-hours (or show-hours, when one show carries it) whose issue-failure or refund "
    "rate is far above the partner's own trailing baseline: at least min_count events, ratio_floor x the "
    "baseline and a Chernoff bound on the binomial tail below alpha (docs/detection.md). Evidence: rate, "
    "baseline, count, top shows and any schedule issue of the same show.")
