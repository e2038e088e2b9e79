"""The README's `make run`, driven through the `ticket-dq` CLI on a fresh landing area: simulate the
demo, replay it delivery by delivery with detection every 4 simulated hours, let the simulated handlers
answer, materialize again, write the reports. Then the
warehouse it leaves is held to the output contract (CONTRACT.md section 4), the properties BI tools
and issue handlers rely on, and a further run with the same clock must change nothing.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import duckdb
import pytest

from ticket_dq import cli
from ticket_dq.lib import contract
from ticket_dq.lib.masking import find_mobiles
from ticket_dq_tests.browser import chromium, dagster_webserver

HEX_ID = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{16,}(?![0-9A-Za-z])")
OUTPUT_COLUMNS = {
    "dq.issues": ["issue_id", "category", "rule", "severity", "team", "status", "source", "cinema_code",
                  "business_date", "show_start_time", "order_id", "pickup_code", "affected_orders", "reason",
                  "evidence", "first_detected_at", "last_detected_at", "resolved_at"],
    "dq.notifications": ["notification_id", "issue_id", "channel", "recipient", "team", "status", "attempts",
                         "sent_at", "error"],
    "dq.metrics_daily": ["metric_date", "alerts", "confirmed", "false_positive", "complaint_only", "resolved",
                         "accuracy", "recall", "closed_loop_rate", "q_score", "complaints_total",
                         "complaints_data_related", "data_complaint_ratio"],
    "meta.ingested_files": ["file", "feed", "source", "sha256", "snapshot_ts", "rows_manifest", "rows_ingested",
                            "rows_quarantined", "status", "ingested_at"],
}
STATUSES = {"OPEN", "ACKNOWLEDGED", "CONFIRMED", "FALSE_POSITIVE", "RESOLVED", "SUPPRESSED"}
SEVERITIES = {"P0", "P1", "P2", "P3"}
TEAMS = {"RD", "PM", "BD", "OPS", "SALES", "CS"}


def _cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(list(argv))
    assert rc == 0, f"ticket-dq {' '.join(argv)} exited {rc}:\n{out.getvalue()}"
    return out.getvalue()


def _snapshot(wh: Path) -> dict:
    """What a re-run must not change: the ledger, raw row counts, issues and notifications."""
    with duckdb.connect(str(wh), read_only=True) as con:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        return {
            "ledger": q("SELECT file, sha256, status, rows_ingested, rows_quarantined FROM meta.ingested_files ORDER BY 1, 2"),
            "raw": {t: q(f"SELECT count(*) FROM raw.{t}")[0][0] for t in contract.FEEDS},
            "quarantine": q("SELECT count(*) FROM raw.quarantine")[0][0],
            "issues": q("SELECT issue_id, status, severity, team, first_detected_at FROM dq.issues ORDER BY 1"),
            "notifications": q("SELECT notification_id, status, attempts FROM dq.notifications ORDER BY 1"),
            "metrics": q("SELECT * FROM dq.metrics_daily ORDER BY metric_date"),
        }


# The replay runs detection after every 4 simulated hours of deliveries: 10 in-process runs, minutes
# on a loaded 2-core machine, all inside this module's fixture.
pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("make_run")
    paths = {"landing": tmp / "landing", "warehouse": tmp / "warehouse" / "ticket_dq.duckdb",
             "outbox": tmp / "outbox", "home": tmp / "dagster_home"}
    paths["home"].mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TICKET_DQ_LANDING", str(paths["landing"]))
        mp.setenv("TICKET_DQ_WAREHOUSE", str(paths["warehouse"]))
        mp.setenv("TICKET_DQ_OUTBOX", str(paths["outbox"]))
        mp.setenv("DAGSTER_HOME", str(paths["home"]))
        for name in ("TICKET_DQ_NOW", "TICKET_DQ_ROUTES", "TICKET_DQ_SMTP_HOST", "TICKET_DQ_WEBHOOK_URL"):
            mp.delenv(name, raising=False)
        landing = str(paths["landing"])

        def cmd(*argv):
            # `make run` starts one process per command; `--demo-clock` pins the clock for its process only.
            mp.delenv("TICKET_DQ_NOW", raising=False)
            return _cli(*argv)

        simulated = str(tmp / "simulated")
        cmd("simulate", "demo", "--out", simulated, "--if-empty")
        replayed = cmd("replay", "--from", simulated, "--to", landing, "--detect", "step", "--step", "4h", "--quiet")
        cmd("simulate", "handlers", "--landing", landing)
        summary = cmd("materialize", "--demo-clock")
        reports = cmd("report")
        first = _snapshot(paths["warehouse"])
        again = cmd("materialize", "--demo-clock")  # nothing new landed, same clock
        second = _snapshot(paths["warehouse"])
        handlers_again = cmd("simulate", "handlers", "--landing", landing)
    yield {**paths, "replayed": replayed, "summary": summary, "reports": reports, "first": first, "second": second,
           "again": again, "handlers_again": handlers_again}


@pytest.fixture
def con(demo):
    with duckdb.connect(str(demo["warehouse"]), read_only=True) as c:
        yield c


def _columns(con, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall()]


def test_output_tables_have_every_contract_column(con):
    for table, wanted in OUTPUT_COLUMNS.items():
        have = _columns(con, table)
        assert [c for c in wanted if c not in have] == [], table
    assert {"metric_date", "dimension", "value"} <= set(_columns(con, "dq.metrics_breakdown"))


def test_issue_values_stay_inside_the_contract_and_ids_are_unique(con):
    for col, allowed in (("category", set(contract.ISSUE_CATEGORIES)), ("status", STATUSES),
                         ("severity", SEVERITIES), ("team", TEAMS)):
        seen = {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM dq.issues").fetchall()}
        assert seen <= allowed, (col, seen - allowed)
    assert con.execute("SELECT count(*) - count(DISTINCT issue_id) FROM dq.issues").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM dq.issues WHERE reason IS NULL OR reason = ''").fetchone()[0] == 0


def test_the_demo_shows_issues_of_every_category(con):
    seen = {r[0] for r in con.execute("SELECT DISTINCT category FROM dq.issues").fetchall()}
    assert seen == set(contract.ISSUE_CATEGORIES)


def test_no_unmasked_mobile_number_in_issues_notifications_exports_or_messages(demo, con):
    for table in ("dq.issues", "dq.notifications"):
        for col in _columns(con, table):
            for (v,) in con.execute(f"SELECT DISTINCT CAST({col} AS VARCHAR) FROM {table}").fetchall():
                assert not (v and find_mobiles(v)), f"{table}.{col} holds an unmasked mobile number"
    # The raw orders do carry full numbers, so the check above can fail: prove it would.
    assert con.execute("SELECT count(*) FROM raw.orders WHERE regexp_matches(mobile, '^1[3-9][0-9]{9}$')").fetchone()[0] > 0
    messages = [p for p in Path(demo["outbox"]).rglob("*") if p.is_file()]
    assert messages, "the file channel wrote no messages"
    for p in messages:  # hex ids (issue, notification, Message-ID) may hold 11 decimal digits in a row
        text = HEX_ID.sub("", p.read_text(encoding="utf-8", errors="replace"))
        assert not find_mobiles(text), p
    export = demo["warehouse"].parent / "export"
    with duckdb.connect() as reader:
        for name in ("issues", "notifications"):
            rows = reader.execute(f"SELECT * FROM read_parquet('{export / name}.parquet')").fetchall()
            assert not any(find_mobiles(str(v)) for r in rows for v in r if v is not None)


def test_every_delivered_file_is_conserved_and_recorded_once(con):
    assert con.execute("SELECT count(*) FROM meta.ingested_files "
                       "WHERE rows_manifest <> rows_ingested + rows_quarantined").fetchone()[0] == 0
    assert con.execute("SELECT count(*) - count(DISTINCT (feed, source, file, sha256)) "
                       "FROM meta.ingested_files").fetchone()[0] == 0
    feeds = {r[0] for r in con.execute("SELECT DISTINCT feed FROM meta.ingested_files").fetchall()}
    assert feeds == set(contract.FEEDS)
    # The demo's injected bad deliveries are in the ledger, not lost: rejected files and quarantined rows.
    assert con.execute("SELECT count(*) FROM meta.ingested_files WHERE status = 'REJECTED'").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM raw.quarantine WHERE reason IS NULL OR reason = ''").fetchone()[0] == 0


def test_daily_metrics_follow_their_formulas(con):
    rows = con.execute("SELECT alerts, confirmed, complaint_only, resolved, accuracy, recall, closed_loop_rate, "
                       "q_score, complaints_total, complaints_data_related, data_complaint_ratio "
                       "FROM dq.metrics_daily").fetchall()
    assert rows
    for alerts, confirmed, c_only, resolved, acc, rec, clr, q, c_total, c_data, ratio in rows:
        assert acc == (pytest.approx(confirmed / alerts) if alerts else None)
        assert rec == (pytest.approx(confirmed / (confirmed + c_only)) if confirmed + c_only else None)
        assert clr == (pytest.approx(resolved / confirmed) if confirmed else None)
        if None not in (acc, rec, clr):
            assert q == pytest.approx(0.3 * acc + 0.3 * rec + 0.4 * clr, abs=1e-9)
        assert ratio == (pytest.approx(c_data / c_total) if c_total else None)
    # The handlers answered, so the demo's day with alerts has a real score.
    assert con.execute("SELECT count(*) FROM dq.metrics_daily WHERE q_score > 0 AND confirmed > 0").fetchone()[0] >= 1


def test_routed_issues_reach_the_file_channel_and_suppressed_ones_never_do(con):
    sent = con.execute("SELECT count(*) FROM dq.notifications WHERE status = 'SENT'").fetchone()[0]
    assert sent > 0
    assert con.execute("""SELECT count(*) FROM dq.notifications n JOIN dq.issues i USING (issue_id)
                          WHERE i.status = 'SUPPRESSED'""").fetchone()[0] == 0
    unrouted = con.execute("""SELECT count(*) FROM dq.issues i WHERE i.severity IN ('P0', 'P1')
                              AND i.status <> 'SUPPRESSED'
                              AND NOT EXISTS (SELECT 1 FROM dq.notifications n WHERE n.issue_id = i.issue_id)""").fetchone()[0]
    assert unrouted == 0


def test_every_raw_table_was_validated_and_results_stored(con):
    validated = {r[0] for r in con.execute("SELECT DISTINCT asset FROM dq.validation_results").fetchall()}
    assert {f"raw.{feed}" for feed in contract.FEEDS} <= validated, validated


def test_summary_reports_and_exports_are_written(demo, con):
    assert "holds for every file" in demo["summary"]
    assert "Issues by category" in demo["summary"] and "Notifications (dq.notifications)" in demo["summary"]
    assert "Metrics (dq.metrics_daily)" in demo["summary"]
    days = [str(d) for (d,) in con.execute("SELECT metric_date FROM dq.metrics_daily ORDER BY 1").fetchall()]
    reports = demo["warehouse"].parent / "reports"
    assert sorted(p.name for p in reports.glob("report_*.html")) == [f"report_{d}.html" for d in days]
    export = demo["warehouse"].parent / "export"
    with duckdb.connect() as reader:  # a separate process-like reader: no lock on the warehouse needed
        for name, table in (("issues", "dq.issues"), ("notifications", "dq.notifications"),
                            ("metrics_daily", "dq.metrics_daily"), ("metrics_breakdown", "dq.metrics_breakdown")):
            n = reader.execute(f"SELECT count(*) FROM read_parquet('{export / name}.parquet')").fetchone()[0]
            assert n == con.execute(f"SELECT count(*) FROM {table}").fetchone()[0], name


def test_the_replay_detects_as_deliveries_land_and_measures_how_long_faults_waited(demo, con):
    assert "detection ok" in demo["replayed"] and "FAILED" not in demo["replayed"]
    moments = con.execute("SELECT count(DISTINCT first_detected_at) FROM dq.issues").fetchone()[0]
    assert moments >= 5  # caught window after window as the files landed, not once at the end
    per_issue = con.execute("""SELECT count(*), count(*) FILTER (WHERE evidence_landed_at <= first_detected_at
                                                               AND first_detected_at <= first_notified_at)
                               FROM dq.issue_latency WHERE category = 'ORDER_SHOW_CHANGED'""").fetchone()
    assert per_issue[0] > 0 and per_issue[0] == per_issue[1]
    p95 = con.execute("""SELECT max(p95_total_s) FROM dq.detection_delay
                         WHERE category = 'ORDER_SHOW_CHANGED'""").fetchone()[0]
    assert 0 < p95 <= 4 * 3600  # at most one detection window: verified order issues are not held
    pages = list((Path(demo["warehouse"]).parent / "reports").glob("*.html"))
    assert any("How long faults waited" in p.read_text(encoding="utf-8") for p in pages)


def test_a_rerun_with_nothing_new_changes_nothing(demo):
    first, second = demo["first"], demo["second"]
    for part in first:
        assert first[part] == second[part], part
    # The handlers have nothing new to say at the same clock: no second events file.
    assert "0 new events" in demo["handlers_again"] and "nothing to deliver" in demo["handlers_again"]


def test_the_report_renders_in_a_real_browser_with_its_charts_and_numbers(demo, con):
    day, q = con.execute("SELECT metric_date, q_score FROM dq.metrics_daily WHERE q_score IS NOT NULL "
                         "ORDER BY metric_date DESC LIMIT 1").fetchone()
    report = demo["warehouse"].parent / "reports" / f"report_{day}.html"
    with chromium() as browser:
        page = browser.new_page()
        requested = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        assert page.title() == f"ticket_dq data quality report {day}"
        sizes = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        assert len(sizes) == 2 and all(ok and w > 300 and h > 150 for ok, w, h in sizes), sizes
        assert f"{q:.3f}" in page.inner_text("body")
    assert all(u.startswith(("file:", "data:")) for u in requested), requested  # self-contained


def test_the_dagster_ui_shows_every_raw_assets_checks_with_their_latest_result(demo, con, tmp_path):
    failing = {r[0] for r in con.execute("SELECT DISTINCT expectation FROM dq.validation_results "
                                         "WHERE asset = 'raw.partner_schedule' AND NOT success").fetchall()}
    assert failing  # the demo injects partner rows that break range rules
    env = {"TICKET_DQ_LANDING": str(demo["landing"]), "TICKET_DQ_WAREHOUSE": str(demo["warehouse"]),
           "TICKET_DQ_OUTBOX": str(demo["outbox"]), "DAGSTER_HOME": str(demo["home"])}
    with dagster_webserver(env, tmp_path / "webserver.log") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # The UI may pop up its newsletter dialog at any moment; dismiss it whenever it covers an action.
        page.add_locator_handler(page.get_by_text("Join the Dagster community"),
                                 lambda: page.get_by_role("button", name="Skip").click())
        for feed in contract.FEEDS:
            keys, rules = f"{feed.upper()}_KEYS_VALID", f"{feed.upper()}_RULES_VALID"
            page.goto(f"{url}/assets/raw/{feed}?view=checks")
            # The list middle-truncates long names; the full name is in the row's title.
            page.locator(f'[title="{keys}"]').first.wait_for(timeout=60_000)
            assert page.locator(f'[title="{rules}"]').count() >= 1, feed
        # The last run (no new rows) restates the latest validation of partner_schedule. The demo is
        # replayed delivery by delivery, so that is the last window's batch: failed or passed as stored.
        latest_failed = con.execute("""
            SELECT bool_or(NOT success) FROM dq.validation_results
            WHERE asset = 'raw.partner_schedule' AND severity = 'WARN' AND run_id = (
              SELECT arg_max(run_id, validated_at) FROM dq.validation_results
              WHERE asset = 'raw.partner_schedule' AND severity = 'WARN')""").fetchone()[0]
        page.goto(f"{url}/assets/raw/partner_schedule?view=checks&checkDetail=PARTNER_SCHEDULE_RULES_VALID")
        page.get_by_text("latest validation (run ", exact=False).first.wait_for(timeout=30_000)
        body = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "partner_schedule_checks.png"))
        assert "This is a non-blocking asset check." in body
        shown_result = "Failed" if latest_failed else "Passed"
        assert re.search(rf"Evaluation result\s+{shown_result}", body), body[:2000]
        assert "expectations passed" in body and "failing_expectations" in body
        if latest_failed:
            # A failed check leads with what failed; the failing-expectations table (with sample keys)
            # is inline, not behind "[Show Markdown]".
            assert "FAILED " in body and "sample keys" in body and "[Show Markdown]" not in body
            assert any(name in body for name in failing), failing
