"""Detection quality on a national day, end to end, with the real simulator and the whole product.

    .venv/bin/python -m bench.national_quality [--skip-simulate] [--dir /tmp/national] [--timeout 3600]

1. ``ticket-dq simulate national --out DIR/landing`` (15 000 cinemas, one day; skipped with
   ``--skip-simulate`` when DIR/landing/_truth/sim.json exists);
2. ``ticket-dq materialize --demo-clock --verbose`` (the event log carries the step times) in a child process against DIR/landing, a fresh warehouse
   DIR/wh/ticket_dq.duckdb and outbox DIR/outbox (every asset and check of every stage, as ``make run``);
   wall time, peak RSS of that process (``os.wait4``) and per-step times parsed from Dagster's
   "Finished execution of step ... in X" lines, summed per asset group (stage);
3. ``dq.issues`` (status <> 'SUPPRESSED') scored against ``_truth/faults.csv`` with
   ``ticket_dq.lib.quality.score`` (the EMITTED query of ticket_dq_tests/compare/test_quality.py), per
   category and overall, plus the misses and false alerts per category (first few listed).

Prints the tables and writes bench/results/national_quality.json. Every child has a timeout, so the
script always stops by itself. Needs ~2 GB in DIR and ~2 GB of RAM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "national_quality.json"
EXE = ROOT / ".venv" / "bin" / "ticket-dq"

EMITTED = """SELECT category, rule, source, cinema_code, business_date, show_start_time, order_id, pickup_code,
                    business_key FROM dq.issues WHERE status <> 'SUPPRESSED'"""

_STEP = re.compile(r'Finished execution of step "([^"]+)" in ([0-9hms.]+)\.')
_START = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+0000 .* - STEP_START - Started execution of step "([^"]+)"', re.M)
_FAILED = re.compile(r'Execution of step "([^"]+)" failed')


def parse_duration(text: str) -> float:
    """Dagster's format_duration back to seconds: 0.83ms, 533ms, 5.6s, 4m52s, 1h4m."""
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    total = 0.0
    for value, unit in re.findall(r"([0-9.]+)([hms])", text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_child(cmd: list[str], log: Path, env: dict, timeout: float, samples: list | None = None) -> dict:
    """Run ``cmd`` with stdout+stderr to ``log``; wall time, exit code and the child's own peak RSS
    (``os.wait4``). With ``samples``, (unix time, RSS MB) of the child is appended every 0.25 s."""
    t0 = time.perf_counter()
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            if samples is not None:
                rss = _rss_mb(proc.pid)
                if rss is not None:
                    samples.append((time.time(), rss))
            time.sleep(0.25)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": round(time.perf_counter() - t0, 1), "rc": proc.returncode,
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "user_s": round(usage.ru_utime, 1),
            "sys_s": round(usage.ru_stime, 1), "timed_out": time.perf_counter() > deadline}


def step_groups() -> dict[str, str]:
    """Step key (asset key joined by "__", or a check step's name) -> asset group (stage)."""
    import ticket_dq.definitions as d

    defs = d.defs()
    graph = defs.resolve_asset_graph()
    out = {}
    for key in graph.get_all_asset_keys():
        out["__".join(key.path)] = graph.get(key).group_name
    return out


def parse_steps(log_text: str, samples: list[tuple[float, float]] | None = None) -> tuple[list[dict], list[str]]:
    """Per step: stage (asset group), seconds, and the peak RSS sampled while it ran (steps run one after
    another in the in-process executor; log times have 1 s resolution, so a step's window is widened to
    the whole seconds around it)."""
    from datetime import datetime, timezone

    groups = step_groups()
    starts = {key: datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
              for ts, key in _START.findall(log_text)}
    steps = []
    for key, dur in _STEP.findall(log_text):
        group = groups.get(key) or ("validation" if key.startswith("validate_") else "other")
        sec = parse_duration(dur)
        row = {"step": key, "group": group, "s": round(sec, 2)}
        if samples and key in starts:
            a, b = starts[key], starts[key] + sec + 1
            inside = [r for t, r in samples if a <= t <= b]
            row["peak_rss_mb"] = round(max(inside)) if inside else None
        steps.append(row)
    return steps, sorted(set(_FAILED.findall(log_text)))


