"""Which clock a process should run on, given the landing area it watches (pure Python).

A simulated landing area says so: ``<landing>/_truth/sim.json`` (written by the simulator) holds the
simulation's "now". Judging that data on the wall clock is wrong in every way at once, so a process
started on a simulated landing area with no clock set runs on a replay clock from the demo's time (or
from the last time the warehouse was judged at, recorded by ``record_now``, so the clock never goes
back between sessions), moving at ``speed``. A landing area without ``_truth/`` is real: wall clock.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from ticket_dq.lib import clock

STATE_FILE = "clock.json"  # beside the warehouse: the latest now the warehouse was judged at


def simulated_now(landing: Path) -> datetime | None:
    sim = Path(landing) / "_truth" / "sim.json"
    if not sim.is_file():
        return None
    now = json.loads(sim.read_text(encoding="utf-8")).get("now")
    return clock.parse_instant(now) if now else None


def last_now(warehouse_dir: Path) -> datetime | None:
    path = Path(warehouse_dir) / STATE_FILE
    try:
        return clock.parse_instant(json.loads(path.read_text(encoding="utf-8"))["last_now"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_now(warehouse_dir: Path, now: datetime, spec: str) -> None:
    """Remember the latest now the warehouse was judged at (written atomically, never moved back)."""
    previous = last_now(warehouse_dir)
    if previous is not None and previous >= now:
        return
    path = Path(warehouse_dir) / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{STATE_FILE}.tmp")
    tmp.write_text(json.dumps({"last_now": f"{now:%Y-%m-%d %H:%M:%S}", "clock": spec}), encoding="utf-8")
    tmp.replace(path)


def choose(landing: Path, warehouse_dir: Path, speed: float = 1.0) -> tuple[clock.Clock, str]:
    """The clock for a long-running process (``make dev``) on ``landing`` when none is set, and why."""
    sim = simulated_now(landing)
    if sim is None:
        return clock.WALL, f"no {Path(landing) / '_truth' / 'sim.json'}: real deliveries, wall clock"
    start, why = sim, "the simulation's now"
    last = last_now(warehouse_dir)
    if last is not None and last > sim:
        start, why = last, "the last time this warehouse was judged at"
    return clock.replay(start, speed), f"simulated landing area: replay clock from {why}"
