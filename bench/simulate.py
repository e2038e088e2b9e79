"""Benchmark: generate a national day of feeds (15,000 cinemas, one snapshot per partner, one crawl per
platform, a day of orders) into a temp folder and measure wall time, rows/s and peak RSS.

    .venv/bin/python -m bench.simulate [--cinemas 15000] [--days 1] [--snapshots-per-day 1] [--keep DIR]

The generation runs in a child process so its peak RSS is its own (ru_maxrss of the child). Prints a
table and writes bench/results/simulate.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "simulate.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.simulate")
    ap.add_argument("--cinemas", type=int, default=15000)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--snapshots-per-day", type=int, default=1)
    ap.add_argument("--crawls-per-day", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep it (default: temp, deleted)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_sim_") as tmp:
        out = a.keep or Path(tmp) / "landing"
        cmd = [sys.executable, "-m", "ticket_dq.cli", "simulate", "national", "--out", str(out),
               "--cinemas", str(a.cinemas), "--days", str(a.days), "--snapshots-per-day", str(a.snapshots_per_day),
               "--crawls-per-day", str(a.crawls_per_day)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        sim = json.loads((out / "_truth" / "sim.json").read_text(encoding="utf-8"))
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    files = sim["files"]
    partner_rows = files["partner_schedule"]["rows"]
    total_rows = sum(v["rows"] for v in files.values())
    per_snapshot = partner_rows / max(1, sum(p["snapshots"] for p in sim["partners"].values()) / len(sim["partners"]))
    orders = sim["orders"]
    res = {
        "cinemas": a.cinemas, "days": a.days, "snapshots_per_day": a.snapshots_per_day,
        "wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb), "output_mb": round(size / 2**20),
        "partner_rows": partner_rows, "partner_rows_per_snapshot_set": round(per_snapshot),
        "competitor_rows": files["competitor_schedule"]["rows"], "order_events": files["orders"]["rows"],
        "orders": orders, "pickup_rows": files["pickup_codes"]["rows"], "total_rows": total_rows,
        "rows_per_s": round(total_rows / wall), "faults": sum(sim["faults"].values()),
        "benign": sum(sim["benign"].values()),
    }
    width = max(len(k) for k in res)
    print("bench.simulate — national day generation")
    for k, v in res.items():
        print(f"  {k:<{width}}  {v:,}" if isinstance(v, (int, float)) else f"  {k:<{width}}  {v}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
