"""The dq/notifications asset materialized for real, and both sensors on a real instance's event log."""

from __future__ import annotations


from datetime import datetime

import dagster as dg

from ticket_dq.defs.resources import WarehouseResource
from ticket_dq.defs.routing.assets import notifications
from ticket_dq.defs.routing.resources import NotifierResource, notifier_from_env
from ticket_dq.defs.routing.sensors import escalation_sensor, routing_sensor
from ticket_dq.lib import warehouse
from ticket_dq_tests.routing.conftest import add_issue


@dg.asset(key=["dq", "issues"])
def issues_stand_in() -> None:
    """Stands in for the detection stage's asset: only its materialization event matters here."""


def test_notifications_asset_routes_and_writes_file_messages(isolated_env, monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-08 10:05:00")
    with warehouse.connect(isolated_env["warehouse"]) as con:
        add_issue(con, "S1", first_detected_at=datetime(2026, 3, 8, 9, 50))  # past the 10m hold
        add_issue(con, "F1", category="FEED_LATE", severity="P1", team="RD", source="DX")
    result = dg.materialize([notifications], resources={
        "warehouse": WarehouseResource(database=str(isolated_env["warehouse"])), "notifier": NotifierResource()},
        run_config={"ops": {"dq__notifications": {"config": {"trigger": "test"}}}})
    assert result.success
    md = result.asset_materializations_for_node("dq__notifications")[0].metadata
    assert md["messages_sent"].value == 2  # BD: S1 (FH) and F1 (DX) digests; RD waits 5 min (group_wait)
    assert md["status_counts"].value == {"SENT": 2, "PENDING": 1}
    assert md["trigger"].value == "test"
    files = sorted(p.parent.name for p in (isolated_env["tmp"] / "outbox").rglob("*.txt"))
    assert files == ["bd-partners@tickets.example.com", "bd-partners@tickets.example.com"]
    with warehouse.connect(isolated_env["warehouse"], read_only=True) as con:
        assert con.execute("SELECT count(*) FROM dq.notifications").fetchall()[0][0] == 3


def test_asset_sends_real_mail_when_smtp_is_configured_in_the_environment(isolated_env, monkeypatch):
    from ticket_dq_tests.routing.conftest import add_order
    from ticket_dq_tests.routing.servers import SmtpServer

    monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-08 10:05:00")
    with warehouse.connect(isolated_env["warehouse"]) as con:
        add_issue(con, "ORD-1", category="ORDER_SHOW_CANCELLED", severity="P0", team="CS", order_id="O1",
                  show_start_time=datetime(2026, 3, 8, 13, 0))
        add_order(con, "O1", "18611112222", datetime(2026, 3, 8, 13, 0))
    with SmtpServer() as smtp:
        monkeypatch.setenv("TICKET_DQ_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("TICKET_DQ_SMTP_PORT", str(smtp.port))
        notifier = notifier_from_env()
        # wired as EnvVar references (resolved at run time), unset variables not wired at all
        assert notifier.smtp_host == "TICKET_DQ_SMTP_HOST" and notifier.smtp_password == ""
        result = dg.materialize([notifications], resources={
            "warehouse": WarehouseResource(database=str(isolated_env["warehouse"])), "notifier": notifier})
    assert result.success
    cs = [m for m in smtp.messages if m["rcpt"] == ["cs-duty@tickets.example.com"]]
    assert len(cs) == 1 and "186****2222" in cs[0]["body"] and "18611112222" not in cs[0]["body"]


def test_routing_sensor_requests_one_dispatch_per_new_issues_materialization():
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        skip = routing_sensor(ctx)
        assert skip.skip_reason and "no new materialization of dq/issues" in skip.skip_reason.skip_message
        dg.materialize([issues_stand_in], instance=instance)
        dg.materialize([issues_stand_in], instance=instance)
        first = routing_sensor(dg.build_sensor_context(instance=instance, cursor=skip.cursor))
        (req,) = first.run_requests
        latest = instance.fetch_materializations(dg.AssetKey(["dq", "issues"]), limit=1).records[0].storage_id
        assert req.run_key == f"dispatch:issues@{latest}" and first.cursor == str(latest)
        # Same cursor again (a retried tick with the stored cursor): nothing new, nothing launched.
        again = routing_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert not again.run_requests and again.skip_reason
        # A retried tick from the OLD cursor asks for the same deterministic run key.
        retried = routing_sensor(dg.build_sensor_context(instance=instance, cursor=skip.cursor))
        assert retried.run_requests[0].run_key == req.run_key
        dg.materialize([issues_stand_in], instance=instance)
        nxt = routing_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert nxt.run_requests[0].run_key != req.run_key


def test_escalation_sensor_walks_once_per_slot_after_issues_exist(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-08 10:07:00")
    with dg.instance_for_test() as instance:
        res = escalation_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(res, dg.SkipReason) and "never materialized" in res.skip_message
        dg.materialize([issues_stand_in], instance=instance)
        res = escalation_sensor(dg.build_sensor_context(instance=instance))
        assert res.run_requests[0].run_key == "escalation:2026-03-08T10:05"
        same = escalation_sensor(dg.build_sensor_context(instance=instance, cursor=res.cursor))
        assert isinstance(same, dg.SkipReason) and "already requested" in same.skip_message
        monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-08 10:10:00")
        nxt = escalation_sensor(dg.build_sensor_context(instance=instance, cursor=res.cursor))
        assert nxt.run_requests[0].run_key == "escalation:2026-03-08T10:10"
        assert nxt.run_requests[0].run_config["ops"]["dq__notifications"]["config"]["trigger"].startswith(
            "escalation_sensor")


def test_routing_definitions_resolve_job_and_sensors_targets():
    from ticket_dq.defs.routing.assets import notifications_job
    defs = dg.Definitions(assets=[notifications], jobs=[notifications_job],
                          sensors=[routing_sensor, escalation_sensor],
                          resources={"warehouse": WarehouseResource(database="unused.duckdb"),
                                     "notifier": NotifierResource()})
    job = defs.resolve_job_def("notifications_dispatch")
    assert [n for n in job.graph.node_dict] == ["dq__notifications"]
    assert {s.name for s in defs.sensors} == {"routing_sensor", "escalation_sensor"}
    assert defs.resolve_assets_def(dg.AssetKey(["dq", "notifications"])).group_names_by_key[
        dg.AssetKey(["dq", "notifications"])] == "routing"


def test_routing_sensor_request_runs_the_dispatch_job_end_to_end(isolated_env, monkeypatch):
    from ticket_dq.defs.routing.assets import notifications_job
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-08 10:05:00")
    with warehouse.connect(isolated_env["warehouse"]) as con:
        add_issue(con, "S1", first_detected_at=datetime(2026, 3, 8, 9, 50))  # past the 10m hold
    defs = dg.Definitions(assets=[notifications], jobs=[notifications_job], sensors=[routing_sensor],
                          resources={"warehouse": WarehouseResource(database=str(isolated_env["warehouse"])),
                                     "notifier": NotifierResource()})
    with dg.instance_for_test() as instance:
        dg.materialize([issues_stand_in], instance=instance)
        (req,) = routing_sensor(dg.build_sensor_context(instance=instance)).run_requests
        result = defs.resolve_job_def("notifications_dispatch").execute_in_process(
            run_config=req.run_config, instance=instance, tags=req.tags)
        assert result.success
        md = result.asset_materializations_for_node("dq__notifications")[0].metadata
        assert md["trigger"].value.startswith("routing_sensor: dq/issues storage id")
        assert md["messages_sent"].value == 1
