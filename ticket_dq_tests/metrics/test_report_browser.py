"""The HTML report in headless Chromium: the alerts table filters and sorts with the file's own
JavaScript (opened from disk, nothing fetched), text reads left and numbers right, and the font stack
names a CJK face with a generic fallback so Chinese renders where a CJK font is installed."""

from __future__ import annotations

from datetime import date

from ticket_dq import settings
from ticket_dq.lib import report, warehouse
from ticket_dq_tests.browser import chromium
from ticket_dq_tests.metrics.test_metrics_formulas import build_scenario, run_all


def _visible_ids(page) -> list[str]:
    return page.eval_on_selector_all("#alerts tbody tr:not([hidden])", "rows => rows.map(r => r.cells[0].textContent)")


def test_report_alerts_filter_sort_alignment_and_cjk_fonts(isolated_env):
    with warehouse.connect(settings.warehouse_path()) as con:
        build_scenario(con)
        con.execute("UPDATE dq.issues SET reason = '《哪吒之魔童闹海》19:00 场改到 3号激光厅' WHERE issue_id = 'I1'")
        run_all(con)
        out = report.write_report(con, date(2026, 3, 8), isolated_env["tmp"] / "report.html")
    requests = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        assert sorted(_visible_ids(page)) == ["I1", "I2", "I3", "I4", "I6", "I7", "I8"]  # the suppressed I5 is no alert
        assert page.inner_text("#alerts-count") == "7 of 7 shown"

        page.fill("#alerts-filter", "mtx")  # any text, case-insensitive: the source column here
        assert sorted(_visible_ids(page)) == ["I3", "I4"] and page.inner_text("#alerts-count") == "2 of 7 shown"
        page.fill("#alerts-filter", "")
        page.select_option("#alerts-category", "ORDER_SHOW_CHANGED")
        assert sorted(_visible_ids(page)) == ["I1", "I6"]
        page.select_option("#alerts-category", "")

        page.click("#alerts th:has-text('issue_id')")
        assert _visible_ids(page) == ["I1", "I2", "I3", "I4", "I6", "I7", "I8"]
        page.click("#alerts th:has-text('issue_id')")
        assert _visible_ids(page) == ["I8", "I7", "I6", "I4", "I3", "I2", "I1"]
        assert page.get_attribute("#alerts th:has-text('issue_id')", "aria-sort") == "descending"

        align = page.evaluate("""() => {
            const cell = (table, col) => getComputedStyle(table.tBodies[0].rows[0].cells[col]).textAlign;
            const tables = [...document.querySelectorAll('table')];
            const byValue = tables.find(t => t.tHead && t.tHead.rows[0].cells[0].textContent === 'value');
            return {text: cell(document.getElementById('alerts'), 9), id: cell(document.getElementById('alerts'), 0),
                    value: cell(byValue, 0), alerts: cell(byValue, 1)};
        }""")
        assert align == {"text": "left", "id": "left", "value": "left", "alerts": "right"}

        family = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Noto Sans CJK SC" in family and family.rstrip().endswith("sans-serif")
        assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '哪吒')")
        assert "哪吒之魔童闹海" in page.inner_text("#alerts")
        page.locator("#alerts").screenshot(path=str(isolated_env["tmp"] / "alerts.png"))
    assert [u for u in requests if not u.startswith("file:") and not u.startswith("data:")] == []
