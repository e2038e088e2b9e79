"""The route tree: default practice, first match wins, continue fan-out, readable config errors."""

from __future__ import annotations

import pytest

from ticket_dq import settings
from ticket_dq.lib import routing


def teams_for(cfg, **issue):
    base = dict(category="SHOW_TIME_MISMATCH", severity="P2", source="FH", team="BD", affected_orders=0,
                hours_to_show=None)
    return [(d.team, d.route) for d in cfg.decide({**base, **issue})]


@pytest.fixture(scope="module")
def default_cfg():
    return routing.load(settings.routes_path())


def test_order_issue_near_showtime_goes_to_cs_and_owner(default_cfg):
    assert teams_for(default_cfg, category="ORDER_SHOW_CHANGED", severity="P0", team="OPS", hours_to_show=3) == [
        ("CS", "cs-orders-near-show"), ("OPS", "orders-owner")]


def test_order_issue_far_from_showtime_or_low_severity_skips_cs(default_cfg):
    assert teams_for(default_cfg, category="ORDER_SHOW_CHANGED", severity="P0", team="OPS", hours_to_show=50) == [
        ("OPS", "orders-owner")]
    assert teams_for(default_cfg, category="ORDER_SHOW_CHANGED", severity="P2", team="OPS", hours_to_show=1) == [
        ("OPS", "orders-owner")]
    # A show that ended long ago: nobody to call any more.
    assert teams_for(default_cfg, category="ORDER_SHOW_CHANGED", severity="P0", team="OPS", hours_to_show=-30) == [
        ("OPS", "orders-owner")]


def test_broken_feed_goes_to_bd_with_rd_copied(default_cfg):
    assert teams_for(default_cfg, category="FEED_PARTIAL", severity="P1", team="RD") == [
        ("BD", "feed-broken-bd"), ("RD", "feeds-validation-rd")]


def test_price_mismatch_fans_out_to_sales_and_ops(default_cfg):
    assert [t for t, _ in teams_for(default_cfg, category="SHOW_PRICE_MISMATCH", team="SALES")] == ["SALES", "OPS"]


def test_schedule_fault_to_bd_and_validation_to_rd_whatever_the_issue_team(default_cfg):
    assert teams_for(default_cfg, category="SHOW_MISSING", team="PM") == [("BD", "schedule-bd")]
    assert teams_for(default_cfg, category="VALIDATION_FAILED", team="RD") == [("RD", "feeds-validation-rd")]
    assert teams_for(default_cfg, category="SHOW_DUPLICATE", team="PM") == [("BD", "schedule-bd")]
    assert teams_for(default_cfg, category="UNMAPPED_ENTITY", team="PM") == [("RD", "feeds-validation-rd")]


TEAMS = """
teams:
""" + "".join(f"  {t}:\n    channels:\n      - {{type: file, recipients: [{t.lower()}@x]}}\n" for t in
              ("RD", "PM", "BD", "OPS", "SALES", "CS"))


def test_first_match_wins_and_continue_fans_out_nested():
    cfg = routing.parse("""
route:
  receiver: PM
  routes:
    - name: big
      match: {affected_orders_gte: 10}
      receiver: CS
      continue: true
      routes:
        - name: big-fh
          match: {source: [FH]}
          receiver: BD
    - name: any-p0
      match: {severity: [P0]}
      receiver: RD
    - name: never-reached-for-p0
      match: {severity: [P0, P1]}
      receiver: OPS
""" + TEAMS)
    d = lambda **kw: [x.team for x in cfg.decide({"category": "SHOW_MISSING", "severity": "P0", "source": "DX",  # noqa
                                                    "team": "RD", "affected_orders": 0, **kw})]
    assert d(affected_orders=12, source="FH") == ["BD", "RD"]   # child refines, parent continues
    assert d(affected_orders=12) == ["CS", "RD"]                # no child match: the node itself
    assert d() == ["RD"]                                        # first match wins, OPS not reached
    assert d(severity="P3") == ["PM"]                           # root catch-all


@pytest.mark.parametrize("text,line,fragment", [
    ("route:\n  receiver: RD\n  routes:\n    - match: {categry: [SHOW_MISSING]}\n      receiver: BD\n",
     4, "unknown matcher 'categry'"),
    ("route:\n  receiver: RD\n  routes:\n    - match:\n        category: [SHOW_MISING]\n      receiver: BD\n",
     5, "'SHOW_MISING' is not one of"),
    ("route:\n  receiver: RD\n  group_wait: soon\n", 3, "group_wait 'soon' is not a duration"),
    ("route:\n  receiver: RD\n  routes:\n    - receiver: LEGAL\n", 4, "receiver 'LEGAL' is not a team"),
    ("route:\n  receiver: RD\n  routes: [\n", 4, "not valid YAML"),
])
def test_bad_config_fails_with_file_and_line(tmp_path, text, line, fragment):
    p = tmp_path / "routes.yaml"
    p.write_text(text + ("" if "[\n" in text else TEAMS))
    with pytest.raises(routing.RouteConfigError) as err:
        routing.load(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}:{line}:"), msg
    assert fragment in msg


def test_bad_channel_type_points_at_its_line(tmp_path):
    p = tmp_path / "routes.yaml"
    p.write_text("route:\n  receiver: RD\nteams:\n  RD:\n    channels:\n      - type: pager\n        recipients: [a]\n")
    with pytest.raises(routing.RouteConfigError, match=r"routes.yaml:6: channel type 'pager'"):
        routing.load(p)


def test_routes_path_is_overridable_by_env(tmp_path, monkeypatch):
    p = tmp_path / "mine.yaml"
    p.write_text("route:\n  receiver: CS\n" + TEAMS)
    monkeypatch.setenv("TICKET_DQ_ROUTES", str(p))
    cfg = routing.load(settings.routes_path())
    assert [d.team for d in cfg.decide({"category": "FEED_LATE", "severity": "P3"})] == ["CS"]
