"""`ticket-dq replay` on a hand-made simulated landing area: files arrive in delivery-time order (not
path order), data before manifest, reference first; detection runs per window on the window's clock
and finds the moved show as soon as the crawls that confirm it land."""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta

import duckdb

from ticket_dq import cli
from ticket_dq.lib import clock, replay
from ticket_dq_tests.realtime import scenario


def _source(root):
    at = clock.parse_instant("2026-05-01 08:00:00")
    shows = scenario.shows(at)
    scenario.base(root, shows, at)
    later = at + timedelta(hours=1)
    scenario.partner_snapshot(root, shows, later, {shows[3].index})
    for p in scenario.PLATFORMS:
        scenario.crawl(root, p, shows, later + timedelta(minutes=20), {shows[3].index})
    return shows


def test_the_plan_orders_deliveries_by_delivery_time_with_each_manifest_after_its_data(tmp_path):
    _source(tmp_path / "src")
    p = replay.plan(tmp_path / "src")
    assert [d.at for d in p.deliveries] == sorted(d.at for d in p.deliveries)
    assert all(d.files[-1].rsplit("/", 1)[1].startswith("_manifest_") and len(d.files) == 2 for d in p.deliveries)
    assert {s.split("/")[0] for s in p.setup} == {"reference"}
    assert [d.feed for d in p.deliveries][-3:] == ["partner_schedule", "competitor_schedule", "competitor_schedule"]
    assert [end.strftime("%H:%M") for end, _ in replay.windows(p, timedelta(minutes=30))] == ["08:30", "09:20"]


def test_replay_detects_window_by_window_on_the_windows_clock(tmp_path, isolated_env):
    shows = _source(tmp_path / "src")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["replay", "--from", str(tmp_path / "src"), "--detect", "step", "--step", "30m", "--quiet"])
    assert rc == 0, out.getvalue()
    assert out.getvalue().count("detection ok") == 2
    with duckdb.connect(str(isolated_env["warehouse"]), read_only=True) as con:
        found = con.execute("SELECT order_id, first_detected_at FROM dq.issues "
                            "WHERE category = 'ORDER_SHOW_CHANGED'").fetchall()
        ledger = con.execute("SELECT count(*), count(DISTINCT ingested_at) FROM meta.ingested_files").fetchone()
    assert [(o, str(t)) for o, t in found] == [(shows[3].order_id, "2026-05-01 09:20:00")]
    assert ledger == (7, 2)  # 4 base files in the first window, 3 in the second
    again = io.StringIO()
    with contextlib.redirect_stdout(again):
        assert cli.main(["replay", "--from", str(tmp_path / "src"), "--quiet"]) == 0
    assert "already holds all 7 deliveries" in again.getvalue()
