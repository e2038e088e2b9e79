"""The landing sensor: one run per settled delivery batch, from ingestion down to dispatch.

Every few seconds it lists the manifests (and reference CSVs) and compares their fingerprint per feed
with the batch it last launched. When something changed it waits until the landing area has been
quiet for ``TICKET_DQ_SETTLE_S`` seconds (a partner snapshot and the crawls that confirm it land
seconds apart), then launches ONE run: the raw assets of the changed feeds, their checks, and
everything downstream of them through dq.issues and dq.notifications (lib/settle.py,
defs/realtime/conditions.py). One run instead of a chain of sensor ticks and queued runs is what
takes a landing file to the right person in seconds rather than minutes.

It never opens the warehouse (DuckDB allows one process per file; sensors run in the daemon). The
ingest assets consult the ledger, so a duplicate run request is harmless.
"""

import json

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.ingest.assets import RAW_KEYS, REF_KEYS
from ticket_dq.defs.realtime import conditions
from ticket_dq.lib import settle

INTERVAL_S = 2
DISPATCH_OP = "dq__notifications"
# Everything a batch run may select: every delivery's downstream minus the groups nobody waits for.
FAST_PATH = (dg.AssetSelection.assets(*RAW_KEYS, *REF_KEYS).downstream()
             - dg.AssetSelection.groups(*conditions.OFF_FAST_PATH_GROUPS))


def feed_keys(feed: str) -> list[dg.AssetKey]:
    return list(REF_KEYS) if feed == "reference" else [dg.AssetKey(["raw", feed])]


def batch_request(batch: settle.Batch, asset_graph) -> dg.RunRequest:
    roots = [k for feed in batch.feeds for k in feed_keys(feed)]
    keys = conditions.fast_path(roots, asset_graph) if asset_graph is not None else roots
    fp = settle.fingerprint_of(batch)
    config = ({"ops": {DISPATCH_OP: {"config": {"trigger": f"landing_sensor: batch {fp}"}}}}
              if dg.AssetKey(["dq", "notifications"]) in keys else None)
    return dg.RunRequest(
        run_key=f"batch:{fp}",
        asset_selection=keys,
        run_config=config or {},
        tags={"ticket_dq/trigger": "landing_sensor", "ticket_dq/feeds": ",".join(batch.feeds),
              # wall epoch of the newest manifest in the batch: latency is measured from here
              "ticket_dq/landed_at": f"{batch.newest_mtime:.3f}",
              "ticket_dq/dispatch": "inline" if config else "none",
              **settings.clock_tags()},
    )


@dg.sensor(
    name="landing_sensor",
    minimum_interval_seconds=INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    target=FAST_PATH,
    description="Every 2 s: when manifests (or reference CSVs) are new or changed and the landing area has "
                "been quiet for TICKET_DQ_SETTLE_S (default 1 s), launches one run for the batch: ingestion "
                "of the changed feeds, their checks, the comparisons, dq.issues and dispatch. Reads directory "
                "listings only, never the warehouse.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    root = settings.landing_root()
    try:
        launched = json.loads(context.cursor) if context.cursor else {}
    except json.JSONDecodeError:
        launched = {}
    batch = settle.pending_batch(root, launched)
    if not batch.feeds:
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"no new or changed manifests under {root} (feeds seen: "
            f"{', '.join(f for f, fp in sorted(batch.fingerprints.items()) if fp != settle.EMPTY)  or 'none'})"))
    settle_s = settings.settle_seconds()
    if not batch.settled(settle_s):
        # Cursor unchanged: the next tick sees the same (or a larger) batch.
        return dg.SensorResult(skip_reason=dg.SkipReason(
            f"batch of {', '.join(batch.feeds)} still landing: newest manifest {batch.quiet_s:.1f}s old, "
            f"waiting for {settle_s:g}s of quiet"))
    graph = context.repository_def.asset_graph if context.repository_def is not None else None
    request = batch_request(batch, graph)
    context.log.info(f"batch {request.run_key}: {', '.join(batch.feeds)} -> {len(request.asset_selection)} assets")
    return dg.SensorResult(run_requests=[request], cursor=json.dumps(batch.fingerprints, sort_keys=True))
