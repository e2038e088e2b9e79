"""`ticket-dq materialize`: run every asset (and its checks) once against the configured landing
area and warehouse, then print what the warehouse holds.

It executes the implicit global asset job in this process: every writing step shares one DuckDB
file behind a pool of 1, so step subprocesses would add start-up cost and no parallelism. With
DAGSTER_HOME set (the Makefile sets it to the repo root) the run is recorded in that instance, so
`make dev` shows it; without it the run uses an ephemeral instance.
"""

from __future__ import annotations

import json
import logging
import sys
import time


def register(sub) -> None:
    p = sub.add_parser("materialize", help="run every asset once against $TICKET_DQ_LANDING / $TICKET_DQ_WAREHOUSE")
    p.add_argument("--demo-clock", action="store_true",
                   help="when TICKET_DQ_NOW is unset, replay the clock of a simulated landing area "
                        "(<landing>/_truth/sim.json 'now')")
    p.add_argument("--select", default=None,
                   help="asset selection string (Dagster syntax, e.g. 'key:raw/orders+'); default: all")
    p.add_argument("--quiet", action="store_true", help="do not print the summary (warnings still print)")
    p.add_argument("--verbose", action="store_true", help="stream Dagster's full event log (DEBUG) to stderr")
    p.set_defaults(func=run)


# Quiet by default: Dagster's console logger shows errors only, and the warnings that matter (rejected
# files and why, from the run's event log) print once, short, after the run. --verbose: everything.
def _run_config(verbose: bool) -> dict:
    return {"loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "ERROR"}}}}


def _warnings(instance, run_id: str) -> list[str]:
    """The run's own WARNING-or-worse log lines (context.log.warning in assets and checks), one per step."""
    out = []
    for entry in instance.all_logs(run_id):
        if entry.is_dagster_event or entry.level < logging.WARNING:
            continue
        out.append(f"  {entry.step_key or '-'}: {entry.user_message}")
    return out


def _demo_now() -> str | None:
    from ticket_dq import settings

    sim = settings.landing_root() / "_truth" / "sim.json"
    if not sim.is_file():
        return None
    return json.loads(sim.read_text(encoding="utf-8")).get("now")


def run(args) -> int:
    import dagster as dg

    from ticket_dq import settings
    from ticket_dq.commands import run_guard
    from ticket_dq.definitions import defs as build_defs
    from ticket_dq.lib import warehouse
    from ticket_dq.lib.summary import summary_text

    if args.demo_clock and not settings.env("TICKET_DQ_NOW"):
        demo_now = _demo_now()
        if demo_now:
            settings.use_now(demo_now)
    print(f"landing   {settings.landing_root()}\nwarehouse {settings.warehouse_path()}\n"
          f"clock     {settings.now():%Y-%m-%d %H:%M:%S} (Beijing; {settings.clock().describe()})")

    defs = build_defs()
    job = defs.resolve_implicit_global_asset_job_def()
    if args.select:
        job = job.get_subset(asset_selection=dg.AssetSelection.from_string(args.select).resolve(
            defs.resolve_asset_graph()))
    instance = dg.DagsterInstance.get() if settings.dagster_home() else dg.DagsterInstance.ephemeral()
    started = time.monotonic()
    with run_guard.exclusive_run(settings.warehouse_path(), instance) as run_tags:
        result = job.execute_in_process(instance=instance, raise_on_error=False, tags={**settings.clock_tags(), **run_tags},
                                        run_config=_run_config(getattr(args, "verbose", False)))
    elapsed = time.monotonic() - started

    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    print(f"run {result.run_id} {'succeeded' if result.success else 'FAILED'} in {elapsed:.1f}s")
    for step in failed:
        print(f"  failed step: {step}", file=sys.stderr)
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            print(event.step_failure_data.error.to_string(), file=sys.stderr)
    warnings = [] if getattr(args, "verbose", False) else _warnings(instance, result.run_id)
    if warnings:
        print(f"warnings ({len(warnings)}; --verbose shows the full event log):")
        print("\n".join(warnings))
    if not args.quiet:
        with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
            print(summary_text(con))
    return 0 if result.success else 1
