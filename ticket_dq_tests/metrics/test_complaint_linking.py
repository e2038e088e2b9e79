"""Complaint linking on a hand-built case: each method, category mapping, misses stay visible."""

from __future__ import annotations

from datetime import datetime

import pytest

from ticket_dq.lib import complaints, warehouse
from ticket_dq_tests.metrics.scenario import add_complaint, add_issue, add_order, add_pickup

NOW = datetime(2026, 3, 9, 21, 0)


@pytest.fixture
def con(isolated_env):
    with warehouse.connect(isolated_env["warehouse"]) as c:
        yield c


def links(con):
    cur = con.execute("SELECT * FROM dq.complaint_links ORDER BY complaint_id")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


def test_each_link_method_finds_the_issue_the_complaint_reports(con):
    # ORDER_ID: the order-level issue of the complaint's order
    add_issue(con, "I1", "ORDER_SHOW_CHANGED", "2026-03-08 09:00:00", team="CS", order_id="O1",
              show_start_time="2026-03-08 19:00:00")
    add_complaint(con, "C1", "2026-03-08 12:00:00", "SHOW_CHANGED", order_id="O1")
    # ORDER_PICKUP_CODE: the order's pickup code has a code-level issue
    add_order(con, "O2", "11000002", "2026-03-08 19:00:00")
    add_pickup(con, "O2", "P2", cinema_code="11000002")
    add_issue(con, "I2", "PICKUP_CODE_INVALID", "2026-03-08 09:00:00", team="SALES", pickup_code="P2",
              source="TAOBAO")
    add_complaint(con, "C2", "2026-03-08 12:00:00", "PICKUP_CODE_INVALID", order_id="O2")
    # ORDER_SHOW: the order was bought at the partner's wrong time (19:00); the issue has the majority 18:00
    add_order(con, "O3", "11000003", "2026-03-08 19:00:00", partner_code="MTX")
    add_issue(con, "I3", "SHOW_TIME_MISMATCH", "2026-03-08 09:00:00", cinema_code="11000003", source="MTX",
              show_start_time="2026-03-08 18:00:00")
    add_issue(con, "I3b", "SHOW_PRICE_MISMATCH", "2026-03-08 09:00:00", cinema_code="11000003", source="MTX",
              show_start_time="2026-03-08 19:00:00")  # same show, wrong category for a SHOW_CHANGED complaint
    add_complaint(con, "C3", "2026-03-08 12:00:00", "SHOW_CHANGED", order_id="O3")
    # CINEMA_TIME: no order, cinema + a show within 24 h of the complaint
    add_issue(con, "I4", "SHOW_MISSING", "2026-03-08 09:00:00", cinema_code="11000004",
              show_start_time="2026-03-08 20:00:00")
    add_complaint(con, "C4", "2026-03-08 14:00:00", "SHOW_CANCELLED", cinema_code="11000004")
    # nothing of a mapped category at that cinema: unlinked, still a row, a miss
    add_complaint(con, "C5", "2026-03-08 14:00:00", "PRICE_DIFF", cinema_code="11000004")
    # linked, but the issue was detected after the complaint: a miss
    add_issue(con, "I6", "SEAT_DOUBLE_SOLD", "2026-03-09 10:00:00", team="OPS", order_id="O6")
    add_complaint(con, "C6", "2026-03-08 08:00:00", "SEAT_CONFLICT", order_id="O6")
    # not data-related: not in the table
    add_complaint(con, "C7", "2026-03-08 08:00:00", "SERVICE_FEE", order_id="O1")

    counts = complaints.link_complaints(con, NOW)
    got = links(con)
    assert set(got) == {"C1", "C2", "C3", "C4", "C5", "C6"}
    assert counts == {"complaints": 6, "linked": 5, "unlinked": 1, "complaint_only": 2,
                      "by_method": {"CINEMA_TIME": 1, "NONE": 1, "ORDER_ID": 2, "ORDER_PICKUP_CODE": 1,
                                    "ORDER_SHOW": 1}}
    expect = {"C1": ("I1", "ORDER_ID", 1.0, False), "C2": ("I2", "ORDER_PICKUP_CODE", 0.95, False),
              "C3": ("I3", "ORDER_SHOW", 0.75, False), "C4": ("I4", "CINEMA_TIME", 0.575, False),
              "C5": (None, "NONE", 0.0, True), "C6": ("I6", "ORDER_ID", 1.0, True)}
    for cid, (issue, method, conf, miss) in expect.items():
        row = got[cid]
        assert (row["issue_id"], row["link_method"], row["complaint_only"]) == (issue, method, miss), cid
        assert row["confidence"] == pytest.approx(conf), cid
    # attribution for breakdowns: link first, else the order's partner / the mapped category
    assert (got["C2"]["source"], got["C2"]["team"]) == ("TAOBAO", "SALES")
    assert (got["C5"]["category"], got["C5"]["source"], got["C5"]["team"]) == (
        "SHOW_PRICE_MISMATCH", "UNKNOWN", "UNKNOWN")
    assert got["C3"]["cinema_code"] == "11000003"  # taken from the order when the complaint has none


def test_relinking_is_idempotent_and_follows_new_issues(con):
    add_complaint(con, "C1", "2026-03-08 12:00:00", "SHOW_CANCELLED", cinema_code="11000004")
    complaints.link_complaints(con, NOW)
    assert links(con)["C1"]["complaint_only"] is True
    add_issue(con, "I1", "SHOW_MISSING", "2026-03-08 11:00:00", cinema_code="11000004",
              show_start_time="2026-03-08 20:00:00")
    complaints.link_complaints(con, NOW)
    complaints.link_complaints(con, NOW)
    got = links(con)
    assert len(got) == 1 and got["C1"]["issue_id"] == "I1" and got["C1"]["complaint_only"] is False
