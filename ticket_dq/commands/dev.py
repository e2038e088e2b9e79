"""`ticket-dq dev`: the Dagster UI with sensors and schedules (``dagster dev``) on an explicit clock.

    ticket-dq dev [--port 3000] [--speed 1]

With TICKET_DQ_NOW or TICKET_DQ_CLOCK set, that clock is kept. Otherwise a simulated landing area
(``_truth/sim.json``) runs on a replay clock from the demo's time — never silently on the wall clock
against a simulated warehouse — and a real one on the wall clock (lib/demo_clock.py). The clock is
printed, passed to the webserver, daemon and every run (run tags ``ticket_dq/now`` and ``ticket_dq/clock``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("dev", help="dagster dev (UI, sensors, schedules) on an explicit clock")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--speed", type=float, default=1.0, help="replay clock speed on a simulated landing area")
    p.set_defaults(func=run)


def run(args) -> int:
    from ticket_dq import settings
    from ticket_dq.lib import demo_clock

    if settings.env("TICKET_DQ_NOW") or settings.env("TICKET_DQ_CLOCK"):
        why = "set in the environment"
    else:
        chosen, why = demo_clock.choose(settings.landing_root(), settings.warehouse_dir(), args.speed)
        settings.use_clock(chosen.spec())
    print(f"clock     {settings.clock().describe()} — {why}\nlanding   {settings.landing_root()}\n"
          f"warehouse {settings.warehouse_path()}", flush=True)
    exe = str(Path(sys.executable).with_name("dagster"))
    argv = [exe, "dev", "-h", args.host, "-p", str(args.port), "-w", "workspace.yaml"]
    os.execv(exe, argv)  # the environment (and so the clock) passes to the webserver, daemon and runs
    return 0
