"""The landing sensor requests runs for feeds with new manifests, never opens the warehouse, and skips
with a reason when nothing is new."""

from __future__ import annotations

import json

import dagster as dg

from ticket_dq.defs.ingest.sensors import landing_sensor
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, sample_row


def _tick(cursor=None, instance=None):
    ctx = dg.build_sensor_context(cursor=cursor, instance=instance)
    result = landing_sensor(ctx)
    return result


def test_sensor_requests_the_raw_asset_of_each_feed_with_new_manifests(landing, isolated_env):
    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([sample_row("orders")]), 1)
    deliver(landing, "complaints", "internal", "2026-03-08", "c1", csv_bytes([sample_row("complaints")]), 1)
    deliver(landing, "partner_schedule", "FH", "2026-03-08", "p_no_manifest",
            csv_bytes([sample_row("partner_schedule")]), 1, manifest=False)

    result = _tick()

    selected = sorted((r.asset_selection[0].to_user_string(), r.run_key.split(":")[0]) for r in result.run_requests)
    assert selected == [("raw/complaints", "complaints"), ("raw/orders", "orders")]
    assert not isolated_env["warehouse"].exists()  # the sensor never opened DuckDB

    again = _tick(cursor=result.cursor)
    assert again.run_requests == [] or again.run_requests is None
    assert "no new or changed manifests" in again.skip_reason.skip_message
    assert "orders=1" in again.skip_reason.skip_message


def test_sensor_requests_again_only_for_the_feed_that_got_a_new_manifest(landing):
    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([sample_row("orders")]), 1)
    deliver(landing, "complaints", "internal", "2026-03-08", "c1", csv_bytes([sample_row("complaints")]), 1)
    first = _tick()
    deliver(landing, "orders", "FH", "2026-03-08", "o2", csv_bytes([sample_row("orders")]), 1)

    second = _tick(cursor=first.cursor)

    assert [r.asset_selection for r in second.run_requests] == [[dg.AssetKey(["raw", "orders"])]]
    first_keys = {r.run_key for r in first.run_requests}
    assert second.run_requests[0].run_key not in first_keys  # a new fingerprint, a new run key


def test_sensor_requests_reference_assets_when_reference_files_change(landing):
    (landing / "reference").mkdir()
    (landing / "reference" / "cinemas.csv").write_text("cinema_code,cinema_name,city,district,brand,status\n")

    result = _tick(cursor=json.dumps({}))

    assert len(result.run_requests) == 1
    assert {k.to_user_string() for k in result.run_requests[0].asset_selection} == {
        "ref/cinemas", "ref/cinema_aliases", "ref/films"}
    assert result.run_requests[0].run_key.startswith("reference:")


def test_sensor_skips_with_what_it_saw_on_an_empty_landing_area(landing):
    result = _tick()
    assert not result.run_requests
    assert "partner_schedule=0" in result.skip_reason.skip_message


def test_sensor_run_request_executed_against_the_real_assets_lands_the_file(landing, isolated_env):
    from ticket_dq import settings
    from ticket_dq.defs.ingest.assets import raw_assets, reference_assets
    from ticket_dq.defs.resources import build_resources
    from ticket_dq.lib import warehouse

    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([sample_row("orders")] * 3), 3)
    defs = dg.Definitions(assets=raw_assets + reference_assets, sensors=[landing_sensor], resources=build_resources())
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, definitions=defs)
        data = defs.resolve_sensor_def("landing_sensor").evaluate_tick(ctx)
        assert len(data.run_requests) == 1
        request = data.run_requests[0]
        result = dg.materialize(raw_assets + reference_assets, instance=instance, resources=build_resources(),
                                selection=request.asset_selection, tags=request.tags)
        assert result.success
        assert [e.asset_key for e in result.get_asset_materialization_events()] == [dg.AssetKey(["raw", "orders"])]
        next_tick = defs.resolve_sensor_def("landing_sensor").evaluate_tick(
            dg.build_sensor_context(instance=instance, definitions=defs, cursor=data.cursor))
        assert not next_tick.run_requests and next_tick.skip_message
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.orders").fetchone()[0] == 3
