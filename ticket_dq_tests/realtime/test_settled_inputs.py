"""dq.issues does not judge while a newer delivery of a judged feed is already in the landing area but
not ingested yet: the partner's moved show without the crawls that confirm it would be a partner-only
"change". Once the newer delivery is ingested it judges; a delivery stuck for too long stops holding
it back."""

from __future__ import annotations

import os
import time

import dagster as dg
import duckdb

from ticket_dq.definitions import defs as build_defs
from ticket_dq.lib import clock
from ticket_dq_tests.realtime import scenario

ISSUES = dg.AssetKey(["dq", "issues"])


def _run(defs, instance, select: str):
    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=dg.AssetSelection.from_string(select).resolve(graph))
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    return {e.asset_key for e in result.get_asset_materialization_events()}


def test_issues_wait_for_a_landed_delivery_to_be_ingested_then_judge(isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    at = clock.parse_instant("2026-05-01 09:00:00")
    shows = scenario.shows(at)
    scenario.base(landing, shows, at)
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-05-01 09:10:00")
    defs, instance = build_defs(), dg.DagsterInstance.ephemeral()
    assert ISSUES in _run(defs, instance, "*")

    # The partner moves a show; its snapshot lands while comparisons are about to run on the old one.
    later = clock.parse_instant("2026-05-01 09:08:00")
    manifest_dir = scenario.partner_snapshot(landing, shows, later, {shows[0].index}).parent
    done = _run(defs, instance, "key:cand/* or key:cur/* or key:dq/issues")
    assert ISSUES not in done and dg.AssetKey(["cand", "order_show"]) in done
    logs = instance.all_logs(instance.get_runs(limit=1)[0].run_id)
    assert any("dq.issues deferred: 1 delivery(ies) landed but not ingested yet" in (e.user_message or "")
               for e in logs)

    # The same delivery after 20 minutes in the landing area: ingestion is stuck, judge what we have.
    old = time.time() - 1200
    for m in manifest_dir.glob("_manifest_*.json"):
        if "0908" in m.name:
            os.utime(m, (old, old))
    assert ISSUES in _run(defs, instance, "key:dq/issues")

    # Ingested (with the crawls that confirm the move): judged, and the order issue is found.
    for p in scenario.PLATFORMS:
        scenario.crawl(landing, p, shows, later, {shows[0].index})
    assert ISSUES in _run(defs, instance, "*")
    with duckdb.connect(str(isolated_env["warehouse"]), read_only=True) as con:
        found = con.execute("SELECT order_id FROM dq.issues WHERE category = 'ORDER_SHOW_CHANGED' AND status = 'OPEN'").fetchall()
    assert found == [(shows[0].order_id,)]
