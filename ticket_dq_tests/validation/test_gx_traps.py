"""The two GX-on-DuckDB traps, reproduced with stock GX and solved by lib.validation.gx_duckdb."""

from __future__ import annotations

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pytest

from ticket_dq.lib import warehouse
from ticket_dq.lib.validation import gx_duckdb, unexpected_rows


@pytest.fixture
def con(isolated_env):
    with warehouse.connect(isolated_env["warehouse"]) as c:
        c.execute("CREATE TABLE t AS SELECT range AS id, 'C' || range AS code, "
                  "CASE WHEN range % 10 = 0 THEN NULL ELSE range END AS v, 'FH' AS source, "
                  "DATE '2026-03-08' AS feed_date, 'f.csv' AS ingest_file, range + 2 AS ingest_line FROM range(100)")
        yield c


def _run(ctx, ds, expectations):
    bd = ds.add_table_asset(name="t", table_name="t").add_batch_definition_whole_table("b")
    suite = ctx.suites.add(gx.ExpectationSuite(name="s"))
    for e in expectations:
        suite.add_expectation(e)
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name="v", data=bd, suite=suite))
    return vd.run(result_format="SUMMARY").results


def _error(er) -> str:
    return " ".join(str(v.get("exception_message")) for v in (er.exception_info or {}).values()
                    if isinstance(v, dict))


def test_stock_sql_datasource_loses_results_after_releasing_the_connection(con):
    """Trap 1: GX fetches metric rows after leaving ``with engine.connect()``; the release rolls back
    and DuckDB drops the pending result, so every metric fails with 'list index out of range'."""
    ctx = gx.get_context(mode="ephemeral")
    ds = ctx.data_sources.add_sql(name="stock", connection_string="duckdb:///:memory:",
                                  kwargs=gx_duckdb.engine_kwargs(con))
    try:
        results = _run(ctx, ds, [gxe.ExpectColumnValuesToNotBeNull(column="v")])
    finally:
        ds.get_execution_engine().close()
    assert results[0].success is False
    assert "list index out of range" in _error(results[0])


def test_persistent_connection_engine_returns_real_counts_on_the_borrowed_connection(con):
    with gx_duckdb.ephemeral_context(con) as (ctx, ds):
        results = _run(ctx, ds, [gxe.ExpectColumnValuesToNotBeNull(column="v")])
    assert results[0].success is False
    assert (results[0].result["element_count"], results[0].result["unexpected_count"]) == (100, 10)
    # Our connection is still open and usable: GX never opened a second one on the file.
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 100


def test_second_connection_to_the_open_file_is_refused(con, isolated_env):
    """Why GX must borrow our connection: duckdb-engine opens with another config and DuckDB refuses."""
    import sqlalchemy as sa

    engine = sa.create_engine(f"duckdb:///{isolated_env['warehouse']}")
    with pytest.raises(sa.exc.OperationalError, match="different configuration"):
        engine.connect()


def test_regex_expectation_is_refused_on_duckdb_and_regexp_matches_rule_works(con):
    """Trap 2: ExpectColumnValuesToMatchRegex raises NotImplementedError for the duckdb dialect;
    the same rule as an UnexpectedRowsExpectation with regexp_matches counts the bad rows."""
    with gx_duckdb.ephemeral_context(con) as (ctx, ds):
        regex, ure = _run(ctx, ds, [
            gxe.ExpectColumnValuesToMatchRegex(column="code", regex="^C[0-9]$"),
            unexpected_rows(("id",), "NOT regexp_matches(code, '^C[0-9]$')"),
        ])
    assert regex.success is False and "Regex is not supported for dialect duckdb" in _error(regex)
    assert ure.success is False and ure.result["observed_value"] == 90
