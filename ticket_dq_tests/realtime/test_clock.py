"""The clock is explicit: fixed, wall, or a replay clock that moves; a simulated landing area never runs
on the wall clock; every process reading the same spec reads the same time."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from ticket_dq import settings
from ticket_dq.lib import clock, demo_clock


def test_a_replay_clock_moves_at_its_speed_and_reads_the_same_in_every_process():
    c = clock.replay("2026-03-09 08:00:00", speed=60, anchor=1_000_000.0)
    again = clock.parse(c.spec())  # what the daemon, each run and the replay command read
    assert again.now(1_000_010.0) == c.now(1_000_010.0) == datetime(2026, 3, 9, 8, 10)
    assert c.wall_at(datetime(2026, 3, 9, 9, 0)) == pytest.approx(1_000_060.0)


def test_now_pins_the_clock_over_a_replay_spec_and_run_tags_name_both(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_CLOCK", clock.replay("2026-03-09 08:00:00", 1).spec())
    assert settings.clock().mode == "replay"
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-09 21:05")
    tags = settings.clock_tags()
    assert tags == {"ticket_dq/now": "2026-03-09 21:05:00", "ticket_dq/clock": "fixed:2026-03-09T21:05:00"}


@pytest.mark.parametrize("spec", ["tomorrow", "replay:2026-03-09@", "fixed:soon"])
def test_a_bad_clock_spec_is_refused_with_what_a_good_one_looks_like(spec):
    with pytest.raises(clock.ClockError, match="is not 'wall'"):
        clock.parse(spec)


def test_a_simulated_landing_area_gets_a_replay_clock_from_the_demo_time_and_never_goes_back(tmp_path):
    landing, wh = tmp_path / "landing", tmp_path / "wh"
    (landing / "_truth").mkdir(parents=True)
    (landing / "_truth" / "sim.json").write_text(json.dumps({"now": "2026-03-09 21:05:00"}))
    chosen, why = demo_clock.choose(landing, wh)
    assert chosen.mode == "replay" and chosen.start == datetime(2026, 3, 9, 21, 5) and "simulation" in why

    demo_clock.record_now(wh, datetime(2026, 3, 9, 23, 0), "replay:...")
    demo_clock.record_now(wh, datetime(2026, 3, 9, 22, 0), "replay:...")  # an older now never overwrites
    assert demo_clock.choose(landing, wh)[0].start == datetime(2026, 3, 9, 23, 0)


def test_a_real_landing_area_runs_on_the_wall_clock(tmp_path):
    chosen, why = demo_clock.choose(tmp_path / "landing", tmp_path / "wh")
    assert chosen.mode == "wall" and "wall clock" in why