def score(warehouse: Path, faults_csv: Path, now: str | None = None, samples: int = 5) -> dict:
    import duckdb

    from ticket_dq.lib import normalize, quality

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        sc = quality.score(con, EMITTED, faults_csv)
        fn = con.execute("""SELECT category, count(*) FROM truth_faults
                            WHERE fault_id NOT IN (SELECT fault_id FROM q_pairs) GROUP BY ALL ORDER BY 1""").fetchall()
        fp = con.execute("""SELECT category, count(*) FROM q_emitted
                            WHERE eid NOT IN (SELECT eid FROM q_pairs) GROUP BY ALL ORDER BY 1""").fetchall()
        fn_rows = con.execute(f"""SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER (PARTITION BY category ORDER BY fault_id) rn
                                  FROM truth_faults WHERE fault_id NOT IN (SELECT fault_id FROM q_pairs)) WHERE rn <= {samples}
                                  ORDER BY category, fault_id""").df()
        fp_rows = con.execute(f"""SELECT * EXCLUDE (rn, eid) FROM (SELECT *, row_number() OVER (PARTITION BY category ORDER BY eid) rn
                                  FROM q_emitted WHERE eid NOT IN (SELECT eid FROM q_pairs)) WHERE rn <= {samples}
                                  ORDER BY category""").df()
        statuses = dict(con.execute("SELECT status, count(*) FROM dq.issues GROUP BY ALL").fetchall())
        suppressed = dict(con.execute("SELECT category, count(*) FROM dq.issues WHERE status = 'SUPPRESSED' "
                                      "GROUP BY ALL").fetchall())
        naive = None
        if now:  # the naive order-vs-partner comparison on the same warehouse; replaces q_* temp tables
            ours = {r["category"]: r for r in sc.rows}
            cats = [c for c in ("ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED") if c in ours]
            normalize.install_macros(con)  # TEMP macros (dq_hall_key) the naive query uses
            naive = quality.naive_order_false_alerts(con, now, faults_csv)
            naive["ours_emitted"] = sum(ours[c]["emitted"] for c in cats)
            naive["ours_false"] = sum(ours[c]["emitted"] - ours[c]["tp_emitted"] for c in cats)
            naive["ours_faults_found"] = sum(ours[c]["tp_faults"] for c in cats)
            naive["false_removed"] = (1 - naive["ours_false"] / naive["false"]) if naive["false"] else None
    finally:
        con.close()
    return {"rows": sc.rows, "overall": sc.overall, "markdown": sc.markdown(), "misses": dict(fn),
            "false_alerts": dict(fp), "miss_samples": json.loads(fn_rows.to_json(orient="records", date_format="iso")),
            "false_alert_samples": json.loads(fp_rows.to_json(orient="records", date_format="iso")),
            "issue_status": statuses, "suppressed_by_category": suppressed, "naive_orders": naive}


FLOORS = """
import json, resource, sys, time, duckdb
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
con = duckdb.connect(sys.argv[1])
out = {"files": 0, "failed": [], "wall_s": 0.0, "cpu_s": 0.0, "by_feed_s": {}}
for i, (feed, path) in enumerate(json.loads(sys.argv[2])):
    reader = "read_json" if path.endswith(".jsonl") else "read_csv"
    c, w = cpu(), time.perf_counter()
    try:
        con.execute(f"CREATE TABLE t{i} AS SELECT * FROM {reader}(?)", [path])
    except (duckdb.Error, UnicodeDecodeError):
        # DuckDB reads UTF-8 only: a GB18030 delivery is timed on a UTF-8 copy of itself (the copy
        # is made outside the timing).
        try:
            text = open(path, "rb").read().decode("gb18030")
        except UnicodeDecodeError as exc:
            out["failed"].append([path, str(exc)[:200]])
            continue
        copy = sys.argv[1] + ".utf8" + path[path.rindex("."):]
        open(copy, "w", encoding="utf-8").write(text)
        c, w = cpu(), time.perf_counter()
        try:
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM {reader}(?)", [copy])
        except (duckdb.Error, UnicodeDecodeError) as exc:
            out["failed"].append([path, str(exc).splitlines()[0][:200]])
            continue
        out["transcoded"] = out.get("transcoded", 0) + 1
    w, c = time.perf_counter() - w, cpu() - c
    out["files"] += 1
    out["wall_s"] += w
    out["cpu_s"] += c
    out["by_feed_s"][feed] = out["by_feed_s"].get(feed, 0.0) + w
    con.execute(f"DROP TABLE t{i}")
print(json.dumps(out))
"""


