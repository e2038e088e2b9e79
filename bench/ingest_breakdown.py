"""Benchmark: where the fast path's CPU goes beyond DuckDB's bare read of the same file, stage by stage.

    .venv/bin/python -m bench.ingest_breakdown [--case orders_jsonl ...] [--reps 3]   # default: every feed x format

``bench.ingest`` gives one ratio per file; this takes the same file (same generator, national size) apart.
A child process per file times each stage below, the stages taken in turn within each round and the
median over ``--reps`` rounds reported (the host is shared: a stage's neighbours in time are the other
stages, not the same one):

  floor        CREATE TABLE AS SELECT * FROM read_csv / read_json(file)      (bench.ingest's floor)
  product      ingest_feed on a fresh warehouse                                (bench.ingest's "ours")
  scan         decode.scan_file: sha256 in its own thread, lines, CR, JSON byte pairs
    sha256     the manifest's hash alone; "counts" below is scan CPU minus it
  parts copy   file_parts.cut_file into $TMPDIR (the product copies them beside the scan)
  then CREATE TABLE AS over the parts, side by side, each stage adding one thing to the one before:
  read         DuckDB's reader of each part, every column VARCHAR
  + lines      the positional join that numbers the records (``decode.fast_csv_source_sql`` /
               ``plain_jsonl_source_sql`` without extras)
  + checks     JSON Lines: the per-row test that every key was there and no text is a real DuckDB
               wrote in exponent form (the extras column); CSV: nothing more
  + typing     ``decode.typed_select_sql``: casts, per-row reasons, key checks, good rows only
  + lineage    source, file, line, ingest time, run id: the raw table's INSERT shape

Composed (scan + copy + the last stage), the stages are the product's work and nothing else; the
product's own runs are printed beside them (docs/ingestion.md reads the difference). Prints a table per
file and writes bench/results/ingest_breakdown.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.ingest import RESULTS, ROOT, ROWS, SOURCES, _sha256

STAGES = ("floor", "product", "scan", "sha256", "parts copy", "read", "+ lines", "+ checks", "+ typing", "+ lineage")
NOW = datetime(2026, 3, 8, 21, 5)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn) -> tuple[float, float]:
    c, w = _cpu(), time.perf_counter()
    fn()
    return _cpu() - c, time.perf_counter() - w


class _File:
    """One landed file and the product's SQL for it (the fast path's, as ``ingest._stage`` builds it)."""

    def __init__(self, landing: Path, feed: str, fmt: str):
        from ticket_dq.lib import contract, decode, ingest, landing as landing_mod, variants

        self.fmt = fmt
        (self.delivery,) = landing_mod.discover(landing, feed)
        self.path = self.delivery.data_path
        scan = decode.scan_file(self.path, jsonl=fmt == "jsonl")
        header = variants.csv_header(scan.head) if fmt == "csv" else None
        self.feed = variants.as_delivered(contract.FEEDS[feed], fmt, header)
        self.parsed = ingest._fast(self.feed, scan, self.path, self.delivery.rows_manifest)
        if self.parsed is None or (fmt == "jsonl" and self.parsed.plain is None):
            raise SystemExit(f"{self.path.name}: not read by the fast path's plain reading")
        self.scan = scan

    def cut(self, out_dir: Path, parts: int):
        from ticket_dq.lib import file_parts

        return file_parts.cut_file(self.path, self.scan.size, self.scan.block_marks, self.scan.physical_lines,
                                   parts, out_dir)

    def stage_sql(self, con, parts) -> dict[str, tuple[str, dict]]:
        """SELECT per CREATE TABLE AS stage over ``parts``, with its parameters."""
        from ticket_dq.lib import decode, ingest

        con.execute("BEGIN")
        source, params, names, feed = ingest._stage(con, self.feed, self.parsed, self.path, parts)
        con.execute("COMMIT")
        readers, _ = ingest._readers(self.path, parts, self.parsed.rows_in_file, csv=self.fmt == "csv")
        if self.fmt == "csv":
            read = [decode.fast_csv_reader_sql(self.parsed.header, r) for r in readers]
        else:
            read = [decode.plain_jsonl_reader_sql(names, r) for r in readers]
        typed = decode.typed_select_sql(feed, source, "__bad" if self.fmt == "jsonl" else None)
        raw = ", ".join(c for c, _ in feed.raw_columns())
        good = f"FROM ({typed}) WHERE {decode.REASON} IS NULL AND {decode.LINE} IS NOT NULL"
        lineage = {"source": self.delivery.source, "file": self.delivery.file, "now": NOW, "run": "bench"}
        return {
            "read": (" UNION ALL ".join(f"SELECT * FROM {r}" for r in read), params),
            "+ lines": (f"SELECT * EXCLUDE ({decode.EXTRAS}) FROM {source}", params),
            "+ checks": (f"SELECT * FROM {source}", params),
            "+ typing": (f"SELECT {raw}, {decode.EXTRAS} {good}", params),
            "+ lineage": (f"SELECT {raw}, $source AS source, $file AS ingest_file, {decode.LINE} AS ingest_line, "
                          f"$now AS ingested_at, $run AS ingest_run_id, {decode.EXTRAS} {good}",
                          {**params, **lineage}),
        }


def measure(landing: Path, feed: str, fmt: str, reps: int, work: Path) -> dict:
    """In this process: every stage ``reps`` times, round-robin; per stage the median CPU and wall."""
    import duckdb

    from ticket_dq.lib import decode, file_parts, ingest, warehouse

    f = _File(landing, feed, fmt)
    con = duckdb.connect(str(work / "stages.duckdb"))
    k = file_parts.part_count(f.scan.size, ingest._reader_threads(con))  # as many parts as the product cuts
    parts_dir = work / "parts"
    parts_dir.mkdir(exist_ok=True)
    parts = f.cut(parts_dir, k)
    sql = f.stage_sql(con, parts)
    reader = "read_json" if fmt == "jsonl" else "read_csv"
    times: dict[str, list[tuple[float, float]]] = {s: [] for s in STAGES}

    def create(select: str, params: dict, keep_order: bool) -> tuple[float, float]:
        con.execute("DROP TABLE IF EXISTS t")
        con.execute("CHECKPOINT")
        con.execute(f"SET preserve_insertion_order = {str(keep_order).lower()}")
        return _timed(lambda: con.execute(f"CREATE TABLE t AS {select}", params))

    def sha256() -> tuple[float, float]:
        with open(f.path, "rb", buffering=0) as fh:
            return _timed(lambda: hashlib.file_digest(fh, "sha256"))

    def product() -> tuple[float, float]:
        db = work / "product.duckdb"
        for p in (db, Path(f"{db}.wal")):
            p.unlink(missing_ok=True)
        with warehouse.connect(db) as wcon:
            out = {}
            t = _timed(lambda: out.setdefault("r", ingest.ingest_feed(wcon, landing, feed, "bench", NOW)))
        (res,) = out["r"].files
        assert res.status == "INGESTED" and res.rows_quarantined == 0 and res.fast_reader == fmt, res
        return t

    def copy() -> tuple[float, float]:
        with tempfile.TemporaryDirectory(dir=work) as d:
            return _timed(lambda: f.cut(Path(d), k))

    for _ in range(reps):
        times["floor"].append(create(f"SELECT * FROM {reader}($path)", {"path": str(f.path)}, True))
        times["product"].append(product())
        times["scan"].append(_timed(lambda: decode.scan_file(f.path, jsonl=fmt == "jsonl")))
        times["sha256"].append(sha256())
        times["parts copy"].append(copy())
        for stage, (select, params) in sql.items():
            times[stage].append(create(select, params, False))
    con.close()
    return {s: {"cpu_s": round(statistics.median(c for c, _ in v), 2),
                "wall_s": round(statistics.median(w for _, w in v), 2),
                "cpu_runs": [round(c, 2) for c, _ in v]} for s, v in times.items()}


def _case(work: Path, feed: str, fmt: str, reps: int, rows: int) -> dict:
    folder = work / "landing" / feed / SOURCES[feed] / "2026-03-08"
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{feed}_1000.{fmt}"
    code = ("import sys; from pathlib import Path; from bench.ingest import generate; "
            "print(generate(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])))")
    rows = int(subprocess.run([sys.executable, "-c", code, str(data), feed, fmt, str(rows)], check=True,
                              capture_output=True, text=True, cwd=ROOT).stdout)
    (folder / f"_manifest_{feed}_1000.json").write_text(json.dumps({
        "file": data.name, "feed": feed, "source": SOURCES[feed], "rows": rows, "sha256": _sha256(data),
        "snapshot_ts": "2026-03-08 10:00:00", "schema_version": 1}))
    mb = round(data.stat().st_size / 2**20, 1)
    try:
        out = subprocess.run([sys.executable, "-m", "bench.ingest_breakdown", "--child", str(work), feed, fmt,
                              str(reps)], check=True, capture_output=True, text=True, cwd=ROOT).stdout
        stages = json.loads(out.strip().splitlines()[-1])
    finally:
        for p in list(work.iterdir()):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    return {"feed": feed, "format": fmt, "rows": rows, "file_mb": mb, "reps": reps, "cpus": os.cpu_count(),
            "stages": stages}


def increments(r: dict) -> list[tuple[str, float, float]]:
    """(stage, CPU s it adds, that as a share of the floor's CPU) for the parts of the product's work."""
    s = r["stages"]
    floor = s["floor"]["cpu_s"]
    cpu = {k: v["cpu_s"] for k, v in s.items()}
    rows = [("sha256", cpu["sha256"]), ("counts (scan - sha256)", cpu["scan"] - cpu["sha256"]),
            ("parts copy", cpu["parts copy"]), ("read (VARCHAR, parts)", cpu["read"])]
    order = ["read", "+ lines", "+ checks", "+ typing", "+ lineage"]
    rows += [(b, cpu[b] - cpu[a]) for a, b in zip(order, order[1:])]
    return [(name, round(v, 2), round(v / floor, 2)) for name, v in rows]


def print_case(r: dict) -> None:
    s = r["stages"]
    floor = s["floor"]["cpu_s"]
    composed = s["scan"]["cpu_s"] + s["parts copy"]["cpu_s"] + s["+ lineage"]["cpu_s"]
    print(f"\n{r['feed']} {r['format']}: {r['rows']:,} rows, {r['file_mb']} MiB, median of {r['reps']}")
    print(f"  floor    CPU {floor:6.2f} s  wall {s['floor']['wall_s']:5.2f} s")
    print(f"  product  CPU {s['product']['cpu_s']:6.2f} s  wall {s['product']['wall_s']:5.2f} s  "
          f"= {s['product']['cpu_s'] / floor:.2f}x CPU, {s['product']['wall_s'] / s['floor']['wall_s']:.2f}x wall; "
          f"stages composed {composed:.2f} s = {composed / floor:.2f}x")
    for name, v, share in increments(r):
        print(f"  {name:<24} {v:6.2f} s  {share:5.2f}x floor")


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help="feed_format, e.g. orders_jsonl (repeatable; default: all)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rows", type=int, default=None, help="default: national size of the feed (bench.ingest)")
    ap.add_argument("--child", nargs=4, metavar=("WORK", "FEED", "FMT", "REPS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        work, feed, fmt, reps = args.child
        print(json.dumps(measure(Path(work) / "landing", feed, fmt, int(reps), Path(work))))
        return []
    cases = args.case or [f"{feed}_{fmt}" for feed in ROWS for fmt in ("csv", "jsonl")]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_breakdown_") as tmp:
        for case in cases:
            feed, fmt = case.rsplit("_", 1)
            r = _case(Path(tmp), feed, fmt, args.reps, args.rows or ROWS[feed])
            print_case(r)
            results.append(r)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest_breakdown.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
