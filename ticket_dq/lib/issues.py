"""Issue identity, severity, default team map, inhibition and lifecycle merge for ``dq.issues``.

- identity: ``issue_id`` = first 16 hex of md5(category | source | business_key): the same fault gets
  the same id on every run, whatever else about it changes;
- severity P0-P3 from impact: live orders affected, hours until the show, money at stake;
- team: a default category -> team map (configurable routing lives in lib/routing.py);
- inhibition by cause (the table in docs/detection.md): an issue is SUPPRESSED only when the data it
  was derived from is the data a feed fault made untrustworthy, and ``suppressed_by`` names that fault.
  A rejected or much smaller schedule snapshot / crawl is never current (the previous complete one
  is), so nothing is derived from it: the issues of that source stand, and while the faulty delivery is
  the source's latest (or the source is late) their evidence carries ``feed_fault`` with the age of the
  data they rest on (``FEED_NOTE_SQL``). A pickup code whose order is unknown while the orders feed has
  a FEED_PARTIAL / FEED_LATE is not an invalid code: SUPPRESSED (``SUPPRESSION_RULES``). Order-outcome
  issues (ORDER_NOT_ISSUED, ORDER_OUTCOME_SPIKE) rest on the orders feed itself: a late orders feed, or a
  broken orders file of the day concerned, suppresses them (``ORDERS_FEED_FAULT_SQL``);
- lifecycle: detection status (OPEN / RESOLVED "no longer detected" / SUPPRESSED / reopened) merged with
  the handlers' status from ``lib.lifecycle.handler_states``.
The SQL twins live in ``ticket_dq/lib/detection/sql/issues.sql``; the Python functions here are the
reference the unit tests hold both to.
"""

from __future__ import annotations

import hashlib

from ticket_dq.lib import contract

DEFAULT_TEAMS: dict[str, str] = {
    "SHOW_MISSING": "BD", "SHOW_EXTRA": "BD", "SHOW_TIME_MISMATCH": "BD", "SHOW_HALL_MISMATCH": "BD",
    "SHOW_FILM_MISMATCH": "BD", "SHOW_PRICE_MISMATCH": "BD", "SHOW_DUPLICATE": "RD", "HALL_OVERLAP": "BD",
    "ORDER_SHOW_CHANGED": "CS", "ORDER_SHOW_CANCELLED": "CS", "SEAT_DOUBLE_SOLD": "RD",
    "PICKUP_CODE_DUPLICATE": "SALES", "PICKUP_CODE_INVALID": "SALES", "ORDER_NOT_ISSUED": "CS",
    "ORDER_OUTCOME_SPIKE": "RD", "FEED_LATE": "OPS", "FEED_PARTIAL": "OPS",
    "FEED_VOLUME_DROP": "OPS", "VALIDATION_FAILED": "RD", "UNMAPPED_ENTITY": "OPS",
}
# A show-level fault whose source is a platform is a crawler / platform-data matter.
PLATFORM_SHOW_TEAM = "OPS"
SHOW_LEVEL = tuple(c for c in contract.ISSUE_CATEGORIES if c.startswith("SHOW_")) + ("HALL_OVERLAP",)
CUSTOMER_FACING = ("ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED", "SEAT_DOUBLE_SOLD")
BIG_MONEY_FEN = 100_000  # 1000 yuan at stake lifts severity one level
SPIKE_BIG_ORDERS = 20  # a spike over this many orders is P1 even without a show time
RESOLVED_REASON = "no longer detected"

assert set(DEFAULT_TEAMS) == set(contract.ISSUE_CATEGORIES)
assert set(DEFAULT_TEAMS.values()) <= set(contract.TEAMS)


def issue_id(category: str, source: str | None, business_key: str | None) -> str:
    """Stable identity of a fault: same category, source and business key -> same id."""
    text = f"{category}|{source or ''}|{business_key or ''}"
    return hashlib.md5(text.encode("utf-8")).hexdigest()[:16]


ISSUE_ID_SQL = "substr(md5(category || '|' || coalesce(source, '') || '|' || coalesce(business_key, '')), 1, 16)"


