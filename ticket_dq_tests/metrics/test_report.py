"""`ticket-dq report --date D` writes a self-contained HTML report with the charts inline."""

from __future__ import annotations

import re
from datetime import datetime

from ticket_dq import cli, settings
from ticket_dq.lib import complaints, metrics, warehouse
from ticket_dq_tests.metrics.test_metrics_formulas import build_scenario

NOW = datetime(2026, 3, 10, 20, 0)


def test_report_html_is_written_with_inline_charts_and_the_days_numbers(isolated_env, capsys):
    with warehouse.connect(settings.warehouse_path()) as con:
        build_scenario(con)
        complaints.link_complaints(con, NOW)
        metrics.compute_daily(con, NOW)
        metrics.compute_breakdown(con, NOW)
    out = isolated_env["tmp"] / "r" / "day.html"
    assert cli.main(["report", "--date", "2026-03-08", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2 and all(len(i) > 1000 for i in images)
    assert "Data quality report — 2026-03-08" in html
    assert "Of 7 alerts first detected this day, 4 were confirmed, 1" in html
    assert "C2" in html and "ORDER_SHOW_CHANGED" in html
    assert "src=\"http" not in html  # self-contained: nothing fetched from elsewhere


def test_report_default_path_and_day_without_metrics(isolated_env):
    with warehouse.connect(settings.warehouse_path()):
        pass  # an empty warehouse: shared tables only
    assert cli.main(["report", "--date", "2026-03-09"]) == 0
    html = (settings.warehouse_dir() / "reports" / "report_2026-03-09.html").read_text(encoding="utf-8")
    assert "No metrics for 2026-03-09" in html and html.count("data:image/png;base64,") == 2


def test_report_without_warehouse_says_so(isolated_env, capsys):
    assert cli.main(["report", "--date", "2026-03-09"]) == 2
    assert "no warehouse" in capsys.readouterr().out


def test_report_without_date_writes_one_report_per_metric_day(isolated_env, capsys):
    with warehouse.connect(settings.warehouse_path()) as con:
        build_scenario(con)
        complaints.link_complaints(con, NOW)
        metrics.compute_daily(con, NOW)
        days = [str(d) for (d,) in con.execute("SELECT metric_date FROM dq.metrics_daily ORDER BY 1").fetchall()]
    assert days
    assert cli.main(["report"]) == 0
    written = sorted(p.name for p in (settings.warehouse_dir() / "reports").glob("report_*.html"))
    assert written == [f"report_{d}.html" for d in days]
    assert cli.main(["report", "--out", "x.html"]) == 2  # --out without --date is ambiguous
