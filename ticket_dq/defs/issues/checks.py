"""The output contract of dq.issues as a blocking asset check: a broken table never reaches the export.

``export/parquet`` is downstream of dq.issues, so inside a run a failed blocking check skips it; the
export's automation condition states the same rule for runs the automation sensor starts.
"""

import dagster as dg

from ticket_dq.defs import keys
from ticket_dq.defs.metadata import inline_table
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.lib import output_contract

ISSUES_CONTRACT_VALID = "ISSUES_CONTRACT_VALID"


@dg.asset_check(
    asset=keys.ISSUES,
    name=ISSUES_CONTRACT_VALID,
    blocking=True,
    pool=DUCKDB_POOL,
    description="CONTRACT.md section 4 on dq.issues itself: every contract column, category / severity / "
                "team / status in their value sets, issue_id present and unique, a reason on every row, "
                "no unmasked mobile number (ERROR, blocks export/parquet).",
)
def issues_contract(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        violations = output_contract.issues_violations(con)
        rows = con.execute(f"SELECT count(*) FROM {output_contract.ISSUES_TABLE}").fetchone()[0]
    if violations:
        description = (f"FAILED {len(violations)} contract rule(s) of dq.issues: "
                       + "; ".join(v.describe() for v in violations))
    else:
        description = f"dq.issues meets its contract ({rows} rows)"
    return dg.AssetCheckResult(
        passed=not violations,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "rows_checked": dg.MetadataValue.int(rows),
            "violations": inline_table(("rule", "rows", "sample"),
                                       [(v.rule, v.rows, ", ".join(v.sample)) for v in violations]),
        },
    )