def severity(category: str, affected_orders: int | None, hours_to_show: float | None, impact_fen: int | None) -> str:
    """P0 (act now) .. P3 (housekeeping) from impact. Mirrors SEVERITY_SQL."""
    orders = affected_orders or 0
    hours = 1e9 if hours_to_show is None else hours_to_show
    if category in CUSTOMER_FACING:
        level = 0 if hours <= 3 else 1 if hours <= 24 else 2
    elif category.startswith("PICKUP_CODE_"):
        level = 1 if hours <= 6 else 2
    elif category == "ORDER_NOT_ISSUED":
        level = 0 if -3 <= hours <= 2 else 1 if 2 < hours <= 24 else 2
    elif category == "ORDER_OUTCOME_SPIKE":
        level = 1 if (orders >= SPIKE_BIG_ORDERS or hours <= 24) else 2
    elif category in SHOW_LEVEL:
        level = 1 if (orders > 0 and hours <= 24) else 2 if (orders > 0 or hours <= 24) else 3
    elif category == "FEED_LATE":
        level = 1
    elif category.startswith("FEED_"):
        level = 2
    else:
        level = 3
    if (impact_fen or 0) >= BIG_MONEY_FEN:
        level = max(level - 1, 0)
    return f"P{level}"


def sql_list(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # constants of this module, not data


SEVERITY_SQL = f"""'P' || CAST(greatest(0, (CASE
    WHEN category IN {sql_list(CUSTOMER_FACING)} THEN CASE WHEN coalesce(hours_to_show, 1e9) <= 3 THEN 0
         WHEN coalesce(hours_to_show, 1e9) <= 24 THEN 1 ELSE 2 END
    WHEN category LIKE 'PICKUP\\_CODE\\_%' ESCAPE '\\' THEN CASE WHEN coalesce(hours_to_show, 1e9) <= 6 THEN 1 ELSE 2 END
    WHEN category = 'ORDER_NOT_ISSUED' THEN CASE WHEN coalesce(hours_to_show, 1e9) BETWEEN -3 AND 2 THEN 0
         WHEN coalesce(hours_to_show, 1e9) <= 24 AND coalesce(hours_to_show, 1e9) > 2 THEN 1 ELSE 2 END
    WHEN category = 'ORDER_OUTCOME_SPIKE' THEN CASE WHEN coalesce(affected_orders, 0) >= {SPIKE_BIG_ORDERS}
         OR coalesce(hours_to_show, 1e9) <= 24 THEN 1 ELSE 2 END
    WHEN category IN {sql_list(SHOW_LEVEL)} THEN CASE
         WHEN coalesce(affected_orders, 0) > 0 AND coalesce(hours_to_show, 1e9) <= 24 THEN 1
         WHEN coalesce(affected_orders, 0) > 0 OR coalesce(hours_to_show, 1e9) <= 24 THEN 2 ELSE 3 END
    WHEN category = 'FEED_LATE' THEN 1
    WHEN category LIKE 'FEED\\_%' ESCAPE '\\' THEN 2
    ELSE 3 END) - CASE WHEN coalesce(impact_fen, 0) >= {BIG_MONEY_FEN} THEN 1 ELSE 0 END) AS VARCHAR)"""


def team_sql(platforms_sql: str) -> str:
    """Default team as a SQL CASE; ``platforms_sql`` selects the platform source names."""
    whens = " ".join(f"WHEN '{c}' THEN '{t}'" for c, t in DEFAULT_TEAMS.items())
    return (f"CASE WHEN category IN {sql_list(SHOW_LEVEL)} AND source IN ({platforms_sql}) THEN '{PLATFORM_SHOW_TEAM}' "
            f"ELSE CASE category {whens} ELSE 'OPS' END END")


# Inhibition by cause (docs/detection.md, "Inhibition by cause"). Each rule: the categories it may
# suppress and a SQL expression over candidate ``d`` of TEMP det (issues.sql) giving the issue_id of the
# feed fault ``f`` that made d's data untrustworthy, or NULL. A new rule is one more entry.
ORDERS_FEED_FAULTS = ("FEED_PARTIAL", "FEED_LATE")
_ORDERS_FAULT = (f"f.category IN {sql_list(ORDERS_FEED_FAULTS)} AND json_extract_string(f.evidence, '$.feed') = 'orders'")
UNKNOWN_ORDER_CODE_SQL = f"""(SELECT min(f.issue_id) FROM det f
    WHERE d.rule = 'unknown_order' AND {_ORDERS_FAULT}
      AND (f.category = 'FEED_LATE'
           -- an orders file of the days the order can have been filed in: from the day before the code
           -- was handed out to the business date of the show
           OR f.business_date BETWEEN coalesce(CAST(TRY_CAST(json_extract_string(d.evidence, '$.allocated_at')
                                                    AS TIMESTAMP) AS DATE), d.business_date) - 1
                                  AND d.business_date))"""
# Order-outcome issues rest on the orders feed itself: a late orders feed, or a broken orders file of
# the day the order was paid / the spike hour, suppresses them.
ORDER_OUTCOME = ("ORDER_NOT_ISSUED", "ORDER_OUTCOME_SPIKE")
ORDERS_FEED_FAULT_SQL = f"""(SELECT min(f.issue_id) FROM det f
    WHERE {_ORDERS_FAULT}
      AND (f.category = 'FEED_LATE'
           OR f.business_date = CAST(TRY_CAST(json_extract_string(d.evidence, '$.event_at') AS TIMESTAMP) AS DATE)))"""
SUPPRESSION_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("PICKUP_CODE_INVALID",), UNKNOWN_ORDER_CODE_SQL),
    (ORDER_OUTCOME, ORDERS_FEED_FAULT_SQL),
)


