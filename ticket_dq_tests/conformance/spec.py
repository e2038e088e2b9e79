"""CONTRACT.md transcribed for the conformance writer, by hand, from the contract text alone.

Nothing here is imported from ticket_dq: if the product misreads the contract, this copy is the second
reading that catches it. Section numbers refer to CONTRACT.md.
"""

from __future__ import annotations

# §3, each feed's columns in the order the contract lists them. Money columns are listed by their
# stem (see MONEY): CONTRACT.md §1 "Money in integer fen unless the column name ends in `_yuan`
# (decimal string)", so every money column may arrive as `<stem>_fen` or `<stem>_yuan`.
COLUMNS: dict[str, tuple[str, ...]] = {
    "partner_schedule": (
        "snapshot_ts", "cinema_code", "partner_cinema_id", "cinema_name", "hall_code", "hall_name", "hall_type",
        "seat_total", "show_code", "business_date", "start_time", "end_time", "film_code", "film_name",
        "language", "version", "duration_min", "list_price", "sale_price", "service_fee", "seats_available",
        "show_status", "partner_update_time",
    ),
    "competitor_schedule": (
        "crawl_ts", "platform", "platform_cinema_id", "cinema_name", "city", "platform_film_id", "film_name",
        "platform_show_id", "show_date", "start_time", "hall_name", "version_text", "price", "sold_out",
    ),
    "orders": (
        "event_ts", "order_id", "partner_code", "partner_order_id", "channel_code", "user_id", "mobile",
        "cinema_code", "show_code", "show_start_time", "hall_name", "film_code", "film_name", "version",
        "ticket_count", "seats", "unit_price", "service_fee", "total", "status", "status_reason",
    ),
    "pickup_codes": (
        "allocation_ts", "channel_partner", "channel_order_id", "order_id", "cinema_code", "show_code",
        "show_start_time", "pickup_code", "verify_code", "seats", "ticket_count", "status",
    ),
    "complaints": ("complaint_id", "created_ts", "channel", "order_id", "cinema_code", "category", "description"),
    "issue_events": ("event_ts", "issue_id", "to_status", "handler", "team", "resolution_code", "comment"),
}

# Money column stems per feed, as the contract names them (`list_price_fen`, `price_yuan`, ...).
MONEY: dict[str, tuple[str, ...]] = {
    "partner_schedule": ("list_price", "sale_price", "service_fee"),
    "competitor_schedule": ("price",),
    "orders": ("unit_price", "service_fee", "total"),
}
# The unit each feed's money columns carry in the contract's own column list (§3).
CONTRACT_MONEY_UNIT = {"partner_schedule": "fen", "competitor_schedule": "yuan", "orders": "fen"}

# §1 "Times `YYYY-MM-DD HH:MM:SS`; some partners send ISO `YYYY-MM-DDTHH:MM:SS`": the timestamp columns.
# (competitor `start_time` is `HH:MM` only, with `show_date`.)
TIMESTAMPS: dict[str, tuple[str, ...]] = {
    "partner_schedule": ("snapshot_ts", "start_time", "end_time", "partner_update_time"),
    "competitor_schedule": ("crawl_ts",),
    "orders": ("event_ts", "show_start_time"),
    "pickup_codes": ("allocation_ts", "show_start_time"),
    "complaints": ("created_ts",),
    "issue_events": ("event_ts",),
}
# Integer and boolean columns: in JSON Lines a value may be a JSON number / boolean or a string.
INTEGERS: dict[str, tuple[str, ...]] = {
    "partner_schedule": ("seat_total", "duration_min", "seats_available"),
    "orders": ("ticket_count",),
    "pickup_codes": ("ticket_count",),
}
BOOLEANS: dict[str, tuple[str, ...]] = {"competitor_schedule": ("sold_out",)}

# §2 reference data: CSV UTF-8, full replacements, no manifest.
REFERENCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "cinemas": ("cinema_code", "cinema_name", "city", "district", "brand", "status"),
    "cinema_aliases": ("source", "source_cinema_id", "cinema_code"),
    "films": ("film_code", "film_name", "version", "language", "duration_min", "release_date"),
}

# §4 dq.issues columns and value sets.
ISSUE_COLUMNS = (
    "issue_id", "category", "rule", "severity", "team", "status", "source", "cinema_code", "business_date",
    "show_start_time", "order_id", "pickup_code", "affected_orders", "reason", "evidence", "first_detected_at",
    "last_detected_at", "resolved_at",
)
CATEGORIES = (
    "SHOW_MISSING", "SHOW_EXTRA", "SHOW_TIME_MISMATCH", "SHOW_HALL_MISMATCH", "SHOW_FILM_MISMATCH",
    "SHOW_PRICE_MISMATCH", "SHOW_DUPLICATE", "HALL_OVERLAP", "ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED",
    "SEAT_DOUBLE_SOLD", "PICKUP_CODE_DUPLICATE", "PICKUP_CODE_INVALID", "ORDER_NOT_ISSUED", "ORDER_OUTCOME_SPIKE",
    "FEED_LATE", "FEED_PARTIAL", "FEED_VOLUME_DROP", "VALIDATION_FAILED", "UNMAPPED_ENTITY",
)
# "show-level categories one row per show and faulty source, `show_start_time` as the majority of
# sources have it"
SHOW_LEVEL = ("SHOW_MISSING", "SHOW_EXTRA", "SHOW_TIME_MISMATCH", "SHOW_HALL_MISMATCH", "SHOW_FILM_MISMATCH",
              "SHOW_PRICE_MISMATCH", "SHOW_DUPLICATE", "HALL_OVERLAP")
ORDER_LEVEL = ("ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED", "SEAT_DOUBLE_SOLD", "ORDER_NOT_ISSUED")
CODE_LEVEL = ("PICKUP_CODE_DUPLICATE", "PICKUP_CODE_INVALID")
FEED_LEVEL = ("FEED_LATE", "FEED_PARTIAL", "FEED_VOLUME_DROP")
STATUSES = ("OPEN", "ACKNOWLEDGED", "CONFIRMED", "FALSE_POSITIVE", "RESOLVED", "SUPPRESSED")

# §3 partner_schedule: "a partner silent for more than 90 minutes is late".
PARTNER_LATE_MIN = 90
