"""Detection at national scale: entity maps, current schedules, every comparison and dq.issues.

    .venv/bin/python -m bench.detection [--cinemas 15000] [--shows-per-cinema 80] [--orders 800000]

Builds a national day straight into a temp DuckDB warehouse with SQL (15 000 cinemas x 8 halls x 10
shows = 1.2M partner rows in 5 partner files, two platforms listing ~90 % of cinemas each with hall-name
variants and a few shifted/missing shows, ~0.8M orders, pickup codes, reference data, ledger rows),
then runs the same SQL scripts the Dagster assets run (one connection per asset, as in a run):

1. full recompute: maps -> current schedules -> change log -> comparisons -> dq.issues;
2. incremental: one new partner snapshot (one partner's file, a few shows moved) -> updated issues;
   (only the assets downstream of raw.partner_schedule, as eager automation runs them);
3. the core schedule comparison (partner vs one platform: same cinema/date/hall, start within
   +-10 min, one-to-one nearest) in DuckDB vs the same in plain pandas.

Prints a table and writes bench/results/detection.json. Peak RSS is this process's (DuckDB in-process).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

NOW = datetime(2026, 3, 10, 8, 0)


def clock() -> datetime:
    """The comparisons' clock: settings.now(), which main() pins (and moves 3 h on for the clock check)."""
    from ticket_dq import settings

    return settings.now()
