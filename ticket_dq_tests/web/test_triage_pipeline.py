"""A handler takes an issue from OPEN to RESOLVED in the triage page; the next pipeline run ingests the
page's issue_events deliveries like any feed, dq.issues shows RESOLVED and the day's metrics change."""

from __future__ import annotations

import contextlib
import io

import duckdb

from ticket_dq import cli
from ticket_dq_tests.browser import chromium
from ticket_dq_tests.web.conftest import serve, sign_in


def _cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(list(argv))
    assert rc == 0, out.getvalue()
    return out.getvalue()


def _read(wh, sql, params=None):
    with duckdb.connect(str(wh), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_issue_resolved_in_the_page_reaches_dq_issues_and_the_metrics_after_the_next_run(
        isolated_env, accounts_file, monkeypatch):
    landing, wh = isolated_env["landing"], isolated_env["warehouse"]
    _cli("simulate", "demo", "--out", str(landing), "--cinemas", "8", "--days", "1", "--snapshots-per-day", "4",
         "--crawls-per-day", "2")
    _cli("materialize", "--demo-clock", "--quiet")
    monkeypatch.delenv("TICKET_DQ_NOW")  # --demo-clock pinned it for this process; the page gets its own
    (day, conf0, res0, clr0), = _read(wh, "SELECT metric_date, confirmed, resolved, closed_loop_rate "
                                          "FROM dq.metrics_daily WHERE alerts > 0")
    assert (conf0, res0) == (0, 0)  # nobody has reviewed anything yet

    with serve(accounts_file, isolated_env["tmp"] / "serve.log") as url, chromium() as browser:
        page = browser.new_page()
        sign_in(page, url, "wang.bd")
        page.wait_for_selector("#issues")
        issue_id = page.get_attribute("#issues tbody tr[data-issue]", "data-issue")
        assert _read(wh, "SELECT status, team FROM dq.issues WHERE issue_id = ?", [issue_id]) == [("OPEN", "BD")]
        page.click(f"a[href='/issues/{issue_id}']")
        page.click("button[value=confirm]")
        page.wait_for_selector("text=CONFIRMED delivered")
        page.select_option("select[name=resolution_code]", "DATA_CORRECTED")
        page.click("button[value=resolve]")
        page.wait_for_selector("text=RESOLVED delivered")
        assert page.is_visible("#pending-note")
        # The page wrote no warehouse row: until the next run dq.issues still says OPEN.
        assert _read(wh, "SELECT status FROM dq.issues WHERE issue_id = ?", [issue_id]) == [("OPEN",)]

        # The next run, as the landing sensor would start it: the feed and everything downstream.
        # The page keeps running meanwhile: it holds no lock on the warehouse.
        _cli("materialize", "--demo-clock", "--quiet", "--select", "key:raw/issue_events+")
        page.reload()
        assert page.inner_text("#status") == "RESOLVED"
        assert not page.is_visible("#pending-note")
        history = page.inner_text("#history")
        assert "wang.bd" in history and "DATA_CORRECTED" in history and "pending" not in history

    assert _read(wh, "SELECT status, resolution_reason FROM dq.issues WHERE issue_id = ?", [issue_id]) == \
        [("RESOLVED", "DATA_CORRECTED")]
    assert _read(wh, "SELECT handler, team, source FROM raw.issue_events WHERE issue_id = ? ORDER BY to_status",
                 [issue_id]) == [("wang.bd", "BD", "web")] * 2
    (conf1, res1, clr1), = _read(wh, "SELECT confirmed, resolved, closed_loop_rate FROM dq.metrics_daily "
                                     "WHERE metric_date = ?", [day])
    assert (conf1, res1, clr1) == (1, 1, 1.0) and clr0 is None
