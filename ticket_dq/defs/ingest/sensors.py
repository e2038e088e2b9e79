"""The landing sensor: launch ingestion when manifests (or reference files) appear or change.

It never opens the warehouse (DuckDB allows one process per file; sensors run in the daemon). It
lists manifests per feed, fingerprints them (sorted paths + mtimes + sizes), and compares with its
cursor. The ingest assets consult the ledger, so a duplicate run request is harmless.
"""

import json

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.ingest.assets import RAW_KEYS, REF_KEYS
from ticket_dq.lib import contract, landing


@dg.sensor(
    name="landing_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    target=RAW_KEYS + REF_KEYS,
    description="Every 30 s: requests raw.<feed> for feeds with new or changed manifests, and the ref "
                "assets when reference CSVs change. Reads directory listings only, never the warehouse.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    root = settings.landing_root()
    try:
        cursor = json.loads(context.cursor) if context.cursor else {}
    except json.JSONDecodeError:
        cursor = {}
    prints = landing.landing_fingerprints(root)
    requests: list[dg.RunRequest] = []
    seen: list[str] = []
    for feed in contract.FEEDS:
        fp = prints[feed]
        seen.append(f"{feed}={fp['count']}")
        if fp["count"] and cursor.get(feed) != fp["fingerprint"]:
            requests.append(dg.RunRequest(
                run_key=f"{feed}:{fp['fingerprint']}",
                asset_selection=[dg.AssetKey(["raw", feed])],
                tags={"ticket_dq/trigger": "landing_sensor", "ticket_dq/feed": feed},
            ))
    ref = prints["reference"]
    seen.append(f"reference={ref['count']}")
    if ref["count"] and cursor.get("reference") != ref["fingerprint"]:
        requests.append(dg.RunRequest(
            run_key=f"reference:{ref['fingerprint']}",
            asset_selection=REF_KEYS,
            tags={"ticket_dq/trigger": "landing_sensor", "ticket_dq/feed": "reference"},
        ))
    new_cursor = json.dumps({k: v["fingerprint"] for k, v in prints.items()}, sort_keys=True)
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=new_cursor)
    return dg.SensorResult(
        skip_reason=dg.SkipReason(f"no new or changed manifests under {root} (manifests per feed: {', '.join(seen)})"),
        cursor=new_cursor,
    )
