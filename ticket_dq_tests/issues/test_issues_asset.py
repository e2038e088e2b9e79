"""dq.issues materialized for real on a temp warehouse from hand-made candidate tables: identity,
re-detection, auto-resolve, reopen, handler feedback (inhibition: test_inhibition_by_cause.py)."""

import json

import dagster as dg
import pytest

from ticket_dq import settings
from ticket_dq.defs.issues.assets import issue_events_rejected
from ticket_dq.defs.issues.assets import issues as issues_asset
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import issues, warehouse
from ticket_dq_tests.metadata_text import text

T0 = "2026-03-09 20:00:00"
T1 = "2026-03-09 21:00:00"
T2 = "2026-03-09 22:00:00"
T3 = "2026-03-09 23:00:00"

EXTRA_FH = ("SHOW_EXTRA", "ghost", "FH", "11011004", "2026-03-10", "2026-03-10 18:30:00", None, None, 0, 0,
            "11011004|2026-03-10 18:30", "FH lists a show no platform lists.", json.dumps({"partner": {"hall": "3号厅"}}))
ORDER_MTX = ("ORDER_SHOW_CHANGED", "time_shift", "MTX", "32011004", "2026-03-09", "2026-03-09 23:30:00", "TK1", None, 1,
             4590, "TK1", "The show of order TK1 moved.", json.dumps({"order": {"order_id": "TK1"}}))
ORDERS_REJECTED = ("FEED_PARTIAL", "manifest_mismatch", "internal", None, "2026-03-09", None, None, None, None, None,
                   "2026-03-09", "internal delivered 1 orders file(s) that could not be loaded.", json.dumps({"feed": "orders"}))
CODE_UNKNOWN = ("PICKUP_CODE_INVALID", "unknown_order", "TAOBAO", "11011009", "2026-03-09", "2026-03-09 23:00:00", "O9",
                "K9", 1, None, "K9", "Pickup code K9 belongs to order O9, which we have no record of.",
                json.dumps({"allocated_at": "2026-03-09 19:00:00"}))


def _write_candidates(*rows, table="cand.test_rows"):
    with warehouse.connect(settings.warehouse_path()) as con:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(warehouse.candidate_table_ddl(table))
        for r in rows:
            con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(r))})", list(r))


def _run(monkeypatch, now):
    monkeypatch.setenv("TICKET_DQ_NOW", now)
    result = dg.materialize([issues_asset], resources=build_resources())
    assert result.success
    return result


def _issues():
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        cols = [d[0] for d in con.execute("SELECT * FROM dq.issues LIMIT 0").description]
        return {r[0]: dict(zip(cols, r)) for r in con.execute("SELECT * FROM dq.issues").fetchall()}


def test_issue_lifecycle_detect_redetect_resolve_reopen(monkeypatch):
    _write_candidates(EXTRA_FH, ORDER_MTX)
    _run(monkeypatch, T0)
    rows = _issues()
    ghost_id = issues.issue_id("SHOW_EXTRA", "FH", "11011004|2026-03-10 18:30")
    order_id = issues.issue_id("ORDER_SHOW_CHANGED", "MTX", "TK1")
    assert set(rows) == {ghost_id, order_id}
    assert rows[order_id]["status"] == "OPEN" and rows[order_id]["team"] == "CS" and rows[order_id]["severity"] == "P1"  # 3.5 h to the show
    assert rows[ghost_id]["team"] == "BD" and str(rows[ghost_id]["first_detected_at"]) == T0

    _run(monkeypatch, T1)  # same faults again: same ids, last_detected moves, first stays
    rows = _issues()
    assert str(rows[ghost_id]["first_detected_at"]) == T0 and str(rows[ghost_id]["last_detected_at"]) == T1

    _write_candidates(ORDER_MTX)  # the ghost show is gone
    _run(monkeypatch, T2)
    rows = _issues()
    assert rows[ghost_id]["status"] == "RESOLVED" and str(rows[ghost_id]["resolved_at"]) == T2
    assert rows[ghost_id]["resolution_reason"] == "no longer detected"
    assert rows[order_id]["status"] == "OPEN"

    _write_candidates(EXTRA_FH, ORDER_MTX)  # it comes back: reopened, same id
    _run(monkeypatch, T3)
    rows = _issues()
    assert rows[ghost_id]["status"] == "OPEN" and rows[ghost_id]["resolved_at"] is None
    assert str(rows[ghost_id]["first_detected_at"]) == T0 and str(rows[ghost_id]["reopened_at"]) == T3


