"""Incremental cand.schedule_discrepancy under a moving clock: with no new data, a cinema where shows
started since the last evaluation is re-evaluated (a pair across $now breaks), so the result is what a
full evaluation gives; a cinema where nothing started keeps its rows."""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.compare import assets as compare
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import warehouse
from ticket_dq.lib.detection import incremental, scripts

from .test_incremental_order_show import DAY, _snapshot

PLATFORM_SHOWS = [("MAOYAN", "09:58"), ("TAOPIAOPIAO", "09:58"), ("MAOYAN", "13:00"), ("TAOPIAOPIAO", "13:00")]


def _platforms(con):
    """Both platforms list the partner's 10:05 show at 09:58 (same show: within the 10-min tolerance) and 13:00."""
    scripts.prepare(con)
    sql = (scripts.SQL / "competitor_current.sql").read_text(encoding="utf-8")
    for ddl in sql.split(";")[:2]:
        con.execute(ddl)
    for platform, hhmm in PLATFORM_SHOWS:
        con.execute("""INSERT INTO cur.competitor_schedule (platform, cinema_code, business_date, start_ts, hall_name,
                         hall_key, film_name, film_key, price_fen)
                       VALUES (?, '11011004', ?, CAST(? AS TIMESTAMP), '1号厅', '1', '哪吒之魔童闹海', '哪吒之魔童闹海', 3300)""",
                    [platform, DAY, f"{DAY} {hhmm}:00"])
    for platform in ("MAOYAN", "TAOPIAOPIAO"):
        con.execute(f"INSERT INTO cur.competitor_current_file VALUES (?, 'c.jsonl', TIMESTAMP '{DAY} 07:30:00')", [platform])


Q = "SELECT category, rule, source, business_key, evidence FROM cand.schedule_discrepancy ORDER BY ALL"


def _discrepancy(monkeypatch, now: str, full: bool = False):
    if full:
        with warehouse.connect(settings.warehouse_path()) as con:
            incremental.forget(con, "cand.schedule_discrepancy")
    monkeypatch.setenv("TICKET_DQ_NOW", f"{DAY} {now}:00")
    assert dg.materialize([compare.partner_schedule_current, compare.order_state, compare.schedule_discrepancy],
                          resources=build_resources()).success
    with warehouse.connect(settings.warehouse_path()) as con:
        return con.execute(Q).fetchall()


def test_clock_moving_past_a_platform_show_reevaluates_its_cinema(monkeypatch):
    with warehouse.connect(settings.warehouse_path()) as con:
        _snapshot(con, "FH", f"{DAY} 07:00:00", [("F1", "10:05", "ON_SALE"), ("F2", "13:00", "ON_SALE")])
        _platforms(con)
    assert _discrepancy(monkeypatch, "09:00") == []  # every show agrees with both platforms

    # 10:00, no new data: the platforms' 09:58 listings have started and leave the comparison; the partner's
    # 10:05 show has not, and now no platform lists it - a full evaluation calls it SHOW_EXTRA.
    inc = _discrepancy(monkeypatch, "10:00")
    assert [(c, r, s, k) for c, r, s, k, _ in inc] == [("SHOW_EXTRA", "ghost", "FH", f"11011004|{DAY} 10:05")]
    assert inc == _discrepancy(monkeypatch, "10:00", full=True)

    # Later still, nothing started between 10:00 and 10:03: the kept row stays as it was.
    assert _discrepancy(monkeypatch, "10:03") == inc
    # The clock going back is evaluated in full: at 09:00 all agree again.
    assert _discrepancy(monkeypatch, "09:00") == []
