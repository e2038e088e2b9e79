"""A new user's first hour, for real: `dagster dev` (webserver + daemon) on a fresh DAGSTER_HOME and an
empty landing area. The optional feeds (issue events, complaints, pickup codes) never deliver. The first
delivery must cascade to dq.issues with no manual step, and a partner snapshot with a show moved 30
minutes, confirmed by both platforms' crawls, must reach customer service as a message."""

from __future__ import annotations

import time

import dagster as dg

from ticket_dq.lib import clock
from ticket_dq_tests.realtime import scenario
from ticket_dq_tests.realtime.devserver import dagster_dev, wait_for

T0 = "2026-05-01 09:00:00"
ISSUES = dg.AssetKey(["dq", "issues"])


def _landing_runs(instance) -> list[dg.DagsterRun]:
    return [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(tags={"ticket_dq/trigger": "landing_sensor"}))]


def test_fresh_dev_instance_takes_a_moved_show_to_customer_service_with_no_manual_step(tmp_path):
    sim = clock.replay(T0, speed=1.0)
    shows = scenario.shows(sim.now())
    with dagster_dev(tmp_path / "dev", sim.spec()) as dev:
        scenario.base(dev.landing, shows, sim.now())
        instance = dev.instance()
        wait_for(lambda: instance.fetch_materializations(ISSUES, limit=1).records, 150,
                 "dq/issues materialization after the first delivery", dev=dev)
        assert not scenario.outbox_messages(dev.outbox) or not scenario.message_for_order(dev.outbox, shows[0].order_id)

        at = sim.now()
        landed = time.time()
        scenario.partner_snapshot(dev.landing, shows, at, {shows[0].index})
        for p in scenario.PLATFORMS:
            scenario.crawl(dev.landing, p, shows, at, {shows[0].index})
        message = wait_for(lambda: scenario.message_for_order(dev.outbox, shows[0].order_id), 120,
                           "CS message naming the moved show's order", dev=dev)
        waited = message.stat().st_mtime - landed
        text = message.read_text(encoding="utf-8")
        runs = _landing_runs(instance)

    assert "ORDER_SHOW_CHANGED" in text and "139****0000" in text and "13900000000" not in text
    # Nothing but the landing sensor's batch runs was needed; each carries the clock it ran on.
    assert len(runs) >= 2 and all(r.tags.get("ticket_dq/now", "").startswith("2026-05-01") for r in runs)
    assert all(r.tags["ticket_dq/clock"].startswith("replay:2026-05-01T09:00:00@") for r in runs)
    print(f"landing -> CS message: {waited:.1f}s")
