"""Order-outcome issues rest on the orders feed: a late orders feed, or a broken orders file of the day
concerned, suppresses them (SUPPRESSED, suppressed_by = the feed issue) instead of alerting CS."""

from datetime import datetime

import dagster as dg
import pytest

from ticket_dq import settings
from ticket_dq.defs.compare import assets as compare
from ticket_dq.defs.issues.assets import issues as issues_asset
from ticket_dq.defs.outcomes import assets as outcomes
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import issues as lib_issues
from ticket_dq.lib import warehouse
from ticket_dq_tests.outcomes.orders import Orders

NOW = "2026-03-10 12:00:00"


def ledger(con, file: str, folder_date: str, snapshot_ts: str, status: str = "INGESTED") -> None:
    con.execute("""INSERT INTO meta.ingested_files (file, feed, source, folder_date, stem, sha256, snapshot_ts,
                     rows_manifest, rows_ingested, rows_quarantined, status, reason, ingested_at)
                   VALUES (?, 'orders', 'internal', ?, ?, 'x', ?, 10, ?, ?, ?, ?, ?)""",
                [file, folder_date, file, snapshot_ts, 10 if status == "INGESTED" else 0,
                 0 if status == "INGESTED" else 10, status, None if status == "INGESTED" else "sha256 mismatch",
                 snapshot_ts])


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", NOW)
    with warehouse.connect(settings.warehouse_path()) as c:
        Orders().order("A", datetime(2026, 3, 10, 10, 0)).order(
            "BG", datetime(2026, 3, 10, 11, 58), ("ISSUED", 1), file="orders/o_11.csv").write(c)
        yield c


def run(con) -> list[tuple]:
    assets = [compare.feed_health, outcomes.order_outcome, outcomes.order_not_issued, outcomes.order_outcome_spike,
              issues_asset]
    assert dg.materialize(assets, resources=build_resources()).success
    return con.execute("SELECT category, status, suppressed_by FROM dq.issues ORDER BY category").fetchall()


def test_a_late_orders_feed_suppresses_order_not_issued_naming_the_feed_issue(con):
    ledger(con, "orders/internal/2026-03-10/o_10.csv", "2026-03-10", "2026-03-10 10:00:00")  # silent since 10:00
    late_id = lib_issues.issue_id("FEED_LATE", "internal", "2026-03-10")
    assert run(con) == [("FEED_LATE", "OPEN", None), ("ORDER_NOT_ISSUED", "SUPPRESSED", late_id)]


def test_a_broken_orders_file_of_the_order_day_suppresses_it_and_one_of_another_day_does_not(con):
    ledger(con, "orders/internal/2026-03-10/o_11.csv", "2026-03-10", "2026-03-10 11:59:00")
    ledger(con, "orders/internal/2026-03-08/o_09.csv", "2026-03-08", "2026-03-08 10:00:00", status="REJECTED")
    assert run(con) == [("FEED_PARTIAL", "OPEN", None), ("ORDER_NOT_ISSUED", "OPEN", None)]
    ledger(con, "orders/internal/2026-03-10/o_10.csv", "2026-03-10", "2026-03-10 11:00:00", status="REJECTED")
    partial_id = lib_issues.issue_id("FEED_PARTIAL", "internal", "2026-03-10")
    rows = run(con)
    assert ("ORDER_NOT_ISSUED", "SUPPRESSED", partial_id) in rows


def test_an_orders_feed_on_time_suppresses_nothing(con):
    ledger(con, "orders/internal/2026-03-10/o_11.csv", "2026-03-10", "2026-03-10 11:59:00")
    assert run(con) == [("ORDER_NOT_ISSUED", "OPEN", None)]