DAY = "2026-03-10"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(path: Path, cinemas: int, shows: int, orders: int) -> dict:
    from ticket_dq.lib import warehouse

    halls = 8
    slots = max(1, shows // halls)
    with warehouse.connect(path) as con:
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"""INSERT INTO ref.cinemas SELECT lpad(CAST(i AS VARCHAR), 8, '0'), '影城' || i || '(城' || (i % 300) || '店)',
                        '城' || (i % 300), NULL, 'B', 'OPEN', 'ref', i, TIMESTAMP '{NOW}' FROM range({cinemas}) t(i)""")
        con.execute(f"""INSERT INTO ref.films SELECT lpad(CAST(f AS VARCHAR), 12, '0'), '影片' || f, '2D', '国语', 90 + f % 40,
                        DATE '2026-01-01', 'ref', f, TIMESTAMP '{NOW}' FROM range(50) t(f)""")
        con.execute(f"""INSERT INTO ref.cinema_aliases SELECT p, p || '-' || i, lpad(CAST(i AS VARCHAR), 8, '0'), 'ref', i,
                        TIMESTAMP '{NOW}' FROM range({cinemas}) t(i), (VALUES ('MAOYAN'), ('TAOPIAOPIAO')) v(p)
                        WHERE hash(i, p) % 100 < 97""")
        # partner schedule: 5 partners, one snapshot file each
        con.execute(f"""CREATE TEMP TABLE shows AS
            SELECT c, h, s, lpad(CAST(c AS VARCHAR), 8, '0') AS cinema_code, 'P' || (c % 5) AS partner,
                   TIMESTAMP '{DAY} 10:00:00' + to_minutes(s * 130 + h * 5) AS start_time,
                   (c * 7 + h * 3 + s) % 50 AS film, CAST(hash(c, h, s) % 10000000000 AS VARCHAR) AS show_code,
                   3000 + (hash(c, h, s) % 5) * 500 AS sale
            FROM range({cinemas}) a(c), range(1, {halls} + 1) b(h), range({slots}) d(s)""")
        con.execute(f"""INSERT INTO raw.partner_schedule (snapshot_ts, cinema_code, partner_cinema_id, cinema_name, hall_code,
              hall_name, hall_type, seat_total, show_code, business_date, start_time, end_time, film_code, film_name,
              language, version, duration_min, list_price_fen, sale_price_fen, service_fee_fen, seats_available,
              show_status, partner_update_time, source, ingest_file, ingest_line, ingested_at)
            SELECT TIMESTAMP '{DAY} 07:00:00', cinema_code, partner || c, '影城' || c, CAST(h AS VARCHAR),
                   CASE WHEN h = 3 THEN '3号激光厅' ELSE h || '号厅' END, NULL, 150, show_code, DATE '{DAY}', start_time,
                   start_time + to_minutes(90 + film % 40), lpad(CAST(film AS VARCHAR), 12, '0'),
                   CASE WHEN c % 2 = 0 THEN '影片' || film || '（数字）' ELSE '影片' || film END, '国语', '2D', 90 + film % 40,
                   sale * 2, sale, 300, 100, 'ON_SALE', TIMESTAMP '{DAY} 06:00:00', partner,
                   'partner_schedule/' || partner || '/{DAY}/s0700.csv', row_number() OVER (), TIMESTAMP '{NOW}'
            FROM shows""")
        for p, cover in (("MAOYAN", 90), ("TAOPIAOPIAO", 88)):
            con.execute(f"""INSERT INTO raw.competitor_schedule (crawl_ts, platform, platform_cinema_id, cinema_name, city,
                  platform_film_id, film_name, platform_show_id, show_date, start_time, hall_name, version_text, price_fen,
                  sold_out, start_ts, source, ingest_file, ingest_line, ingested_at)
                SELECT TIMESTAMP '{DAY} 07:30:00', '{p}', '{p}-' || c, '影城' || c || '(城' || (c % 300) || '店)', '城' || (c % 300),
                       CAST(film AS VARCHAR), '影片' || film, '{p}' || show_code, DATE '{DAY}',
                       strftime(st, '%H:%M'), h || '号厅' || CASE WHEN h = 3 THEN '(激光)' ELSE '' END, '国语 2D',
                       sale + 300 - 100, false, st, '{p}', 'competitor_schedule/{p}/{DAY}/c0730.jsonl', row_number() OVER (),
                       TIMESTAMP '{NOW}'
                FROM (SELECT *, start_time + to_minutes(CASE WHEN hash(c, h, s, '{p}t') % 1000 = 0 THEN 40 ELSE 0 END) AS st
                      FROM shows WHERE hash(c, '{p}') % 100 < {cover} AND hash(c, h, s, '{p}m') % 1000 <> 1)""")
        con.execute(f"""INSERT INTO meta.ingested_files (file, feed, source, folder_date, stem, sha256, snapshot_ts, rows_manifest,
              rows_ingested, rows_quarantined, status, ingested_at)
            SELECT ingest_file, 'partner_schedule', source, DATE '{DAY}', 's0700', 'x', min(snapshot_ts), count(*), count(*), 0,
                   'INGESTED', TIMESTAMP '{NOW}' FROM raw.partner_schedule GROUP BY ALL
            UNION ALL
            SELECT ingest_file, 'competitor_schedule', source, DATE '{DAY}', 'c0730', 'x', min(crawl_ts), count(*), count(*), 0,
                   'INGESTED', TIMESTAMP '{NOW}' FROM raw.competitor_schedule GROUP BY ALL""")
        n_shows = con.execute("SELECT count(*) FROM shows").fetchone()[0]
        con.execute(f"""INSERT INTO raw.orders (event_ts, order_id, partner_code, partner_order_id, channel_code, user_id, mobile,
              cinema_code, show_code, show_start_time, hall_name, film_code, film_name, version, ticket_count, seats,
              unit_price_fen, service_fee_fen, total_fen, status, source, ingest_file, ingest_line, ingested_at)
            SELECT TIMESTAMP '{DAY} 07:00:00' + to_seconds(o % 3600), 'TK' || o, s.partner, 'PO' || o, 'APP', 'u' || o,
                   '138' || lpad(CAST(o % 100000000 AS VARCHAR), 8, '0'), s.cinema_code, s.show_code, s.start_time,
                   CASE WHEN s.h = 3 THEN '3号激光厅' ELSE s.h || '号厅' END, lpad(CAST(s.film AS VARCHAR), 12, '0'),
                   '影片' || s.film, '2D', 2, (o // {n_shows} * 2 + 1) || '排1座,' || (o // {n_shows} * 2 + 1) || '排2座',
                   s.sale, 300, 2 * (s.sale + 300), 'PAID', 'internal', 'orders/o.csv', o, TIMESTAMP '{NOW}'
            FROM range({orders}) t(o) JOIN (SELECT row_number() OVER () - 1 AS k, * FROM shows) s ON s.k = (o * 7919) % {n_shows}""")
        con.execute(f"""INSERT INTO raw.pickup_codes (allocation_ts, channel_partner, channel_order_id, order_id, cinema_code,
              show_code, show_start_time, pickup_code, verify_code, seats, ticket_count, status, source, ingest_file,
              ingest_line, ingested_at)
            SELECT event_ts, 'TAOBAO', 'C' || order_id, order_id, cinema_code, show_code, show_start_time,
                   'PC' || order_id, '1', seats, 2, 'DELIVERED', 'TAOBAO', 'pickup/p.csv', 1, TIMESTAMP '{NOW}'
            FROM raw.orders WHERE hash(order_id) % 10 = 0""")
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("raw.partner_schedule", "raw.competitor_schedule", "raw.orders", "raw.pickup_codes")}
    return counts


