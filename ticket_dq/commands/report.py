"""`ticket-dq report [--date D] [--out FILE]`: a self-contained HTML report of one day's data quality
(metrics, Q over time, alerts by category and team, complaints and alerts of the day), charts inline
as base64 images. Without `--date` it writes one report per day in dq.metrics_daily. Reads the
warehouse read-only, so it can run while nothing else writes.
"""

from __future__ import annotations

from datetime import date


def register(sub) -> None:
    p = sub.add_parser("report", help="write the HTML data-quality report of one day (default: every metric day)")
    p.add_argument("--date", default=None, type=date.fromisoformat,
                   help="the day (Beijing), YYYY-MM-DD; default: every day in dq.metrics_daily")
    p.add_argument("--out", default=None,
                   help="output file, only with --date (default: <warehouse dir>/reports/report_<date>.html)")
    p.add_argument("--warehouse", default=None, help="DuckDB file (default: $TICKET_DQ_WAREHOUSE)")
    p.set_defaults(func=run)


def _metric_days(con) -> list[date]:
    has = con.execute("SELECT count(*) FROM information_schema.tables "
                      "WHERE table_schema = 'dq' AND table_name = 'metrics_daily'").fetchone()[0]
    if not has:
        return []
    return [d for (d,) in con.execute("SELECT DISTINCT metric_date FROM dq.metrics_daily ORDER BY 1").fetchall()]


def run(args) -> int:
    from pathlib import Path

    from ticket_dq import settings
    from ticket_dq.lib import report, warehouse

    wh = Path(args.warehouse) if args.warehouse else settings.warehouse_path()
    if not wh.is_file():
        print(f"no warehouse at {wh}: run `ticket-dq materialize` first")
        return 2
    if args.out and not args.date:
        print("--out needs --date (without --date one report per metric day is written)")
        return 2
    with warehouse.connect(wh, read_only=True) as con:
        days = [args.date] if args.date else _metric_days(con)
        if not days:
            print("dq.metrics_daily is empty: nothing to report (run `ticket-dq materialize` first)")
            return 2
        for day in days:
            out = Path(args.out) if args.out else settings.warehouse_dir() / "reports" / f"report_{day}.html"
            report.write_report(con, day, out, warehouse_label=str(wh), generated=settings.now())
            print(f"report for {day} written to {out}")
    return 0
