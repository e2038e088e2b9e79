"""Complaint linking: which detected issue (if any) each data-related complaint reports.

A complaint is *covered* when an issue that plausibly describes it was first detected at or before
the complaint's ``created_ts``; otherwise it is a miss (``complaint_only``): the customer found the
fault before we did. Every data-related complaint gets exactly one row in ``dq.complaint_links``,
linked or not, so unlinked complaints stay visible.

Link methods, strongest first (``method_rank``):

1. ``ORDER_ID``          the issue carries the complaint's order (ORDER_SHOW_*, SEAT_DOUBLE_SOLD, ...)
2. ``ORDER_PICKUP_CODE`` the order's pickup code (audit.pickup_codes: raw + archived) is the issue's pickup code
3. ``ORDER_SHOW``        the order's show (audit.orders: cinema + start time as bought) has a show-level
                          issue of a mapped category at that cinema starting within 120 min
4. ``CINEMA_TIME``       no order match: an issue of a mapped category at the complaint's (or the
                          order's) cinema whose show starts between 24 h before and 72 h after the
                          complaint (schedules are sold 3 days ahead: a price seen in the app today
                          may be for the day after tomorrow). A complaint that names an order is
                          never linked this way to another order's or code's issue.

Within a method, the best category rank (``CATEGORY_MAP`` order), then the nearest show time, then
the earliest detection wins.
"""

from __future__ import annotations

import duckdb

from ticket_dq.lib import contract, warehouse

TABLE = "dq.complaint_links"

# Complaint category -> issue categories that describe the same fault, best first. Categories of
# CONTRACT.md §3 (complaints) and §4 (issues). REFUND_DENIED / SERVICE_FEE / OTHER are not data-related.
CATEGORY_MAP: dict[str, tuple[str, ...]] = {
    "SHOW_CHANGED": ("ORDER_SHOW_CHANGED", "SHOW_TIME_MISMATCH", "SHOW_FILM_MISMATCH", "SHOW_HALL_MISMATCH",
                     "SHOW_MISSING", "ORDER_OUTCOME_SPIKE"),
    "SHOW_CANCELLED": ("ORDER_SHOW_CANCELLED", "SHOW_MISSING", "SHOW_EXTRA", "ORDER_OUTCOME_SPIKE"),
    "HALL_CHANGED": ("ORDER_SHOW_CHANGED", "SHOW_HALL_MISMATCH", "HALL_OVERLAP"),
    "PRICE_DIFF": ("SHOW_PRICE_MISMATCH", "VALIDATION_FAILED"),
    "SEAT_CONFLICT": ("SEAT_DOUBLE_SOLD", "HALL_OVERLAP", "SHOW_DUPLICATE"),
    "PICKUP_CODE_INVALID": ("PICKUP_CODE_INVALID", "PICKUP_CODE_DUPLICATE"),
    "NO_TICKET_ISSUED": ("ORDER_NOT_ISSUED", "PICKUP_CODE_INVALID", "PICKUP_CODE_DUPLICATE", "SEAT_DOUBLE_SOLD",
                         "ORDER_SHOW_CANCELLED", "ORDER_OUTCOME_SPIKE"),
}
assert set(CATEGORY_MAP) == set(contract.DATA_COMPLAINT_CATEGORIES)
assert all(c in contract.ISSUE_CATEGORIES for cats in CATEGORY_MAP.values() for c in cats)

# Window of method ORDER_SHOW: a SHOW_TIME_MISMATCH issue carries the majority start time while the
# order carries the partner's wrong one (30-90 min off), so the window is wider than TRUTH's 5 min.
ORDER_SHOW_WINDOW_S = 120 * 60
CINEMA_TIME_BEFORE_S = 24 * 3600
CINEMA_TIME_AFTER_S = 72 * 3600

DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
  complaint_id VARCHAR PRIMARY KEY,
  created_ts TIMESTAMP NOT NULL,
  complaint_date DATE NOT NULL,      -- Beijing date of created_ts: the metrics day of a miss
  channel VARCHAR,
  complaint_category VARCHAR NOT NULL,
  order_id VARCHAR,
  cinema_code VARCHAR,               -- complaint's cinema, else the order's
  issue_id VARCHAR,                  -- NULL: no issue describes it (still a row: unlinked stays visible)
  link_method VARCHAR NOT NULL,      -- ORDER_ID | ORDER_PICKUP_CODE | ORDER_SHOW | CINEMA_TIME | NONE
  confidence DOUBLE NOT NULL,        -- 0 when unlinked
  issue_category VARCHAR,
  issue_first_detected_at TIMESTAMP,
  covered_before BOOLEAN NOT NULL,   -- some candidate issue was first detected <= created_ts
  complaint_only BOOLEAN NOT NULL,   -- NOT covered_before: a fault the customer found first
  category VARCHAR NOT NULL,         -- attributed issue category (link, else first mapped category)
  source VARCHAR NOT NULL,           -- attributed source (link, else the order's partner, else UNKNOWN)
  team VARCHAR NOT NULL,             -- attributed team (link, else UNKNOWN)
  linked_at TIMESTAMP NOT NULL
)"""

LINK_SQL = f"""
INSERT INTO {TABLE}
WITH cmap AS (
  SELECT unnest($map_complaint) AS complaint_category, unnest($map_issue) AS issue_category,
         unnest($map_rank) AS cat_rank
),
c AS (
  SELECT complaint_id, created_ts, channel, nullif(trim(order_id), '') AS order_id,
         nullif(trim(cinema_code), '') AS cinema_code, category
  FROM raw.complaints
  WHERE category IN (SELECT unnest($data_categories)) AND complaint_id IS NOT NULL AND created_ts IS NOT NULL
  -- a complaint re-delivered in another file counts once: keep its latest delivery
  QUALIFY row_number() OVER (PARTITION BY complaint_id ORDER BY ingested_at DESC, ingest_file DESC,
                                                                  ingest_line DESC) = 1
),
o AS (  -- the show as the user bought it: the order's first event
  SELECT order_id, cinema_code, show_start_time, partner_code
  FROM audit.orders WHERE order_id IN (SELECT order_id FROM c WHERE order_id IS NOT NULL)
  QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY event_ts, ingest_line) = 1
),
pk AS (
  SELECT DISTINCT order_id, pickup_code FROM audit.pickup_codes
  WHERE order_id IN (SELECT order_id FROM c WHERE order_id IS NOT NULL) AND pickup_code IS NOT NULL
),
iss AS (
  SELECT issue_id, category, source, team, cinema_code, show_start_time, order_id, pickup_code,
         first_detected_at
  FROM dq.issues
),
cand AS (
  SELECT c.complaint_id, i.*, 'ORDER_ID' AS method, 1 AS method_rank,
         CASE WHEN m.cat_rank IS NULL THEN 0.8 ELSE 1.0 END AS confidence,
         coalesce(m.cat_rank, 99) AS cat_rank, 0.0 AS dist
  FROM c JOIN iss i ON i.order_id = c.order_id
  LEFT JOIN cmap m ON m.complaint_category = c.category AND m.issue_category = i.category
  UNION ALL
  SELECT c.complaint_id, i.*, 'ORDER_PICKUP_CODE', 2,
         CASE WHEN m.cat_rank IS NULL THEN 0.7 ELSE 0.95 END, coalesce(m.cat_rank, 99), 0.0
  FROM c JOIN pk ON pk.order_id = c.order_id JOIN iss i ON i.pickup_code = pk.pickup_code
  LEFT JOIN cmap m ON m.complaint_category = c.category AND m.issue_category = i.category
  UNION ALL
  SELECT c.complaint_id, i.*, 'ORDER_SHOW', 3,
         0.9 - 0.3 * abs(epoch(i.show_start_time) - epoch(o.show_start_time)) / $order_show_window,
         m.cat_rank, abs(epoch(i.show_start_time) - epoch(o.show_start_time))
  FROM c JOIN o ON o.order_id = c.order_id
  JOIN iss i ON i.cinema_code = o.cinema_code AND i.order_id IS NULL
            AND abs(epoch(i.show_start_time) - epoch(o.show_start_time)) <= $order_show_window
  JOIN cmap m ON m.complaint_category = c.category AND m.issue_category = i.category
  UNION ALL
  SELECT c.complaint_id, i.*, 'CINEMA_TIME', 4,
         0.6 - 0.3 * abs(epoch(i.show_start_time) - epoch(c.created_ts)) / $cinema_time_after,
         m.cat_rank, abs(epoch(i.show_start_time) - epoch(c.created_ts))
  FROM c LEFT JOIN o ON o.order_id = c.order_id
  JOIN iss i ON i.cinema_code = coalesce(c.cinema_code, o.cinema_code)
            AND epoch(i.show_start_time) - epoch(c.created_ts) BETWEEN -$cinema_time_before AND $cinema_time_after
            -- a complaint about a known order is not about another customer's order or code
            AND (c.order_id IS NULL OR (i.order_id IS NULL AND i.pickup_code IS NULL))
  JOIN cmap m ON m.complaint_category = c.category AND m.issue_category = i.category
),
covered AS (
  SELECT cand.complaint_id, bool_or(cand.first_detected_at <= c.created_ts) AS covered_before
  FROM cand JOIN c USING (complaint_id)
  WHERE cand.cat_rank < 99 OR cand.method = 'ORDER_ID'
  GROUP BY cand.complaint_id
),
best AS (
  SELECT * FROM cand
  QUALIFY row_number() OVER (PARTITION BY complaint_id
                             ORDER BY method_rank, cat_rank, dist, first_detected_at, issue_id) = 1
)
SELECT c.complaint_id, c.created_ts, CAST(c.created_ts AS DATE), c.channel, c.category, c.order_id,
       coalesce(c.cinema_code, o.cinema_code),
       b.issue_id, coalesce(b.method, 'NONE'), round(coalesce(b.confidence, 0.0), 3),
       b.category, b.first_detected_at,
       coalesce(v.covered_before, false), NOT coalesce(v.covered_before, false),
       coalesce(b.category, (SELECT issue_category FROM cmap
                             WHERE cmap.complaint_category = c.category AND cat_rank = 1)),
       coalesce(b.source, o.partner_code, 'UNKNOWN'), coalesce(b.team, 'UNKNOWN'),
       $now
