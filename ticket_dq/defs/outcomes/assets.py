"""Order outcomes: each paid order's issuing timeline, and the two comparisons built on it
(ORDER_NOT_ISSUED, ORDER_OUTCOME_SPIKE). Thin wiring over ``lib.outcomes``; candidate tables have the
shape of ``warehouse.CANDIDATE_COLUMNS`` and are unioned by the issues asset."""

from __future__ import annotations

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.compare.assets import EAGER, candidate_metadata, conform_candidates, raw
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import outcomes
from ticket_dq.lib.warehouse import candidate_table_ddl

GROUP = "compare"
CUR_ORDER_OUTCOME = dg.AssetKey(["cur", "order_outcome"])
# cand tables a spike's show is looked up in for a schedule issue of the same show
SCHEDULE_CANDIDATES = ("schedule_discrepancy", "schedule_integrity", "order_show")
OUTCOME_CANDIDATE_TABLES = ("order_not_issued", "order_outcome_spike")
OUTCOME_CAND_KEYS = [dg.AssetKey(["cand", t]) for t in OUTCOME_CANDIDATE_TABLES]


@dg.asset(key=CUR_ORDER_OUTCOME, group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[raw("orders")])
def order_outcome(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each paid order's issuing timeline by event time (first PAID, first issuing outcome, first ticket,
    last ISSUE_FAILED, refund or cancellation), with the show as bought and how far the feed files holding
    its events have been seen. Shared by ORDER_NOT_ISSUED and ORDER_OUTCOME_SPIKE. Incremental: only orders
    with an event in a new orders file are recomputed (a changed or vanished file rebuilds all)."""
    with warehouse.get_connection() as con:
        outcomes.run(con, "order_outcome", settings.now())
        row = con.execute("""SELECT count(*), count(ticket_ts), count(failed_ts), count(refund_ts)
                             FROM cur.order_outcome""").fetchone()
        full = con.execute("SELECT full_run FROM oo_mode").fetchone()[0]
        recomputed = con.execute("SELECT count(*) FROM oo_new").fetchone()[0]
    return dg.MaterializeResult(metadata={"dagster/row_count": dg.MetadataValue.int(row[0]), "with_ticket": row[1],
                                          "issue_failed": row[2], "refunded": row[3], "full_rebuild": bool(full),
                                          "orders_recomputed": recomputed})


def _evaluate(warehouse: WarehouseResource, table: str, *ensure: str) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        for t in (table, *ensure):
            con.execute(candidate_table_ddl(f"cand.{t}"))
        outcomes.run(con, table, settings.now())
        n = conform_candidates(con, f"cand.{table}")
        meta = candidate_metadata(con, f"cand.{table}", n)
    return dg.MaterializeResult(metadata=meta)


@dg.asset(key=["cand", "order_not_issued"], group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[CUR_ORDER_OUTCOME, raw("pickup_codes")])
def order_not_issued(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """ORDER_NOT_ISSUED: one row per paid order with no ticket once its data have settled - no ISSUED/PRINTED
    within the issuing window after PAID (TICKET_DQ_ISSUING_WINDOW_MIN, default 10), ISSUE_FAILED with no
    REFUNDED after it, or a channel-partner order whose pickup code was never DELIVERED. Late events count by
    event time: a late ticket resolves the issue. affected_orders = the partner's not-issued orders that hour."""
    return _evaluate(warehouse, "order_not_issued")


@dg.asset(key=["cand", "order_outcome_spike"], group_name=GROUP, pool=DUCKDB_POOL, automation_condition=EAGER,
          deps=[CUR_ORDER_OUTCOME, *(dg.AssetKey(["cand", t]) for t in SCHEDULE_CANDIDATES)])
def order_outcome_spike(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """ORDER_OUTCOME_SPIKE: partner-hours (or show-hours, when one show carries it) whose issue-failure or refund
    rate is far above the partner's own trailing baseline: at least min_count events, ratio_floor x the baseline
    and a Chernoff bound on the binomial tail below alpha (docs/detection.md). Evidence: rate, baseline, count,
    top shows and any schedule issue of the same show."""
    return _evaluate(warehouse, "order_outcome_spike", *SCHEDULE_CANDIDATES)
