"""Materializing the ingest assets against a temp warehouse (real Dagster runs)."""

from __future__ import annotations

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.ingest.assets import raw_assets, reference_assets
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import warehouse
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, jsonl_bytes, sample_row
from ticket_dq_tests.metadata_text import text


def test_materialize_ingest_assets_lands_files_and_reports_metadata(landing):
    deliver(landing, "partner_schedule", "FH", "2026-03-08", "s1",
            csv_bytes([sample_row("partner_schedule", cinema_name="万达")], encoding="gb18030"), 1)
    deliver(landing, "partner_schedule", "DX", "2026-03-08", "s2", csv_bytes([sample_row("partner_schedule")]), 5)
    deliver(landing, "competitor_schedule", "MAOYAN", "2026-03-08", "c1", jsonl_bytes([sample_row("competitor_schedule")]), 1)
    (landing / "reference").mkdir()
    (landing / "reference" / "cinemas.csv").write_text(
        "cinema_code,cinema_name,city,district,brand,status\n12345678,万达,北京,朝阳,万达,OPEN\n", encoding="utf-8")

    result = dg.materialize(raw_assets + reference_assets, resources=build_resources())

    assert result.success
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    ps = meta["raw/partner_schedule"]
    assert (ps["files_ingested"].value, ps["files_rejected"].value, ps["rows_ingested"].value) == (1, 1, 1)
    assert ps["encodings_seen"].value == "gb18030, utf-8"
    assert "REJECTED" in text(ps["files"]) and "manifest says 5" in text(ps["files"])
    assert meta["raw/competitor_schedule"]["dagster/row_count"].value == 1
    assert meta["ref/cinemas"]["status"].value == "LOADED"
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        assert con.execute("SELECT DISTINCT ingest_run_id FROM raw.partner_schedule").fetchall() == [(result.run_id,)]

    rerun = dg.materialize(raw_assets, resources=build_resources())
    assert rerun.success
    meta2 = {e.asset_key.to_user_string(): e.materialization.metadata for e in rerun.get_asset_materialization_events()}
    assert meta2["raw/partner_schedule"]["summary"].value.startswith("nothing new since 20")  # not a row of zeros
    assert "files_ingested" not in meta2["raw/partner_schedule"]
    assert meta2["raw/partner_schedule"]["files_already_in_ledger"].value == 2


def test_ingest_assets_are_grouped_pooled_and_not_auto_materialized():
    for a in raw_assets + reference_assets:
        spec = next(iter(a.specs))
        assert spec.group_name == "ingest"
        assert spec.automation_condition is None
        assert a.op.pool == "duckdb"
        assert spec.description
