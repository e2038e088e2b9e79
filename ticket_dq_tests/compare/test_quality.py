"""End to end: simulate the demo landing -> ingest -> compare -> dq.issues -> score against the truth.

Targets: precision and recall >= 0.95 for every category the simulator injects (VALIDATION_FAILED
is scored when the validation stage's cand.validation_failed is part of the run; it is not built here),
and the naive order-vs-partner comparison's false ORDER_SHOW_* alerts cut by >= 90 % without losing true ones.
"""

import json
from datetime import datetime

import dagster as dg
import pytest

from ticket_dq import settings
from ticket_dq.defs.compare import assets as compare
from ticket_dq.defs.issues.assets import issues as issues_asset
from ticket_dq.defs.outcomes import assets as outcomes
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import contract, ingest, quality, warehouse
from ticket_dq.lib.detection import scripts
from ticket_dq.simulate import generate

DETECTION_ASSETS = [compare.map_cinema, compare.map_film, compare.partner_schedule_current,
                    compare.competitor_schedule_current, compare.change_log, compare.order_state, compare.feed_health,
                    compare.unmapped_entity, compare.schedule_discrepancy, compare.schedule_integrity,
                    compare.order_show, compare.seat_double_sold, compare.pickup_code, outcomes.order_outcome,
                    outcomes.order_not_issued, outcomes.order_outcome_spike, issues_asset]

EMITTED = """SELECT category, rule, source, cinema_code, business_date, show_start_time, order_id, pickup_code,
                    business_key FROM dq.issues WHERE status <> 'SUPPRESSED'"""


@pytest.fixture
def demo_run(isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    generate(landing, cinemas=60, days=2)
    truth = landing / "_truth"
    now = json.loads((truth / "sim.json").read_text())["now"]
    monkeypatch.setenv("TICKET_DQ_NOW", now)
    clock = datetime.fromisoformat(now)
    with warehouse.connect(settings.warehouse_path()) as con:
        for name in contract.REFERENCE:
            ingest.ingest_reference(con, landing, name, "test", clock)
        for feed in ("partner_schedule", "competitor_schedule", "orders", "pickup_codes"):
            ingest.ingest_feed(con, landing, feed, "test", clock)
    assert dg.materialize(DETECTION_ASSETS, resources=build_resources()).success
    return truth / "faults.csv", clock


def test_demo_detection_meets_precision_and_recall_targets_and_beats_naive_orders(demo_run):
    faults_csv, clock = demo_run
    with warehouse.connect(settings.warehouse_path()) as con:
        sc = quality.score(con, EMITTED, faults_csv)
        print("\n" + sc.markdown())
        for row in sc.rows:
            if row["category"] == "VALIDATION_FAILED":
                continue  # built by the validation stage's asset, not part of this run
            assert row["emitted"] == 0 or row["precision"] >= 0.95, row
            assert row["faults"] == 0 or row["recall"] >= 0.95, row
        scored = {r["category"] for r in sc.rows if r["faults"]}
        assert {"SHOW_MISSING", "SHOW_TIME_MISMATCH", "ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED",
                "SEAT_DOUBLE_SOLD", "FEED_VOLUME_DROP", "UNMAPPED_ENTITY", "ORDER_NOT_ISSUED", "ORDER_OUTCOME_SPIKE"} <= scored

        ours = {r["category"]: r for r in sc.rows}
        our_false = sum(ours[c]["emitted"] - ours[c]["tp_emitted"] for c in ("ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED"))
        our_found = sum(ours[c]["tp_faults"] for c in ("ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED"))
        scripts.run(con, "name_keys", now=clock)
        naive = quality.naive_order_false_alerts(con, clock, faults_csv)
        print(f"naive ORDER_SHOW_*: {naive}; ours false={our_false} found={our_found}")
        assert naive["false"] > 0
        assert our_false <= 0.1 * naive["false"]
        assert our_found >= naive["faults_found"]

        # personal data never reaches the issues table
        mobiles = con.execute("SELECT count(*) FROM dq.issues i WHERE EXISTS (SELECT 1 FROM raw.orders o "
                              "WHERE o.mobile IS NOT NULL AND (contains(CAST(i.evidence AS VARCHAR), o.mobile) "
                              "OR contains(i.reason, o.mobile)))").fetchone()[0]
        assert mobiles == 0
        suppressed = con.execute("SELECT count(*) FROM dq.issues WHERE status = 'SUPPRESSED'").fetchone()[0]
        assert suppressed == 0  # volume-drop snapshots are never used as current, so nothing to suppress
