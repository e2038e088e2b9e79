"""ORDER_OUTCOME_SPIKE on hand-made order histories: the real assets materialized on a temp DuckDB warehouse.

Two days of hourly orders per partner (event times 2026-03-08 00:00 .. 03-09 23:59), judged at 03-10 00:00.
"""

import json
import math
from datetime import datetime, timedelta

import dagster as dg
import pytest

from ticket_dq import settings
from ticket_dq.defs.issues.assets import issues as issues_asset
from ticket_dq.defs.outcomes import assets as outcomes
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import issues as lib_issues
from ticket_dq.lib.detection import outcome_rules as lib_outcomes
from ticket_dq.lib import warehouse
from ticket_dq_tests.outcomes.orders import Orders

NOW = "2026-03-10 00:00:00"
D0 = datetime(2026, 3, 8)
LAST = datetime(2026, 3, 9, 20)  # the hour under test


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", NOW)
    with warehouse.connect(settings.warehouse_path()) as c:
        yield c


def hours(orders: Orders, partner: str, per_hour: int, failed_every: int | None, *, skip: tuple = (),
          until: datetime = datetime(2026, 3, 10)) -> None:
    """``per_hour`` orders every hour of two days; every ``failed_every``-th fails (and is refunded)."""
    h, n = D0, 0
    while h < until:
        if h not in skip:
            for i in range(per_hour):
                paid = h + timedelta(minutes=(i * 59) // per_hour, seconds=10)
                fail = failed_every is not None and n % failed_every == 0
                outcome = [("ISSUE_FAILED", 0), ("REFUNDED", 10)] if fail else [("ISSUED", 0)]
                orders.order(f"{partner}{n:06d}", paid, *outcome, partner=partner, show=f"{partner}S{n % 97}",
                             file=f"orders/{h:%d%H}.csv")
                n += 1
        h += timedelta(hours=1)


def detect(con, *extra) -> list[tuple]:
    assert dg.materialize([outcomes.order_outcome, outcomes.order_outcome_spike, *extra],
                          resources=build_resources()).success
    return con.execute("SELECT rule, source, business_key, cinema_code, affected_orders FROM cand.order_outcome_spike "
                       "ORDER BY ALL").fetchall()


def test_an_issuing_outage_hour_is_a_spike_with_rate_baseline_count_and_top_shows(con):
    o = Orders()
    hours(o, "AA", 40, 40, skip=(LAST,))  # 2.5 % failures, every hour but the last-but-three
    for i in range(40):  # the outage hour: 30 of 40 fail, 3 of them on one show
        fail = i < 30
        o.order(f"OUT{i:03d}", LAST + timedelta(minutes=i, seconds=5), ("ISSUE_FAILED" if fail else "ISSUED", 0),
                partner="AA", show="BIG" if i < 3 else f"X{i}", file=f"orders/{LAST:%d%H}.csv")
    o.write(con)
    rows = detect(con, issues_asset)
    assert rows == [("issue_failure", "AA", "2026-03-09 20:00|issue_failure", None, 30)]
    ev, = con.execute("SELECT evidence FROM cand.order_outcome_spike").fetchone()
    ev = json.loads(ev)
    assert (ev["count"], ev["volume"], ev["rate"]) == (30, 40, 0.75)
    assert 0.02 <= ev["baseline"] <= 0.03
    assert ev["top_shows"][0]["show_code"] == "BIG" and ev["top_shows"][0]["events"] == 3
    assert math.isclose(ev["score"], lib_outcomes.kl_score(30, 40, ev["baseline"]), rel_tol=1e-3)
    sev, team = con.execute("SELECT severity, team FROM dq.issues WHERE category = 'ORDER_OUTCOME_SPIKE'").fetchone()
    assert (sev, team) == ("P0", "RD")  # 30 orders at once (P1), ¥2,940 at stake lifts it one level


def test_a_partner_with_a_naturally_high_failure_rate_is_no_alarm_at_its_usual_rate(con):
    o = Orders()
    hours(o, "HI", 40, 7, skip=(LAST,))  # 14 % of issues fail, every hour
    for i in range(40):  # 12 of 40 (30 %): a bad hour for anyone else, not far from HI's usual
        o.order(f"HI_L{i:03d}", LAST + timedelta(minutes=i, seconds=5), ("ISSUE_FAILED" if i < 12 else "ISSUED", 0),
                partner="HI", file=f"orders/{LAST:%d%H}.csv")
    o.write(con)
    assert detect(con) == []
    # the same hour against a 2.5 % partner's baseline would be one
    assert lib_outcomes.is_spike(12, 40, 0.025) and not lib_outcomes.is_spike(12, 40, 1 / 7)


def test_a_quiet_hour_below_the_minimum_volume_is_no_alarm(con):
    o = Orders()
    hours(o, "QQ", 20, 60, skip=(LAST,))
    for i in range(3):  # 3 of 3 fail at night: 100 %, but only three orders
        o.order(f"QQ_N{i}", LAST + timedelta(minutes=i * 10), ("ISSUE_FAILED", 0), partner="QQ",
                file=f"orders/{LAST:%d%H}.csv")
    o.write(con)
    assert detect(con) == []


def test_a_show_moved_without_any_feed_is_seen_through_its_refunds_and_linked_to_its_schedule_issue(con):
    o = Orders()
    hours(o, "AA", 40, 40)
    start = datetime(2026, 3, 9, 23, 0)
    for i in range(8):  # 8 issued orders of one show; 7 refunded between 20:05 and 20:40
        extra = [("REFUNDED", 0)] if i < 7 else []
        o.order(f"MV{i}", datetime(2026, 3, 9, 12, i), ("ISSUED", 0), partner="AA", cinema="31011008", show="MOVED",
                start=start, file="orders/0912.csv")
        if extra:
            o.event(f"MV{i}", "REFUNDED", LAST + timedelta(minutes=5 + 5 * i), partner="AA", cinema="31011008",
                    show="MOVED", start=start, file=f"orders/{LAST:%d%H}.csv")
    o.write(con)
    # a schedule issue of the same show (another comparison found the partner's time disputed)
    con.execute(warehouse.candidate_table_ddl("cand.schedule_discrepancy"))
    con.execute("""INSERT INTO cand.schedule_discrepancy (category, rule, source, cinema_code, business_date,
                     show_start_time, business_key, reason, evidence)
                   VALUES ('SHOW_TIME_MISMATCH', 'time_shift', 'AA', '31011008', '2026-03-09',
                           TIMESTAMP '2026-03-09 23:00:00', '31011008|2026-03-09 23:00', 'x', '{}')""")
    rows = detect(con)
    assert rows == [("refund", "AA", "2026-03-09 20:00|refund|31011008|MOVED", "31011008", 7)]
    links = con.execute("SELECT json_extract(evidence, '$.schedule_issues') FROM cand.order_outcome_spike").fetchone()[0]
    assert links == f'["{lib_issues.issue_id("SHOW_TIME_MISMATCH", "AA", "31011008|2026-03-09 23:00")}"]'


def test_refunds_after_failed_issues_are_not_a_second_refund_spike(con):
    o = Orders()
    hours(o, "AA", 40, 40, skip=(LAST,))
    for i in range(40):  # every issue fails and is refunded automatically
        o.order(f"OUT{i:03d}", LAST + timedelta(minutes=i), ("ISSUE_FAILED", 0), ("REFUNDED", 10), partner="AA",
                file=f"orders/{LAST:%d%H}.csv")
    o.write(con)
    assert [r[0] for r in detect(con)] == ["issue_failure"]


def test_kl_score_matches_the_chernoff_bound_and_is_zero_at_or_below_the_baseline():
    assert lib_outcomes.kl_score(1, 40, 0.025) == 0.0
    assert lib_outcomes.kl_score(0, 0, 0.1) == 0.0
    assert math.isclose(lib_outcomes.kl_score(5, 5, 0.02), 5 * math.log(50))
    q, p = 0.5, 0.1
    assert math.isclose(lib_outcomes.kl_score(10, 20, p), 20 * (q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p))))