def suppressed_by_sql() -> str:
    """The cause that suppresses candidate ``d`` (first rule that names one), or NULL."""
    cases = [f"CASE WHEN d.category IN {sql_list(categories)} THEN {sql} END" for categories, sql in SUPPRESSION_RULES]
    return "coalesce(" + ", ".join(cases) + ", NULL::VARCHAR)"


# Schedule feed faults that leave their source's older complete data current: the issues of that
# source keep standing, with the fault and the age of the data in evidence. A FEED_PARTIAL /
# FEED_VOLUME_DROP counts while no later complete file of the source superseded it (feed_health.sql:
# evidence.superseded); FEED_LATE always. The current data is per source, not per date.
SCHEDULE_FEEDS = ("partner_schedule", "competitor_schedule")
SCHEDULE_BASED = SHOW_LEVEL + ("ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED", "UNMAPPED_ENTITY")
FEED_NOTE_SQL = f"""(SELECT arg_min(json_object('issue_id', f.issue_id, 'category', f.category,
        'data_as_of', json_extract_string(f.evidence, '$.current_data_as_of'),
        'data_age_min', date_diff('minute', TRY_CAST(json_extract_string(f.evidence, '$.current_data_as_of') AS TIMESTAMP),
                                  CAST($now AS TIMESTAMP))), f.issue_id)
    FROM det f
    WHERE f.category IN ('FEED_PARTIAL', 'FEED_VOLUME_DROP', 'FEED_LATE')
      AND d.category IN {sql_list(SCHEDULE_BASED)}
      AND f.source = d.source AND json_extract_string(f.evidence, '$.feed') IN {sql_list(SCHEDULE_FEEDS)}
      AND NOT coalesce(TRY_CAST(json_extract_string(f.evidence, '$.superseded') AS BOOLEAN), false))"""


def merge_status(detection: str, handler: str | None, handler_at=None, reopened_at=None) -> str:
    """Final status from detection (OPEN | RESOLVED | SUPPRESSED) and the handler's (or None). Mirrors SQL.

    SUPPRESSED stays SUPPRESSED. A handler status counts unless detection reopened the issue after it.
    Handler status overrides detection, except that detection auto-resolving an issue handlers still
    have open (OPEN/ACKNOWLEDGED/CONFIRMED) resolves it.
    """
    if detection == "SUPPRESSED":
        return "SUPPRESSED"
    if handler is None or (reopened_at is not None and handler_at is not None and handler_at < reopened_at):
        return detection
    if detection == "RESOLVED" and handler in ("OPEN", "ACKNOWLEDGED", "CONFIRMED"):
        return "RESOLVED"
    return handler
