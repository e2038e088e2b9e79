"""Same candidates before and after a change of the detection SQL, on bench.detection's synthetic national day.

    .venv/bin/python -m bench.detection_identity --base <git rev> [--cinemas 15000] [--orders 800000]

Builds the synthetic day once, then runs bench.detection's pipeline (full, then one new P0 snapshot through
the incremental path) twice on copies of it: with the compare SQL of ``--base`` (read with ``git show``) and
with the working tree's. Every candidate table and ``cur.order_state`` must hold the same rows (a multiset;
JSON evidence compared with its keys sorted, so a different key order is no difference). Prints the step
times of both and the comparison; exit status 1 when a table differs. ``--base`` must follow the same script
contract (``lib/detection/sql``, candidates left in TEMP ``candidates_new``): older revisions wrote their tables
themselves.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import duckdb

from bench import detection

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = "ticket_dq/lib/detection/sql"
TABLES = ["cur.order_state"] + [f"cand.{t}" for t in ("feed_health", "unmapped_entity", "schedule_discrepancy",
                                                      "schedule_integrity", "order_show", "seat_double_sold",
                                                      "pickup_code")]


def base_sql(rev: str, out: Path) -> Path:
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{rev}:{SQL_DIR}"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for n in names:
        text = subprocess.run(["git", "show", f"{rev}:{SQL_DIR}/{n}"], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout
        (out / n).write_text(text, encoding="utf-8")
    return out


def _canon(v):
    if isinstance(v, str) and v[:1] in "{[":
        try:
            return json.dumps(json.loads(v), sort_keys=True, ensure_ascii=False)
        except ValueError:
            return v
    return v


def snapshot(path: Path) -> dict[str, Counter]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: Counter(tuple(_canon(x) for x in r) for r in con.execute(f"SELECT * FROM {t}").fetchall())
                for t in TABLES}


def run(path: Path, sql: Path) -> tuple[dict, dict, dict, dict]:
    from ticket_dq.lib.detection import scripts

    saved = scripts.SQL
    scripts.SQL = sql
    try:
        full = detection.pipeline(path)["times"]
        after_full = snapshot(path)
        detection.new_snapshot(path)
        inc = detection.pipeline(path, only=detection.PARTNER_PATH)["times"]
        after_inc = snapshot(path)
    finally:
        scripts.SQL = saved
    return full, inc, after_full, after_inc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="HEAD")
    ap.add_argument("--cinemas", type=int, default=15000)
    ap.add_argument("--shows-per-cinema", type=int, default=80)
    ap.add_argument("--orders", type=int, default=800_000)
    args = ap.parse_args(argv)
    from ticket_dq import settings

    settings.use_now(detection.NOW)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        built = tmp / "built.duckdb"
        detection.build(built, args.cinemas, args.shows_per_cinema, args.orders)
        (tmp / "old_sql").mkdir()
        old_sql = base_sql(args.base, tmp / "old_sql")
        results = {}
        for tag, sql in (("base", old_sql), ("work tree", ROOT / SQL_DIR)):
            db = tmp / f"{tag.replace(' ', '_')}.duckdb"
            shutil.copy(built, db)
            results[tag] = run(db, sql)
    (bf, bi, bsf, bsi), (wf, wi, wsf, wsi) = results["base"], results["work tree"]
    print(f"{'step':<22}{'base full':>10}{'new full':>10}{'base inc':>10}{'new inc':>10}")
    for k in bf:
        print(f"{k:<22}{bf[k]:>10.2f}{wf[k]:>10.2f}{bi.get(k, float('nan')):>10.2f}{wi.get(k, float('nan')):>10.2f}")
    for phase, a, b in (("full", bsf, wsf), ("after the P0 snapshot", bsi, wsi)):
        for t in TABLES:
            only_a, only_b = sum((a[t] - b[t]).values()), sum((b[t] - a[t]).values())
            same = only_a == only_b == 0
            ok &= same
            print(f"{phase:<22} {t:<28} rows {sum(a[t].values()):>8} / {sum(b[t].values()):>8}  "
                  f"{'IDENTICAL' if same else f'DIFFERENT (only base {only_a}, only new {only_b})'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