def test_handler_events_override_detection_status(monkeypatch):
    _write_candidates(EXTRA_FH, ORDER_MTX)
    _run(monkeypatch, T0)
    ghost_id = issues.issue_id("SHOW_EXTRA", "FH", "11011004|2026-03-10 18:30")
    order_id = issues.issue_id("ORDER_SHOW_CHANGED", "MTX", "TK1")
    with warehouse.connect(settings.warehouse_path()) as con:
        for ts, iid, to in ((T0, order_id, "ACKNOWLEDGED"), ("2026-03-09 20:10:00", ghost_id, "FALSE_POSITIVE")):
            con.execute("INSERT INTO raw.issue_events (event_ts, issue_id, to_status, handler, team, source, ingest_file, "
                        "ingest_line, ingested_at) VALUES (?, ?, ?, 'h1', 'CS', 'internal', 'f.csv', 2, ?)", [ts, iid, to, ts])
    _run(monkeypatch, T1)
    rows = _issues()
    assert rows[order_id]["status"] == "ACKNOWLEDGED"
    assert rows[ghost_id]["status"] == "FALSE_POSITIVE"
    assert rows[ghost_id]["detection_status"] == "OPEN"  # detection still sees it; the handler's verdict stands


def test_issues_materialization_reports_counts_as_inline_tables(monkeypatch):
    _write_candidates(EXTRA_FH, ORDER_MTX, ORDERS_REJECTED, CODE_UNKNOWN)
    result = _run(monkeypatch, T0)
    meta = result.asset_materializations_for_node("dq__issues")[0].metadata
    assert meta["new_this_run"].value == 4
    assert "SUPPRESSED" in text(meta["by_status"]) and "ORDER_SHOW_CHANGED" in text(meta["by_category_status"])


def test_refused_handler_events_are_kept_with_the_reason(monkeypatch):
    _write_candidates(EXTRA_FH)
    _run(monkeypatch, T0)
    ghost_id = issues.issue_id("SHOW_EXTRA", "FH", "11011004|2026-03-10 18:30")
    events = (("2026-03-09 20:10:00", "FALSE_POSITIVE", 2), ("2026-03-09 20:20:00", "RESOLVED", 3),
              ("2026-03-09 20:10:00", "FALSE_POSITIVE", 4))  # illegal after FALSE_POSITIVE; a duplicate
    with warehouse.connect(settings.warehouse_path()) as con:
        for ts, to, line in events:
            con.execute("INSERT INTO raw.issue_events (event_ts, issue_id, to_status, handler, team, source, ingest_file, "
                        "ingest_line, ingested_at) VALUES (?, ?, ?, 'h1', 'BD', 'internal', 'f.csv', ?, ?)",
                        [ts, ghost_id, to, line, ts])
    for _ in range(2):  # replaced in full: a re-run keeps the same rows
        result = dg.materialize([issue_events_rejected], resources=build_resources())
        assert result.success
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        rows = con.execute("SELECT to_status, reason_code, reason FROM dq.issue_events_rejected "
                           "ORDER BY ingest_line").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("RESOLVED", "ILLEGAL_TRANSITION"), ("FALSE_POSITIVE", "DUPLICATE")]
    assert rows[0][2].startswith("cannot go FALSE_POSITIVE -> RESOLVED")
    meta = result.asset_materializations_for_node("dq__issue_events_rejected")[0].metadata
    assert meta["dagster/row_count"].value == 2 and meta["events_applied"].value == 1
    assert "ILLEGAL_TRANSITION" in text(meta["by_reason"])


def test_metrics_sensor_recomputes_the_detection_day_of_new_and_changed_issues(monkeypatch):
    from ticket_dq.defs.metrics.sensors import metrics_on_new_feedback

    _write_candidates(EXTRA_FH)
    with dg.instance_for_test() as instance:
        def run_at(now):
            monkeypatch.setenv("TICKET_DQ_NOW", now)
            assert dg.materialize([issues_asset], resources=build_resources(), instance=instance).success

        ctx = dg.build_sensor_context(instance=instance)
        run_at(T0)  # a new issue, first detected on 2026-03-09
        request = metrics_on_new_feedback(ctx)
        assert isinstance(request, dg.RunRequest)
        assert request.run_config["ops"]["dq__metrics_daily"]["config"] == {"days": ["2026-03-09"], "ingest_run_ids": []}
        assert request.tags["ticket_dq/trigger"] == "issues_changed"

        run_at(T1)  # detected again, nothing countable changed: skipped, cursor moves on
        ctx = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
        assert isinstance(metrics_on_new_feedback(ctx), dg.SkipReason)

        _write_candidates()  # the fault is gone: auto-resolved, which changes its detection day's counts
        run_at(T2)
        ctx = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
        request = metrics_on_new_feedback(ctx)
        assert request.run_config["ops"]["dq__metrics_daily"]["config"]["days"] == ["2026-03-09"]
