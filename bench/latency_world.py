"""Benchmark: a partner snapshot of a simulated world -> notification SENT for a verified
ORDER_SHOW_CHANGED, under a real `dagster dev` (webserver + daemon, fresh instance, the repo's
dagster.yaml, replay clock at 1x from the world's now).

    .venv/bin/python -m bench.latency_world --world demo [--changes 5]
    .venv/bin/python -m bench.latency_world --world national --dir /tmp/national [--changes 3]

The world is a simulated landing area in DIR/landing materialized into DIR/wh/ticket_dq.duckdb:
``demo`` builds it when missing (``ticket-dq simulate demo`` + ``ticket-dq materialize --demo-clock``,
~2 min); ``national`` needs the output of ``python -m bench.national_quality --dir DIR``. The landing
area is linked (hard links: the bench only adds files) and the warehouse copied into a temp base, so
DIR stays as it was.

``--changes`` FH orders (FH sends GB18030 CSV with CRLF: ~470k rows a national snapshot, ~2k on the
demo) whose shows both platforms list, nobody has raised an issue about and start tomorrow are the targets.
1. The platforms' new crawls list every target show 30 minutes later; they are delivered and ingested
   first (the platforms crawl more often than partners deliver, so the moved show is usually on the
   platforms before the partner's next snapshot).
2. Then, one at a time, a new FH snapshot: the latest one re-stamped, with one more target show moved.
   The clock runs from its manifest landing to the CS message naming that order being written.
Stages as in bench/latency.py (sensor wait, queue, ingest, compare, issues, dispatch, end to end).
Prints them and writes bench/results/latency_<world>.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.latency import STAGES, _pct, dispatch_until, run_stages

RESULTS = Path(__file__).resolve().parent / "results"
PARTNER = "FH"
PLATFORMS = ("MAOYAN", "TAOPIAOPIAO")
SHIFT = timedelta(minutes=30)
TARGET_P95_S = {"demo": 30.0, "national": 60.0}
REPO = Path(__file__).resolve().parent.parent


def _latest(con, feed_sql: str) -> str:
    return con.execute(feed_sql).fetchone()[0]


def pick_targets(warehouse: Path, now: datetime, n: int) -> list[dict]:
    """Orders whose show nobody has raised an issue about (none in its cinema within 3 hours of it), listed
    by both platforms as the partner has it, starting tomorrow between 10:00 and 21:00 (a 30-minute move stays on the same day), one per show."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        pfile = _latest(con, f"SELECT max(file) FROM meta.ingested_files WHERE feed = 'partner_schedule' "
                             f"AND source = '{PARTNER}' AND status = 'INGESTED'")
        rows = con.execute("""
            WITH o AS (
              SELECT * FROM cur.order_state
              WHERE partner_code = $partner AND status IN ('ISSUED', 'PRINTED')
                AND show_start_time >= CAST($day AS TIMESTAMP) + INTERVAL 10 HOUR
                AND show_start_time <  CAST($day AS TIMESTAMP) + INTERVAL 21 HOUR
              QUALIFY row_number() OVER (PARTITION BY cinema_code, show_code ORDER BY order_id) = 1),
            listed AS (
              SELECT o.order_id, o.cinema_code, o.show_code, o.show_start_time, p.hall_key, p.film_key
              FROM o JOIN cur.partner_schedule p
                ON p.source = o.partner_code AND p.cinema_code = o.cinema_code AND p.show_code = o.show_code
               AND p.start_time = o.show_start_time
              WHERE (SELECT count(DISTINCT c.platform) FROM cur.competitor_schedule c
                     WHERE c.cinema_code = o.cinema_code AND c.start_ts = o.show_start_time
                       AND c.hall_key = p.hall_key AND c.film_key = p.film_key) = 2
                AND NOT EXISTS (SELECT 1 FROM dq.issues i WHERE i.cinema_code = o.cinema_code
                                AND abs(date_diff('minute', i.show_start_time, o.show_start_time)) <= 180))
            SELECT l.*, r.ingest_line AS partner_line FROM listed l
            JOIN raw.partner_schedule r ON r.ingest_file = $pfile AND r.cinema_code = l.cinema_code
             AND r.show_code = l.show_code
            ORDER BY hash(l.order_id) LIMIT $n""",
            {"partner": PARTNER, "day": (now + timedelta(days=1)).strftime("%Y-%m-%d"), "pfile": pfile,
             "n": n}).fetchall()
        targets = []
        for order_id, cinema, show_code, start, hall_key, film_key, pline in rows:
            crawl_lines = con.execute("""
                SELECT r.ingest_file, r.ingest_line FROM cur.competitor_schedule c
                JOIN raw.competitor_schedule r ON r.platform = c.platform AND r.crawl_ts = c.crawl_ts
                 AND r.platform_show_id = c.platform_show_id
                WHERE c.cinema_code = ? AND c.start_ts = ? AND c.hall_key = ? AND c.film_key = ?""",
                [cinema, start, hall_key, film_key]).fetchall()
            targets.append({"order_id": order_id, "cinema_code": cinema, "show_code": show_code,
                            "start": start, "partner_file": pfile, "partner_line": pline,
                            "crawl_lines": crawl_lines})
        return targets
    finally:
        con.close()


