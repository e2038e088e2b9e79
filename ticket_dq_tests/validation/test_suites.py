"""GX suites over a real DuckDB file: clean data passes, each rule catches its violation."""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import unquote, urlparse

import pytest

from ticket_dq.lib.validation.suites import ORDERS, PARTNER_SCHEDULE, SUITES
from ticket_dq.lib import warehouse
from ticket_dq.lib.validation import docs_views, run_suite, store
from ticket_dq_tests.validation.helpers import CLEAN_ORDER, insert_rows, shows

NOW = datetime(2026, 3, 8, 11, 0)


@pytest.fixture
def con(isolated_env):
    with warehouse.connect(isolated_env["warehouse"]) as c:
        yield c


def _by_name(outcome):
    return {r.name: r for r in outcome.results}


def test_clean_partner_snapshot_passes_every_expectation(con):
    insert_rows(con, "partner_schedule", shows(30))
    out = run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW)
    assert out.element_count == 30
    assert len(out.results) == len(PARTNER_SCHEDULE.rules)
    assert [r.name for r in out.results if not r.success] == []
    assert all(r.exception is None for r in out.results)
    assert out.success_percent() == 100.0


def test_sale_above_list_and_seats_above_total_are_counted_with_sample_keys(con):
    rows = shows(20, i3={"sale_price_fen": 7000}, i5={"sale_price_fen": 6500},
                 i7={"seats_available": 121})
    insert_rows(con, "partner_schedule", rows)
    res = _by_name(run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW))
    sale = res["sale_gt_list"]
    assert (sale.success, sale.unexpected_count, sale.element_count, sale.severity) == (False, 2, 20, "WARN")
    assert sorted(k["show_code"] for k in sale.sample_keys) == ["S3", "S5"]
    assert {k["cinema_code"] for k in sale.sample_keys} == {"11010001"}
    seats = res["seats_available_gt_total"]
    assert (seats.unexpected_count, [k["show_code"] for k in seats.sample_keys]) == (1, ["S7"])
    # Everything else stays green: one fault, one failing rule.
    assert {n for n, r in res.items() if not r.success} == {"sale_gt_list", "seats_available_gt_total"}


def test_duplicate_show_key_fails_the_error_rule(con):
    rows = shows(5)
    rows.append(dict(rows[2]))  # same source, cinema, show_code, snapshot_ts
    insert_rows(con, "partner_schedule", rows)
    out = run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW)
    key = _by_name(out)["partner_schedule_key_unique"]
    assert (key.severity, key.success, key.unexpected_count) == ("ERROR", False, 2)
    assert {k["show_code"] for k in key.sample_keys} == {"S2"}
    assert [r.name for r in out.failed("ERROR")] == ["partner_schedule_key_unique"]


def test_range_and_consistency_rules_catch_their_violations(con):
    rows = shows(12, i1={"duration_min": 30}, i2={"end_time": datetime(2026, 3, 8, 9, 0)},
                 i4={"show_status": "SOLD"}, i6={"sale_price_fen": 500, "list_price_fen": 600},
                 i8={"business_date": "2026-03-09"}, i9={"film_code": "12345"})
    insert_rows(con, "partner_schedule", rows)
    res = _by_name(run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW))
    expected = {"duration_40_300": "S1", "start_not_before_end": "S2", "partner_schedule_show_status_in_set": "S4",
                "sale_price_range": "S6", "business_date_matches_start": "S8", "partner_schedule_film_code_format": "S9"}
    for rule, show in expected.items():
        assert res[rule].unexpected_count == 1, rule
        assert [k["show_code"] for k in res[rule].sample_keys] == [show], rule


def test_after_midnight_show_belongs_to_previous_business_date(con):
    late = {"start_time": datetime(2026, 3, 9, 0, 30), "end_time": datetime(2026, 3, 9, 2, 30),
            "business_date": "2026-03-08"}
    insert_rows(con, "partner_schedule", shows(3, i0=late))
    res = _by_name(run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW))
    assert res["business_date_matches_start"].success


