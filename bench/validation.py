"""Benchmark: GX-in-DuckDB vs GX-on-pandas vs one plain DuckDB query, on a national partner snapshot.

    .venv/bin/python -m bench.validation [--rows 1200000]

Generates a snapshot in DuckDB SQL (realistic columns, ~0.1 % sale > list, ~0.1 % seats > total,
~0.05 % bad cinema codes), then runs each path in its own subprocess so peak RSS is per path:
- ``gx_duckdb_11``: 11 expectations through GX's SQL datasource on the open DuckDB connection;
- ``gx_pandas_11``: the same 11 on a pandas frame (load time counted separately and in total);
- ``sql_floor_11``: the same 11 checks as one DuckDB query (count_if per rule): the floor;
- ``gx_duckdb_suite``: the production path, ``run_suite`` with the full partner suite
  (16 rules, per-date counts, sample keys, stored in dq.validation_results).
Prints a table and writes bench/results/validation.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROWS = 1_200_000
RESULTS = Path(__file__).parent / "results" / "validation.json"

GEN_SQL = """
INSERT INTO raw.partner_schedule
SELECT
    TIMESTAMP '2026-03-08 10:00:00' AS snapshot_ts,
    CASE WHEN i % 2000 = 7 THEN 'X' || (11000000 + i // 90)::VARCHAR ELSE (11000000 + i // 90)::VARCHAR END AS cinema_code,
    'P' || (i // 90)::VARCHAR, '影城' || (i // 90)::VARCHAR, 'H' || (i % 9)::VARCHAR, (i % 9 + 1)::VARCHAR || '号厅', '2D',
    120 + (i % 9) * 20 AS seat_total,
    'S' || i::VARCHAR AS show_code,
    DATE '2026-03-08' + CAST(i % 3 AS INTEGER) AS business_date,
    TIMESTAMP '2026-03-08 09:00:00' + INTERVAL (i % 3) DAY + INTERVAL ((i % 14) * 60) MINUTE AS start_time,
    TIMESTAMP '2026-03-08 11:00:00' + INTERVAL (i % 3) DAY + INTERVAL ((i % 14) * 60) MINUTE AS end_time,
    lpad((i % 400)::VARCHAR, 12, '0') AS film_code, '电影' || (i % 400)::VARCHAR, '国语', '2D', 120,
    6000 AS list_price_fen,
    CASE WHEN i % 1000 = 3 THEN 7000 ELSE 3500 + (i % 20) * 100 END AS sale_price_fen,
    300,
    CASE WHEN i % 1000 = 5 THEN 999 ELSE (i % 100) END AS seats_available,
    CASE WHEN i % 50 = 0 THEN 'STOP_SALE' ELSE 'ON_SALE' END,
    TIMESTAMP '2026-03-08 09:30:00',
    'P' || (i % 12)::VARCHAR AS source,
    'partner_schedule/P' || (i % 12)::VARCHAR || '/2026-03-08/snap_1000.csv' AS ingest_file,
    i + 2, TIMESTAMP '2026-03-08 10:05:00', 'bench', NULL
FROM range(?) t(i)
"""

FLOOR_SQL = """
SELECT
  count(*) AS rows,
  count_if(cinema_code IS NULL), count_if(show_code IS NULL), count_if(snapshot_ts IS NULL),
  count_if(show_status NOT IN ('ON_SALE', 'STOP_SALE', 'CANCELLED')),
  count_if(duration_min NOT BETWEEN 40 AND 300),
  count_if(sale_price_fen NOT BETWEEN 1000 AND 100000),
  count_if(sale_price_fen > list_price_fen),
  count_if(seats_available > seat_total),
  count_if(end_time <= start_time),
  count_if(NOT regexp_matches(cinema_code, '^[0-9]+$') OR length(cinema_code) <> 8),
  (SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM raw.partner_schedule
     GROUP BY source, cinema_code, show_code, snapshot_ts HAVING count(*) > 1))
FROM raw.partner_schedule
"""


def common_expectations(dialect: str) -> list:
    import great_expectations.expectations as gxe

    from ticket_dq.lib.validation import unexpected_rows

    fmt = (unexpected_rows(("cinema_code", "show_code"),
                           "NOT (length(cinema_code) = 8 AND regexp_matches(cinema_code, '^[0-9]+$'))")
           if dialect == "duckdb" else gxe.ExpectColumnValuesToMatchRegex(column="cinema_code", regex=r"^[0-9]{8}$"))
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="cinema_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="show_code"),
        gxe.ExpectColumnValuesToNotBeNull(column="snapshot_ts"),
        gxe.ExpectColumnValuesToBeInSet(column="show_status", value_set=["ON_SALE", "STOP_SALE", "CANCELLED"]),
        gxe.ExpectColumnValuesToBeBetween(column="duration_min", min_value=40, max_value=300),
        gxe.ExpectColumnValuesToBeBetween(column="sale_price_fen", min_value=1000, max_value=100000),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="list_price_fen", column_B="sale_price_fen", or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="seat_total", column_B="seats_available", or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end_time", column_B="start_time"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source", "cinema_code", "show_code", "snapshot_ts"]),
        fmt,
    ]


def _counts(results) -> dict:
    out = {}
    for er in results:
        r = er.result or {}
        n = r.get("unexpected_count", r.get("observed_value"))
        out[er.expectation_config.type + ":" + str(er.expectation_config.kwargs.get("column", er.expectation_config.kwargs.get("column_A", "")))] = n
    return out


def _child(path: str, db: str) -> dict:
    import great_expectations as gx

    from ticket_dq.lib import warehouse
    from ticket_dq.lib.validation import gx_duckdb, run_suite

    t0 = time.perf_counter()
    extra: dict = {}
    with warehouse.connect(db) as con:
        if path == "sql_floor_11":
            row = con.execute(FLOOR_SQL).fetchone()
            extra["unexpected_total"] = int(sum(row[1:]))
        elif path == "gx_duckdb_11":
            # A temp view, as in production (schema-qualified table assets lose the schema in
            # GX 1.24's URE/test-connection queries on duckdb).
            con.execute("CREATE TEMP VIEW ps AS SELECT *, DATE '2026-03-08' AS feed_date FROM raw.partner_schedule")
            with gx_duckdb.ephemeral_context(con) as (ctx, ds):
                bd = ds.add_table_asset(name="ps", table_name="ps").add_batch_definition_whole_table("b")
                suite = ctx.suites.add(gx.ExpectationSuite(name="s", expectations=common_expectations("duckdb")))
                res = ctx.validation_definitions.add(gx.ValidationDefinition(name="v", data=bd, suite=suite)).run(
                    result_format="SUMMARY")
            extra["unexpected_total"] = int(sum(v or 0 for v in _counts(res.results).values()))
            extra["errors"] = sum(1 for er in res.results if "raised_exception\": true" in str(er).lower().replace("'", '"'))
        elif path == "gx_pandas_11":
            df = con.execute("SELECT * FROM raw.partner_schedule").df()
            extra["load_s"] = round(time.perf_counter() - t0, 3)
            ctx = gx.get_context(mode="ephemeral")
            from great_expectations.data_context.types.base import ProgressBarsConfig
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            bd = ctx.data_sources.add_pandas("p").add_dataframe_asset("ps").add_batch_definition_whole_dataframe("b")
            suite = ctx.suites.add(gx.ExpectationSuite(name="s", expectations=common_expectations("pandas")))
            res = ctx.validation_definitions.add(gx.ValidationDefinition(name="v", data=bd, suite=suite)).run(
                batch_parameters={"dataframe": df}, result_format="SUMMARY")
            extra["unexpected_total"] = int(sum(v or 0 for v in _counts(res.results).values()))
        elif path == "gx_duckdb_suite":
            from ticket_dq.lib.validation.suites import PARTNER_SCHEDULE
            out = run_suite(con, PARTNER_SCHEDULE, run_id="bench", validated_at=datetime(2026, 3, 8, 11))
            con.execute("DELETE FROM dq.validated_files; DELETE FROM dq.validation_results")
            extra["unexpected_total"] = int(sum(r.unexpected_count or 0 for r in out.results))
            extra["errors"] = sum(1 for r in out.results if r.exception)
            extra["rules"] = len(out.results)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    return {"path": path, "wall_s": round(wall, 3), "peak_rss_mib": round(rss, 1), **extra}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=ROWS)
    ap.add_argument("--child", default=None)
    ap.add_argument("--db", default=None)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.db)))
        return {}

    from ticket_dq.lib import warehouse

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.duckdb")
        t0 = time.perf_counter()
        with warehouse.connect(db) as con:
            con.execute(GEN_SQL, [args.rows])
        gen_s = time.perf_counter() - t0
        runs = []
        for path in ("sql_floor_11", "gx_duckdb_11", "gx_pandas_11", "gx_duckdb_suite"):
            out = subprocess.run([sys.executable, "-m", "bench.validation", "--child", path, "--db", db],
                                 capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    floor = runs[0]["wall_s"]
    for r in runs:
        r["x_floor"] = round(r["wall_s"] / floor, 2)
    print(f"partner snapshot: {args.rows:,} rows generated in {gen_s:.1f}s")
    print(f"{'path':<18}{'wall s':>9}{'x floor':>9}{'rows/s':>13}{'peak RSS MiB':>14}{'unexpected':>12}  notes")
    for r in runs:
        notes = ", ".join(f"{k}={v}" for k, v in r.items() if k in ("load_s", "errors", "rules"))
        print(f"{r['path']:<18}{r['wall_s']:>9.2f}{r['x_floor']:>9.2f}{args.rows / r['wall_s']:>13,.0f}"
              f"{r['peak_rss_mib']:>14.0f}{r.get('unexpected_total', 0):>12,}  {notes}")
    report = {"rows": args.rows, "generate_s": round(gen_s, 2), "runs": runs}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