def floors(landing: Path, work: Path, timeout: float) -> dict:
    """DuckDB's bare read of every delivered feed file into a table (CREATE TABLE AS SELECT * FROM
    read_csv / read_json, file by file, in one child process): the floor the whole product's
    ingestion is compared with. Files DuckDB cannot read at all (corrupt or GB18030 deliveries) are
    listed and left out of the sum; a GB18030 delivery is read as a UTF-8 copy."""
    from ticket_dq.lib import contract

    files = [(feed, str(f)) for feed in contract.FEEDS for f in sorted((landing / feed).rglob("*"))
             if f.suffix in (".csv", ".jsonl") and (f.parent / f"_manifest_{f.stem}.json").is_file()]
    db = work / "floor.duckdb"
    db.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-c", FLOORS, str(db), json.dumps(files)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    for leftover in work.glob("floor.duckdb*"):
        leftover.unlink(missing_ok=True)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in out.items()} | {
        "by_feed_s": {k: round(v, 2) for k, v in out["by_feed_s"].items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.national_quality")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/national"))
    ap.add_argument("--skip-simulate", action="store_true",
                    help="reuse DIR/landing (must hold _truth/sim.json)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per child process")
    ap.add_argument("--no-floor", action="store_true",
                    help="skip DuckDB's bare read of the same files (the whole-product ratio's floor)")
    a = ap.parse_args(argv)
    base: Path = a.dir
    landing, wh_dir, outbox = base / "landing", base / "wh", base / "outbox"
    base.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_DQ_")}
    env.update(TICKET_DQ_LANDING=str(landing), TICKET_DQ_WAREHOUSE=str(wh_dir / "ticket_dq.duckdb"),
               TICKET_DQ_OUTBOX=str(outbox), DAGSTER_HOME="", PYTHONUNBUFFERED="1")
    res: dict = {"dir": str(base)}

    if a.skip_simulate:
        if not (landing / "_truth" / "sim.json").is_file() or not (landing / "partner_schedule").is_dir():
            print(f"--skip-simulate: {landing} holds no simulated landing area (_truth/sim.json and feed folders)",
                  file=sys.stderr)
            return 2
    else:
        shutil.rmtree(landing, ignore_errors=True)
        sim = run_child([str(EXE), "simulate", "national", "--out", str(landing)], base / "simulate.log", env, a.timeout)
        res["simulate"] = sim
        print(f"simulate national: {sim}", flush=True)
        if sim["rc"] != 0:
            print((base / "simulate.log").read_text()[-3000:], file=sys.stderr)
            return 1
    sim_json = json.loads((landing / "_truth" / "sim.json").read_text(encoding="utf-8"))
    res["now"] = sim_json["now"]
    res["injected"] = sim_json["faults"]

    shutil.rmtree(wh_dir, ignore_errors=True)
    shutil.rmtree(outbox, ignore_errors=True)
    wh_dir.mkdir(parents=True)
    log = base / "materialize.log"
    samples: list[tuple[float, float]] = []
    mat = run_child([str(EXE), "materialize", "--demo-clock", "--verbose"], log, env, a.timeout, samples)
    text = log.read_text(encoding="utf-8", errors="replace")
    steps, failed = parse_steps(text, samples)
    mat["succeeded"] = mat["rc"] == 0 and " succeeded in " in text
    mat["failed_steps"] = failed
    by_group: dict[str, float] = {}
    rss_group: dict[str, int] = {}
    for s in steps:
        by_group[s["group"]] = round(by_group.get(s["group"], 0) + s["s"], 2)
        if s.get("peak_rss_mb") is not None:
            rss_group[s["group"]] = max(rss_group.get(s["group"], 0), s["peak_rss_mb"])
    mat["by_stage_s"] = by_group
    mat["by_stage_peak_rss_mb"] = rss_group
    mat["sampled_peak_rss_mb"] = round(max((r for _, r in samples), default=0))
    mat["steps"] = steps
    res["materialize"] = mat
    print(f"\nmaterialize --demo-clock (now {res['now']}): {'succeeded' if mat['succeeded'] else 'FAILED'}, "
          f"wall {mat['wall_s']} s, peak RSS {mat['peak_rss_mb']} MB, user {mat['user_s']} s")
    print("| stage | steps | s | peak RSS MB |\n| --- | ---: | ---: | ---: |")
    for g, s in sorted(by_group.items(), key=lambda kv: -kv[1]):
        print(f"| {g} | {sum(1 for x in steps if x['group'] == g)} | {s:.1f} | {rss_group.get(g, '-')} |")
    print("\n| step | stage | s | peak RSS MB |\n| --- | --- | ---: | ---: |")
    for s in steps:
        print(f"| {s['step']} | {s['group']} | {s['s']:.2f} | {s.get('peak_rss_mb', '-')} |")
    if failed:
        print(f"failed steps: {failed}; see {log}", file=sys.stderr)

    if not a.no_floor:
        fl = floors(landing, base, a.timeout)
        res["floor"] = fl
        if "error" not in fl and not steps:
            print("no step times in the materialize log: whole-product ratio not computed", file=sys.stderr)
        elif "error" not in fl:
            # Whole product against what it cannot do without: DuckDB reading the same files, plus the
            # detection work after ingestion (every stage but ingest, as measured in this run).
            detection = round(sum(v for g, v in by_group.items() if g != "ingest"), 2)
            ingest_s = by_group.get("ingest", 0.0)
            res["whole_product_ratio"] = {
                "materialize_wall_s": mat["wall_s"], "floor_wall_s": fl["wall_s"], "detection_s": detection,
                "ratio": round(mat["wall_s"] / (fl["wall_s"] + detection), 2),
                "ingest_s": ingest_s, "ingest_over_floor": round(ingest_s / fl["wall_s"], 2) if fl["wall_s"] else None}
            r = res["whole_product_ratio"]
            print(f"\nfloor: DuckDB's bare read of {fl['files']} delivered files {fl['wall_s']} s wall "
                  f"({fl['cpu_s']} CPU s; by feed {fl['by_feed_s']}; GB18030 read as UTF-8 copies {fl.get('transcoded', 0)}; "
                  f"unreadable {len(fl['failed'])}); "
                  f"detection (stages after ingest) {detection} s")
            print(f"whole product: materialize {mat['wall_s']} s / (floor {fl['wall_s']} + detection {detection}) "
                  f"= {r['ratio']}x; ingest stage {ingest_s} s = {r['ingest_over_floor']}x its floor")
        else:
            print(f"floor failed: {fl['error']}", file=sys.stderr)

    if (wh_dir / "ticket_dq.duckdb").is_file():
        sc = score(wh_dir / "ticket_dq.duckdb", landing / "_truth" / "faults.csv", res["now"])
        res["quality"] = {k: v for k, v in sc.items() if k != "markdown"}
        print("\n" + sc["markdown"])
        print(f"\nmisses per category: {sc['misses']}\nfalse alerts per category: {sc['false_alerts']}")
        print(f"issue status: {sc['issue_status']}; suppressed: {sc['suppressed_by_category']}")
        print(f"naive order-vs-partner ORDER_SHOW_*: {sc['naive_orders']}")
        below = [r["category"] for r in sc["rows"]
                 if (r["precision"] is not None and r["precision"] < 0.95) or (r["recall"] is not None and r["recall"] < 0.95)]
        res["below_target"] = below
        print(f"below 0.95: {below or 'none'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS}")
    return 0 if mat["succeeded"] else 1


if __name__ == "__main__":
    sys.exit(main())