def test_order_rules_use_order_id_and_never_expose_the_mobile_number(con):
    bad_seats = dict(CLEAN_ORDER, order_id="O2", seats="7排11座,7-12")
    bad_count = dict(CLEAN_ORDER, order_id="O3", ticket_count=3, total_fen=14100)
    bad_total = dict(CLEAN_ORDER, order_id="O4", total_fen=20000)
    after_start = dict(CLEAN_ORDER, order_id="O5", event_ts=datetime(2026, 3, 8, 15, 0))
    insert_rows(con, "orders", [CLEAN_ORDER, bad_seats, bad_count, bad_total, after_start], source="FH")
    out = run_suite(con, ORDERS, run_id="r1", validated_at=NOW)
    res = _by_name(out)
    assert [k["order_id"] for k in res["orders_seats_pattern"].sample_keys] == ["O2"]
    assert [k["order_id"] for k in res["orders_ticket_count_matches_seats"].sample_keys] == ["O3"]
    assert [k["order_id"] for k in res["orders_total_consistent"].sample_keys] == ["O4"]
    assert [k["order_id"] for k in res["orders_show_after_event"].sample_keys] == ["O5"]
    assert out.failed("ERROR") == []
    stored = con.execute("SELECT string_agg(CAST(sample_keys AS VARCHAR), '') FROM dq.validation_results").fetchone()[0]
    assert "13812345678" not in stored


def test_every_suite_runs_without_expectation_errors_on_empty_and_filled_tables(con):
    insert_rows(con, "partner_schedule", shows(3))
    insert_rows(con, "orders", [CLEAN_ORDER])
    for suite in SUITES.values():
        out = run_suite(con, suite, run_id="r1", validated_at=NOW)
        assert [r.exception for r in out.results if r.exception] == [], suite.table


def test_results_land_in_validation_results_per_source_and_feed_date(con):
    insert_rows(con, "partner_schedule", shows(10, i1={"sale_price_fen": 9000}), source="FH",
                file="partner_schedule/FH/2026-03-08/fh_1000.csv")
    insert_rows(con, "partner_schedule", shows(4), source="MTX", file="partner_schedule/MTX/2026-03-09/mtx_1000.csv")
    run_suite(con, PARTNER_SCHEDULE, run_id="run-42", validated_at=NOW)
    rows = con.execute(
        """SELECT source, CAST(business_date AS VARCHAR), success, element_count, unexpected_count, sample_keys, severity, run_id
           FROM dq.validation_results WHERE expectation = 'sale_gt_list' ORDER BY source""").fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4], r[6], r[7]) for r in rows] == [
        ("FH", "2026-03-08", False, 10, 1, "WARN", "run-42"),
        ("MTX", "2026-03-09", True, 4, 0, "WARN", "run-42"),
    ]
    assert json.loads(rows[0][5])[0]["show_code"] == "S1"
    n = con.execute("SELECT count(DISTINCT expectation) FROM dq.validation_results").fetchone()[0]
    assert n == len(PARTNER_SCHEDULE.rules)


def test_incremental_run_validates_only_files_not_yet_validated(con):
    insert_rows(con, "partner_schedule", shows(10), file="partner_schedule/FH/2026-03-08/a.csv")
    first = run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW)
    again = run_suite(con, PARTNER_SCHEDULE, run_id="r2", validated_at=NOW)
    insert_rows(con, "partner_schedule", shows(3, i0={"sale_price_fen": 9999}),
                file="partner_schedule/FH/2026-03-08/b.csv", run_id="run-2")
    third = run_suite(con, PARTNER_SCHEDULE, run_id="r3", validated_at=NOW)
    assert (first.element_count, again.element_count, third.element_count) == (10, 0, 3)
    assert again.results == [] and third.files == ["partner_schedule/FH/2026-03-08/b.csv"]
    assert _by_name(third)["sale_gt_list"].unexpected_count == 1


