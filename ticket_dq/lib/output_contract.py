"""The output contract of dq.issues (CONTRACT.md section 4), checked on the table itself.

BI tools and handlers read dq.issues through the Parquet export; ``issues_violations`` lists every way
the table breaks the contract (missing columns, values outside their sets, duplicate or empty ids,
empty reasons, unmasked mobile numbers), so a broken table can be stopped before it is exported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ticket_dq.lib import contract, masking, warehouse

ISSUES_TABLE = "dq.issues"
ISSUE_COLUMNS = (
    "issue_id", "category", "rule", "severity", "team", "status", "source", "cinema_code", "business_date",
    "show_start_time", "order_id", "pickup_code", "affected_orders", "reason", "evidence", "first_detected_at",
    "last_detected_at", "resolved_at",
)
ISSUE_STATUSES = contract.ISSUE_STATUSES
VALUE_SETS = {
    "category": contract.ISSUE_CATEGORIES,
    "severity": contract.SEVERITIES,
    "team": contract.TEAMS,
    "status": ISSUE_STATUSES,
}
# Text columns that leave the warehouse and could carry a customer's mobile number.
TEXT_COLUMNS = ("reason", "evidence", "source", "order_id", "pickup_code", "rule")
SAMPLE = 5


@dataclass(frozen=True)
class Violation:
    rule: str  # e.g. "status in value set"
    rows: int  # rows (or columns) that break it
    sample: list[str] = field(default_factory=list)  # issue ids or values, masked

    def describe(self) -> str:
        shown = f" (e.g. {', '.join(self.sample)})" if self.sample else ""
        return f"{self.rule}: {self.rows}{shown}"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [name for name, _, _ in warehouse.table_columns(con, table)]


def _rows(con, where: str, what: str = "issue_id") -> Violation | None:
    n, sample = con.execute(f"SELECT count(*), list({what}::VARCHAR ORDER BY issue_id)[1:{SAMPLE}] "
                            f"FROM {ISSUES_TABLE} WHERE {where}").fetchone()
    return (n, [masking.mask(s) for s in sample or []]) if n else None


def issues_violations(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Every contract rule dq.issues breaks now; an empty list means the table may be exported."""
    have = _columns(con, ISSUES_TABLE)
    missing = [c for c in ISSUE_COLUMNS if c not in have]
    if missing:  # the other rules read these columns
        return [Violation("contract columns present", len(missing), missing)]
    out: list[Violation] = []

    def add(rule: str, where: str, what: str = "issue_id") -> None:
        found = _rows(con, where, what)
        if found:
            out.append(Violation(rule, *found))

    add("issue_id not empty", "issue_id IS NULL OR issue_id = ''", "coalesce(issue_id, '<null>')")
    dup = con.execute(f"SELECT count(*), list(issue_id ORDER BY issue_id)[1:{SAMPLE}] FROM "
                      f"(SELECT issue_id FROM {ISSUES_TABLE} GROUP BY issue_id HAVING count(*) > 1)").fetchone()
    if dup[0]:
        out.append(Violation("issue_id unique", dup[0], list(dup[1])))
    for col, allowed in VALUE_SETS.items():
        values = ", ".join(f"'{v}'" for v in allowed)
        add(f"{col} in value set", f"{col} IS NULL OR {col} NOT IN ({values})", f"coalesce({col}, '<null>')")
    add("reason not empty", "reason IS NULL OR trim(reason) = ''")
    text = " || ' ' || ".join(f"coalesce({c}::VARCHAR, '')" for c in TEXT_COLUMNS)
    candidates = con.execute(f"SELECT issue_id, {text} FROM {ISSUES_TABLE} "
                             f"WHERE regexp_matches({text}, '{masking.MOBILE_SQL}')").fetchall()
    unmasked = [issue_id for issue_id, body in candidates if masking.find_mobiles(body)]
    if unmasked:
        out.append(Violation("no unmasked mobile number", len(unmasked), sorted(unmasked)[:SAMPLE]))
    return out
