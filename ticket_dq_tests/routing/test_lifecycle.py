"""Handler events -> status: event-time order, duplicates, late events, illegal transitions."""

from __future__ import annotations

from datetime import datetime

import pytest

from ticket_dq.lib import lifecycle
from ticket_dq_tests.routing.conftest import add_events


def states(con):
    lifecycle.handler_states(con)
    return {r[0]: r[1:] for r in con.execute(
        "SELECT issue_id, status, status_at, resolution_code, acknowledged_at, resolved_at FROM handler_state").fetchall()}


def rejected(con):
    return con.execute(
        "SELECT issue_id, to_status, from_status, reason_code, reason FROM handler_rejected_events"
        " ORDER BY issue_id, event_ts").fetchall()


def test_events_delivered_out_of_order_end_in_event_time_state(con):
    # Arrival order: RESOLVED first, then CONFIRMED, then ACKNOWLEDGED; event time says the opposite.
    add_events(con, [
        ("2026-03-08 12:00:00", "I1", "RESOLVED", "PARTNER_FIXED"),
        ("2026-03-08 11:00:00", "I1", "CONFIRMED"),
        ("2026-03-08 10:00:00", "I1", "ACKNOWLEDGED"),
    ])
    s = states(con)
    assert s["I1"] == ("RESOLVED", datetime(2026, 3, 8, 12), "PARTNER_FIXED",
                       datetime(2026, 3, 8, 10), datetime(2026, 3, 8, 12))
    assert rejected(con) == []


def test_duplicate_events_apply_once_and_are_kept_for_audit(con):
    add_events(con, [("2026-03-08 10:00:00", "I1", "ACKNOWLEDGED")], file="a.csv")
    add_events(con, [("2026-03-08 10:00:00", "I1", "ACKNOWLEDGED")], file="b.csv",
               ingested_at=datetime(2026, 3, 9, 1, 0))
    counts = lifecycle.handler_states(con)
    assert counts == {"events": 2, "issues": 1, "applied": 1, "rejected": 1}
    (row,) = rejected(con)
    assert row[3] == "DUPLICATE" and "a.csv:2" in row[4]
    assert con.execute("SELECT status, events_applied, events_rejected FROM handler_state").fetchone() == (
        "ACKNOWLEDGED", 1, 1)


def test_late_event_is_placed_in_its_event_time_slot(con):
    add_events(con, [("2026-03-08 10:00:00", "I1", "ACKNOWLEDGED"),
                     ("2026-03-08 12:00:00", "I1", "RESOLVED", "DATA_CORRECTED")])
    # RESOLVED straight from ACKNOWLEDGED is legal; a late CONFIRMED stamped 11:00 arrives a day later.
    add_events(con, [("2026-03-08 11:00:00", "I1", "CONFIRMED")], file="late.csv",
               ingested_at=datetime(2026, 3, 9, 23, 0))
    s = states(con)
    assert s["I1"][0] == "RESOLVED"
    assert con.execute("SELECT events_applied FROM handler_state").fetchone()[0] == 3
    assert rejected(con) == []


def test_illegal_transitions_are_rejected_with_reason_and_do_not_change_state(con):
    add_events(con, [
        ("2026-03-08 09:00:00", "I2", "RESOLVED", "NO_ACTION"),        # OPEN -> RESOLVED: illegal
        ("2026-03-08 10:00:00", "I2", "ACKNOWLEDGED"),
        ("2026-03-08 10:30:00", "I2", "ACKNOWLEDGED"),                  # no change
        ("2026-03-08 11:00:00", "I2", "FALSE_POSITIVE"),
        ("2026-03-08 11:30:00", "I2", "CONFIRMED"),                     # verdict after FP needs reopen
        ("2026-03-08 12:00:00", "I2", "WONTFIX"),                       # not a contract status
    ])
    s = states(con)
    assert s["I2"][0] == "FALSE_POSITIVE"
    rows = rejected(con)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("RESOLVED", "OPEN", "ILLEGAL_TRANSITION"),
        ("ACKNOWLEDGED", "ACKNOWLEDGED", "NO_CHANGE"),
        ("CONFIRMED", "FALSE_POSITIVE", "ILLEGAL_TRANSITION"),
        ("WONTFIX", None, "UNKNOWN_STATUS"),
    ]
    assert rows[0][4] == "cannot go OPEN -> RESOLVED; allowed from OPEN: ACKNOWLEDGED, CONFIRMED, FALSE_POSITIVE"


def test_reopen_returns_issue_to_open_and_clears_acknowledgement(con):
    add_events(con, [
        ("2026-03-08 10:00:00", "I3", "CONFIRMED"),
        ("2026-03-08 11:00:00", "I3", "RESOLVED", "PARTNER_FIXED"),
        ("2026-03-08 13:00:00", "I3", "REOPENED"),
    ])
    lifecycle.handler_states(con)
    row = con.execute(
        "SELECT status, acknowledged_at, resolution_code, resolved_at, reopened_at FROM handler_state").fetchone()
    assert row == ("OPEN", None, None, None, datetime(2026, 3, 8, 13))
    # ... and can go round again
    add_events(con, [("2026-03-08 14:00:00", "I3", "ACKNOWLEDGED"),
                     ("2026-03-08 15:00:00", "I3", "RESOLVED", "USER_NOTIFIED")], file="e2.csv")
    assert states(con)["I3"][:3] == ("RESOLVED", datetime(2026, 3, 8, 15), "USER_NOTIFIED")


def test_same_second_ack_and_verdict_apply_in_lifecycle_order(con):
    add_events(con, [("2026-03-08 10:00:00", "I4", "CONFIRMED"),
                     ("2026-03-08 10:00:00", "I4", "ACKNOWLEDGED")])
    assert states(con)["I4"][0] == "CONFIRMED"
    assert rejected(con) == []


def test_many_issues_replay_independently(con):
    add_events(con, [(f"2026-03-08 10:{i % 60:02d}:00", f"X{i}", "ACKNOWLEDGED") for i in range(300)]
               + [(f"2026-03-08 11:00:00", f"X{i}", "CONFIRMED") for i in range(0, 300, 2)])
    counts = lifecycle.handler_states(con)
    assert counts["issues"] == 300 and counts["applied"] == 450 and counts["rejected"] == 0
    by_status = dict(con.execute("SELECT status, count(*) FROM handler_state GROUP BY ALL").fetchall())
    assert by_status == {"ACKNOWLEDGED": 150, "CONFIRMED": 150}


def test_next_status_explains_illegal_actions():
    assert lifecycle.next_status(None, "ACKNOWLEDGED") == "ACKNOWLEDGED"
    assert lifecycle.next_status("RESOLVED", "REOPENED") == "OPEN"
    with pytest.raises(lifecycle.IllegalTransition, match="cannot go OPEN -> RESOLVED"):
        lifecycle.next_status("OPEN", "RESOLVED")
    with pytest.raises(lifecycle.IllegalTransition, match="already CONFIRMED"):
        lifecycle.next_status("CONFIRMED", "CONFIRMED")
