"""The unattended path: after the landing sensor's ingestion run, the automation sensor carries the
change on to the comparisons and dq.issues, except downstream of a raw table whose blocking key check
failed (the rule `blocking=True` enforces inside a run, restated for the runs automation starts)."""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from ticket_dq import settings
from ticket_dq.definitions import defs as build_defs
from ticket_dq.simulate import generate

PARTNER = dg.AssetKey(["raw", "partner_schedule"])


def _duplicate_a_partner_row(landing) -> str:
    """Re-deliver one intact partner snapshot with its first data row twice (manifest updated to match)."""
    def intact(p) -> bool:  # delivered, and not one of the simulator's corrupt deliveries
        manifest = p.with_name(f"_manifest_{p.stem}.json")
        return manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8"))["sha256"] == \
            hashlib.sha256(p.read_bytes()).hexdigest()
    data = [p for p in sorted((landing / "partner_schedule").rglob("*.csv")) if intact(p)][-1]
    lines = data.read_bytes().splitlines(keepends=True)
    data.write_bytes(b"".join(lines) + (b"" if lines[-1].endswith(b"\n") else b"\r\n") + lines[1])
    manifest = data.with_name(f"_manifest_{data.stem}.json")  # written last, as a partner would
    m = json.loads(manifest.read_text(encoding="utf-8"))
    m.update(rows=m["rows"] + 1, sha256=hashlib.sha256(data.read_bytes()).hexdigest())
    manifest.write_text(json.dumps(m), encoding="utf-8")
    return str(data.relative_to(landing))


def _requested(result) -> set[str]:
    return {r.key.to_user_string() for r in result.results if r.true_subset.size}


def _ingest_and_tick(landing, monkeypatch):
    """The sensor's first tick, one ingestion run (assets and their checks), the next tick."""
    monkeypatch.setenv("TICKET_DQ_NOW", json.loads((landing / "_truth" / "sim.json").read_text())["now"])
    defs = build_defs()
    graph = defs.resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # the sensor's first tick
    assert first.total_requested == 0

    ingest = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=dg.AssetSelection.groups("ingest").resolve(graph))
    run = ingest.execute_in_process(instance=instance, raise_on_error=False)
    checks = {e.check_name: e.passed for e in run.get_asset_check_evaluations()}
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    return checks, _requested(tick), graph


def test_an_ingestion_run_cascades_to_every_comparison_and_the_issues(isolated_env, monkeypatch):
    generate(isolated_env["landing"], cinemas=12, days=1)
    checks, requested, graph = _ingest_and_tick(isolated_env["landing"], monkeypatch)
    assert all(passed for name, passed in checks.items() if name.endswith("_KEYS_VALID")), checks
    eager = {k.to_user_string() for k in graph.get_all_asset_keys()
             if graph.get(k).automation_condition is not None and k.path[0] in ("map", "cur", "cand")}
    assert eager <= requested and "dq/issues" in requested, eager - requested
    assert settings.warehouse_path().is_file()


def test_the_cascade_stops_below_a_raw_table_whose_key_check_failed(isolated_env, monkeypatch):
    generate(isolated_env["landing"], cinemas=12, days=1)
    corrupted = _duplicate_a_partner_row(isolated_env["landing"])
    checks, requested, graph = _ingest_and_tick(isolated_env["landing"], monkeypatch)
    assert checks["PARTNER_SCHEDULE_KEYS_VALID"] is False, corrupted
    assert checks["ORDERS_KEYS_VALID"] is True
    # Orders, platforms and pickup codes flow on to their comparisons ...
    assert {"cur/order_state", "cur/competitor_schedule", "cand/seat_double_sold"} <= requested
    # ... feed health and VALIDATION_FAILED (the key failure itself becomes an issue) are never held back ...
    assert {"cand/feed_health", "cand/validation_failed"} <= requested
    # ... but nothing that reads the partner rows with bad keys (and dq.issues waits for those parents).
    readers = {k.to_user_string() for k in graph.get(PARTNER).child_keys} - {"cand/feed_health", "cand/validation_failed"}
    assert "cur/partner_schedule" in readers and not readers & requested, readers & requested
