"""Every asset key of the code location, spelled once, and the run-config op names derived from them."""

from __future__ import annotations

import dagster as dg

from ticket_dq.lib import contract


def raw(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed])


def ref(name: str) -> dg.AssetKey:
    return dg.AssetKey(["ref", name])


def cand(name: str) -> dg.AssetKey:
    return dg.AssetKey(["cand", name])


def op_name(key: dg.AssetKey) -> str:
    """The name Dagster gives an asset's op (its step key and run-config entry): the path joined by ``__``."""
    return "__".join(key.path)


RAW_KEYS = [raw(feed) for feed in contract.FEEDS]
REF_KEYS = [ref(name) for name in contract.REFERENCE]

MAP_CINEMA = dg.AssetKey(["map", "cinema"])
MAP_FILM = dg.AssetKey(["map", "film"])
CUR_PARTNER = dg.AssetKey(["cur", "partner_schedule"])
CUR_COMPETITOR = dg.AssetKey(["cur", "competitor_schedule"])
CUR_CHANGE_LOG = dg.AssetKey(["cur", "change_log"])
CUR_ORDER_STATE = dg.AssetKey(["cur", "order_state"])
CUR_ORDER_OUTCOME = dg.AssetKey(["cur", "order_outcome"])

VALIDATION_FAILED = cand("validation_failed")
ISSUES = dg.AssetKey(["dq", "issues"])
ISSUE_EVENTS_REJECTED = dg.AssetKey(["dq", "issue_events_rejected"])
NOTIFICATIONS = dg.AssetKey(["dq", "notifications"])
COMPLAINT_LINKS = dg.AssetKey(["dq", "complaint_links"])
METRICS_DAILY = dg.AssetKey(["dq", "metrics_daily"])
METRICS_BREAKDOWN = dg.AssetKey(["dq", "metrics_breakdown"])
EXPORT_PARQUET = dg.AssetKey(["export", "parquet"])
