"""Replay the two order-state scripts as a full run on a copy of a kept warehouse, for one or more
source trees in alternation, so a change to them is measured on the same data in the same conditions:

    .venv/bin/python -m bench.record_day --keep --dir /tmp/record_day        # a record day's warehouse
    .venv/bin/python -m bench.order_state_replay /tmp/record_day/record/wh/ticket_dq.duckdb OLD_TREE NEW_TREE

Each run: copy the warehouse, drop cur.order_state / cur.order_outcome and their file state, run
``order_state`` then ``order_outcome`` under a 4 GB DuckDB limit in a child process importing
``ticket_dq`` from the tree; print wall and CPU seconds per script, row counts, a hash of every row
(equal across trees when the change keeps the results) and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r'''
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from ticket_dq import settings
from ticket_dq.lib import warehouse
from ticket_dq.lib.detection import scripts
with warehouse.connect(sys.argv[2]) as con:
    con.execute(f"SET memory_limit = '{sys.argv[3]}'")
    con.execute("SET enable_progress_bar = false")
    for t in ("cur.order_state", "cur.order_state_files", "cur.order_outcome", "cur.order_outcome_files"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    out = {}
    for name in ("order_state", "order_outcome"):
        t0, c0 = time.perf_counter(), time.process_time()
        scripts.run(con, name, now=settings.now())
        out[name] = {"wall_s": round(time.perf_counter() - t0, 1), "cpu_s": round(time.process_time() - c0, 1)}
    out["rows"] = con.execute("SELECT (SELECT count(*) FROM cur.order_state), "
                              "(SELECT count(*) FROM cur.order_outcome)").fetchone()
    out["row_hash"] = [str(v) for v in con.execute(
        "SELECT (SELECT sum(hash(t::VARCHAR)) FROM cur.order_state t), "
        "(SELECT sum(hash(t::VARCHAR)) FROM cur.order_outcome t)").fetchone()]
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps(out))
'''


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("trees", nargs="+", type=Path, help="source trees holding ticket_dq/")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--now", default="2026-03-08 23:30:00", help="TICKET_DQ_NOW (the record day's clock)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=a.warehouse.parent.parent) as tmp:
        copy = Path(tmp) / "ticket_dq.duckdb"
        for _ in range(a.reps):
            for tree in a.trees:
                shutil.copy(a.warehouse, copy)
                env = {**os.environ, "PYTHONPATH": str(tree), "TICKET_DQ_NOW": a.now}
                done = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(copy), a.memory_limit],
                                      env=env, capture_output=True, text=True)
                print(tree, done.stdout.strip() if done.returncode == 0 else "FAILED\n" + done.stderr[-3000:],
                      flush=True)
                copy.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
