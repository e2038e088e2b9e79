"""Issue identity, severity, team map and status merge as plain rules (SQL twins checked against them)."""

import duckdb
import pytest

from ticket_dq.lib import contract, issues


def test_issue_id_is_stable_and_depends_on_category_source_and_key():
    a = issues.issue_id("SHOW_EXTRA", "FH", "11011004|2026-03-10 18:30")
    assert a == issues.issue_id("SHOW_EXTRA", "FH", "11011004|2026-03-10 18:30")
    assert a != issues.issue_id("SHOW_EXTRA", "DX", "11011004|2026-03-10 18:30")
    assert a != issues.issue_id("SHOW_MISSING", "FH", "11011004|2026-03-10 18:30")


def test_issue_id_sql_equals_python():
    con = duckdb.connect()
    got = con.execute(f"SELECT {issues.ISSUE_ID_SQL} FROM (SELECT 'ORDER_SHOW_CHANGED' AS category, 'MTX' AS source, "
                      "'TK1' AS business_key)").fetchone()[0]
    assert got == issues.issue_id("ORDER_SHOW_CHANGED", "MTX", "TK1")


CASES = [
    ("ORDER_SHOW_CANCELLED", 1, 2.0, 4000, "P0"),
    ("ORDER_SHOW_CHANGED", 1, 10.0, 4000, "P1"),
    ("ORDER_SHOW_CHANGED", 1, 40.0, 4000, "P2"),
    ("SEAT_DOUBLE_SOLD", 2, 1.0, 5000, "P0"),
    ("SHOW_TIME_MISMATCH", 3, 5.0, 9000, "P1"),
    ("SHOW_EXTRA", 0, 30.0, 0, "P3"),
    ("SHOW_EXTRA", 0, 5.0, 0, "P2"),
    ("SHOW_PRICE_MISMATCH", 20, 5.0, 150_000, "P0"),  # big money lifts one level
    ("PICKUP_CODE_INVALID", 1, 3.0, None, "P1"),
    ("FEED_LATE", None, None, None, "P1"),
    ("FEED_PARTIAL", None, None, None, "P2"),
    ("UNMAPPED_ENTITY", None, None, None, "P3"),
    ("VALIDATION_FAILED", None, None, None, "P3"),
]


@pytest.mark.parametrize("category,orders,hours,fen,expected", CASES)
def test_severity_rules_in_python_and_sql_agree(category, orders, hours, fen, expected):
    assert issues.severity(category, orders, hours, fen) == expected
    con = duckdb.connect()
    got = con.execute(f"SELECT {issues.SEVERITY_SQL} FROM (SELECT ?::VARCHAR AS category, ?::INTEGER AS affected_orders, "
                      "?::DOUBLE AS hours_to_show, ?::BIGINT AS impact_fen)", [category, orders, hours, fen]).fetchone()[0]
    assert got == expected


def test_every_category_has_a_contract_team():
    assert set(issues.DEFAULT_TEAMS) == set(contract.ISSUE_CATEGORIES)
    assert issues.DEFAULT_TEAMS["ORDER_SHOW_CHANGED"] == "CS"
    assert issues.DEFAULT_TEAMS["SHOW_EXTRA"] == "BD"


@pytest.mark.parametrize("detection,handler,expected", [
    ("OPEN", None, "OPEN"),
    ("OPEN", "ACKNOWLEDGED", "ACKNOWLEDGED"),
    ("OPEN", "FALSE_POSITIVE", "FALSE_POSITIVE"),
    ("RESOLVED", "ACKNOWLEDGED", "RESOLVED"),   # detection auto-resolves a still-open issue
    ("RESOLVED", "FALSE_POSITIVE", "FALSE_POSITIVE"),
    ("SUPPRESSED", "CONFIRMED", "SUPPRESSED"),
    ("OPEN", "OPEN", "OPEN"),  # handler REOPENED
])
def test_handler_status_overrides_detection_except_auto_resolve_and_suppression(detection, handler, expected):
    assert issues.merge_status(detection, handler) == expected


def test_detection_reopen_after_handler_resolution_wins():
    assert issues.merge_status("OPEN", "RESOLVED", handler_at=1, reopened_at=2) == "OPEN"
    assert issues.merge_status("OPEN", "RESOLVED", handler_at=3, reopened_at=2) == "RESOLVED"
