"""The metrics assets in real Dagster runs: full build, charts in metadata, the feedback sensor
recomputing only the affected day, the daily schedule asking for yesterday, the Parquet export."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg
import duckdb

from ticket_dq import settings
from ticket_dq.defs.export.assets import parquet
from ticket_dq.defs.metrics.assets import complaint_links, metrics_breakdown, metrics_daily
from ticket_dq.defs.metrics.schedules import metrics_daily_recompute
from ticket_dq.defs.metrics.sensors import metrics_on_new_feedback
from ticket_dq.defs.realtime.assets import LATENCY_ASSETS
from ticket_dq.defs.resources import WarehouseResource
from ticket_dq.lib import warehouse
from ticket_dq_tests.metrics.scenario import add_event
from ticket_dq_tests.metrics.test_metrics_formulas import build_scenario

MINE = [complaint_links, metrics_daily, metrics_breakdown]


@dg.asset(key=["raw", "issue_events"])
def late_issue_event(context, warehouse: WarehouseResource) -> None:
    """Stand-in for the ingestion asset: lands one late event, tagged with this run's id as ingestion does."""
    with warehouse.get_connection() as con:
        add_event(con, "I2", "RESOLVED", "2026-03-09 09:00:00", run_id=context.run_id)


def resources():
    return {"warehouse": WarehouseResource(database=str(settings.warehouse_path()))}


def daily_rows():
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT metric_date, resolved, closed_loop_rate, computed_at FROM dq.metrics_daily").fetchall()}


def materialization_metadata(result, key):
    [mat] = [m for m in result.asset_materializations_for_node(key)]
    return mat.metadata


def test_feedback_sensor_recomputes_only_the_day_of_the_late_event(isolated_env, monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-10 20:00:00")
    with warehouse.connect(settings.warehouse_path()) as con:
        build_scenario(con)
    with dg.instance_for_test() as instance:
        full = dg.materialize(MINE + [parquet], resources=resources(), instance=instance)
        assert full.success
        md = materialization_metadata(full, "dq__metrics_daily")
        assert md["days_recomputed"].value == ["2026-03-08", "2026-03-09", "2026-03-10"]
        assert "data:image/png;base64," in md["chart"].value
        assert "| 2026-03-08 | 7 | 4 | 1 | 2 | 1 | 2 |" in md["summary"].value
        assert "data:image/png;base64," in materialization_metadata(full, "dq__metrics_breakdown")["chart"].value
        png = settings.warehouse_dir() / "charts" / "quality_over_time.png"
        assert md["chart_file"].value == str(png) and png.read_bytes().startswith(b"\x89PNG")
        before = daily_rows()

        # Nothing ingested yet: the sensor skips and says why.
        ctx = dg.build_sensor_context(instance=instance)
        assert isinstance(metrics_on_new_feedback(ctx), dg.SkipReason)

        monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-10 20:30:00")
        ingest = dg.materialize([late_issue_event], resources=resources(), instance=instance)
        assert ingest.success
        request = metrics_on_new_feedback(ctx)
        assert isinstance(request, dg.RunRequest)
        config = request.run_config["ops"]["dq__metrics_daily"]["config"]
        assert config["ingest_run_ids"] == [ingest.run_id]
        # the metrics and the detection-delay tables (defs/realtime/assets.py) of the same feedback
        assert set(request.asset_selection) == {a.key for a in MINE} | set(LATENCY_ASSETS)

        rerun = dg.materialize(MINE, resources=resources(), instance=instance, run_config=request.run_config)
        assert rerun.success
        assert materialization_metadata(rerun, "dq__metrics_daily")["days_recomputed"].value == ["2026-03-08"]
        after = daily_rows()
        d8, d9, d10 = date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)
        assert after[d8][:2] == (2, 0.5) and after[d8][2] == datetime(2026, 3, 10, 20, 30)
        assert after[d9] == before[d9] and after[d10] == before[d10]

        # The cursor moved: the same materialization does not trigger again.
        ctx2 = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
        assert isinstance(metrics_on_new_feedback(ctx2), dg.SkipReason)


def test_daily_schedule_recomputes_yesterday_in_beijing_time():
    tick = datetime(2026, 3, 10, 0, 30, tzinfo=settings.BEIJING)
    request = metrics_daily_recompute(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.run_config["ops"]["dq__metrics_breakdown"]["config"] == {"days": ["2026-03-09"],
                                                                            "ingest_run_ids": []}
    assert request.run_key == "metrics-day-2026-03-09"


def test_export_writes_parquet_readable_by_another_duckdb(isolated_env, monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-10 20:00:00")
    with warehouse.connect(settings.warehouse_path()) as con:
        build_scenario(con)
    assert dg.materialize(MINE + [parquet], resources=resources()).success
    out = settings.export_dir()
    assert sorted(p.name for p in out.glob("*.parquet")) == [
        "complaint_links.parquet", "issues.parquet", "metrics_breakdown.parquet", "metrics_daily.parquet"]
    assert not list(out.glob(".*tmp"))
    reader = duckdb.connect()  # a separate database: BI reads files, never the warehouse
    assert reader.execute("SELECT count(*) FROM read_parquet(?)", [str(out / "issues.parquet")]).fetchone()[0] == 9
    assert reader.execute("SELECT alerts FROM read_parquet(?) WHERE metric_date = DATE '2026-03-08'",
                          [str(out / "metrics_daily.parquet")]).fetchone()[0] == 7
