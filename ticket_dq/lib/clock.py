"""The clock every rule reads, made explicit: wall, fixed, or a replay clock that moves.

A simulated warehouse judged on the wall clock is wrong in every way at once (issues auto-resolve,
feeds look late, repeats about shows long over), so the clock is a setting with three modes:

- ``wall``   — Beijing wall time (production);
- ``fixed``  — one instant (``TICKET_DQ_NOW``): replay a day exactly, as ``make run`` has done;
- ``replay`` — ``start`` at wall instant ``anchor``, moving ``speed`` times faster than the wall
  (``TICKET_DQ_CLOCK=replay:2026-03-09T08:00:00@1764582000.0x60``). Every process that reads the same
  spec (the replay command, the daemon's sensors, each run) computes the same now, with no shared state.

Pure Python: ``settings`` reads the environment and calls in here.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))
_REPLAY = re.compile(r"^replay:(?P<start>[0-9T :\-.]+)@(?P<anchor>\d+(?:\.\d+)?)(?:x(?P<speed>\d+(?:\.\d+)?))?$")


class ClockError(ValueError):
    """A clock spec that cannot be read; the message says what a valid one looks like."""


def parse_instant(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM[:SS]`` or ISO, as naive Beijing time (an offset is converted)."""
    value = datetime.fromisoformat(text.strip().replace("T", " "))
    if value.tzinfo is not None:
        value = value.astimezone(BEIJING).replace(tzinfo=None)
    return value


@dataclass(frozen=True)
class Clock:
    mode: str                      # wall | fixed | replay
    start: datetime | None = None  # fixed: the instant; replay: the simulated time at ``anchor``
    anchor: float | None = None    # replay: wall-clock epoch seconds at which the clock read ``start``
    speed: float = 1.0             # replay: simulated seconds per wall second

    def now(self, wall_epoch: float | None = None) -> datetime:
        wall = time.time() if wall_epoch is None else wall_epoch
        if self.mode == "fixed":
            return self.start
        if self.mode == "replay":
            return self.start + timedelta(seconds=(wall - self.anchor) * self.speed)
        return datetime.fromtimestamp(wall, BEIJING).replace(tzinfo=None)

    def wall_at(self, sim: datetime) -> float:
        """Wall epoch at which a replay clock reads ``sim`` (the replay command sleeps until then)."""
        if self.mode != "replay":
            raise ClockError("only a replay clock maps simulated times to wall times")
        return self.anchor + (sim - self.start).total_seconds() / self.speed

    def spec(self) -> str:
        """The spec string this clock is read from (the value of TICKET_DQ_CLOCK, or of a run tag)."""
        if self.mode == "fixed":
            return f"fixed:{self.start:%Y-%m-%dT%H:%M:%S}"
        if self.mode == "replay":
            return f"replay:{self.start:%Y-%m-%dT%H:%M:%S}@{self.anchor:.3f}x{self.speed:g}"
        return "wall"

    def describe(self) -> str:
        """One line for people: the summary, the UI tag."""
        if self.mode == "fixed":
            return f"fixed at {self.start:%Y-%m-%d %H:%M:%S} (Beijing)"
        if self.mode == "replay":
            return (f"replay from {self.start:%Y-%m-%d %H:%M:%S} at {self.speed:g}x wall speed, "
                    f"now {self.now():%Y-%m-%d %H:%M:%S} (Beijing)")
        return "wall clock (Beijing)"


WALL = Clock("wall")


def fixed(at: datetime | str) -> Clock:
    return Clock("fixed", parse_instant(at) if isinstance(at, str) else at)


def replay(start: datetime | str, speed: float = 1.0, anchor: float | None = None) -> Clock:
    if speed <= 0:
        raise ClockError(f"replay speed must be > 0, got {speed}")
    begin = parse_instant(start) if isinstance(start, str) else start
    return Clock("replay", begin, time.time() if anchor is None else anchor, float(speed))


def parse(spec: str) -> Clock:
    """Read a TICKET_DQ_CLOCK value: ``wall``, ``fixed:<instant>``, ``replay:<instant>@<epoch>[x<speed>]``."""
    text = (spec or "").strip()
    if text in ("", "wall"):
        return WALL
    if text.startswith("fixed:"):
        try:
            return fixed(text[len("fixed:"):])
        except ValueError:
            pass
    m = _REPLAY.match(text)
    if m:
        try:
            return replay(m.group("start"), float(m.group("speed") or 1), float(m.group("anchor")))
        except ValueError:
            pass
    raise ClockError(f"clock {spec!r} is not 'wall', 'fixed:2026-03-09T21:05:00' or "
                     f"'replay:2026-03-09T08:00:00@<wall epoch seconds>x<speed>'")
