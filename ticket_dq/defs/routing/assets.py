"""dq.notifications: the notification outbox, routed from dq.issues and dispatched."""


import dagster as dg

from ticket_dq import settings
from ticket_dq.defs import keys
from ticket_dq.defs.metadata import inline_table, layer, table_metadata
from ticket_dq.defs.resources import DUCKDB_POOL, WarehouseResource
from ticket_dq.defs.routing.resources import NotifierResource
from ticket_dq.lib import outbox, routing

NOTIFICATIONS_KEY = keys.NOTIFICATIONS
ISSUES_KEY = keys.ISSUES


class DispatchConfig(dg.Config):
    """Why this run was started (routing_sensor, escalation_sensor, manual); recorded as metadata."""
    trigger: str = "manual"


def _messages(msgs: list[dict], limit: int = 30) -> dg.MetadataValue:
    cols = ("team", "channel", "recipient", "issues", "escalation")
    return inline_table(cols, [[m[c] for c in cols] for m in msgs], limit=limit)


@dg.asset(
    key=NOTIFICATIONS_KEY,
    deps=[ISSUES_KEY],
    group_name="routing",
    pool=DUCKDB_POOL,
    **layer(keys.NOTIFICATIONS, "email"),
)
def notifications(context: dg.AssetExecutionContext, config: DispatchConfig,
                  warehouse: WarehouseResource, notifier: NotifierResource) -> dg.MaterializeResult:
    """Output table `dq.notifications`: every notification sent or attempted about a data-quality issue: one row per
    (issue, channel, recipient, occurrence), written BEFORE the send (the outbox), then updated with the outcome
    (PENDING / RETRY / SENT / FAILED, attempts, sent_at, error). Each run routes the open issues of dq.issues
    through routes.yaml (new issues, repeat_interval repeats, P0/P1 escalations past the team ack SLA), then sends
    every due group as one digest per team + channel + recipient through the enabled channels (file always; SMTP /
    webhook when configured in the environment)."""
    cfg = routing.load(settings.routes_path())
    chans = notifier.channels()
    now = settings.now()
    with warehouse.get_connection() as con:
        result = outbox.run_cycle(con, cfg, chans, now)
        table = table_metadata(con, NOTIFICATIONS_KEY)
        pending_next = outbox.next_due(con)
    routed, sent = result["routed"], result["dispatch"]
    context.log.info(f"trigger={config.trigger} routed={routed} sent={sent['messages_sent']} "
                     f"failed={sent['messages_failed']} broken={sent['broken_channels']}")
    return dg.MaterializeResult(metadata={
        "summary": dg.MetadataValue.text(
            f"{sent['messages_sent']} message(s) sent, {sent['messages_failed']} failed, "
            f"{routed['inserted']} notification row(s) routed from {routed['issues']} open issue(s)"),
        "messages": _messages(sent["messages"]),
        "trigger": config.trigger,
        "now": str(now),
        "routes_file": cfg.path,
        "channels_enabled": ", ".join(sorted(chans)),
        "open_issues_routed": routed["issues"],
        "rows_inserted": routed["inserted"],
        "escalations_inserted": routed["escalations"],
        "messages_sent": sent["messages_sent"],
        "messages_failed": sent["messages_failed"],
        "rows_sent": sent["rows_sent"],
        "groups_deferred": sent["groups_deferred"],
        "broken_channels": dg.MetadataValue.json(sent["broken_channels"]),
        "status_counts": dg.MetadataValue.json(result["status"]),
        "next_pending_due": str(pending_next) if pending_next else "none",
        **table,
    })


notifications_job = dg.define_asset_job(
    "notifications_dispatch", selection=[NOTIFICATIONS_KEY],
    description="Route open issues into dq.notifications and dispatch due digests (routing and "
                "escalation sensors launch it).",
)
