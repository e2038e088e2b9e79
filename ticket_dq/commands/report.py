"""`ticket-dq report --date D [--out FILE]`: a self-contained HTML report of one day's data quality
(metrics, Q over time, alerts by category and team, complaints and alerts of the day), charts inline
as base64 images. Reads the warehouse read-only, so it can run while nothing else writes.
"""

from __future__ import annotations

from datetime import date


def register(sub) -> None:
    p = sub.add_parser("report", help="write the HTML data-quality report of one day")
    p.add_argument("--date", required=True, type=date.fromisoformat, help="the day (Beijing), YYYY-MM-DD")
    p.add_argument("--out", default=None,
                   help="output file (default: <warehouse dir>/reports/report_<date>.html)")
    p.add_argument("--warehouse", default=None, help="DuckDB file (default: $TICKET_DQ_WAREHOUSE)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ticket_dq import settings
    from ticket_dq.lib import report, warehouse

    wh = Path(args.warehouse) if args.warehouse else settings.warehouse_path()
    if not wh.is_file():
        print(f"no warehouse at {wh}: run `ticket-dq materialize` first")
        return 2
    out = Path(args.out) if args.out else settings.warehouse_dir() / "reports" / f"report_{args.date}.html"
    with warehouse.connect(wh, read_only=True) as con:
        report.write_report(con, args.date, out, warehouse_label=str(wh), generated=settings.now())
    print(f"report for {args.date} written to {out}")
    return 0