# Downstream of raw.partner_schedule: what eager automation re-runs when one partner snapshot lands.
PARTNER_PATH = {"partner_current", "change_log", "feed_health", "schedule_discrepancy", "schedule_integrity",
                "order_show", "pickup_code"}


def pipeline(path: Path, only: set[str] | None = None) -> dict:
    """The assets' work, in dependency order, one connection per asset as in a run."""
    from ticket_dq.lib import warehouse
    from ticket_dq.lib.detection import candidates, scripts
    from ticket_dq.lib.detection.issue_table import build_issues

    steps = ["map_cinema", "map_film", "partner_current", "competitor_current", "change_log", "feed_health",
             "unmapped_entity", "order_state", "schedule_discrepancy", "schedule_integrity", "order_show",
             "seat_double_sold", "pickup_code"]
    times = {}
    for name in steps:
        if only is not None and name not in only:
            continue
        t = time.perf_counter()
        with warehouse.connect(path) as con:
            if name in candidates.COMPARISONS:
                candidates.evaluate(con, name, clock())
            else:
                scripts.run(con, name, now=clock())
        times[name] = time.perf_counter() - t
    t = time.perf_counter()
    with warehouse.connect(path) as con:
        r = build_issues(con, NOW)
    times["issues"] = time.perf_counter() - t
    times["total"] = sum(times.values())
    return {"times": times, "issues": r["total"], "by_status": r["by_status"]}


def new_snapshot(path: Path) -> None:
    """Partner P0 delivers its next snapshot: same shows, 0.1 % moved by 45 minutes."""
    from ticket_dq.lib import warehouse

    with warehouse.connect(path) as con:
        f = f"partner_schedule/P0/{DAY}/s0800.csv"
        con.execute(f"""INSERT INTO raw.partner_schedule SELECT * REPLACE (TIMESTAMP '{DAY} 08:00:00' AS snapshot_ts,
                          '{f}' AS ingest_file,
                          start_time + to_minutes(CASE WHEN hash(show_code) % 1000 = 0 THEN 45 ELSE 0 END) AS start_time)
                        FROM raw.partner_schedule WHERE source = 'P0' AND snapshot_ts = TIMESTAMP '{DAY} 07:00:00'""")
        con.execute(f"""INSERT INTO meta.ingested_files (file, feed, source, folder_date, stem, sha256, snapshot_ts, rows_manifest,
                          rows_ingested, rows_quarantined, status, ingested_at)
                        SELECT '{f}', 'partner_schedule', 'P0', DATE '{DAY}', 's0800', 'y', TIMESTAMP '{DAY} 08:00:00',
                               count(*), count(*), 0, 'INGESTED', TIMESTAMP '{NOW}' FROM raw.partner_schedule WHERE ingest_file = '{f}'""")


# Candidate tables that re-evaluate only the delivering partner's part, and pickup_code, which reads
# cand.order_show. Each must equal a full recompute after the incremental path.
INCREMENTAL = ("schedule_discrepancy", "schedule_integrity", "order_show", "pickup_code")


def incremental_equals_full(path: Path) -> dict[str, bool]:
    """Each incremental candidate table (as the incremental path left it) against a full recompute of it."""
    from ticket_dq.lib import warehouse
    from ticket_dq.lib.detection import candidates, incremental

    q = "SELECT * EXCLUDE (evidence), CAST(evidence AS VARCHAR) FROM cand.{} ORDER BY ALL"
    with warehouse.connect(path) as con:
        inc = {t: con.execute(q.format(t)).fetchall() for t in INCREMENTAL}
        incremental.forget(con)  # no remembered state: the next evaluations are full ones
        for t in INCREMENTAL:
            candidates.evaluate(con, t, clock())
        full = {t: con.execute(q.format(t)).fetchall() for t in INCREMENTAL}
    return {t: inc[t] == full[t] for t in INCREMENTAL}


MATCH_SQL = """
WITH p AS (SELECT row_number() OVER () AS pid, cinema_code, business_date, hall_key, start_time FROM cur.partner_schedule),
c AS (SELECT row_number() OVER () AS cid, cinema_code, business_date, hall_key, start_ts FROM cur.competitor_schedule
      WHERE platform = 'MAOYAN' AND cinema_code IS NOT NULL),
pairs AS (SELECT pid, cid, abs(date_diff('second', start_time, start_ts)) AS d FROM p JOIN c USING (cinema_code, business_date, hall_key)
          WHERE abs(date_diff('second', start_time, start_ts)) <= 600),
best AS (SELECT * FROM pairs QUALIFY row_number() OVER (PARTITION BY pid ORDER BY d, cid) = 1
                              AND row_number() OVER (PARTITION BY cid ORDER BY d, pid) = 1)
SELECT (SELECT count(*) FROM best), (SELECT count(*) FROM p) - (SELECT count(*) FROM best)
"""


