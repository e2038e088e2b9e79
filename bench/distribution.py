"""Benchmark: routing + dispatch of 10 000 new issues to loopback SMTP and webhook; routing decision
rate for 1M issues (pure function); lifecycle replay of 300 000 handler events.

    .venv/bin/python -m bench.distribution [--issues 10000] [--decisions 1000000] [--lifecycle-issues 100000]
                                           [--parts dispatch,decisions,lifecycle]

Servers run in this process on 127.0.0.1 (aiosmtpd, stdlib ThreadingHTTPServer), so the numbers
include the receiving side's CPU on the same 2 cores. Two grouping settings:
  digest   the shipped routes.yaml (one digest per team [+ partner] per batch, <= 200 issues/message)
  fine     group_by [team, source, cinema_code, category] (many small messages)
Prints a table and writes bench/results/distribution.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 3, 8, 10, 30)
MIX = [  # category, severity, team, share
    ("ORDER_SHOW_CHANGED", "P0", "CS", 0.25), ("ORDER_SHOW_CANCELLED", "P1", "CS", 0.10),
    ("SHOW_TIME_MISMATCH", "P2", "BD", 0.20), ("SHOW_MISSING", "P2", "BD", 0.15),
    ("SHOW_PRICE_MISMATCH", "P2", "SALES", 0.10), ("SEAT_DOUBLE_SOLD", "P1", "OPS", 0.05),
    ("PICKUP_CODE_INVALID", "P1", "CS", 0.05), ("FEED_LATE", "P1", "RD", 0.04),
    ("VALIDATION_FAILED", "P3", "RD", 0.04), ("UNMAPPED_ENTITY", "P3", "PM", 0.02),
]
SOURCES = ["FH", "MTX", "DX", "WD", "JY", "MAOYAN", "TAOPIAOPIAO"]


def issue_rows(n: int, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    cats = [m for m in MIX for _ in range(int(m[3] * 100))]
    rows = []
    for i in range(n):
        cat, sev, team, _ = cats[i % len(cats)]
        show = NOW + timedelta(hours=rng.uniform(1, 60))
        rows.append(dict(
            issue_id=f"B{i:06d}", category=cat, severity=sev, team=team, status="OPEN", source=rng.choice(SOURCES),
            cinema_code=f"C{rng.randrange(15000):05d}", business_date=show.date(), show_start_time=show,
            order_id=f"O{i:07d}" if cat.startswith(("ORDER", "SEAT", "PICKUP")) else None,
            affected_orders=rng.randrange(0, 40), reason=f"{cat} at cinema, benchmark issue {i}",
            evidence=json.dumps({"partner": "19:30", "platforms": "20:00", "n": i}),
            first_detected_at=NOW - timedelta(minutes=rng.randrange(0, 10)), last_detected_at=NOW,
            hours_to_show=(show - NOW).total_seconds() / 3600))
    return rows


def seed_warehouse(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa

    from ticket_dq.lib import warehouse
    cols = ["issue_id", "category", "severity", "team", "status", "source", "cinema_code", "business_date",
            "show_start_time", "order_id", "affected_orders", "reason", "evidence", "first_detected_at",
            "last_detected_at", "hours_to_show"]
    t = pa.table({c: [r[c] for r in rows] for c in cols})
    orders = pa.table({
        "order_id": [r["order_id"] for r in rows if r["order_id"]],
        "mobile": [f"13{random.Random(i).randrange(10**9):09d}" for i, r in enumerate(rows) if r["order_id"]],
        "show_start_time": [r["show_start_time"] for r in rows if r["order_id"]],
    })
    with warehouse.connect(path) as con:
        con.register("t", t)
        con.execute(f"INSERT INTO dq.issues ({', '.join(cols)}) SELECT {', '.join(cols)} FROM t")
        con.register("o", orders)
        con.execute("""INSERT INTO raw.orders (event_ts, order_id, mobile, show_start_time, film_name, ticket_count,
                       status, source, ingest_file, ingest_line, ingested_at)
                       SELECT TIMESTAMP '2026-03-08 09:00:00', order_id, mobile, show_start_time, '哪吒之魔童闹海', 2,
                       'PAID', 'FH', 'orders/FH/b.csv', 2, TIMESTAMP '2026-03-08 09:01:00' FROM o""")


def dispatch_bench(n: int, variant: str, tmp: Path) -> dict:
    from ticket_dq import settings
    from ticket_dq.lib import channels, outbox, routing, warehouse
    from ticket_dq_tests.routing.servers import SmtpServer, WebhookServer

    text = settings.routes_path().read_text()
    if variant == "fine":
        text = text.replace("group_by: [team, source]", "group_by: [team, source, cinema_code, category]").replace(
            "group_by: [team]", "group_by: [team, source, cinema_code, category]")
    cfg = routing.parse(text, f"routes.yaml ({variant})")
    wh = tmp / f"{variant}.duckdb"
    seed_warehouse(wh, issue_rows(n))
    with SmtpServer() as smtp, WebhookServer() as hook:
        env = {"TICKET_DQ_SMTP_HOST": "127.0.0.1", "TICKET_DQ_SMTP_PORT": str(smtp.port),
               "TICKET_DQ_WEBHOOK_URL": hook.url, "TICKET_DQ_WEBHOOK_FORMAT": "feishu"}
        chans = {k: v for k, v in channels.channels_from_env(env.get).items() if k != "file"}
        t0 = time.perf_counter()
        with warehouse.connect(wh) as con:
            t_r = time.perf_counter()
            routed = outbox.enqueue(con, cfg, chans.keys(), NOW)
            t_route = time.perf_counter() - t_r
            # group_wait of the RD route: dispatch as of 5 min later so every group is due.
            t_d = time.perf_counter()
            sent = outbox.dispatch(con, chans, NOW + timedelta(minutes=5))
            t_disp = time.perf_counter() - t_d
            status = outbox.status_counts(con)
        wall = time.perf_counter() - t0
        received = len(smtp.messages) + len(hook.received)
    return {"variant": variant, "issues": n, "rows": routed["inserted"], "messages": sent["messages_sent"],
            "received": received, "route_s": round(t_route, 3), "dispatch_s": round(t_disp, 3),
            "wall_s": round(wall, 3), "issues_per_s": round(n / wall), "messages_per_s": round(sent["messages_sent"] / wall, 1),
            "rows_per_s": round(routed["inserted"] / wall), "status": status}


def decision_bench(n: int) -> dict:
    from ticket_dq import settings
    from ticket_dq.lib import routing
    cfg = routing.load(settings.routes_path())
    base = issue_rows(1000, seed=9)
    issues = [base[i % 1000] for i in range(n)]
    t0 = time.perf_counter()
    total = 0
    for issue in issues:
        total += len(cfg.decide(issue))
    dt = time.perf_counter() - t0
    return {"issues": n, "decisions": total, "wall_s": round(dt, 3), "issues_per_s": round(n / dt)}


def lifecycle_bench(n_issues: int, tmp: Path) -> dict:
    """handler_states over 3 events per issue (ACKNOWLEDGED, CONFIRMED, RESOLVED), arrival shuffled."""
    from ticket_dq.lib import lifecycle, warehouse
    with warehouse.connect(tmp / "lifecycle.duckdb") as con:
        con.execute("""INSERT INTO raw.issue_events (event_ts, issue_id, to_status, handler, team, source,
                           ingest_file, ingest_line, ingested_at)
            SELECT TIMESTAMP '2026-03-08 10:00:00' + to_minutes((i % 100 + k * 30)::BIGINT), 'I' || i,
                   ['ACKNOWLEDGED', 'CONFIRMED', 'RESOLVED'][k + 1], 'h', 'BD', 'internal', 'f.csv',
                   hash(i, k) % 1000000, now()::TIMESTAMP
            FROM range($n) r(i), range(3) s(k) ORDER BY hash(i * 7 + k)""", {"n": n_issues})
        t0 = time.perf_counter()
        counts = lifecycle.handler_states(con)
        dt = time.perf_counter() - t0
    return {**counts, "wall_s": round(dt, 3), "events_per_s": round(counts["events"] / dt)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=10_000)
    ap.add_argument("--decisions", type=int, default=1_000_000)
    ap.add_argument("--lifecycle-issues", type=int, default=100_000)
    ap.add_argument("--parts", default="dispatch,decisions,lifecycle",
                    help="comma-separated subset; results of parts not run are kept from the last JSON")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    RESULTS.mkdir(exist_ok=True)
    prev_path = RESULTS / "distribution.json"
    prev = json.loads(prev_path.read_text()) if prev_path.exists() else {}
    runs, dec, life = prev.get("dispatch", []), prev.get("decisions", {}), prev.get("lifecycle", {})
    with tempfile.TemporaryDirectory() as d:
        os.environ["TICKET_DQ_OUTBOX"] = str(Path(d) / "outbox")
        if "dispatch" in parts:
            runs = [dispatch_bench(args.issues, v, Path(d)) for v in ("digest", "fine")]
        if "lifecycle" in parts:
            life = lifecycle_bench(args.lifecycle_issues, Path(d))
    if "decisions" in parts:
        dec = decision_bench(args.decisions)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'variant':<8} {'issues':>7} {'rows':>7} {'msgs':>6} {'route s':>8} {'send s':>8} {'wall s':>7} "
          f"{'issues/s':>9} {'msgs/s':>7}")
    for r in runs:
        print(f"{r['variant']:<8} {r['issues']:>7} {r['rows']:>7} {r['messages']:>6} {r['route_s']:>8} "
              f"{r['dispatch_s']:>8} {r['wall_s']:>7} {r['issues_per_s']:>9} {r['messages_per_s']:>7}")
    if dec:
        print(f"routing decisions: {dec['issues']} issues -> {dec['decisions']} receivers in {dec['wall_s']} s "
              f"= {dec['issues_per_s']:,} issues/s (pure Python, one core)")
    if life:
        print(f"lifecycle replay: {life['events']} events of {life['issues']} issues in {life['wall_s']} s "
              f"= {life['events_per_s']:,} events/s")
    print(f"peak RSS {rss_mb:.0f} MB")
    out = {"dispatch": runs, "decisions": dec, "lifecycle": life, "peak_rss_mb": round(rss_mb)}
    (RESULTS / "distribution.json").write_text(json.dumps(out, indent=2, default=str))
    return out


if __name__ == "__main__":
    main()
