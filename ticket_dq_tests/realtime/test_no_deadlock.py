"""On a fresh instance the feeds that may never deliver (issue events, complaints, pickup codes) do not
hold back the automation: after the first ingestion of schedules, crawls and orders, the next tick of
the automation sensor requests every comparison and dq.issues."""

from __future__ import annotations

import dagster as dg

from ticket_dq.definitions import defs as build_defs
from ticket_dq.lib import clock
from ticket_dq_tests.realtime import scenario

DELIVERED = [dg.AssetKey(["raw", f]) for f in ("partner_schedule", "competitor_schedule", "orders")]


def test_optional_feeds_never_delivered_do_not_block_the_cascade_to_dq_issues(isolated_env, monkeypatch):
    at = clock.parse_instant("2026-05-01 09:00:00")
    scenario.base(isolated_env["landing"], scenario.shows(at), at)
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-05-01 09:01:00")
    defs = build_defs()
    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    selection = dg.AssetSelection.assets(*DELIVERED) | dg.AssetSelection.assets(["ref", "cinemas"], ["ref", "films"],
                                                                                  ["ref", "cinema_aliases"])
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=selection.resolve(graph))
    assert job.execute_in_process(instance=instance).success
    never = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"} - set(DELIVERED)
    assert never == {dg.AssetKey(["raw", f]) for f in ("pickup_codes", "complaints", "issue_events")}
    assert not any(instance.fetch_materializations(k, limit=1).records for k in never)

    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)

    requested = {r.key.to_user_string() for r in tick.results if r.true_subset.size}
    assert {"dq/issues", "cand/validation_failed", "cand/pickup_code", "cand/order_show"} <= requested, requested