def test_data_docs_are_written_and_linked(con, isolated_env):
    docs = isolated_env["warehouse"].parent / "docs"
    insert_rows(con, "partner_schedule", shows(5, i0={"sale_price_fen": 9000}))
    out = run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW, docs_dir=docs)
    assert (docs / "index.html").exists()
    assert out.docs_url and out.docs_url.startswith("file://")
    page = out.docs_url[len("file://"):]
    html = open(page, encoding="utf-8").read()
    assert "raw_partner_schedule" in html


def test_each_suite_keeps_its_data_docs_when_another_suite_renders(con, isolated_env):
    docs = isolated_env["warehouse"].parent / "docs"
    insert_rows(con, "partner_schedule", shows(5, i0={"sale_price_fen": 9000}))
    first = run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW, docs_dir=docs)
    insert_rows(con, "orders", [dict(CLEAN_ORDER)], file="orders/FH/2026-03-08/o.csv")
    second = run_suite(con, ORDERS, run_id="r2", validated_at=NOW, docs_dir=docs)
    for out in (first, second):  # the partner page survives the orders build
        assert open(unquote(urlparse(out.docs_url).path), encoding="utf-8").read()
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert PARTNER_SCHEDULE.name in index and ORDERS.name in index


def _page_text(url: str) -> str:
    """A Data Docs page without what differs between two renderings of one result (ids, times)."""
    html = open(unquote(urlparse(url).path), encoding="utf-8").read()
    html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", html)
    return re.sub(r"\d{8}T\d{6}\.\d{6}Z|\d{4}-\d{2}-\d{2}[ T][\d:.]+", "TIME", html)


def test_data_docs_pages_are_the_ones_gx_own_views_render(con, isolated_env, monkeypatch):
    # docs_views shares one Jinja environment between builds; GX's own views build a new one each time.
    insert_rows(con, "partner_schedule", shows(5, i0={"sale_price_fen": 9000}))
    docs = isolated_env["warehouse"].parent / "docs"
    ours = [run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW, docs_dir=docs / "ours").docs_url]
    store.ensure_tables(con)
    for run in ("r2", "r3"):  # the same rows again, rendered by a view that has built a page before
        con.execute(f"DELETE FROM {store.FILES_TABLE}")
        ours.append(run_suite(con, PARTNER_SCHEDULE, run_id=run, validated_at=NOW, docs_dir=docs / run).docs_url)
    monkeypatch.setattr(docs_views, "site_views", lambda: {})
    con.execute(f"DELETE FROM {store.FILES_TABLE}")
    theirs = run_suite(con, PARTNER_SCHEDULE, run_id="r4", validated_at=NOW, docs_dir=docs / "gx").docs_url
    assert "sale_price_fen" in _page_text(theirs)
    assert [_page_text(u) for u in ours] == [_page_text(theirs)] * 3


def test_schema_drift_and_rejected_files_are_reported(con):
    insert_rows(con, "partner_schedule", shows(4), extras='{"promo_tag": "x", "vip": 1}')
    insert_rows(con, "partner_schedule", shows(2), file="partner_schedule/FH/2026-03-08/clean.csv")
    con.execute("""INSERT INTO meta.ingested_files (file, feed, source, stem, sha256, rows_manifest, rows_ingested,
                   rows_quarantined, status, reason, ingested_at)
                   VALUES ('partner_schedule/FH/2026-03-08/bad.csv', 'partner_schedule', 'FH', 'bad', 'x', 10, 0, 0,
                           'REJECTED', 'missing required column show_code', now()),
                          ('partner_schedule/FH/2026-03-08/allbad.csv', 'partner_schedule', 'FH', 'allbad', 'y', 2, 0, 2,
                           'INGESTED', NULL, now())""")
    con.execute("""INSERT INTO raw.quarantine VALUES
        ('partner_schedule', 'FH', 'partner_schedule/FH/2026-03-08/allbad.csv', 2, 'x', 'bad timestamp', 'r', now()),
        ('partner_schedule', 'FH', 'partner_schedule/FH/2026-03-08/allbad.csv', 3, 'y', 'bad int', 'r', now())""")
    out = run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW)
    assert out.quarantined_rows == 2
    assert out.drift_rows == 4
    assert out.drift_columns == ["promo_tag", "vip"]
    assert out.rejected_files == [{"file": "partner_schedule/FH/2026-03-08/bad.csv",
                                   "reason": "missing required column show_code"}]
    # Reported once: the next run does not repeat the rejected file.
    again = run_suite(con, PARTNER_SCHEDULE, run_id="r2", validated_at=NOW)
    assert (again.rejected_files, again.quarantined_rows) == ([], 0)


