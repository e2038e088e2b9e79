"""`ticket-dq replay`: deliver a simulated landing area into the live one in delivery-time order, with
the clock following; detection runs as in production.

    ticket-dq replay --from SRC [--to LANDING] --detect step [--step 4h]        # make run
    ticket-dq replay --from SRC [--to LANDING] --detect dagster [--speed 60]    # with `make dev` watching

``--detect step``: deliveries are grouped into windows of ``--step`` of simulated time; after each
window's files land, ingestion through dispatch is materialized in this process on a fixed clock at the
window's end (so results do not depend on the machine's speed), as the landing sensor's batches would;
after the last window, every asset (metrics and export included).
``--detect dagster``: files are copied when a replay clock (from the first delivery, ``--speed`` times
wall speed; or TICKET_DQ_CLOCK if set) reaches their delivery time, and a running ``dagster dev`` on
the same landing area and clock detects them. Its clock spec is printed: start `make dev` with it
(``TICKET_DQ_CLOCK=<spec> make dev``) so both read the same time.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("replay", help="deliver a simulated landing area file by file in delivery-time order")
    p.add_argument("--from", dest="source", required=True, help="the simulated landing area (ticket-dq simulate)")
    p.add_argument("--to", dest="target", default=None, help="the live landing area (default $TICKET_DQ_LANDING)")
    p.add_argument("--detect", choices=("step", "dagster"), default="step")
    p.add_argument("--step", default="4h", help="--detect step: window of simulated time per detection run")
    p.add_argument("--speed", type=float, default=60.0, help="--detect dagster: replay clock speed")
    p.add_argument("--quiet", action="store_true", help="one line per window instead of the final summary")
    p.set_defaults(func=run)


# Windows before the last run what a landing batch run does (ingestion through dispatch, as in
# production); metrics and the export, which production refreshes on their own triggers, run once the
# last window has landed (they recompute every day in full then).
WINDOW_SELECTION = "not group:metrics and not group:export"


def _materialize_quiet(select: str | None) -> tuple[bool, str]:
    import argparse

    from ticket_dq.commands import materialize

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):  # the run's log, shown on failure
        rc = materialize.run(argparse.Namespace(demo_clock=False, select=select, quiet=True))
    return rc == 0, out.getvalue()


def run(args) -> int:
    from datetime import timedelta

    from ticket_dq import settings
    from ticket_dq.lib import clock, demo_clock, replay, routing

    source = Path(args.source)
    target = Path(args.target) if args.target else settings.landing_root()
    p = replay.plan(source)
    if not p.deliveries:
        print(f"replay: no deliveries under {source}", file=sys.stderr)
        return 1
    for rel in p.setup:
        replay.copy(source, target, rel)
    if replay.already_replayed(p, source, target):
        print(f"replay: {target} already holds all {len(p.deliveries)} deliveries of {source}; nothing to do")
        return 0
    print(f"replay: {len(p.deliveries)} deliveries from {p.start} to {p.end} into {target}", flush=True)
    if args.detect == "dagster":
        spec = settings.env("TICKET_DQ_CLOCK") or clock.replay(p.start - timedelta(minutes=1), args.speed).spec()
        settings.use_clock(spec)
        c = settings.clock()
        print(f"clock     {spec}\n          (start `make dev` with TICKET_DQ_CLOCK={spec})", flush=True)
        for d in p.deliveries:
            time.sleep(max(0.0, c.wall_at(d.at) - time.time()))
            for rel in d.files:
                replay.copy(source, target, rel)
        for rel in p.unmanifested:
            replay.copy(source, target, rel)
        print(f"replay: done at {settings.now():%Y-%m-%d %H:%M:%S}")
        return 0

    step = timedelta(seconds=routing.parse_duration(args.step) or 0)
    if not step:
        print(f"replay: --step {args.step!r} is not a duration like 30m, 4h", file=sys.stderr)
        return 2
    started = time.monotonic()
    windows = replay.windows(p, step)
    for n, (end, batch) in enumerate(windows, 1):
        for d in batch:
            for rel in d.files:
                replay.copy(source, target, rel)
        if n == len(windows):
            for rel in p.unmanifested:
                replay.copy(source, target, rel)
        settings.use_now(end)
        ok, out = _materialize_quiet(None if n == len(windows) else WINDOW_SELECTION)
        demo_clock.record_now(settings.warehouse_dir(), end, settings.clock().spec())
        print(f"  {end:%Y-%m-%d %H:%M} {len(batch):>4} deliveries  detection {'ok' if ok else 'FAILED'}"
              f"  ({time.monotonic() - started:.0f}s)", flush=True)
        if not ok:
            print(out, file=sys.stderr)
            return 1
    return 0
