"""Asset checks and the VALIDATION_FAILED asset in real ``dg.materialize`` runs on a temp warehouse."""

from __future__ import annotations

import json

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.resources import WarehouseResource
from ticket_dq.defs.validation.assets import validation_failed
from ticket_dq.defs.validation.checks import (
    PARTNER_SCHEDULE_KEYS_VALID, PARTNER_SCHEDULE_RULES_VALID, build_check,
)
from ticket_dq.lib.validation.suites import PARTNER_SCHEDULE
from ticket_dq.lib import warehouse as wh
from ticket_dq.lib.warehouse import CANDIDATE_COLUMNS
from ticket_dq_tests.metadata_text import text
from ticket_dq_tests.validation.helpers import insert_rows, shows

RAW_PS = dg.AssetKey(["raw", "partner_schedule"])


def _graph(rows):
    @dg.asset(key=RAW_PS)
    def partner_schedule(warehouse: WarehouseResource) -> None:
        with warehouse.get_connection() as con:
            insert_rows(con, "partner_schedule", rows)

    @dg.asset(deps=[RAW_PS])
    def schedule_comparison() -> None:
        pass

    return [partner_schedule, schedule_comparison, build_check(PARTNER_SCHEDULE), validation_failed]


def _materialize(rows):
    resources = {"warehouse": WarehouseResource(database=str(settings.warehouse_path()))}
    return dg.materialize(_graph(rows), resources=resources, raise_on_error=False)


def _evaluations(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_duplicate_keys_fail_the_blocking_error_check_and_downstream_does_not_run():
    rows = shows(6)
    rows.append(dict(rows[1]))
    result = _materialize(rows)
    evals = _evaluations(result)
    keys = evals[PARTNER_SCHEDULE_KEYS_VALID]
    assert keys.passed is False and keys.severity == dg.AssetCheckSeverity.ERROR
    assert keys.metadata["unexpected_counts"].value["partner_schedule_key_unique"] == 2
    assert "partner_schedule_key_unique" in text(keys.metadata["failing_expectations"])
    # The description leads with what failed, then the pass count.
    assert keys.description.startswith("FAILED partner_schedule_key_unique (2 rows)")
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert RAW_PS in materialized
    assert dg.AssetKey("schedule_comparison") not in materialized
    assert dg.AssetKey(["cand", "validation_failed"]) not in materialized


def test_rule_violations_warn_without_blocking_and_become_validation_failed_candidates():
    rows = shows(8, i2={"sale_price_fen": 9000}, i4={"seats_available": 500})
    result = _materialize(rows)
    evals = _evaluations(result)
    assert evals[PARTNER_SCHEDULE_KEYS_VALID].passed is True
    warn = evals[PARTNER_SCHEDULE_RULES_VALID]
    assert warn.passed is False and warn.severity == dg.AssetCheckSeverity.WARN
    md = warn.metadata
    assert md["element_count"].value == 8
    assert md["unexpected_counts"].value["sale_gt_list"] == 1
    assert md["unexpected_counts"].value["seats_available_gt_total"] == 1
    assert "S2" in text(md["failing_expectations"]) and "S4" in text(md["failing_expectations"])
    assert md["success_percent"].value < 100
    assert md["data_docs"].value.startswith("file://")
    assert (settings.docs_dir() / "index.html").exists()
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey("schedule_comparison") in materialized
    assert dg.AssetKey(["cand", "validation_failed"]) in materialized

    with wh.connect(settings.warehouse_path()) as con:
        cols = [(r[0], r[1]) for r in con.execute("DESCRIBE cand.validation_failed").fetchall()]
        cands = con.execute("SELECT category, rule, source, CAST(business_date AS VARCHAR), business_key, reason, evidence "
                            "FROM cand.validation_failed ORDER BY rule").fetchall()
        stored = con.execute("SELECT count(*) FROM dq.validation_results WHERE NOT success").fetchone()[0]
    assert cols == list(CANDIDATE_COLUMNS)
    assert [(c[0], c[1], c[2], c[3], c[4]) for c in cands] == [
        ("VALIDATION_FAILED", "sale_gt_list", "FH", "2026-03-08", "sale_gt_list|2026-03-08"),
        ("VALIDATION_FAILED", "seats_available_gt_total", "FH", "2026-03-08", "seats_available_gt_total|2026-03-08"),
    ]
    assert "sale_gt_list" in cands[0][5] and "1 row" in cands[0][5]
    ev = json.loads(cands[0][6])
    assert ev["unexpected_count"] == 1 and ev["element_count"] == 8
    assert ev["sample_keys"][0]["show_code"] == "S2"
    assert stored == 2


def test_quarantined_rows_become_row_parse_candidates_without_raw_text(isolated_env):
    with wh.connect(settings.warehouse_path()) as con:
        con.execute("""INSERT INTO raw.quarantine VALUES
            ('orders', 'MTX', 'orders/MTX/2026-03-08/o_1.csv', 5, '2026-03-08 10:00:00,O9,13900001111', 'bad ts', 'r', now()),
            ('orders', 'MTX', 'orders/MTX/2026-03-08/o_1.csv', 9, 'x,13900002222', 'bad int', 'r', now()),
            ('partner_schedule', 'MTX', 'partner_schedule/MTX/2026-03-08/p.csv', NULL, NULL, 'sha256 mismatch', 'r', now())""")
    result = _materialize(shows(3))
    assert result.success
    with wh.connect(settings.warehouse_path()) as con:
        rows = con.execute("SELECT rule, source, CAST(business_date AS VARCHAR), evidence FROM cand.validation_failed").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("row_parse", "MTX", "2026-03-08")]
    ev = json.loads(rows[0][3])
    assert ev["unexpected_count"] == 2  # whole-file rejections (no line) are feed-level, not row_parse
    assert [s["line"] for s in ev["sample_keys"]] == [5, 9]
    assert "1390000" not in rows[0][3]


def test_a_run_with_no_new_rows_restates_the_latest_failures_instead_of_a_vacuous_pass():
    rows = shows(8, i2={"sale_price_fen": 9000})
    first = _evaluations(_materialize(rows))
    assert first[PARTNER_SCHEDULE_RULES_VALID].passed is False
    resources = {"warehouse": WarehouseResource(database=str(settings.warehouse_path()))}
    # The same graph again, but the raw asset delivers nothing new this time.
    again = dg.materialize(_graph([]), resources=resources, raise_on_error=False)
    evals = _evaluations(again)
    rules, keys = evals[PARTNER_SCHEDULE_RULES_VALID], evals[PARTNER_SCHEDULE_KEYS_VALID]
    assert rules.passed is False and rules.severity == dg.AssetCheckSeverity.WARN
    # What failed first, then where it was found; a passing restatement says "no new rows" first.
    assert rules.description.startswith("FAILED sale_gt_list (1 rows) in the latest validation (run ")
    assert rules.description.endswith("7/8 expectations passed; no new rows since")
    assert rules.metadata["unexpected_counts"].value["sale_gt_list"] == 1
    assert "sale_gt_list" in text(rules.metadata["failing_expectations"])
    assert "show_code=S2" in text(rules.metadata["failing_expectations"])  # sample keys, as stored
    assert rules.metadata["restated_from_run"].value != again.run_id
    assert keys.passed is True and keys.metadata["new_rows"].value == 0
    assert keys.description.startswith("no new rows; latest validation (run ")
    with wh.connect(settings.warehouse_path()) as con:  # nothing re-stored: history holds real validations only
        runs = con.execute("SELECT count(DISTINCT run_id) FROM dq.validation_results").fetchone()[0]
    assert runs == 1
