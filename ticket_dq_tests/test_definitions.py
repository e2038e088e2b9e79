"""The code location as `dagster dev`, `dg check defs` and `ticket-dq materialize` load it."""

from __future__ import annotations

import dagster as dg

from ticket_dq.definitions import defs as build_defs
from ticket_dq.lib import contract

EXPECTED_ASSETS = {
    *(f"raw/{feed}" for feed in contract.FEEDS), *(f"ref/{name}" for name in contract.REFERENCE),
    "map/cinema", "map/film", "cur/partner_schedule", "cur/competitor_schedule", "cur/change_log",
    "dq/issue_latency", "dq/detection_delay",
    "cur/order_state", "cand/feed_health", "cand/unmapped_entity", "cand/schedule_discrepancy",
    "cand/schedule_integrity", "cand/order_show", "cand/seat_double_sold", "cand/pickup_code",
    "cur/order_outcome", "cand/order_not_issued", "cand/order_outcome_spike",
    "cand/validation_failed", "dq/issues", "dq/issue_events_rejected", "dq/notifications", "dq/complaint_links",
    "dq/metrics_daily", "dq/metrics_breakdown", "export/parquet", "meta/archived_files", "meta/archived_events",
}


def test_location_loads_with_every_stage_sensor_and_schedule():
    defs = build_defs()
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == EXPECTED_ASSETS
    assert {s.name for s in defs.sensors} >= {"landing_sensor", "routing_sensor", "escalation_sensor",
                                              "metrics_on_new_feedback"}
    assert {s.name for s in defs.schedules} >= {"feed_health_every_15_min", "metrics_daily_recompute",
                                                "raw_retention_daily"}


def test_every_asset_writes_through_the_duckdb_pool_and_says_what_it_holds():
    graph = build_defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.pools == {"duckdb"}, key  # one writer per DuckDB file (dagster.yaml: limit 1)
        assert node.description and len(node.description) > 40, key


def test_every_raw_table_has_key_and_rule_checks_and_key_checks_block():
    defs = build_defs()
    checks = {(c.asset_key.to_user_string(), c.name) for c in defs.resolve_asset_graph().asset_check_keys}
    for feed in contract.FEEDS:
        name = feed.upper()
        assert (f"raw/{feed}", f"{name}_KEYS_VALID") in checks
        assert (f"raw/{feed}", f"{name}_RULES_VALID") in checks
    specs = [spec for checks_def in defs.asset_checks for spec in checks_def.check_specs]
    blocking = {spec.name for spec in specs if spec.blocking}
    # Bad keys cause false alerts downstream: every KEYS check blocks, no RULES check does; the output
    # contract of dq.issues blocks the export.
    assert blocking == {spec.name for spec in specs if spec.name.endswith("_KEYS_VALID")} | {"ISSUES_CONTRACT_VALID"}
    assert {f"{feed.upper()}_KEYS_VALID" for feed in contract.FEEDS} <= blocking


def test_what_must_run_unattended_is_on_by_default():
    defs = build_defs()
    sensors = {s.name: s for s in defs.sensors}
    schedules = {s.name: s for s in defs.schedules}
    # Eager automation carries an ingestion on to issues and notifications; feed health notices silence.
    assert sensors["default_automation_condition_sensor"].default_status == dg.DefaultSensorStatus.RUNNING
    assert schedules["feed_health_every_15_min"].default_status == dg.DefaultScheduleStatus.RUNNING
    for name in ("landing_sensor", "routing_sensor", "escalation_sensor", "metrics_on_new_feedback"):
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING, name
