"""Automation rules for real time: optional feeds never block the cascade, and the fast-path selection.

``AutomationCondition.eager()`` does not run an asset while any parent was never materialized. Some
feeds may never deliver on a young instance — issue events exist only once someone handled an issue,
complaints and pickup codes only where those systems are connected — and their raw tables exist empty
from the first connection (``warehouse.ensure_schema``). Waiting for them would stall dq.issues
forever, so their absence is ignored; their updates still trigger, like any other parent's.
"""

from __future__ import annotations

import dagster as dg

OPTIONAL_FEEDS = ("pickup_codes", "complaints", "issue_events")
OPTIONAL_RAW = dg.AssetSelection.assets(*[dg.AssetKey(["raw", f]) for f in OPTIONAL_FEEDS])

# The landing sensor's batch run: a new delivery and everything it changes down to dispatch. Metrics and
# the Parquet export follow on their own sensor / automation, retention on its daily schedule: nobody
# waits for them (a retention move inside a batch run would hold back the notification behind it).
OFF_FAST_PATH_GROUPS = ("metrics", "export", "retention")


def tolerate_optional_feeds(condition: dg.AutomationCondition) -> dg.AutomationCondition:
    """``condition`` with its "a parent was never materialized" guard blind to the optional feeds."""
    return condition.replace(
        "any_deps_missing", dg.AutomationCondition.any_deps_missing().ignore(OPTIONAL_RAW))


def eager() -> dg.AutomationCondition:
    """``AutomationCondition.eager()`` that optional feeds never delivered do not hold back."""
    return tolerate_optional_feeds(dg.AutomationCondition.eager())


def fast_path(keys, asset_graph) -> list[dg.AssetKey]:
    """The assets one batch run materializes: ``keys`` (new deliveries) and everything downstream of
    them, down to dq/notifications, except the groups nobody waits for."""
    selection = (dg.AssetSelection.assets(*keys).downstream()
                 - dg.AssetSelection.groups(*OFF_FAST_PATH_GROUPS))
    return sorted(selection.resolve(asset_graph), key=lambda k: k.to_user_string())