def test_failures_beyond_the_sample_cap_are_counted_exactly_per_source_and_date(con):
    """GX returns only the first few failing rows; per-date counts must still be exact."""
    cheap = {f"i{i}": {"sale_price_fen": 500} for i in range(0, 40, 2)}  # 20 of 40 rows
    insert_rows(con, "partner_schedule", shows(40, **cheap), source="FH", file="partner_schedule/FH/2026-03-08/a.csv")
    insert_rows(con, "partner_schedule", shows(10, **cheap), source="DX", file="partner_schedule/DX/2026-03-09/b.csv")
    out = run_suite(con, PARTNER_SCHEDULE, run_id="r1", validated_at=NOW)
    rng = _by_name(out)["sale_price_range"]
    assert rng.unexpected_count == 25
    assert {k: n for k, (n, _) in rng.groups.items()} == {
        ("FH", datetime(2026, 3, 8).date()): 20, ("DX", datetime(2026, 3, 9).date()): 5}
    assert len(rng.sample_keys) == 5
    stored = con.execute("""SELECT source, unexpected_count, element_count FROM dq.validation_results
                            WHERE expectation = 'sale_price_range' ORDER BY source""").fetchall()
    assert stored == [("DX", 5, 10), ("FH", 20, 40)]


def test_pickup_code_key_duplicate_is_reported_by_the_check_but_is_no_validation_issue(con):
    # CMB_BANK bulk pushes: one code handed to two orders in the same push shares allocation_ts and
    # status, so it breaks the pickup_codes key. compare reports it as PICKUP_CODE_DUPLICATE; a
    # VALIDATION_FAILED issue as well would be a second alert for one fault.
    from ticket_dq.defs.validation.assets import CANDIDATE_RULES
    from ticket_dq.lib.validation.suites import PICKUP_CODES
    from ticket_dq.lib.validation import candidates

    base = {"allocation_ts": datetime(2026, 3, 8, 10, 30), "channel_partner": "CMB_BANK", "cinema_code": "11010001",
            "show_code": "S1", "show_start_time": datetime(2026, 3, 8, 14, 0), "verify_code": "123456",
            "seats": "7排11座", "ticket_count": 1, "status": "ALLOCATED"}
    rows = [dict(base, channel_order_id=f"C{i}", order_id=f"O{i}", pickup_code=f"{100000000000 + i}") for i in range(5)]
    rows.append(dict(base, channel_order_id="C9", order_id="O9", pickup_code="100000000001"))  # same code, other order
    insert_rows(con, "pickup_codes", rows, source="CMB_BANK")
    out = run_suite(con, PICKUP_CODES, run_id="r1", validated_at=NOW)
    key = _by_name(out)["pickup_codes_key_unique"]
    assert not key.success and key.unexpected_count == 2 and key.severity == "WARN"
    assert "pickup_codes_key_unique" not in CANDIDATE_RULES
    candidates.build(con, CANDIDATE_RULES)
    assert con.execute("SELECT count(*) FROM cand.validation_failed").fetchone()[0] == 0
