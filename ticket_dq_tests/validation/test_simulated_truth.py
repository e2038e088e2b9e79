"""End to end on simulated feeds: simulate, ingest, validate; the injected VALIDATION_FAILED truth
rows (row_parse, sale_gt_list, seats_available_gt_total) are exactly the candidates, and no ERROR
check fails on the simulator's data (it injects no key violations, so detection is not blocked)."""

from __future__ import annotations

import csv
from datetime import datetime

from ticket_dq.defs.validation.assets import CANDIDATE_RULES
from ticket_dq.lib.validation.suites import SUITES
from ticket_dq.lib import contract, ingest, warehouse
from ticket_dq.lib.validation import candidates, run_suite
from ticket_dq.simulate import SimConfig, generate


def test_simulated_validation_faults_are_caught_and_error_checks_pass(isolated_env):
    landing = isolated_env["landing"]
    generate(landing, SimConfig(seed=7, cinemas=20, days=2, snapshots_per_day=3, crawls_per_day=2))
    now = datetime(2026, 3, 9, 21, 5)
    with warehouse.connect(isolated_env["warehouse"]) as con:
        for feed in contract.FEEDS:
            ingest.ingest_feed(con, landing, feed, "run-1", now)
        for name in contract.REFERENCE:
            ingest.ingest_reference(con, landing, name, "run-1", now)
        outcomes = [run_suite(con, s, run_id="run-1", validated_at=now) for s in SUITES.values()]
        candidates.build(con, CANDIDATE_RULES)
        got = con.execute("SELECT rule, source, CAST(business_date AS VARCHAR) FROM cand.validation_failed").fetchall()

    assert [(o.table, r.name) for o in outcomes for r in o.failed("ERROR")] == []
    assert [(o.table, r.name, r.exception) for o in outcomes for r in o.results if r.exception] == []
    with open(landing / "_truth" / "faults.csv", encoding="utf-8") as fh:
        truth = {(r["rule"], r["source"], r["business_date"]) for r in csv.DictReader(fh)
                 if r["kind"] == "fault" and r["category"] == "VALIDATION_FAILED"}
    assert {rule for rule, _, _ in truth} == {"row_parse", "sale_gt_list", "seats_available_gt_total"}
    assert set(got) == truth
