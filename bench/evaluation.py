"""Evaluation at national scale: complaint linking, full and one-day metrics, Parquet export, report.

    .venv/bin/python -m bench.evaluation [--days 30] [--issues-per-day 20000] [--complaints-per-day 3000]

Builds a synthetic warehouse in a temp folder with DuckDB SQL (issues with ~2.5 handler events each,
complaints that half point at orders, an orders table with 10 events per complaint order plus
background orders), then times each step. Prints a table and writes bench/results/evaluation.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from ticket_dq.lib import complaints, export, metrics, report, warehouse

GEN_SQL = """
INSERT INTO dq.issues (issue_id, category, severity, team, status, source, cinema_code, business_date,
                       show_start_time, order_id, pickup_code, first_detected_at, last_detected_at)
SELECT 'I' || i, cat, 'P' || (i % 4), ['RD','PM','BD','OPS','SALES','CS'][1 + i % 6],
       CASE WHEN i % 50 = 0 THEN 'SUPPRESSED' ELSE 'OPEN' END,
       ['FH','MTX','DX','MAOYAN','TAOBAO'][1 + i % 5], lpad(((i * 7919) % 15000)::VARCHAR, 8, '1'),
       fd::DATE, fd + INTERVAL 6 HOUR,
       CASE WHEN cat LIKE 'ORDER%' OR cat = 'SEAT_DOUBLE_SOLD' THEN 'O' || i END,
       CASE WHEN cat LIKE 'PICKUP%' THEN 'P' || i END, fd, fd
FROM (SELECT i, ['ORDER_SHOW_CHANGED','SHOW_TIME_MISMATCH','SHOW_MISSING','SEAT_DOUBLE_SOLD','PICKUP_CODE_INVALID',
                 'SHOW_PRICE_MISMATCH','ORDER_SHOW_CANCELLED','HALL_OVERLAP'][1 + i % 8] AS cat,
             TIMESTAMP '2026-03-01 00:00:00' + to_seconds((i * 86400 * $days) // $n) AS fd
      FROM range($n) t(i));
INSERT INTO raw.issue_events (event_ts, issue_id, to_status, handler, team, resolution_code, source, ingest_file,
                              ingest_line, ingested_at, ingest_run_id)
SELECT first_detected_at + to_minutes(30 * k + (hash(issue_id) % 60)::BIGINT), issue_id,
       CASE k WHEN 1 THEN 'ACKNOWLEDGED'
              WHEN 2 THEN CASE WHEN hash(issue_id) % 5 = 0 THEN 'FALSE_POSITIVE' ELSE 'CONFIRMED' END
              ELSE 'RESOLVED' END, 'h', team, NULL, 'handlers', 'f.csv', k, now(),
       'run-' || CAST(first_detected_at AS DATE)
FROM dq.issues, range(1, 4) r(k)
WHERE status <> 'SUPPRESSED' AND hash(issue_id) % 7 <> 0 AND (k < 3 OR hash(issue_id) % 4 <> 0);
INSERT INTO raw.orders (event_ts, order_id, partner_code, cinema_code, show_code, show_start_time, status, source,
                        ingest_file, ingest_line, ingested_at)
SELECT TIMESTAMP '2026-03-01' + to_seconds(i % (86400 * $days)), 'O' || (i // 10), 'FH',
       lpad((((i // 10) * 7919) % 15000)::VARCHAR, 8, '1'), 'S', TIMESTAMP '2026-03-01 19:00:00' + to_hours(i % 700),
       'PAID', 'FH', 'o.csv', i, now()
FROM range($orders) t(i);
INSERT INTO raw.complaints (complaint_id, created_ts, channel, order_id, cinema_code, category, description, source,
                            ingest_file, ingest_line, ingested_at, ingest_run_id)
SELECT 'C' || j, TIMESTAMP '2026-03-01 00:00:00' + to_seconds((j * 86400 * $days) // $nc) + INTERVAL 3 HOUR, 'APP',
       CASE WHEN j % 2 = 0 THEN 'O' || (j * 7 % $n) END,
       CASE WHEN j % 2 = 1 THEN lpad(((j * 31) % 15000)::VARCHAR, 8, '1') END,
       ['SHOW_CHANGED','SHOW_CANCELLED','HALL_CHANGED','PRICE_DIFF','SEAT_CONFLICT','PICKUP_CODE_INVALID',
        'NO_TICKET_ISSUED','REFUND_DENIED','SERVICE_FEE','OTHER'][1 + j % 10], '', 'internal', 'c.csv', j, now(),
       'run-c'
FROM range($nc) t(j);
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--issues-per-day", type=int, default=20_000)
    ap.add_argument("--complaints-per-day", type=int, default=3_000)
    ap.add_argument("--orders", type=int, default=3_000_000, help="order event rows")
    a = ap.parse_args(argv)
    n, nc = a.days * a.issues_per_day, a.days * a.complaints_per_day
    now = datetime(2026, 3, 1 + min(a.days, 27), 23, 0) if a.days <= 27 else datetime(2026, 4, 30)
    results: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        wh = Path(tmp) / "w.duckdb"
        with warehouse.connect(wh) as con:
            t = time.perf_counter()
            for stmt in GEN_SQL.split(";"):
                if stmt.strip():
                    params = {k: v for k, v in {"n": n, "nc": nc, "days": a.days, "orders": a.orders}.items()
                              if f"${k}" in stmt}
                    con.execute(stmt, params)
            events = con.execute("SELECT count(*) FROM raw.issue_events").fetchall()[0][0]
            results.append(("generate", time.perf_counter() - t, f"{n:,} issues, {events:,} events, {nc:,} complaints"))

            t = time.perf_counter()
            c = complaints.link_complaints(con, now)
            dt = time.perf_counter() - t
            results.append(("link complaints", dt, f"{c['complaints']:,} data complaints, {c['linked']:,} linked, "
                                                   f"{c['complaints'] / dt:,.0f}/s"))
            t = time.perf_counter()
            days = metrics.compute_daily(con, now)
            metrics.compute_breakdown(con, now)
            dt = time.perf_counter() - t
            results.append(("metrics full", dt, f"{len(days)} days, {n / dt:,.0f} issues/s"))
            mid = date(2026, 3, 1 + min(a.days, 27) // 2)
            t = time.perf_counter()
            one = metrics.compute_daily(con, now, ingest_run_ids=[f"run-{mid}"])
            metrics.compute_breakdown(con, now, ingest_run_ids=[f"run-{mid}"])
            results.append(("metrics one day", time.perf_counter() - t, f"days {[str(d) for d in one]}"))
            t = time.perf_counter()
            done = export.export_tables(con, Path(tmp) / "export")
            mb = sum(d["bytes"] for d in done.values()) / 1e6
            results.append(("parquet export", time.perf_counter() - t, f"{len(done)} files, {mb:.1f} MB"))
        with warehouse.connect(wh, read_only=True) as con:
            t = time.perf_counter()
            html = report.render_report(con, mid)
            results.append(("html report", time.perf_counter() - t, f"{len(html) / 1e3:.0f} kB"))
    print(f"{'step':<18} {'seconds':>8}  detail")
    for name, secs, detail in results:
        print(f"{name:<18} {secs:>8.2f}  {detail}")
    print(f"peak RSS {peak_rss_mb():,.0f} MB")
    out = Path(__file__).resolve().parent / "results" / "evaluation.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(a), "steps": [{"step": s, "seconds": round(x, 3), "detail": d}
                                                         for s, x, d in results],
                               "peak_rss_mb": round(peak_rss_mb())}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
