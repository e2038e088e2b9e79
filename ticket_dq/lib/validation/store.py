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
