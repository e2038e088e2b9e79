"""The VALIDATION_FAILED candidate table (CANDIDATE_COLUMNS shape) from stored validation results
and quarantined rows."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ticket_dq.lib import warehouse
from ticket_dq.lib.masking import mask_columns
from ticket_dq.lib.validation import store

TABLE = "cand.validation_failed"
SQL = (Path(__file__).parent / "validation_failed.sql").read_text(encoding="utf-8")


def build(con: duckdb.DuckDBPyConnection, rules: list[str]) -> int:
    """Replace ``cand.validation_failed``; ``rules`` are the rule names whose failures are issues.
    Returns the number of candidates."""
    store.ensure_tables(con)
    con.execute(warehouse.candidate_table_ddl(TABLE))
    cols = ", ".join(n for n, _ in warehouse.CANDIDATE_COLUMNS)
    # Full rebuild in one transaction: the table is derived state, readers never see it half-written.
    with warehouse.transaction(con):
        con.execute(f"DELETE FROM {TABLE}")
        con.execute(f"INSERT INTO {TABLE} ({cols}) SELECT {cols} FROM ({SQL})", {"rules": rules})
        mask_columns(con, TABLE, ("reason", "evidence"))
    return int(con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])
