"""Benchmark: landing manifest -> notification SENT for a verified ORDER_SHOW_CHANGED, under a real
`dagster dev` (webserver + daemon, fresh instance, the repo's dagster.yaml, replay clock at 1x).

    .venv/bin/python -m bench.latency [--changes 10] [--gap 4]
    .venv/bin/python -m bench.latency --world demo|national ...   (bench/latency_world.py: a simulated world)

World: the hand-made scenario of ticket_dq_tests/realtime/scenario.py (2 cinemas, 24 shows, one issued
order per show, one partner, two platforms). After the first delivery has cascaded, each change is a
new partner snapshot with one more show moved 30 minutes plus the two platforms' crawls confirming it
(3 files, written within a second, manifests last). The clock starts at the first manifest of the
change and stops when the file channel's CS message naming that show's order is written.

Stages, from the instance's run records and event log (wall clock):
  sensor wait  newest manifest of the change -> batch run created (settle window + sensor interval)
  queue        run created -> run started (queued run coordinator + run worker start-up)
  ingest       raw/ref steps and their GX checks        compare  map/cur/cand steps
  issues       dq/issues                                 dispatch dq/notifications starts -> message written
  end to end   first manifest of the change -> CS message file written
Prints p50/p95 per stage and writes bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
T0 = "2026-05-01 09:00:00"
STAGES = ("sensor_wait", "queue", "ingest", "compare", "issues", "dispatch", "end_to_end")
TARGET_P95_S = 30.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _stage_of(step_key: str) -> str | None:
    if step_key.startswith(("raw__", "ref__", "validate_")):
        return "ingest"
    if step_key.startswith(("map__", "cur__", "cand__")):
        return "compare"
    if step_key == "dq__issues":
        return "issues"
    if step_key == "dq__notifications":
        return "dispatch"
    return None


def run_stages(instance, run_id: str) -> dict[str, float]:
    """Seconds per stage inside one run: each step from STEP_START to its success / failure / skip."""
    import dagster as dg

    starts: dict[str, float] = {}
    out = {s: 0.0 for s in ("ingest", "compare", "issues", "dispatch")}
    run_start = None
    for e in instance.all_logs(run_id):
        ev = e.dagster_event
        if ev is None:
            continue
        if ev.event_type == dg.DagsterEventType.RUN_START:
            run_start = e.timestamp
        elif ev.event_type == dg.DagsterEventType.STEP_START:
            starts[e.step_key] = e.timestamp
            if _stage_of(e.step_key) == "dispatch":
                out["dispatch_start"] = e.timestamp
        elif ev.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE) and e.step_key in starts:
            stage = _stage_of(e.step_key)
            if stage:
                out[stage] += e.timestamp - starts[e.step_key]
    out["run_start"] = run_start
    return out


def dispatch_until(stages: dict, sent: float) -> None:
    """Dispatch ends when the message is written, not when the step ends (the bench reads the log as soon
    as the message appears, often before the step's end is logged)."""
    start = stages.pop("dispatch_start", None)
    if start is not None and sent >= start:
        stages["dispatch"] = sent - start


def measure(changes: int, gap_s: float, base: Path) -> dict:
    import dagster as dg

    from ticket_dq.lib import clock
    from ticket_dq_tests.realtime import scenario
    from ticket_dq_tests.realtime.devserver import dagster_dev, wait_for

    sim = clock.replay(T0, speed=1.0)
    shows = scenario.shows(sim.now())
    changes = min(changes, len(shows))
    samples = []
    with dagster_dev(base, sim.spec()) as dev:
        instance = dev.instance()
        t = time.time()
        scenario.base(dev.landing, shows, sim.now())
        wait_for(lambda: instance.fetch_materializations(dg.AssetKey(["dq", "issues"]), limit=1).records, 240,
                 "first dq/issues", dev=dev)
        first_cascade_s = time.time() - t
        moved: set[int] = set()
        for i in range(changes):
            time.sleep(gap_s)
            moved.add(shows[i].index)
            at = sim.now()
            first = time.time()
            scenario.partner_snapshot(dev.landing, shows, at, moved)
            for p in scenario.PLATFORMS:
                scenario.crawl(dev.landing, p, shows, at, moved)
            last = time.time()
            msg = wait_for(lambda: scenario.message_for_order(dev.outbox, shows[i].order_id), 180,
                           f"CS message for change {i}", dev=dev, poll_s=0.1)
            sent = msg.stat().st_mtime
            runs = [r for r in instance.get_run_records(dg.RunsFilter(tags={"ticket_dq/trigger": "landing_sensor"}))
                    if r.create_timestamp.timestamp() >= first - 0.5]
            run = min(runs, key=lambda r: r.create_timestamp)  # the batch of this change
            stages = run_stages(instance, run.dagster_run.run_id)
            dispatch_until(stages, sent)
            created = run.create_timestamp.timestamp()
            sample = {"change": i, "end_to_end": sent - first, "sensor_wait": created - last,
                      "queue": (stages.pop("run_start") or created) - created, **stages,
                      "runs_in_window": len(runs)}
            samples.append(sample)
            print(f"  change {i}: end to end {sample['end_to_end']:5.1f}s  (sensor {sample['sensor_wait']:.1f}, "
                  f"queue {sample['queue']:.1f}, ingest {sample['ingest']:.1f}, compare {sample['compare']:.1f}, "
                  f"issues {sample['issues']:.1f}, dispatch {sample['dispatch']:.1f})", flush=True)
    summary = {s: {"p50": round(_pct([x[s] for x in samples], 0.5), 2),
                   "p95": round(_pct([x[s] for x in samples], 0.95), 2)} for s in STAGES}
    return {"world": "hand-made scenario (ticket_dq_tests/realtime/scenario.py): 2 cinemas, 24 shows, 1 partner, 2 platforms",
            "changes": changes, "gap_s": gap_s, "first_cascade_s": round(first_cascade_s, 1),
            "stages": summary, "target_end_to_end_p95_s": TARGET_P95_S,
            "met": summary["end_to_end"]["p95"] <= TARGET_P95_S, "load_avg": os.getloadavg(), "samples": samples}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--world" in argv and argv[argv.index("--world") + 1:][:1] != ["handmade"]:
        from bench import latency_world  # the demo or the national day, built by the simulator

        return latency_world.main(argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", choices=("handmade",), default="handmade",
                    help="handmade (this file); demo or national: bench/latency_world.py")
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--gap", type=float, default=4.0, help="seconds between one message and the next change")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_latency_") as tmp:
        result = measure(args.changes, args.gap, Path(tmp) / "dev")
    print(f"first delivery on a fresh instance -> dq.issues: {result['first_cascade_s']}s")
    print(f"{'stage':<12} {'p50 s':>7} {'p95 s':>7}")
    for s in STAGES:
        print(f"{s:<12} {result['stages'][s]['p50']:>7.1f} {result['stages'][s]['p95']:>7.1f}")
    print(f"target end-to-end p95 <= {TARGET_P95_S:.0f}s: {'met' if result['met'] else 'NOT met'}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
