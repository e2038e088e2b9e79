"""False alarms of the order-outcome detectors on a fault-free simulated week.

    .venv/bin/python -m bench.outcome_false_alarms [--days 7] [--seed 3] [--scale 1.0]

A cheap order generator (not the feed simulator: no schedules, one orders table) writes ``--days`` days
plus one warm-up day of orders for five partners of very different size and natural failure rate
(hourly peaks 3000 .. 30 orders, 0.5 % .. 8 % of issues failing), a day/night profile, lead times of
10 min .. 3 days, 3 % of issued orders refunded by their customers before the show, every failed issue
refunded 10 min later, and events filed by hour. Nothing is faulty, so every ORDER_OUTCOME_SPIKE row
and every ORDER_NOT_ISSUED row is a false alarm. Runs the real SQL (``lib.detection``: scripts.run, candidates.evaluate) on a temp DuckDB
at the end of the week and counts, per kind and level, the judged cells and the alarms - at the
configured thresholds and, for the partner-hour cells, at looser ones (to show what each guard buys).
Writes bench/results/outcome_false_alarms.json.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from ticket_dq.lib import warehouse
from ticket_dq.lib.detection import candidates, outcome_rules, scripts

RESULTS = Path(__file__).parent / "results" / "outcome_false_alarms.json"
START = datetime(2026, 3, 1)
# (partner, hourly peak orders, natural share of failed issues, shows it sells per day)
PARTNERS = (("FH", 3000, 0.015, 6000), ("MTX", 2000, 0.010, 4000), ("DX", 800, 0.040, 1600),
            ("JY", 200, 0.005, 500), ("HX", 30, 0.080, 80))
# share of the peak per hour of day: quiet nights, busy evenings
PROFILE = np.array([.10, .05, .03, .02, .02, .03, .08, .20, .35, .50, .60, .70,
                    .80, .75, .70, .70, .75, .85, 1.0, .95, .85, .65, .40, .20])


def generate(days: int, seed: int, scale: float) -> pl.DataFrame:
    """Order events (raw.orders columns the detectors read) of ``days`` + 1 fault-free days."""
    rng = np.random.default_rng(seed)
    frames = []
    hours = (days + 1) * 24
    n_id = 0
    for code, peak, fail_rate, shows in PARTNERS:
        lam = peak * scale * np.tile(PROFILE, days + 1)[:hours]
        k = rng.poisson(lam)
        hour = np.repeat(np.arange(hours), k)
        n = len(hour)
        paid = hour * 3600 + rng.integers(0, 3600, size=n)
        lead = np.minimum(rng.exponential(10 * 3600, size=n), 3 * 86400).astype(np.int64) + 600
        start = (paid + lead) // 300 * 300
        show = rng.integers(0, shows * (days + 4), size=n)  # shows of the sale window
        fail = rng.random(n) < fail_rate
        t_issue = paid + rng.integers(2, 40, size=n)
        refund = ~fail & (rng.random(n) < 0.03) & (start - 1800 > t_issue)
        t_refund = np.where(fail, t_issue + 600,
                            t_issue + (rng.random(n) * np.maximum(start - 1800 - t_issue, 1)).astype(np.int64))
        ids = np.arange(n_id, n_id + n)
        n_id += n
        base = pl.DataFrame({"oid": ids, "paid": paid, "start": start, "show": show, "fail": fail, "t_issue": t_issue,
                             "refund": refund | fail, "t_refund": t_refund})
        ev = [base.select("oid", pl.col("paid").alias("t"), pl.lit("PAID").alias("status"), "start", "show"),
              base.select("oid", pl.col("t_issue").alias("t"),
                          pl.when("fail").then(pl.lit("ISSUE_FAILED")).otherwise(pl.lit("ISSUED")).alias("status"),
                          "start", "show"),
              base.filter("refund").select("oid", pl.col("t_refund").alias("t"), pl.lit("REFUNDED").alias("status"),
                                           "start", "show")]
        frames.append(pl.concat(ev).with_columns(pl.lit(code).alias("partner_code")))
    e = pl.concat(frames)
    end = (days + 1) * 86400
    e = e.filter(pl.col("t") < end)
    ts = lambda c: pl.lit(START) + pl.duration(seconds=pl.col(c))  # noqa: E731
    return e.select(
        ts("t").alias("event_ts"), pl.format("O{}", "oid").alias("order_id"), "partner_code",
        pl.lit("APP").alias("channel_code"), pl.format("{}{}", pl.col("partner_code"), pl.col("show") % 900).alias("cinema_code"),
        pl.format("S{}", "show").alias("show_code"), ts("start").alias("show_start_time"),
        pl.lit("影片").alias("film_name"), pl.lit(2, dtype=pl.Int32).alias("ticket_count"),
        pl.lit(9000, dtype=pl.Int64).alias("total_fen"), "status", pl.lit("internal").alias("source"),
        pl.format("orders/{}.csv", pl.col("t") // 3600).alias("ingest_file"),
        pl.lit(1, dtype=pl.Int64).alias("ingest_line"), ts("t").alias("ingested_at"))


LOOSER = ((1e-3, 3.0, 5), (1e-6, 1.5, 5), (1e-6, 1.0, 5), (1e-6, 3.0, 1), (1e-3, 1.0, 1))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every partner's volume")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    events = generate(args.days, args.seed, args.scale)  # noqa: F841 (scanned by DuckDB)
    t_gen = time.perf_counter() - t0
    rules = outcome_rules.OutcomeRules()
    now = START + timedelta(days=args.days + 1)
    with tempfile.TemporaryDirectory() as tmp, warehouse.connect(Path(tmp) / "w.duckdb") as con:
        con.execute("INSERT INTO raw.orders BY NAME SELECT * FROM events")
        t1 = time.perf_counter()
        scripts.run(con, "order_outcome", now=now)
        for name in ("order_not_issued", "order_outcome_spike"):
            candidates.evaluate(con, name, now, rules=rules)
        t_detect = time.perf_counter() - t1
        q = lambda s, *p: con.execute(s, list(p)).fetchall()  # noqa: E731
        week = START + timedelta(days=1)  # the warm-up day is history, not judged here
        n_events, n_orders = q("SELECT count(*), count(DISTINCT order_id) FROM raw.orders")[0]
        cells = {f"{k}/partner_hour": {"judged": j, "alarms": a} for k, j, a in q(
            """SELECT kind, count(*) FILTER (WHERE judged), count(*) FILTER (WHERE spike) FROM sp_partner
               WHERE hour >= ? GROUP BY ALL ORDER BY 1""", week)}
        shows = q("SELECT kind, count(*) FROM sp_show WHERE hour >= ? GROUP BY ALL ORDER BY 1", week)
        rows = q("""SELECT rule, json_extract_string(evidence, '$.level'), count(*) FROM cand.order_outcome_spike
                    WHERE CAST(json_extract_string(evidence, '$.hour') AS TIMESTAMP) >= ? GROUP BY ALL ORDER BY 1, 2""", week)
        not_issued = q("SELECT count(*) FROM cand.order_not_issued")[0][0]
        looser = []
        for alpha, floor, min_count in LOOSER:
            (a,), = q("""SELECT count(*) FROM sp_partner WHERE hour >= ? AND judged AND k >= ? AND k * 1.0 / n >= ? * p0
                         AND score >= ?""", week, min_count, floor, math.log(1 / alpha))
            looser.append({"alpha": alpha, "ratio_floor": floor, "min_count": min_count, "partner_hour_alarms": a})
        top = q("""SELECT kind, partner_code, strftime(hour, '%Y-%m-%d %H:00'), n, k, round(p0, 5), round(score, 2)
                   FROM sp_partner WHERE hour >= ? AND judged ORDER BY score DESC LIMIT 5""", week)
    judged = sum(c["judged"] for c in cells.values())
    alarms = sum(r[2] for r in rows)
    out = {"days": args.days, "seed": args.seed, "scale": args.scale, "orders": n_orders, "events": n_events,
           "rules": {**rules.__dict__}, "partner_hour_cells": cells, "show_hour_alarms": dict(shows),
           "spike_rows": [{"kind": k, "level": lv, "rows": n} for k, lv, n in rows], "spike_alarms": alarms,
           "partner_hours_judged": judged,
           "false_alarm_rate_per_partner_hour": (alarms / judged) if judged else None,
           "order_not_issued_rows": not_issued, "looser_thresholds": looser,
           "highest_scores": [dict(zip(("kind", "partner", "hour", "n", "k", "p0", "score"), r)) for r in top],
           "seconds": {"generate": round(t_gen, 2), "detect": round(t_detect, 2)}}
    print(f"fault-free week: {n_orders:,} orders, {n_events:,} events, {args.days} days judged")
    print(f"partner-hour cells judged: {cells}")
    print(f"ORDER_OUTCOME_SPIKE alarms: {alarms} ({out['spike_rows']}); show-hour alarms {dict(shows)}")
    print(f"ORDER_NOT_ISSUED alarms: {not_issued}")
    print(f"looser thresholds (partner-hour alarms): {looser}")
    print(f"highest scores: {out['highest_scores']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
