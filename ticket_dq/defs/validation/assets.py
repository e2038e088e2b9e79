"""VALIDATION_FAILED issue candidates from the GX results and quarantined rows."""


import dagster as dg

from ticket_dq.defs import keys
from ticket_dq.defs.metadata import inline_table, layer, table_metadata
from ticket_dq.defs.realtime import conditions as realtime
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.defs.validation.checks import asset_key
from ticket_dq.lib.validation.suites import SUITES
from ticket_dq.lib.validation import candidates

CANDIDATE_RULES = sorted({r.name for s in SUITES.values() for r in s.rules if r.candidate})


@dg.asset(
    key=keys.VALIDATION_FAILED,
    group_name="compare",
    pool=DUCKDB_POOL,
    **layer(keys.VALIDATION_FAILED),
    # Downstream of every validated table: it runs after their checks (one op writes both the
    # blocking and the WARN results), and is skipped when a blocking key check failed.
    deps=[asset_key(t) for t in SUITES],
    automation_condition=realtime.eager(),
)
def validation_failed(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Issue candidates, table `cand.validation_failed`: failed expectations as VALIDATION_FAILED issue candidates: one
    row per source x rule x business (feed) date, summed over every validated file, with counts and sample keys in
    ``evidence``; quarantined rows of raw.quarantine become rule ``row_parse``. The issues asset unions this table
    with the other cand.* tables."""
    with warehouse.get_connection() as con:
        candidates.build(con, CANDIDATE_RULES)
        table = table_metadata(con, keys.VALIDATION_FAILED)
        by_rule = con.execute(
            f"SELECT rule, count(*) FROM {candidates.TABLE} GROUP BY rule ORDER BY rule").fetchall()
        preview = con.execute(
            f"SELECT source, business_date, rule, reason FROM {candidates.TABLE} LIMIT 10").fetchall()
    return dg.MaterializeResult(metadata={
        **table,
        "candidates_by_rule": dg.MetadataValue.json({r: c for r, c in by_rule}),
        "preview": inline_table(("source", "date", "rule", "reason"), preview),
    })