FROM c LEFT JOIN best b USING (complaint_id) LEFT JOIN covered v USING (complaint_id)
LEFT JOIN o ON o.order_id = c.order_id
"""


def _map_params() -> dict:
    complaint, issue, rank = [], [], []
    for ccat, icats in CATEGORY_MAP.items():
        for r, icat in enumerate(icats, start=1):
            complaint.append(ccat)
            issue.append(icat)
            rank.append(r)
    return {"map_complaint": complaint, "map_issue": issue, "map_rank": rank}


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS dq")
    con.execute(DDL)


def link_complaints(con: duckdb.DuckDBPyConnection, now) -> dict:
    """Rebuild dq.complaint_links from raw.complaints, audit.orders, audit.pickup_codes and dq.issues.

    Complaints are small (thousands a day), so a full rebuild is cheap and keeps links consistent
    with the current issues; returns counts for metadata."""
    ensure_table(con)
    with warehouse.transaction(con):
        # Full replacement: links depend on every issue detected so far, not only on new complaints.
        con.execute(f"DELETE FROM {TABLE}")
        con.execute(LINK_SQL, {
            **_map_params(),
            "data_categories": list(contract.DATA_COMPLAINT_CATEGORIES),
            "order_show_window": ORDER_SHOW_WINDOW_S,
            "cinema_time_before": CINEMA_TIME_BEFORE_S,
            "cinema_time_after": CINEMA_TIME_AFTER_S,
            "now": now,
        })
    row = con.execute(
        f"SELECT count(*), count(issue_id), count(*) FILTER (complaint_only) FROM {TABLE}").fetchone()
    by_method = dict(con.execute(
        f"SELECT link_method, count(*) FROM {TABLE} GROUP BY 1 ORDER BY 1").fetchall())
    return {"complaints": row[0], "linked": row[1], "unlinked": row[0] - row[1], "complaint_only": row[2],
            "by_method": by_method}
