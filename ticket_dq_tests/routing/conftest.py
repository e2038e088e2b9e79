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


ISSUE_DEFAULTS = dict(
    category="SHOW_TIME_MISMATCH", rule="r1", severity="P2", team="BD", status="OPEN", source="FH",
    cinema_code="C001", business_date="2026-03-08", show_start_time=None, order_id=None, pickup_code=None,
    affected_orders=0, reason="partner start time differs from the platforms", evidence='{"partner": "19:30"}',
    first_detected_at=datetime(2026, 3, 8, 10, 0), last_detected_at=datetime(2026, 3, 8, 10, 0),
)


def add_issue(con, issue_id, **kw):
    """Insert one hand-made dq.issues row (columns of lib/warehouse.py's DDL)."""
    row = {**ISSUE_DEFAULTS, **kw, "issue_id": issue_id}
    cols = list(row)
    con.execute(f"INSERT INTO dq.issues ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [row[c] for c in cols])


def add_order(con, order_id, mobile, show_start_time, film_name="哪吒之魔童闹海"):
    con.execute(
        "INSERT INTO raw.orders (event_ts, order_id, partner_code, mobile, cinema_code, show_start_time, film_name,"
        " ticket_count, status, source, ingest_file, ingest_line, ingested_at)"
        " VALUES (?, ?, 'FH', ?, 'C001', ?, ?, 2, 'PAID', 'FH', 'orders/FH/x.csv', 2, ?)",
        [datetime(2026, 3, 8, 9, 0), order_id, mobile, show_start_time, film_name, datetime(2026, 3, 8, 9, 1)])
