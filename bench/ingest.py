"""Benchmark: ingest national-size files of every feed, in both formats the contract allows, against
DuckDB's own bare read of the same bytes into a table (the floor).

    .venv/bin/python -m bench.ingest [--feed partner_schedule] [--format csv|jsonl] [--rows N]
                                     [--encoding utf-8|gb18030] [--rounds 3] [--keep DIR]
    .venv/bin/python -m bench.ingest --all          # every feed x both formats, one table

For each (feed, format): a realistic file is generated with a vectorised generator (Polars, in a child
process), then timed, each in its own subprocess so peak RSS is measured per path:
  floor  CREATE TABLE t AS SELECT * FROM read_csv(file) / read_json(file)   (DuckDB alone, types
         auto-detected)
  ours   ingest_feed(...) on a landing area holding the file (sha256, encoding, fast path or careful
         path, typing per contract, quarantine checks, lineage, ledger, one transaction)
CPU and wall are taken around the work itself inside each child (interpreter start-up and imports
excluded on both sides) and also for the whole child. Each child first reads the file through once,
untimed: this host's page cache lets an idle file go within seconds, and the side that ran second
used to pay for the disk read. The floor and ours alternate for ``--rounds`` rounds on the same file;
the figures are each side's medians, the ratios those of the medians. Prints a table and writes
bench/results/ingest_<feed>_<fmt>[_gb18030].json (the default run also ingest.json; --all also
ingest_all.json with every row).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def _frame_partner(rows: int, seed: int = 7) -> pl.DataFrame:
    """A partner_schedule snapshot: contract columns as strings, Chinese names, a few quoted fields
    (~90 shows per cinema over 3 days, so 1.3M rows is ~15k cinemas)."""
    df = pl.DataFrame({"i": pl.int_range(0, rows, eager=True, dtype=pl.Int64)}).with_columns(
        cinema=pl.col("i") // 90, hall=(pl.col("i") // 10) % 9 + 1,
        start_min=(pl.col("i") * 37 + seed) % (16 * 60) + 9 * 60, day=(pl.col("i") // 30) % 3)
    return df.select(
        snapshot_ts=pl.lit("2026-03-08 10:00:00"),
        cinema_code=(pl.col("cinema") + 11000000).cast(pl.String),
        partner_cinema_id=pl.format("FH{}", pl.col("cinema")),
        cinema_name=pl.format("万达影城（{}店）", pl.col("cinema")),
        hall_code=pl.format("H{}", pl.col("hall")),
        hall_name=pl.when(pl.col("hall") % 3 == 0).then(pl.format("{}号激光厅", pl.col("hall")))
        .when(pl.col("hall") % 3 == 1).then(pl.format("{}号厅(全景声影厅)", pl.col("hall")))
        .otherwise(pl.format("{}号厅, VIP", pl.col("hall"))),  # a comma: quoted by the writer
        hall_type=pl.when(pl.col("hall") % 3 == 0).then(pl.lit("LASER")).otherwise(pl.lit("NORMAL")),
        seat_total=(pl.col("hall") * 20 + 80).cast(pl.String),
        show_code=pl.format("S{}", pl.col("i") + 900000000),
        business_date=pl.format("2026-03-{}", (pl.col("day") + 8).cast(pl.String).str.zfill(2)),
        start_time=pl.format("2026-03-{} {}:{}:00", (pl.col("day") + 8).cast(pl.String).str.zfill(2),
                             (pl.col("start_min") // 60 % 24).cast(pl.String).str.zfill(2),
                             (pl.col("start_min") % 60).cast(pl.String).str.zfill(2)),
        end_time=pl.format("2026-03-{} 23:59:00", (pl.col("day") + 8).cast(pl.String).str.zfill(2)),
        film_code=(pl.col("i") % 40 + 100000000001).cast(pl.String).str.zfill(12),  # 12 digits (contract)
        film_name=pl.when(pl.col("i") % 2 == 0).then(pl.lit("龙猫（数字）")).otherwise(pl.lit("哪吒之魔童闹海 3D")),
        language=pl.lit("国语"),
        version=pl.when(pl.col("i") % 2 == 0).then(pl.lit("2D")).otherwise(pl.lit("3D")),
        duration_min=(pl.col("i") % 60 + 90).cast(pl.String),
        list_price_fen=pl.lit("6800"),
        sale_price_fen=(pl.col("i") % 20 * 100 + 3000).cast(pl.String),
        service_fee_fen=pl.lit("300"),
        seats_available=(pl.col("i") % 80).cast(pl.String),
        show_status=pl.lit("ON_SALE"),
        partner_update_time=pl.lit("2026-03-08 09:58:12"),
    )


def _frame_competitor(rows: int, seed: int = 7) -> pl.DataFrame:
    """competitor_schedule: a platform's national crawl (~1.4M shows), keys as crawlers send them."""
    i = pl.col("i")
    df = pl.DataFrame({"i": pl.int_range(0, rows, eager=True, dtype=pl.Int64)})
    start = (i * 37 + seed) % (16 * 60) + 9 * 60
    return df.select(
        crawl_ts=pl.lit("2026-03-08 19:55:00"),
        platform=pl.lit("MAOYAN"),
        platform_cinema_id=pl.format("my{}", (i // 90).cast(pl.String).str.zfill(7)),
        cinema_name=pl.format("博纳国际影城北京{}店", i // 90),
        city=pl.when(i % 3 == 0).then(pl.lit("北京")).when(i % 3 == 1).then(pl.lit("上海")).otherwise(pl.lit("成都")),
        platform_film_id=(i % 40 + 400000).cast(pl.String),
        film_name=pl.when(i % 2 == 0).then(pl.lit("哪吒之魔童闹海")).otherwise(pl.lit("唐探1900")),
        platform_show_id=(i + 1000000000).cast(pl.String),
        show_date=pl.format("2026-03-{}", ((i // 30) % 3 + 8).cast(pl.String).str.zfill(2)),
        start_time=pl.format("{}:{}", (start // 60 % 24).cast(pl.String).str.zfill(2),
                             (start % 60).cast(pl.String).str.zfill(2)),
        hall_name=pl.format("{}号厅", (i // 10) % 9 + 1),
        version_text=pl.when(i % 2 == 0).then(pl.lit("国语2D")).otherwise(pl.lit("英语 IMAX3D")),
        price_yuan=pl.format("{}.{}0", i % 40 + 25, i % 10),
        sold_out=(i % 17 == 0),
    )


def _frame_orders(rows: int, seed: int = 7) -> pl.DataFrame:
    """orders: one row per order state change (a national day is ~3M events)."""
    i = pl.col("i")
    df = pl.DataFrame({"i": pl.int_range(0, rows, eager=True, dtype=pl.Int64)})
    sec = (i * 29 + seed) % 86400
    status = ["CREATED", "PAID", "ISSUED", "PRINTED", "CANCELLED", "REFUNDED"]
    return df.select(
        event_ts=pl.format("2026-03-08 {}:{}:{}", (sec // 3600).cast(pl.String).str.zfill(2),
                           (sec // 60 % 60).cast(pl.String).str.zfill(2), (sec % 60).cast(pl.String).str.zfill(2)),
        order_id=pl.format("TK2603{}", (i // 4 + 300000000000).cast(pl.String)),
        partner_code=pl.when(i % 3 == 0).then(pl.lit("FH")).when(i % 3 == 1).then(pl.lit("MTX")).otherwise(pl.lit("DX")),
        partner_order_id=pl.format("P{}", i // 4 + 447580700),
        channel_code=pl.when(i % 5 == 0).then(pl.lit("TAOBAO")).otherwise(pl.lit("APP")),
        user_id=(i // 4 * 2654435761 % 4294967291).cast(pl.String).str.zfill(32),
        mobile=(i % 899999999 + 13600000000).cast(pl.String),
        cinema_code=(i % 15000 + 11000000).cast(pl.String),
        show_code=(i // 8 % 900000000 + 100000000).cast(pl.String).str.zfill(10),
        show_start_time=pl.format("2026-03-09 {}:{}:00", (i % 14 + 10).cast(pl.String).str.zfill(2),
                                  (i % 4 * 15).cast(pl.String).str.zfill(2)),
        hall_name=pl.format("{}号厅(全景声影厅)", i % 9 + 1),
        film_code=(i % 40 + 1100482025).cast(pl.String).str.zfill(12),
        film_name=pl.when(i % 2 == 0).then(pl.lit("唐探1900")).otherwise(pl.lit("罗小黑战记2")),
        version=pl.lit("2D"),
        ticket_count=(i % 3 + 1).cast(pl.String),
        seats=pl.format("{}排{}座", i % 12 + 1, i % 20 + 1),
        unit_price_fen=(i % 30 * 100 + 3990).cast(pl.String),
        service_fee_fen=pl.lit("300"),
        total_fen=((i % 30 * 100 + 4290) * (i % 3 + 1)).cast(pl.String),
        status=pl.Series(status).gather((pl.int_range(0, rows, eager=True) % len(status))),
        status_reason=pl.when(i % 6 == 5).then(pl.lit("用户申请退票")).otherwise(pl.lit("")),
    )


def _frame_pickup(rows: int, seed: int = 7) -> pl.DataFrame:
    """pickup_codes: codes handed to channel partners (bulk allocations included)."""
    i = pl.col("i")
    df = pl.DataFrame({"i": pl.int_range(0, rows, eager=True, dtype=pl.Int64)})
    return df.select(
        allocation_ts=pl.format("2026-03-08 {}:00:00", (i % 24).cast(pl.String).str.zfill(2)),
        channel_partner=pl.when(i % 2 == 0).then(pl.lit("CMB_BANK")).otherwise(pl.lit("TAOBAO")),
        channel_order_id=pl.format("CMB{}", (i * 7919 + seed).cast(pl.String).str.zfill(14)),
        order_id=pl.format("TK2603{}", (i + 300000000000).cast(pl.String)),
        cinema_code=(i % 15000 + 11000000).cast(pl.String),
        show_code=(i // 3 % 900000000 + 100000000).cast(pl.String).str.zfill(10),
        show_start_time=pl.format("2026-03-10 {}:35:00", (i % 14 + 10).cast(pl.String).str.zfill(2)),
        pickup_code=(i * 104729 % 899999999999 + 100000000000).cast(pl.String),
        verify_code=(i * 7 % 900000 + 100000).cast(pl.String),
        seats=pl.format("{}排{}座", i % 12 + 1, i % 20 + 1),
        ticket_count=(i % 2 + 1).cast(pl.String),
        status=pl.when(i % 9 == 0).then(pl.lit("DELIVERED")).otherwise(pl.lit("ALLOCATED")),
    )


FRAMES = {"partner_schedule": _frame_partner, "competitor_schedule": _frame_competitor,
          "orders": _frame_orders, "pickup_codes": _frame_pickup}
# National sizes: one partner snapshot, one platform's crawl, a day of order events, a day of codes.
ROWS = {"partner_schedule": 1_300_000, "competitor_schedule": 1_400_000, "orders": 3_000_000,
        "pickup_codes": 400_000}
SOURCES = {"partner_schedule": "FH", "competitor_schedule": "MAOYAN", "orders": "internal",
           "pickup_codes": "CMB_BANK"}


def _for_jsonl(df: pl.DataFrame, feed: str) -> pl.DataFrame:
    """JSON Lines as a producer would write it: integer and fen columns as JSON numbers, booleans as
    booleans, the rest as strings."""
    from ticket_dq.lib import contract

    types = dict(contract.FEEDS[feed].columns)
    casts = [pl.col(c).cast(pl.Int64) for c in df.columns if types.get(c) in ("int", "fen")]
    return df.with_columns(casts) if casts else df


def generate(path: Path, feed: str, fmt: str, rows: int, encoding: str = "utf-8", seed: int = 7) -> int:
    """Write ``rows`` records of ``feed`` as ``fmt`` (csv | jsonl) to ``path``."""
    df = FRAMES[feed](rows, seed)
    if fmt == "jsonl":
        df = _for_jsonl(df, feed)
        if encoding == "utf-8":
            df.write_ndjson(path)
        else:
            path.write_bytes(df.write_ndjson().encode(encoding))
    elif encoding == "utf-8":
        df.write_csv(path)
    else:
        path.write_bytes(df.write_csv().encode(encoding))
    return df.height


def generate_snapshot(path: Path, rows: int, encoding: str = "utf-8", seed: int = 7) -> int:
    """A partner_schedule snapshot CSV (kept for callers of the single-feed benchmark)."""
    return generate(path, "partner_schedule", "csv", rows, encoding, seed)


# Read the measured file through once, untimed, so both sides start from the same page cache.
WARM = """
with open(sys.argv[-1], "rb", buffering=0) as fh:
    buf = bytearray(8 << 20)
    while fh.readinto(buf):
        pass
"""

FLOOR = """
import resource, sys, time, duckdb
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
""" + WARM + """
con = duckdb.connect(sys.argv[2])
c, w = cpu(), time.perf_counter()
con.execute(f"CREATE TABLE t AS SELECT * FROM {sys.argv[3]}(?)", [sys.argv[1]])
c, w = cpu() - c, time.perf_counter() - w
print(con.execute("SELECT count(*) FROM t").fetchone()[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, c, w, 1, "duckdb")
"""

OURS = """
import resource, sys, time
from datetime import datetime
from ticket_dq.lib import ingest, warehouse
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
""" + WARM + """
with warehouse.connect(sys.argv[2]) as con:
    c, w = cpu(), time.perf_counter()
    r = ingest.ingest_feed(con, sys.argv[1], sys.argv[3], "bench", datetime(2026, 3, 8, 21, 5))
    c, w = cpu() - c, time.perf_counter() - w
    f = r.files[0]
    assert f.status == "INGESTED" and f.rows_quarantined == 0, f
    print(f.rows_ingested, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, c, w, int(f.fast_path),
          f.fast_reader or "careful")
"""


def _generate(path: Path, feed: str, fmt: str, rows: int, encoding: str) -> int:
    """Generate in a child process: Linux carries a parent's peak RSS into children it forks, so the
    parent must stay small for the per-path peak RSS figures to mean anything."""
    code = ("import sys; from pathlib import Path; from bench.ingest import generate; "
            "print(generate(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))")
    out = subprocess.run([sys.executable, "-c", code, str(path), feed, fmt, str(rows), encoding], check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    return int(out.strip())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def _run(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter: the work's own CPU and wall (measured inside the child),
    the whole child's CPU and wall, and its peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"benchmark step failed (status {status}): {out}")
    # CPU seconds as well as wall: the machine is shared, and CPU time is less disturbed by other load.
    rows, maxrss_kb, cpu, work_wall, fast, reader = out.strip().splitlines()[-1].split()
    return {"cpu_s": float(cpu), "wall_s": float(work_wall), "process_cpu_s": usage.ru_utime + usage.ru_stime,
            "process_wall_s": wall, "peak_rss_mb": int(maxrss_kb) / 1024, "rows": int(rows), "fast_path": int(fast),
            "reader": reader}


def _rounded(v):
    return round(v, 2) if isinstance(v, (int, float)) else v


def _median_run(runs: list[dict]) -> dict:
    """Each numeric figure's median over the rounds (peak RSS: the largest); the reader of the first."""
    out = {k: statistics.median(r[k] for r in runs) for k in ("cpu_s", "wall_s", "process_cpu_s", "process_wall_s")}
    return {**runs[0], **out, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}


def bench_one(work: Path, feed: str, fmt: str, rows: int, encoding: str = "utf-8", rounds: int = 3) -> dict:
    """Generate one file of ``feed`` as ``fmt``, run the floor and ours on it ``rounds`` times,
    alternating; the result row."""
    source = SOURCES[feed]
    folder = work / "landing" / feed / source / "2026-03-08"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{feed}_1000"
    data = folder / f"{stem}.{fmt}"
    t = time.perf_counter()
    rows = _generate(data, feed, fmt, rows, encoding)
    gen_s = time.perf_counter() - t
    (folder / f"_manifest_{stem}.json").write_text(json.dumps({
        "file": data.name, "feed": feed, "source": source, "rows": rows, "sha256": _sha256(data),
        "snapshot_ts": "2026-03-08 10:00:00", "schema_version": 1}))
    floor_file = data
    if encoding != "utf-8":
        # DuckDB has no GB18030 reader: its floor reads the same rows written as UTF-8.
        floor_file = work / f"floor_utf8.{fmt}"
        _generate(floor_file, feed, fmt, rows, "utf-8")
    try:
        reader = "read_json" if fmt == "jsonl" else "read_csv"
        floors, ours_runs = [], []
        for _ in range(rounds):
            for f in (work / "floor.duckdb", work / "floor.duckdb.wal", work / "ours.duckdb", work / "ours.duckdb.wal"):
                f.unlink(missing_ok=True)
            floors.append(_run(FLOOR, str(floor_file), str(work / "floor.duckdb"), reader, str(floor_file)))
            ours_runs.append(_run(OURS, str(work / "landing"), str(work / "ours.duckdb"), feed, str(data)))
            assert floors[-1]["rows"] == rows and ours_runs[-1]["rows"] == rows, (floors[-1], ours_runs[-1], rows)
        floor, ours = _median_run(floors), _median_run(ours_runs)
        return {
            "feed": feed, "format": fmt, "encoding": encoding, "rows": rows,
            "file_mb": round(data.stat().st_size / 2**20, 1), "generate_s": round(gen_s, 2),
            "cpus": os.cpu_count(), "rounds": rounds, "floor": {k: _rounded(v) for k, v in floor.items()},
            "ours": {k: _rounded(v) for k, v in ours.items()},
            "ratio_cpu": round(ours["cpu_s"] / floor["cpu_s"], 2),
            "ratio_wall": round(ours["wall_s"] / floor["wall_s"], 2),
            "ratio_process_cpu": round(ours["process_cpu_s"] / floor["process_cpu_s"], 2),
            "per_round": [{"floor_wall_s": round(f["wall_s"], 2), "ours_wall_s": round(o["wall_s"], 2),
                           "ratio_wall": round(o["wall_s"] / f["wall_s"], 2),
                           "ratio_cpu": round(o["cpu_s"] / f["cpu_s"], 2)} for f, o in zip(floors, ours_runs)],
        }
    finally:
        for f in (work / "floor.duckdb", work / "floor.duckdb.wal", work / "ours.duckdb", work / "ours.duckdb.wal",
                  floor_file, data):
            f.unlink(missing_ok=True)
        shutil.rmtree(work / "landing", ignore_errors=True)


def print_table(results: list[dict]) -> None:
    print(f"{'feed':<21}{'fmt':<6}{'enc':<8}{'path':<11}{'rows':>11}{'MiB':>6}{'floor CPU':>10}{'ours CPU':>9}{'x CPU':>7}"
          f"{'floor wall':>11}{'ours wall':>10}{'x wall':>7}{'RSS floor':>10}{'RSS ours':>9}")
    for r in results:
        f, o = r["floor"], r["ours"]
        path = o.get("reader") or ("fast" if o["fast_path"] else "careful")
        print(f"{r['feed']:<21}{r['format']:<6}{r['encoding']:<8}{path:<11}{r['rows']:>11,}{r['file_mb']:>6.0f}"
              f"{f['cpu_s']:>10.2f}{o['cpu_s']:>9.2f}{r['ratio_cpu']:>7.2f}{f['wall_s']:>11.2f}{o['wall_s']:>10.2f}"
              f"{r['ratio_wall']:>7.2f}{f['peak_rss_mb']:>10,.0f}{o['peak_rss_mb']:>9,.0f}")
    print("CPU and wall of the work itself (inside each child; start-up and imports excluded); RSS in MB; "
          "path = how ours was read: DuckDB's reader (csv; jsonl = values as VARCHAR, jsonl-json = JSON columns) "
          "or split here (careful)")


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feed", default="partner_schedule", choices=sorted(FRAMES))
    ap.add_argument("--format", default=None, choices=["csv", "jsonl"], help="default: the feed's own format")
    ap.add_argument("--all", action="store_true", help="every feed in both formats")
    ap.add_argument("--rows", type=int, default=None, help="default: national size of the feed")
    ap.add_argument("--encoding", default="utf-8", choices=["utf-8", "gb18030"])
    ap.add_argument("--rounds", type=int, default=3, help="floor / ours rounds per file, alternating (medians)")
    ap.add_argument("--keep", default=None, help="work directory to keep (default: a temp dir, removed)")
    args = ap.parse_args(argv)
    from ticket_dq.lib import contract

    if args.all:
        cases = [(feed, fmt) for feed in FRAMES for fmt in (contract.FEEDS[feed].fmt,
                                                              {"csv": "jsonl", "jsonl": "csv"}[contract.FEEDS[feed].fmt])]
    else:
        cases = [(args.feed, args.format or contract.FEEDS[args.feed].fmt)]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    results = []
    try:
        for feed, fmt in cases:
            r = bench_one(work, feed, fmt, args.rows or ROWS[feed], args.encoding, args.rounds)
            results.append(r)
            print_table([r])
            RESULTS.mkdir(parents=True, exist_ok=True)
            suffix = "" if args.encoding == "utf-8" else f"_{args.encoding}"
            (RESULTS / f"ingest_{feed}_{fmt}{suffix}.json").write_text(json.dumps(r, indent=2))
            if not args.all and (feed, fmt) == ("partner_schedule", "csv"):
                (RESULTS / f"ingest{suffix}.json").write_text(json.dumps(r, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\ningest benchmark, {os.cpu_count()} CPUs")
    print_table(results)
    if args.all:
        (RESULTS / "ingest_all.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