def _manifest(data_path: Path, feed: str, source: str, rows: int, snapshot_ts: str) -> Path:
    sha = hashlib.sha256(data_path.read_bytes()).hexdigest()
    manifest = data_path.with_name(f"_manifest_{data_path.stem}.json")
    tmp = manifest.with_name(f".{manifest.name}.tmp")
    tmp.write_text(json.dumps({"file": data_path.name, "feed": feed, "source": source, "rows": rows,
                               "sha256": sha, "snapshot_ts": snapshot_ts, "schema_version": 1}), encoding="utf-8")
    tmp.replace(manifest)  # the manifest appears whole, after its data file: the delivery is complete
    return manifest


def write_crawl(landing: Path, src_rel: str, lines_to_move: set[int], at: datetime) -> tuple[Path, Path]:
    """A new crawl of the platform of ``src_rel``: every line re-stamped ``at``; the given physical lines'
    show 30 minutes later."""
    src = landing / src_rel
    platform = src.parent.parent.name
    data = src.read_bytes()
    ts = at.strftime("%Y-%m-%d %H:%M:%S")
    k = data.index(b'"crawl_ts":"') + len(b'"crawl_ts":"')
    old_ts = data[k:data.index(b'"', k)]  # one crawl, one crawl_ts
    lines = data.replace(b'"crawl_ts":"' + old_ts + b'"', b'"crawl_ts":"' + ts.encode() + b'"').split(b"\n")
    del data
    for i in sorted(lines_to_move):
        rec = json.loads(lines[i - 1])
        start = datetime.strptime(f"{rec['show_date']} {rec['start_time']}", "%Y-%m-%d %H:%M") + SHIFT
        rec["show_date"], rec["start_time"] = start.strftime("%Y-%m-%d"), start.strftime("%H:%M")
        lines[i - 1] = json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    rows = sum(1 for line in lines if line.strip())
    out = src.with_name(f"{platform}_{at:%Y%m%d_%H%M}.jsonl")
    out.write_bytes(b"\n".join(lines))
    return out, _manifest(out, "competitor_schedule", platform, rows, ts)


def write_partner_snapshot(landing: Path, src_rel: str, moved_lines: set[int], at: datetime) -> tuple[Path, Path]:
    """A new FH snapshot: the latest one re-stamped ``at`` (in FH's encoding and line ends, from
    _truth/sim.json), with the shows on the given physical lines 30 minutes later."""
    src = landing / src_rel
    style = json.loads((landing / "_truth" / "sim.json").read_text(encoding="utf-8"))["partners"][PARTNER]
    encoding, eol = style["encoding"], "\r\n" if style["crlf"] else "\n"
    text = src.read_bytes().decode(encoding)
    lines = text.split(eol)
    header = next(csv.reader([lines[0]]))
    col = {c: i for i, c in enumerate(header)}
    ts = at.strftime("%Y-%m-%d %H:%M:%S")
    old_ts = next(csv.reader([lines[1]]))[col["snapshot_ts"]]
    rows = 0
    for i in range(1, len(lines)):
        if not lines[i]:
            continue
        rows += 1
        if i + 1 in moved_lines:
            rec = next(csv.reader([lines[i]]))
            rec[col["snapshot_ts"]] = ts
            for c in ("start_time", "end_time"):
                rec[col[c]] = (datetime.strptime(rec[col[c]], "%Y-%m-%d %H:%M:%S") + SHIFT).strftime("%Y-%m-%d %H:%M:%S")
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(rec)
            lines[i] = buf.getvalue()
        elif lines[i].startswith(old_ts):
            lines[i] = ts + lines[i][len(old_ts):]
    out = src.with_name(f"{PARTNER}_schedule_{at:%Y%m%d_%H%M}.csv")
    out.write_bytes(eol.join(lines).encode(encoding))
    return out, _manifest(out, "partner_schedule", PARTNER, rows, ts)


