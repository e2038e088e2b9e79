"""Fixtures for the distribution tests: a real warehouse file and hand-made events / issues."""

from __future__ import annotations

from datetime import datetime

import pytest

from ticket_dq.lib import warehouse


@pytest.fixture
def con(isolated_env):
    """A real DuckDB warehouse file in tmp_path, with the shared tables."""
    with warehouse.connect(isolated_env["warehouse"]) as c:
        yield c


def add_events(con, rows, *, file="issue_events/internal/2026-03-08/e1.csv", ingested_at=None):
    """Insert (event_ts, issue_id, to_status[, resolution_code]) rows as ingestion would."""
    ingested_at = ingested_at or datetime(2026, 3, 8, 23, 0)
    for line, row in enumerate(rows, start=2):
        ts, issue, to_status, *rest = row
        code = rest[0] if rest else None
        con.execute(
            "INSERT INTO raw.issue_events (event_ts, issue_id, to_status, handler, team, resolution_code, comment,"
            " source, ingest_file, ingest_line, ingested_at, ingest_run_id)"
            " VALUES (?, ?, ?, 'zhang.wei', 'BD', ?, '', 'internal', ?, ?, ?, 'run1')",
            [ts, issue, to_status, code, file, line, ingested_at])