def compare_pandas_vs_duckdb(path: Path) -> dict:
    import pandas as pd

    from ticket_dq.lib import warehouse

    with warehouse.connect(path, read_only=True) as con:
        t = time.perf_counter()
        matched, unmatched = con.execute(MATCH_SQL).fetchone()
        t_duck = time.perf_counter() - t
        p = con.execute("SELECT cinema_code, business_date, hall_key, start_time FROM cur.partner_schedule").df()
        c = con.execute("""SELECT cinema_code, business_date, hall_key, start_ts FROM cur.competitor_schedule
                           WHERE platform = 'MAOYAN' AND cinema_code IS NOT NULL""").df()
    t = time.perf_counter()
    p["pid"] = range(len(p))
    c["cid"] = range(len(c))
    m = p.merge(c, on=["cinema_code", "business_date", "hall_key"])
    m["d"] = (m["start_time"] - m["start_ts"]).abs().dt.total_seconds()
    m = m[m["d"] <= 600].sort_values(["d", "cid", "pid"])
    m = m[m.groupby("pid").cumcount() == 0]
    m = m.sort_values(["d", "pid"])
    m = m[m.groupby("cid").cumcount() == 0]
    pd_matched = len(m)
    t_pd = time.perf_counter() - t
    return {"duckdb_s": t_duck, "pandas_s": t_pd, "ratio": t_pd / t_duck, "matched_duckdb": matched,
            "matched_pandas": pd_matched, "unmatched_duckdb": unmatched}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cinemas", type=int, default=15000)
    ap.add_argument("--shows-per-cinema", type=int, default=80)
    ap.add_argument("--orders", type=int, default=800_000)
    args = ap.parse_args(argv)
    from ticket_dq import settings

    settings.use_now(NOW)  # the comparisons read the clock through settings.now()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        t = time.perf_counter()
        counts = build(path, args.cinemas, args.shows_per_cinema, args.orders)
        t_build = time.perf_counter() - t
        full = pipeline(path)
        rss_full = rss_mb()
        new_snapshot(path)
        inc = pipeline(path, only=PARTNER_PATH)
        same = incremental_equals_full(path)
        # the clock moves on (3 h: shows start, pairs across $now break), no new data: what the
        # incremental path then keeps must still be what a full evaluation gives
        settings.use_now(NOW + timedelta(hours=3))
        clock = pipeline(path, only=PARTNER_PATH)
        same_clock = incremental_equals_full(path)
        settings.use_now(NOW)
        cmp_ = compare_pandas_vs_duckdb(path)
    res = {"rows": counts, "build_s": t_build, "full": full["times"], "full_issues": full["issues"],
           "incremental": inc["times"], "incremental_issues": inc["issues"], "peak_rss_mb_after_full": rss_full,
           "peak_rss_mb": rss_mb(), "match_vs_pandas": cmp_,
           "incremental_equals_full_recompute": same, "clock_plus_3h_incremental_s": clock["times"],
           "clock_plus_3h_incremental_equals_full": same_clock}
    print(f"{'step':<22}{'full s':>10}{'incremental s':>16}")
    for k in full["times"]:
        print(f"{k:<22}{full['times'][k]:>10.2f}{inc['times'].get(k, float('nan')):>16.2f}")
    print(f"rows: {counts}")
    print(f"incremental == full recompute after the P0 snapshot: {same}")
    print(f"clock +3 h, no new data: incremental path {clock['times']['total']:.2f} s, == full recompute: {same_clock}")
    print(f"issues: full {full['issues']}, after incremental {inc['issues']}; peak RSS {rss_mb():.0f} MB")
    print(f"schedule match partner vs MAOYAN: DuckDB {cmp_['duckdb_s']:.2f} s, pandas {cmp_['pandas_s']:.2f} s, "
          f"ratio {cmp_['ratio']:.1f}x (matched {cmp_['matched_duckdb']} / {cmp_['matched_pandas']})")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "detection.json").write_text(json.dumps(res, indent=2, default=str))
    return res


if __name__ == "__main__":
    main()
