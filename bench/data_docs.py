"""Benchmark: one Data Docs build with GX's own Jinja views against ``docs_views`` (one environment
per process), the partner suite on a small snapshot.

    .venv/bin/python -m bench.data_docs [--builds 12] [--rows 2000]

Each view kind runs in its own process: ``run_suite`` with Data Docs ``--builds`` times over the same
rows (their files forgotten between builds, so every run validates and renders), each
``runner._build_docs`` timed. The first build of a process pays for what it compiles; the figure is
the median of the others. Prints the medians and their ratio, writes bench/results/data_docs.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.validation import GEN_SQL

RESULTS = Path(__file__).parent / "results" / "data_docs.json"


def _child(views: str, builds: int, rows: int) -> dict:
    from ticket_dq.lib import warehouse
    from ticket_dq.lib.validation import docs_views, run_suite, runner, store
    from ticket_dq.lib.validation.suites import PARTNER_SCHEDULE

    if views == "gx":
        docs_views.site_views = lambda: {}  # GX's default views
    times: list[float] = []
    build = runner._build_docs

    def timed(*args):
        t0 = time.perf_counter()
        try:
            return build(*args)
        finally:
            times.append(time.perf_counter() - t0)

    runner._build_docs = timed
    with tempfile.TemporaryDirectory() as tmp, warehouse.connect(Path(tmp) / "w.duckdb") as con:
        con.execute(GEN_SQL, [rows])
        store.ensure_tables(con)
        for i in range(builds):
            con.execute(f"DELETE FROM {store.FILES_TABLE}")
            run_suite(con, PARTNER_SCHEDULE, run_id=f"b{i}", validated_at=datetime(2026, 3, 8, 11, i),
                      docs_dir=Path(tmp) / "docs")
    return {"views": views, "first_ms": round(times[0] * 1000, 1),
            "median_ms": round(statistics.median(times[1:]) * 1000, 1), "builds": len(times)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--builds", type=int, default=12)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--child", default=None)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.builds, args.rows)))
        return {}
    out = {}
    for views in ("gx", "shared"):
        done = subprocess.run([sys.executable, "-m", "bench.data_docs", "--child", views, "--builds", str(args.builds),
                               "--rows", str(args.rows)], capture_output=True, text=True, check=True)
        out[views] = json.loads(done.stdout.strip().splitlines()[-1])
    result = {"measured_at": datetime.now().isoformat(timespec="seconds"), "rows": args.rows, **out,
              "ratio_gx_to_shared": round(out["gx"]["median_ms"] / out["shared"]["median_ms"], 2)}
    for views in ("gx", "shared"):
        print(f"{views:7s} first build {out[views]['first_ms']:7.1f} ms, median of the rest {out[views]['median_ms']:7.1f} ms")
    print(f"GX's views / shared environment: {result['ratio_gx_to_shared']}x")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
