"""Benchmark: ingest a national partner snapshot CSV (>= 1.2M rows) vs DuckDB's own read_csv (the floor).

    .venv/bin/python -m bench.ingest [--rows 1300000] [--encoding utf-8|gb18030] [--keep DIR]

Generates a realistic snapshot with a fast vectorised generator (Polars), then times, each in its own
subprocess so peak RSS is measured per path:
  floor  CREATE TABLE AS SELECT * FROM read_csv(file)         (DuckDB alone, types auto-detected)
  ours   ingest_feed(...) on a landing area holding the file  (sha256, encoding detection, record
         split, typing per contract, quarantine checks, lineage, ledger, one transaction)
Prints a small table and writes bench/results/ingest.json (ingest_gb18030.json for --encoding gb18030).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

RESULTS = Path(__file__).resolve().parent / "results"


def generate_snapshot(path: Path, rows: int, encoding: str = "utf-8", seed: int = 7) -> int:
    """A partner_schedule snapshot with contract columns, Chinese names, a few quoted fields."""
    idx = pl.int_range(0, rows, eager=True, dtype=pl.Int64)
    cinema = idx // 90  # ~90 shows per cinema and 3 days -> ~15k cinemas
    hall = (idx // 10) % 9 + 1
    start_min = (idx * 37 + seed) % (16 * 60) + 9 * 60  # 09:00 .. 24:59 -> some after midnight
    day = (idx // 30) % 3
    df = pl.DataFrame({"i": idx, "cinema": cinema, "hall": hall, "start_min": start_min, "day": day}).select(
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
    if encoding == "utf-8":
        df.write_csv(path)
    else:
        path.write_bytes(df.write_csv().encode(encoding))
    return df.height


FLOOR = """
import resource, sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header = true)", [sys.argv[1]])
print(con.execute("SELECT count(*) FROM t").fetchone()[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

OURS = """
import resource, sys
from datetime import datetime
from ticket_dq.lib import ingest, warehouse
with warehouse.connect(sys.argv[2]) as con:
    r = ingest.ingest_feed(con, sys.argv[1], "partner_schedule", "bench", datetime(2026, 3, 8, 10, 5))
    f = r.files[0]
    assert f.status == "INGESTED", f
    print(f.rows_ingested, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _generate(path: Path, rows: int, encoding: str) -> int:
    """Generate in a child process: Linux carries a parent's peak RSS into children it forks, so the
    parent must stay small for the per-path peak RSS figures to mean anything."""
    code = ("import sys; from pathlib import Path; from bench.ingest import generate_snapshot; "
            "print(generate_snapshot(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(rows), encoding], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent).stdout
    return int(out.strip())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def _run(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; wall time and that process's peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"benchmark step failed (status {status}): {out}")
    # CPU seconds as well as wall: the machine is shared, and CPU time is less disturbed by other load.
    rows, maxrss_kb = (int(x) for x in out.strip().splitlines()[-1].split())
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": maxrss_kb / 1024, "rows": rows}


def _startup() -> float:
    """Interpreter + import cost of our path, subtracted to compare the work itself."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import duckdb, polars, numpy; import ticket_dq.lib.ingest"],
                   check=True, cwd=Path(__file__).resolve().parent.parent)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_300_000)
    ap.add_argument("--encoding", default="utf-8", choices=["utf-8", "gb18030"])
    ap.add_argument("--keep", default=None, help="work directory to keep (default: a temp dir, removed)")
    args = ap.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    try:
        folder = work / "landing" / "partner_schedule" / "FH" / "2026-03-08"
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / "snapshot_1000.csv"
        t = time.perf_counter()
        rows = _generate(data, args.rows, args.encoding)
        gen_s = time.perf_counter() - t
        sha = _sha256(data)
        (folder / "_manifest_snapshot_1000.json").write_text(json.dumps({
            "file": data.name, "feed": "partner_schedule", "source": "FH", "rows": rows, "sha256": sha,
            "snapshot_ts": "2026-03-08 10:00:00", "schema_version": 1}))
        size_mb = data.stat().st_size / 2**20
        floor_file = data
        if args.encoding != "utf-8":
            # DuckDB has no GB18030 reader: its floor reads the same rows written as UTF-8.
            floor_file = work / "floor_utf8.csv"
            _generate(floor_file, args.rows, "utf-8")

        startup = _startup()
        floor = _run(FLOOR, str(floor_file), str(work / "floor.duckdb"))
        ours = _run(OURS, str(work / "landing"), str(work / "ours.duckdb"))
        assert floor["rows"] == rows and ours["rows"] == rows, (floor, ours, rows)
        result = {
            "rows": rows, "file_mb": round(size_mb, 1), "encoding": args.encoding, "generate_s": round(gen_s, 2),
            "cpus": os.cpu_count(), "startup_s": round(startup, 2),
            "floor": {k: round(v, 2) for k, v in floor.items()},
            "ours": {k: round(v, 2) for k, v in ours.items()},
            "ratio_wall": round(ours["wall_s"] / floor["wall_s"], 2),
            "ratio_cpu": round(ours["cpu_s"] / floor["cpu_s"], 2),
            "ratio_wall_minus_startup": round((ours["wall_s"] - startup) / max(floor["wall_s"] - startup, 1e-6), 2),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(f"ingest benchmark: {rows:,} partner_schedule rows, {size_mb:.0f} MiB CSV ({args.encoding}), "
          f"{os.cpu_count()} CPUs")
    print(f"{'path':<34}{'wall s':>9}{'CPU s':>8}{'rows/s':>13}{'peak RSS MB':>13}")
    for name, r in (("floor: duckdb read_csv -> table", floor), ("ours: ingest_feed (all checks)", ours)):
        print(f"{name:<34}{r['wall_s']:>9.2f}{r['cpu_s']:>8.2f}{rows / r['wall_s']:>13,.0f}{r['peak_rss_mb']:>13,.0f}")
    print(f"ratio ours/floor: wall {result['ratio_wall']:.2f}x "
          f"({result['ratio_wall_minus_startup']:.2f}x without {startup:.1f}s interpreter+import start-up), "
          f"CPU {result['ratio_cpu']:.2f}x")
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.encoding == "utf-8" else f"_{args.encoding}"
    (RESULTS / f"ingest{suffix}.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
