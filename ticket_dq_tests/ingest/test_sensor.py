"""The landing sensor launches one batch run for the feeds with new manifests once the landing area has
been quiet for the settle window, never opens the warehouse, and skips with a reason when nothing is new
or the batch is still landing."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from ticket_dq.defs.ingest.sensors import landing_sensor
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, jsonl_bytes, sample_row


def _tick(cursor=None, instance=None, definitions=None):
    ctx = dg.build_sensor_context(cursor=cursor, instance=instance, definitions=definitions)
    result = landing_sensor(ctx)
    return result


@pytest.fixture(autouse=True)
def no_settle_window(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_SETTLE_S", "0")


def _roots(request) -> set[str]:
    return {k.to_user_string() for k in request.asset_selection if k.path[0] in ("raw", "ref")}


def test_sensor_launches_one_batch_for_every_feed_with_new_manifests(landing, isolated_env):
    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([sample_row("orders")]), 1)
    deliver(landing, "complaints", "internal", "2026-03-08", "c1", csv_bytes([sample_row("complaints")]), 1)
    deliver(landing, "partner_schedule", "FH", "2026-03-08", "p_no_manifest",
            csv_bytes([sample_row("partner_schedule")]), 1, manifest=False)

    result = _tick()

    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert _roots(request) == {"raw/complaints", "raw/orders"} and request.run_key.startswith("batch:")
    assert request.tags["ticket_dq/feeds"] == "orders,complaints" and "ticket_dq/now" in request.tags
    assert not isolated_env["warehouse"].exists()  # the sensor never opened DuckDB

    again = _tick(cursor=result.cursor)
    assert again.run_requests == [] or again.run_requests is None
    assert "no new or changed manifests" in again.skip_reason.skip_message
    assert "orders" in again.skip_reason.skip_message


def test_sensor_waits_until_the_landing_area_is_quiet_then_launches_the_whole_batch(landing, monkeypatch):
    deliver(landing, "partner_schedule", "FH", "2026-03-08", "p1", csv_bytes([sample_row("partner_schedule")]), 1)
    monkeypatch.setenv("TICKET_DQ_SETTLE_S", "3600")
    waiting = _tick()
    assert not waiting.run_requests and "still landing" in waiting.skip_reason.skip_message
    assert waiting.cursor is None  # nothing launched: the next tick sees the same batch, and more
    deliver(landing, "competitor_schedule", "MAOYAN", "2026-03-08", "m1",
            jsonl_bytes([sample_row("competitor_schedule")]), 1)
    monkeypatch.setenv("TICKET_DQ_SETTLE_S", "0")

    settled = _tick(cursor=waiting.cursor)

    assert [_roots(r) for r in settled.run_requests] == [{"raw/partner_schedule", "raw/competitor_schedule"}]


def test_sensor_launches_again_only_for_the_feed_that_got_a_new_manifest(landing):
    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([sample_row("orders")]), 1)
    deliver(landing, "complaints", "internal", "2026-03-08", "c1", csv_bytes([sample_row("complaints")]), 1)
    first = _tick()
    deliver(landing, "orders", "FH", "2026-03-08", "o2", csv_bytes([sample_row("orders")]), 1)

    second = _tick(cursor=first.cursor)

    assert [r.asset_selection for r in second.run_requests] == [[dg.AssetKey(["raw", "orders"])]]
    first_keys = {r.run_key for r in first.run_requests}
    assert second.run_requests[0].run_key not in first_keys  # a new fingerprint, a new run key


def test_the_batch_run_reaches_dispatch_but_leaves_metrics_export_and_retention_to_their_own_triggers(landing):
    from ticket_dq.definitions import defs as build_defs

    deliver(landing, "orders", "FH", "2026-03-08", "o1", csv_bytes([sample_row("orders")]), 1)
    request = _tick(definitions=build_defs()).run_requests[0]
    keys = {k.to_user_string() for k in request.asset_selection}
    assert {"raw/orders", "cur/order_state", "cand/order_show", "dq/issues", "dq/notifications"} <= keys
    assert not keys & {"dq/metrics_daily", "dq/complaint_links", "export/parquet", "raw/partner_schedule",
                       "meta/archived_files"}
    assert request.tags["ticket_dq/dispatch"] == "inline"


def test_sensor_requests_reference_assets_when_reference_files_change(landing):
    (landing / "reference").mkdir()
    (landing / "reference" / "cinemas.csv").write_text("cinema_code,cinema_name,city,district,brand,status\n")

    result = _tick(cursor=json.dumps({}))

    assert len(result.run_requests) == 1
    assert {k.to_user_string() for k in result.run_requests[0].asset_selection} == {
        "ref/cinemas", "ref/cinema_aliases", "ref/films"}
    assert result.run_requests[0].tags["ticket_dq/feeds"] == "reference"


def test_sensor_skips_with_what_it_saw_on_an_empty_landing_area(landing):
    result = _tick()
    assert not result.run_requests
    assert "feeds seen: none" in result.skip_reason.skip_message


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
