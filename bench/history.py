"""A week of national days at the cost of one: seven consecutive days replayed with retention on.

    .venv/bin/python -m bench.history [--dir /tmp/history] [--cinemas 15000] [--days 7] [--warmup-days W]
                                      [--skip-simulate] [--retention-days 2] [--replay-days K] [--timeout 3600]
                                      [--keep]
    .venv/bin/python -m bench.history --dir /tmp/history --incremental-from /tmp/history/kept/day7

The measured days are a steady state: the first ``--warmup-days`` (default: the retention window plus
one, 3) are replayed first and reported apart. A simulation starts at 06:00 of its first day with no
pre-sales, no past orders and nothing to archive, so its first days carry less than a window of data;
from the first day with a full window on, each day holds the same volume, and what still grows with
history is the archive, the ledger, the issues and everything kept for good. Day 1 is the first
measured day.

1. ``ticket-dq simulate national --days W+N`` once (the real simulator: each day's partner snapshots, crawls,
   orders and codes continue the days before, faults included; skipped with ``--skip-simulate`` when
   DIR/sim holds it);
2. day by day: every delivery of the day up to the simulated clock time (21:05) is linked into DIR/landing
   (data file first, manifest last), then ``ticket-dq materialize`` runs every asset and check in a child
   process with ``TICKET_DQ_NOW`` = that day's 21:05 and ``TICKET_DQ_RETENTION_DAYS`` set (retention is one
   of the assets, so each day's materialize also archives what fell out of the window). Per day: wall, CPU
   (user + sys), peak RSS (``os.wait4``), step times by stage (from Dagster's event log), warehouse file size
   (DuckDB file + WAL) and archive size after the run;
3. the incremental path on the first and the last measured day (``--incremental-days``): on a copy of that day's warehouse, one new snapshot of the largest
   partner (its current file delivered again under a new name, 5 minutes later) through
   ``raw/partner_schedule`` and everything between it and ``dq/issues``: wall of the child and the sum of its
   steps.

Prints the per-day table and the day-N / day-1 ratios (over the measured days; also over the first
warm-up day), writes bench/results/history.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from bench.national_quality import EXE, parse_steps, run_child

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "history.json"
# Steps between a new partner snapshot and dq.issues (what eager automation runs for one partner delivery).
INCREMENTAL_SELECT = "key:raw/partner_schedule+ and +key:dq/issues"


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def warehouse_bytes(db: Path) -> int:
    return _size(db) + _size(db.with_name(db.name + ".wal"))


def deliver_until(plan, sim: Path, landing: Path, until: datetime, done: set[str]) -> int:
    """Hard-link (data first, manifest last) every delivery at or before ``until`` not delivered yet."""
    n = 0
    for d in plan.deliveries:
        if d.at > until or d.files[-1] in done:
            continue
        for rel in d.files:
            dst = landing / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists():
                os.link(sim / rel, dst)
        done.add(d.files[-1])
        n += 1
    return n


def _stage_seconds(log: Path) -> dict[str, float]:
    steps, _ = parse_steps(log.read_text(encoding="utf-8", errors="replace"))
    out: dict[str, float] = {}
    for s in steps:
        out[s["group"]] = round(out.get(s["group"], 0) + s["s"], 2)
    out["_steps_total"] = round(sum(s["s"] for s in steps), 2)
    return out


def new_partner_snapshot(db: Path, landing: Path, at: datetime) -> list[Path]:
    """Deliver the largest partner's current snapshot again, as a new file stamped ``at``; returns its paths."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        file, = con.execute("""SELECT c.file FROM cur.partner_current_file c JOIN meta.ingested_files i USING (file)
                               ORDER BY i.rows_ingested DESC, c.file LIMIT 1""").fetchone()
    src = landing / file
    manifest = src.with_name(f"_manifest_{src.stem}.json")
    meta = json.loads(manifest.read_bytes().decode("utf-8-sig"))
    stem = f"{src.stem}_inc{at:%H%M}"
    data = src.with_name(stem + src.suffix)
    shutil.copyfile(src, data)
    meta.update(file=data.name, snapshot_ts=f"{at:%Y-%m-%d %H:%M:%S}")
    new_manifest = src.with_name(f"_manifest_{stem}.json")
    new_manifest.write_text(json.dumps(meta), encoding="utf-8")
    return [data, new_manifest]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.history", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/history"))
    ap.add_argument("--cinemas", type=int, default=15000)
    ap.add_argument("--days", type=int, default=7, help="measured days")
    ap.add_argument("--retention-days", type=int, default=2)
    ap.add_argument("--warmup-days", type=int, default=None,
                    help="days replayed before the measured ones (default: retention days + 1)")
    ap.add_argument("--replay-days", type=int, default=None,
                    help="replay only the first K of the simulated days (e.g. 1: day 1 measured again on its own)")
    ap.add_argument("--skip-simulate", action="store_true", help="reuse DIR/sim")
    ap.add_argument("--incremental-days", default="first,last",
                    help="days to measure the incremental path on: 'first,last' (default), 'all' or 'none'")
    ap.add_argument("--keep", action="store_true",
                    help="keep each measured day's warehouse copy and landing (hard links) in DIR/kept/dayN, for "
                         "--incremental-from")
    ap.add_argument("--incremental-from", type=Path, default=None, metavar="DIR/kept/dayN",
                    help="only run the incremental path again on a kept day (the code as it is now, that day's data)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per child process")
    ap.add_argument("--results", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    from ticket_dq.lib import replay

    warmup = a.retention_days + 1 if a.warmup_days is None else a.warmup_days
    total = warmup + a.days
    base: Path = a.dir
    sim, landing, wh, archive = base / "sim", base / "landing", base / "wh" / "ticket_dq.duckdb", base / "archive"
    base.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_DQ_")}
    env.update(TICKET_DQ_LANDING=str(landing), TICKET_DQ_WAREHOUSE=str(wh), TICKET_DQ_OUTBOX=str(base / "outbox"),
               TICKET_DQ_ARCHIVE=str(archive), TICKET_DQ_RETENTION_DAYS=str(a.retention_days), DAGSTER_HOME="",
               PYTHONUNBUFFERED="1")
    if a.incremental_from:
        return incremental_again(a.incremental_from, env, base, a.timeout)
    res: dict = {"dir": str(base), "cinemas": a.cinemas, "days": a.days, "warmup_days": warmup,
                 "retention_days": a.retention_days,
                 "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    truth = sim / "_truth" / "sim.json"
    if a.skip_simulate and truth.is_file() and json.loads(truth.read_text())["days"] != total:
        print(f"{sim} holds {json.loads(truth.read_text())['days']} simulated days, {total} are needed "
              f"({warmup} warm-up + {a.days}): simulating again", flush=True)
        a.skip_simulate = False
    if not (a.skip_simulate and truth.is_file()):
        shutil.rmtree(sim, ignore_errors=True)
        res["simulate"] = run_child([str(EXE), "simulate", "national", "--cinemas", str(a.cinemas), "--days",
                                     str(total), "--out", str(sim)], base / "simulate.log", env, a.timeout)
        print(f"simulate national --days {total}: {res['simulate']}", flush=True)
        if res["simulate"]["rc"] != 0:
            print((base / "simulate.log").read_text()[-3000:], file=sys.stderr)
            return 1
    sim_now = datetime.strptime(json.loads(truth.read_text())["now"], "%Y-%m-%d %H:%M:%S")
    first_day = sim_now - timedelta(days=total - 1)
    for p in (landing, wh.parent, archive, base / "outbox", base / "inc"):
        shutil.rmtree(p, ignore_errors=True)
    wh.parent.mkdir(parents=True)
    plan = replay.plan(sim)
    for rel in plan.setup:
        if not rel.startswith("_truth/"):  # no sim.json in the live area: the clock is TICKET_DQ_NOW
            (landing / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sim / rel, landing / rel)
    done: set[str] = set()
    days = []
    replayed = a.replay_days or total
    for k in range(replayed):
        now = first_day + timedelta(days=k)
        delivered = deliver_until(plan, sim, landing, now, done)
        env_day = {**env, "TICKET_DQ_NOW": f"{now:%Y-%m-%d %H:%M:%S}"}
        log = base / f"day{k + 1}.log"
        mat = run_child([str(EXE), "materialize", "--quiet", "--verbose"], log, env_day, a.timeout)
        stages = _stage_seconds(log)
        # Warm-up days are numbered W1..; the measured ones 1..N.
        row = {"day": f"W{k + 1}" if k < warmup else k - warmup + 1, "warmup": k < warmup,
               "now": f"{now:%Y-%m-%d %H:%M}", "deliveries": delivered, "rc": mat["rc"],
               "wall_s": mat["wall_s"], "cpu_s": round(mat["user_s"] + mat["sys_s"], 1),
               "peak_rss_mb": mat["peak_rss_mb"], "stages_s": stages,
               "retention_s": stages.get("retention", 0.0),
               "warehouse_mb": round(warehouse_bytes(wh) / 2**20, 1), "archive_mb": round(_size(archive) / 2**20, 1)}
        if mat["rc"] != 0:
            print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
        row.update(_raw_counts(wh))
        measure = {"all": True, "none": False}.get(a.incremental_days, k in (warmup, total - 1))
        if measure and mat["rc"] == 0:
            row["incremental"] = incremental_path(wh, landing, now, env, base, a.timeout)
            if a.keep:
                keep_day(base / "kept" / f"day{row['day']}", wh, landing, archive, now)
        days.append(row)
        print(json.dumps(row), flush=True)
    res["per_day"] = days
    res["ratios"] = ratios([d for d in days if not d["warmup"]])
    res["ratios_over_first_warmup_day"] = ratios(days) if warmup else {}
    res["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(table(days))
    print(json.dumps({k: res[k] for k in ("ratios", "ratios_over_first_warmup_day")}, indent=2))
    a.results.parent.mkdir(parents=True, exist_ok=True)
    a.results.write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {a.results}")
    return 0 if all(d["rc"] == 0 for d in days) else 1


def _raw_counts(wh: Path) -> dict:
    import duckdb

    with duckdb.connect(str(wh), read_only=True) as con:
        feeds = ("partner_schedule", "competitor_schedule", "orders", "pickup_codes")
        rows = {t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] for t in feeds}
        have = {r[0] for r in con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()}
        archived = {}
        for table in ("meta.archived_files", "meta.archived_events"):
            if table in have:
                archived.update(con.execute(f"SELECT feed, sum(rows_archived) FROM {table} GROUP BY ALL").fetchall())
        live = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("cur.order_state", "hist.closed_orders") if t in have}
    return {"raw_rows": rows, "archived_rows": archived, "orders": live}


def keep_day(dest: Path, wh: Path, landing: Path, archive: Path, now: datetime) -> None:
    """The day's warehouse (copied), landing and archive (hard links: no space) as they were after its
    materialize."""
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "wh").mkdir(parents=True)
    for f in (wh, wh.with_name(wh.name + ".wal")):
        if f.is_file():
            shutil.copyfile(f, dest / "wh" / f.name)
    shutil.copytree(landing, dest / "landing", copy_function=os.link)
    if archive.is_dir():
        shutil.copytree(archive, dest / "archive", copy_function=os.link)
    (dest / "now.txt").write_text(f"{now:%Y-%m-%d %H:%M:%S}\n")


def incremental_again(kept: Path, env: dict, base: Path, timeout: float) -> int:
    """The incremental path on a day kept by ``--keep``, with the code as it is now; prints its row."""
    now = datetime.strptime((kept / "now.txt").read_text().strip(), "%Y-%m-%d %H:%M:%S")
    wh = next((kept / "wh").glob("*.duckdb"))
    env = {**env, "TICKET_DQ_LANDING": str(kept / "landing"), "TICKET_DQ_ARCHIVE": str(kept / "archive")}
    row = incremental_path(wh, kept / "landing", now, env, base, timeout)
    print(json.dumps({"kept": str(kept), "now": f"{now:%Y-%m-%d %H:%M}", **row}), flush=True)
    return 0 if row["rc"] == 0 else 1


def incremental_path(wh: Path, landing: Path, now: datetime, env: dict, base: Path, timeout: float) -> dict:
    """One new partner snapshot -> dq.issues on a copy of the day's warehouse (the day's chain is untouched)."""
    inc = base / "inc"
    shutil.rmtree(inc, ignore_errors=True)
    inc.mkdir()
    db = inc / wh.name
    shutil.copyfile(wh, db)
    if (wal := wh.with_name(wh.name + ".wal")).is_file():
        shutil.copyfile(wal, db.with_name(db.name + ".wal"))
    at = now + timedelta(minutes=5)
    added = new_partner_snapshot(db, landing, at)
    try:
        log = base / f"inc_{now:%Y%m%d}.log"
        r = run_child([str(EXE), "materialize", "--quiet", "--verbose", "--select", INCREMENTAL_SELECT], log,
                      {**env, "TICKET_DQ_WAREHOUSE": str(db), "TICKET_DQ_OUTBOX": str(inc / "outbox"),
                       "TICKET_DQ_NOW": f"{at:%Y-%m-%d %H:%M:%S}"}, timeout)
        stages = _stage_seconds(log)
    finally:
        for p in added:
            p.unlink(missing_ok=True)
        shutil.rmtree(inc, ignore_errors=True)
    return {"rc": r["rc"], "wall_s": r["wall_s"], "cpu_s": round(r["user_s"] + r["sys_s"], 1),
            "steps_s": stages["_steps_total"], "stages_s": stages, "file": added[0].name}


def ratios(days: list[dict]) -> dict:
    if len(days) < 2:
        return {}
    first, last = days[0], days[-1]
    r = lambda a, b: round(a / b, 3) if b else None  # noqa: E731
    out = {"wall_last_over_first": r(last["wall_s"], first["wall_s"]),
           "cpu_last_over_first": r(last["cpu_s"], first["cpu_s"]),
           "wall_without_retention_last_over_first": r(last["wall_s"] - last["retention_s"],
                                                        first["wall_s"] - first["retention_s"]),
           "peak_rss_last_over_first": r(last["peak_rss_mb"], first["peak_rss_mb"])}
    out["cpu_max_over_first"] = r(max(d["cpu_s"] for d in days), first["cpu_s"])
    if "incremental" in first and "incremental" in last:
        out["incremental_wall_last_over_first"] = r(last["incremental"]["wall_s"], first["incremental"]["wall_s"])
        out["incremental_steps_last_over_first"] = r(last["incremental"]["steps_s"], first["incremental"]["steps_s"])
    return out


def table(days: list[dict]) -> str:
    head = ("| day | now | wall s | CPU s | peak RSS MB | retention s | warehouse MB | archive MB | "
            "raw partner rows | raw order events | live orders | incremental wall s | incremental steps s |\n"
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    lines = [head]
    for d in days:
        inc = d.get("incremental") or {}
        lines.append(f"| {d['day']} | {d['now']} | {d['wall_s']} | {d['cpu_s']} | {d['peak_rss_mb']} | "
                     f"{d['retention_s']} | {d['warehouse_mb']} | {d['archive_mb']} | "
                     f"{d['raw_rows']['partner_schedule']} | {d['raw_rows']['orders']} | "
                     f"{d.get('orders', {}).get('cur.order_state', '-')} | {inc.get('wall_s', '-')} | {inc.get('steps_s', '-')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
