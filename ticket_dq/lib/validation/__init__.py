"""Validation of raw and reference tables with Great Expectations Core 1.x, run inside DuckDB.

Plain Python, no Dagster: ``defs/validation`` wires it into asset checks.

- ``gx_duckdb``: a GX SQL datasource that borrows the caller's open DuckDB connection (one writer,
  no second connection fighting for the file lock) and keeps one SQLAlchemy connection for the
  whole validation (GX otherwise fetches results after releasing it: "list index out of range").
- ``docs_views``: GX's Data Docs page views sharing one Jinja environment (templates compiled once).
- ``runner``: suites as data (``Rule``/``Suite``), incremental batches, result mapping, sample keys.
- ``store``: ``dq.validation_results`` and ``dq.validated_files`` (what has been validated).
- ``candidates``: the VALIDATION_FAILED candidate table built from stored results and quarantine.
"""

from ticket_dq.lib.validation.runner import Rule, RuleResult, Suite, SuiteOutcome, run_suite, unexpected_rows

__all__ = ["Rule", "RuleResult", "Suite", "SuiteOutcome", "run_suite", "unexpected_rows"]