def _batch_runs(instance, since: float):
    import dagster as dg

    return [r for r in instance.get_run_records(dg.RunsFilter(tags={"ticket_dq/trigger": "landing_sensor"}))
            if r.create_timestamp.timestamp() >= since]


def _wait_batches_done(instance, since: float, timeout_s: float, what: str, dev) -> None:
    import dagster as dg

    from ticket_dq_tests.realtime.devserver import wait_for

    def done():
        runs = _batch_runs(instance, since)
        return runs and all(r.dagster_run.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)
                            for r in runs)
    wait_for(done, timeout_s, what, dev=dev, poll_s=0.5)


def build_demo(world: Path) -> None:
    """The demo world, as `make run` builds its warehouse in one go: simulate, then materialize everything."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKET_DQ_", "DAGSTER_"))}
    env.update({"TICKET_DQ_LANDING": str(world / "landing"), "TICKET_DQ_WAREHOUSE": str(world / "wh" / "ticket_dq.duckdb"),
                "TICKET_DQ_OUTBOX": str(world / "outbox"), "DAGSTER_HOME": str(world / "dagster_home")})
    (world / "dagster_home").mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("ticket-dq")
    t = time.time()
    subprocess.run([str(exe), "simulate", "demo", "--out", str(world / "landing")], check=True, env=env, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    subprocess.run([str(exe), "materialize", "--demo-clock", "--quiet"], check=True, env=env, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    print(f"  demo world built in {world} ({time.time() - t:.0f}s)", flush=True)


def measure(src: Path, base: Path, changes: int, world: str) -> dict:
    import dagster as dg

    from ticket_dq.lib import clock
    from ticket_dq_tests.realtime import scenario
    from ticket_dq_tests.realtime.devserver import dagster_dev, wait_for

    sim_now = json.loads((src / "landing" / "_truth" / "sim.json").read_text(encoding="utf-8"))["now"]
    shutil.copytree(src / "landing", base / "landing", copy_function=os.link)
    (base / "warehouse").mkdir(parents=True)
    shutil.copy2(src / "wh" / "ticket_dq.duckdb", base / "warehouse" / "ticket_dq.duckdb")
    sim = clock.replay(sim_now, speed=1.0)
    targets = pick_targets(base / "warehouse" / "ticket_dq.duckdb", sim.now(), changes)
    if len(targets) < changes:
        raise SystemExit(f"only {len(targets)} target orders found in {src}")
    samples = []
    with dagster_dev(base, sim.spec(), timeout_s=300) as dev:
        instance = dev.instance()
        t = time.time()
        # A fresh instance's first tick sees every delivery as new: one batch run that finds them ingested.
        wait_for(lambda: _batch_runs(instance, 0), 120, "first batch run", dev=dev)
        _wait_batches_done(instance, 0, 1800, "first batch run to end", dev)
        first_s = time.time() - t
        print(f"  fresh instance's first batch (everything already ingested): {first_s:.1f}s", flush=True)

        by_file: dict[str, set[int]] = {}
        for target in targets:
            for file, line in target["crawl_lines"]:
                by_file.setdefault(file, set()).add(line)
        t = time.time()
        at = sim.now().replace(second=0, microsecond=0)
        for file, lines in sorted(by_file.items()):
            write_crawl(dev.landing, file, lines, at)
        _wait_batches_done(instance, t - 0.5, 1800, "crawl batch run", dev)
        crawl_s = time.time() - t
        print(f"  both platforms' crawls moving {len(targets)} shows: ingested and compared in {crawl_s:.1f}s",
              flush=True)

        moved: set[int] = set()
        for i, target in enumerate(targets):
            moved.add(target["partner_line"])
            at = max(sim.now().replace(second=0, microsecond=0), at + timedelta(minutes=1))
            data, manifest = write_partner_snapshot(dev.landing, target["partner_file"], moved, at)
            first = data.stat().st_mtime
            last = manifest.stat().st_mtime
            msg = wait_for(lambda: scenario.message_for_order(dev.outbox, target["order_id"]), 600,
                           f"CS message for change {i}", dev=dev, poll_s=0.2)
            sent = msg.stat().st_mtime
            runs = _batch_runs(instance, first - 0.5)
            run = min(runs, key=lambda r: r.create_timestamp)
            stages = run_stages(instance, run.dagster_run.run_id)
            dispatch_until(stages, sent)
            created = run.create_timestamp.timestamp()
            sample = {"change": i, "order_id": target["order_id"], "end_to_end": sent - last,
                      "sensor_wait": created - last, "queue": (stages.pop("run_start") or created) - created,
                      **stages, "runs_in_window": len(runs), "write_s": last - first}
            samples.append(sample)
            print(f"  change {i}: end to end {sample['end_to_end']:5.1f}s  (sensor {sample['sensor_wait']:.1f}, "
                  f"queue {sample['queue']:.1f}, ingest {sample['ingest']:.1f}, compare {sample['compare']:.1f}, "
                  f"issues {sample['issues']:.1f}, dispatch {sample['dispatch']:.1f})", flush=True)
            _wait_batches_done(instance, first - 0.5, 600, "the change's batch run to end", dev)
    summary = {s: {"p50": round(_pct([x[s] for x in samples], 0.5), 2),
                   "p95": round(_pct([x[s] for x in samples], 0.95), 2)} for s in STAGES}
    partner_rows = sum(1 for _ in open(base / "landing" / targets[0]["partner_file"], "rb")) - 1
    return {"world": f"{world} ({src}): {PARTNER} snapshots of {partner_rows:,} rows",
            "changes": len(samples), "first_batch_s": round(first_s, 1), "crawls_s": round(crawl_s, 1),
            "stages": summary, "target_end_to_end_p95_s": TARGET_P95_S[world],
            "met": summary["end_to_end"]["p95"] <= TARGET_P95_S[world], "load_avg": os.getloadavg(),
            "samples": samples}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", choices=("demo", "national"), default="demo")
    ap.add_argument("--dir", type=Path, default=None,
                    help="the world (landing/ and wh/); default /tmp/latency_demo, or /tmp/national (the output of "
                         "bench.national_quality)")
    ap.add_argument("--changes", type=int, default=None, help="default 5 on the demo, 3 on the national day")
    args = ap.parse_args(argv)
    world_dir = args.dir or Path("/tmp/latency_demo" if args.world == "demo" else "/tmp/national")
    changes = args.changes or (5 if args.world == "demo" else 3)
    if not (world_dir / "wh" / "ticket_dq.duckdb").is_file():
        if args.world == "national":
            print(f"{world_dir}/wh/ticket_dq.duckdb not found: run python -m bench.national_quality --dir {world_dir}")
            return 2
        build_demo(world_dir)
    with tempfile.TemporaryDirectory(prefix=f"bench_latency_{args.world}_", dir=world_dir.parent) as tmp:
        result = measure(world_dir, Path(tmp) / "dev", changes, args.world)
    print(f"{'stage':<12} {'p50 s':>7} {'p95 s':>7}")
    for s in STAGES:
        print(f"{s:<12} {result['stages'][s]['p50']:>7.1f} {result['stages'][s]['p95']:>7.1f}")
    print(f"target end-to-end p95 <= {TARGET_P95_S[args.world]:.0f}s: {'met' if result['met'] else 'NOT met'}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"latency_{args.world}.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
