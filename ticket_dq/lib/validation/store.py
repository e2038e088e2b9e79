"""Where validation history lives: ``dq.validation_results`` (queryable by BI) and
``dq.validated_files`` (which ingested files each table's suite has already seen: incremental runs)."""

from __future__ import annotations

import duckdb

RESULTS_TABLE = "dq.validation_results"
FILES_TABLE = "dq.validated_files"

DDL = (
    # One row per validation run x asset x expectation x (source, business_date) of the batch.
    f"""CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} (
      run_id VARCHAR NOT NULL,        -- Dagster run that validated
      asset VARCHAR NOT NULL,         -- table, e.g. raw.partner_schedule
      expectation VARCHAR NOT NULL,   -- rule name (sale_gt_list, partner_schedule_key_unique, ...)
      expectation_type VARCHAR,       -- GX expectation class, e.g. expect_column_values_to_be_in_set
      severity VARCHAR NOT NULL,      -- ERROR (blocks downstream) | WARN
      success BOOLEAN NOT NULL,
      element_count BIGINT,           -- rows of this source and date in the batch
      unexpected_count BIGINT,        -- NULL when the expectation itself failed to run
      sample_keys JSON,               -- up to 5 business keys of failing rows (never a mobile number)
      source VARCHAR,
      business_date DATE,             -- feed date: the <YYYY-MM-DD> folder of the file
      validated_at TIMESTAMP NOT NULL,
      exception VARCHAR               -- GX error text when the expectation could not be evaluated
    )""",
    f"""CREATE TABLE IF NOT EXISTS {FILES_TABLE} (
      asset VARCHAR NOT NULL,
      ingest_file VARCHAR NOT NULL,
      run_id VARCHAR NOT NULL,
      validated_at TIMESTAMP NOT NULL
    )""",
)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Idempotent DDL for the validation tables."""
    con.execute("CREATE SCHEMA IF NOT EXISTS dq")
    for ddl in DDL:
        con.execute(ddl)


def latest_results(con: duckdb.DuckDBPyConnection, table: str, severity: str) -> dict | None:
    """The most recent validation of ``table`` (one run, ``severity`` expectations), per expectation:
    ``{"run_id", "validated_at", "rows": [(expectation, success, element_count, unexpected_count, sample_keys)]}``
    (sample_keys: a JSON text list of failing rows' keys, from one failing source x date, or None).
    None when the table has never been validated. Used when a run has no new rows: the check then
    restates what the latest delivered rows showed instead of reporting a vacuous pass."""
    ensure_tables(con)
    last = con.execute(
        f"SELECT run_id, max(validated_at) FROM {RESULTS_TABLE} WHERE asset = ? "
        "GROUP BY run_id ORDER BY 2 DESC, 1 DESC LIMIT 1", [table]).fetchall()
    if not last:
        return None
    run_id, validated_at = last[0]
    rows = con.execute(
        f"""SELECT expectation, bool_and(success), sum(element_count)::BIGINT, sum(unexpected_count)::BIGINT,
                   CAST(first(sample_keys ORDER BY source, business_date) FILTER (WHERE NOT success) AS VARCHAR)
            FROM {RESULTS_TABLE} WHERE asset = ? AND run_id = ? AND severity = ?
            GROUP BY expectation ORDER BY expectation""", [table, run_id, severity]).fetchall()
    return {"run_id": run_id, "validated_at": validated_at, "rows": rows}
