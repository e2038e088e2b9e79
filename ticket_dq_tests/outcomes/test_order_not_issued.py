"""ORDER_NOT_ISSUED on hand-made order events: the real assets materialized on a temp DuckDB warehouse.

Clock 2026-03-10 12:00; a background order with an event at 11:59 in its own file shows the orders feed
seen up to 11:59 (the horizon). Windows: issuing 10 min, refund 30 min, pickup code 45 min.
"""

from datetime import datetime, timedelta

import dagster as dg
import pytest

from ticket_dq import settings
from ticket_dq.defs.issues.assets import issues as issues_asset
from ticket_dq.defs.outcomes import assets as outcomes
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import issues as lib_issues
from ticket_dq.lib import routing, warehouse
from ticket_dq_tests.outcomes.orders import Orders, pickup

NOW = "2026-03-10 12:00:00"
T = datetime(2026, 3, 10, 10, 0)


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", NOW)
    with warehouse.connect(settings.warehouse_path()) as c:
        Orders().order("BG", datetime(2026, 3, 10, 11, 58), ("ISSUED", 1), file="orders/o_11.csv").write(c)
        yield c


def detect(con, *extra) -> dict:
    """Materialize the assets (the test's connection stays open: DuckDB allows it in one process) and
    return {order_id: rule} of cand.order_not_issued."""
    assert dg.materialize([outcomes.order_outcome, outcomes.order_not_issued, *extra],
                          resources=build_resources()).success
    return dict(con.execute("SELECT order_id, rule FROM cand.order_not_issued").fetchall())


def test_paid_order_without_ticket_after_the_window_is_not_issued_and_one_within_it_waits(con):
    Orders().order("A", T).order("F", datetime(2026, 3, 10, 11, 52), file="orders/o_11.csv").order(
        "OK", T, ("ISSUED", 1), ("PRINTED", 60)).write(con)
    assert detect(con) == {"A": "not_issued"}


def test_issue_failed_then_refunded_is_settled_and_failed_without_refund_is_not_issued(con):
    Orders().order("REF", T, ("ISSUE_FAILED", 1), ("REFUNDED", 11)).order("E", T, ("ISSUE_FAILED", 1)).order(
        "RETRY", T, ("ISSUE_FAILED", 1), ("ISSUED", 3)).order(
        "RECENT", datetime(2026, 3, 10, 11, 40), ("ISSUE_FAILED", 1), file="orders/o_11.csv").write(con)
    assert detect(con) == {"E": "failed_not_refunded"}


def test_out_of_order_events_count_by_event_time(con):
    o = Orders()
    # ISSUED delivered before PAID and CREATED (rows out of order in the file, and in a later file)
    o.event("B", "ISSUED", T + timedelta(minutes=1), file="orders/o_10.csv")
    o.event("B", "PAID", T, file="orders/o_10.csv").event("B", "CREATED", T - timedelta(minutes=1), file="orders/o_11.csv")
    o.write(con)
    assert detect(con) == {}


def test_a_late_paid_event_in_the_newest_file_waits_for_the_next_delivery(con):
    # PAID of 09:00 arrives in the file seen up to 11:59: its ISSUED may be in the next file
    Orders().order("LATE", datetime(2026, 3, 10, 9, 0), file="orders/o_11.csv").write(con)
    assert detect(con) == {}


def test_a_late_issued_resolves_the_issue_it_was_raised_for(con):
    Orders().order("A", T).write(con)
    assert detect(con, issues_asset) == {"A": "not_issued"}
    (status, severity, team, affected), = con.execute(
        "SELECT status, severity, team, affected_orders FROM dq.issues WHERE category = 'ORDER_NOT_ISSUED'").fetchall()
    assert (status, team, affected) == ("OPEN", "CS", 1)
    assert severity == "P2"  # the show is 30 h away
    # the ISSUED of 10:02 arrives late, in a file delivered after the issue was raised
    Orders().event("A", "ISSUED", T + timedelta(minutes=2), file="orders/o_12.csv").event(
        "BG2", "PAID", datetime(2026, 3, 10, 11, 59), file="orders/o_12.csv").write(con)
    assert detect(con, issues_asset) == {}
    assert con.execute("SELECT status, resolution_reason FROM dq.issues WHERE order_id = 'A'").fetchall() == [
        ("RESOLVED", lib_issues.RESOLVED_REASON)]


def test_channel_order_counts_as_issued_only_once_its_pickup_code_was_delivered(con):
    Orders().order("CH_OK", T, ("ISSUED", 1), channel="TAOBAO").order("CH_BAD", T, ("ISSUED", 1), channel="TAOBAO").order(
        "CH_LATER", datetime(2026, 3, 10, 11, 30), ("ISSUED", 1), channel="TAOBAO", file="orders/o_11.csv").order(
        "CH_REVOKED", T, ("ISSUED", 1), ("REFUNDED", 30), channel="TAOBAO").write(con)
    t = T + timedelta(minutes=1, seconds=5)
    pickup(con, "CH_OK", "100000000001", ("ALLOCATED", t), ("DELIVERED", t + timedelta(seconds=30)))
    pickup(con, "CH_BAD", "100000000002", ("ALLOCATED", t))
    pickup(con, "CH_LATER", "100000000003", ("ALLOCATED", datetime(2026, 3, 10, 11, 31)))  # within 45 min
    pickup(con, "CH_REVOKED", "100000000004", ("ALLOCATED", t), ("REVOKED", T + timedelta(minutes=30)))
    found = detect(con)
    assert found == {"CH_BAD": "code_not_delivered"}
    code, = con.execute("SELECT pickup_code FROM cand.order_not_issued").fetchone()
    assert code == "100000000002"


def test_severity_is_p0_when_the_show_starts_within_two_hours_and_a_wave_reaches_rd(con):
    o = Orders()
    for i in range(6):  # six FH orders of one hour, none issued: the partner's issuing is down
        o.order(f"W{i}", T + timedelta(minutes=i), start=datetime(2026, 3, 10, 13, 0))
    o.order("SOLO", T, partner="DX", start=datetime(2026, 3, 12, 20, 0)).write(con)
    detect(con, issues_asset)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT order_id, severity, affected_orders, team FROM dq.issues WHERE category = 'ORDER_NOT_ISSUED'").fetchall()}
    assert rows["W0"] == ("P0", 6, "CS") and rows["SOLO"] == ("P2", 1, "CS")
    routes = routing.load(settings.routes_path())
    wave = {"category": "ORDER_NOT_ISSUED", "severity": "P0", "source": "FH", "team": "CS", "affected_orders": 6,
            "hours_to_show": 1.0}
    solo = dict(wave, affected_orders=1, source="DX", severity="P2", hours_to_show=56.0)
    assert {d.team for d in routes.decide(wave)} == {"CS", "RD"}
    assert {d.team for d in routes.decide(solo)} == {"CS"}
    # personal data never reaches the candidates
    assert con.execute("SELECT count(*) FROM cand.order_not_issued WHERE contains(CAST(evidence AS VARCHAR), "
                       "'13812345678') OR contains(reason, '13812345678')").fetchone()[0] == 0
