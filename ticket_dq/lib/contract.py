"""The landing and output contract (CONTRACT.md) as data: feeds, columns, value sets, categories.

Every other module takes column names and value sets from here, so the contract lives in one place.

Normalisation rules applied by ingestion (CONTRACT.md section 1):
- ``timestamp`` columns accept ``YYYY-MM-DD HH:MM:SS`` and ISO ``YYYY-MM-DDTHH:MM:SS``; stored as
  naive TIMESTAMP in Beijing time.
- money columns are integer fen; a column whose name ends in ``_yuan`` (decimal string) is stored as
  the matching ``_fen`` BIGINT column (``price_yuan`` -> ``price_fen``).
- empty strings are NULL; rows whose values cannot be parsed into these types are quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Logical column types -> DuckDB types of the raw table column.
DUCK_TYPES = {
    "text": "VARCHAR",
    "int": "INTEGER",
    "fen": "BIGINT",
    "yuan": "BIGINT",  # stored as fen, column renamed *_yuan -> *_fen
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "bool": "BOOLEAN",
    "hhmm": "VARCHAR",  # competitor start_time 'HH:MM'; ingestion also derives start_ts
}


@dataclass(frozen=True)
class Feed:
    name: str
    fmt: str  # "csv" | "jsonl"
    columns: tuple[tuple[str, str], ...]  # (contract column, logical type) in contract order
    key: tuple[str, ...]  # business key within one delivery (uniqueness checked by validation)
    derived: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # extra typed columns
    # Columns comparisons join or place rows on. A row missing one, or with a malformed national
    # code, cannot be matched and would raise false alerts: ingestion quarantines it (the row
    # becomes a VALIDATION_FAILED issue) instead of letting it block the whole table downstream.
    required: tuple[str, ...] = ()
    codes: tuple[tuple[str, int], ...] = ()  # (column, digits) of national codes, when present

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    def raw_column(self, name: str) -> str:
        """Name of a contract column in the raw table (``*_yuan`` becomes ``*_fen``)."""
        return name[: -len("_yuan")] + "_fen" if name.endswith("_yuan") else name

    def raw_columns(self) -> list[tuple[str, str]]:
        """(raw column, DuckDB type) for the contract part of the raw table, then derived columns."""
        cols = [(self.raw_column(n), DUCK_TYPES[t]) for n, t in self.columns]
        return cols + list(self.derived)

    @property
    def contract_names(self) -> list[str]:
        return [n for n, _ in self.columns]


# Lineage and housekeeping columns every raw table carries after its contract columns.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"),  # <source> folder of the landing path
    ("ingest_file", "VARCHAR"),  # path relative to the landing root
    ("ingest_line", "BIGINT"),  # 1-based physical line of the record in the file (header = line 1)
    ("ingested_at", "TIMESTAMP"),
    ("ingest_run_id", "VARCHAR"),  # Dagster run that ingested it: incremental validation keys on it
    ("extras", "JSON"),  # columns outside the contract (schema drift), kept rather than dropped
)

SHOW_STATUSES = ("ON_SALE", "STOP_SALE", "CANCELLED")
ORDER_STATUSES = ("CREATED", "CANCELLED", "PAID", "ISSUED", "ISSUE_FAILED", "REFUNDED", "PRINTED")
# Orders that hold seats and a customer expecting to watch the show.
LIVE_ORDER_STATUSES = ("PAID", "ISSUED", "PRINTED")
PICKUP_STATUSES = ("ALLOCATED", "DELIVERED", "PRINTED", "REVOKED")
COMPLAINT_CHANNELS = ("APP", "HOTLINE", "12315", "SOCIAL")
COMPLAINT_CATEGORIES = (
    "SHOW_CHANGED", "SHOW_CANCELLED", "HALL_CHANGED", "PRICE_DIFF", "SEAT_CONFLICT",
    "PICKUP_CODE_INVALID", "NO_TICKET_ISSUED", "REFUND_DENIED", "SERVICE_FEE", "OTHER",
)
# "The first seven categories are data-related."
DATA_COMPLAINT_CATEGORIES = COMPLAINT_CATEGORIES[:7]
HANDLER_STATUSES = ("ACKNOWLEDGED", "CONFIRMED", "FALSE_POSITIVE", "RESOLVED", "REOPENED")
RESOLUTION_CODES = ("PARTNER_FIXED", "USER_NOTIFIED", "USER_REFUNDED", "DATA_CORRECTED", "NO_ACTION")

FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (
        Feed(
            "partner_schedule", "csv",
            (
                ("snapshot_ts", "timestamp"), ("cinema_code", "text"), ("partner_cinema_id", "text"),
                ("cinema_name", "text"), ("hall_code", "text"), ("hall_name", "text"), ("hall_type", "text"),
                ("seat_total", "int"), ("show_code", "text"), ("business_date", "date"),
                ("start_time", "timestamp"), ("end_time", "timestamp"), ("film_code", "text"),
                ("film_name", "text"), ("language", "text"), ("version", "text"), ("duration_min", "int"),
                ("list_price_fen", "fen"), ("sale_price_fen", "fen"), ("service_fee_fen", "fen"),
                ("seats_available", "int"), ("show_status", "text"), ("partner_update_time", "timestamp"),
            ),
            key=("cinema_code", "show_code", "snapshot_ts"),
            required=("cinema_code", "show_code", "snapshot_ts", "start_time", "business_date"),
            codes=(("cinema_code", 8), ("film_code", 12)),
        ),
        Feed(
            "competitor_schedule", "jsonl",
            (
                ("crawl_ts", "timestamp"), ("platform", "text"), ("platform_cinema_id", "text"),
                ("cinema_name", "text"), ("city", "text"), ("platform_film_id", "text"), ("film_name", "text"),
                ("platform_show_id", "text"), ("show_date", "date"), ("start_time", "hhmm"),
                ("hall_name", "text"), ("version_text", "text"), ("price_yuan", "yuan"), ("sold_out", "bool"),
            ),
            key=("platform", "platform_show_id", "crawl_ts"),
            required=("platform_cinema_id", "platform_show_id", "crawl_ts", "show_date", "start_time"),
            # show_date + start_time; a start before 06:00 is on the next calendar day (CONTRACT.md).
            derived=(("start_ts", "TIMESTAMP"),),
        ),
        Feed(
            "orders", "csv",
            (
                ("event_ts", "timestamp"), ("order_id", "text"), ("partner_code", "text"),
                ("partner_order_id", "text"), ("channel_code", "text"), ("user_id", "text"), ("mobile", "text"),
                ("cinema_code", "text"), ("show_code", "text"), ("show_start_time", "timestamp"),
                ("hall_name", "text"), ("film_code", "text"), ("film_name", "text"), ("version", "text"),
                ("ticket_count", "int"), ("seats", "text"), ("unit_price_fen", "fen"),
                ("service_fee_fen", "fen"), ("total_fen", "fen"), ("status", "text"), ("status_reason", "text"),
            ),
            key=("order_id", "event_ts", "status"),
            required=("order_id", "event_ts", "status", "cinema_code", "show_code"),
            codes=(("cinema_code", 8), ("film_code", 12)),
        ),
        Feed(
            "pickup_codes", "csv",
            (
                ("allocation_ts", "timestamp"), ("channel_partner", "text"), ("channel_order_id", "text"),
                ("order_id", "text"), ("cinema_code", "text"), ("show_code", "text"),
                ("show_start_time", "timestamp"), ("pickup_code", "text"), ("verify_code", "text"),
                ("seats", "text"), ("ticket_count", "int"), ("status", "text"),
            ),
            key=("channel_partner", "pickup_code", "allocation_ts", "status"),
            required=("pickup_code", "channel_partner", "allocation_ts", "status"),
            codes=(("cinema_code", 8),),
        ),
        Feed(
            "complaints", "csv",
            (
                ("complaint_id", "text"), ("created_ts", "timestamp"), ("channel", "text"), ("order_id", "text"),
                ("cinema_code", "text"), ("category", "text"), ("description", "text"),
            ),
            key=("complaint_id",),
            required=("complaint_id", "created_ts"),
        ),
        Feed(
            "issue_events", "csv",
            (
                ("event_ts", "timestamp"), ("issue_id", "text"), ("to_status", "text"), ("handler", "text"),
                ("team", "text"), ("resolution_code", "text"), ("comment", "text"),
            ),
            key=("issue_id", "event_ts", "to_status"),
            required=("issue_id", "event_ts", "to_status"),
        ),
    )
}

# Reference data: full replacements under <landing>/reference/, CSV UTF-8, no manifest.
REFERENCE: dict[str, Feed] = {
    f.name: f
    for f in (
        Feed(
            "cinemas", "csv",
            (("cinema_code", "text"), ("cinema_name", "text"), ("city", "text"), ("district", "text"),
             ("brand", "text"), ("status", "text")),
            key=("cinema_code",),
            required=("cinema_code", "cinema_name", "city"),
            codes=(("cinema_code", 8),),
        ),
        Feed(
            "cinema_aliases", "csv",
            (("source", "text"), ("source_cinema_id", "text"), ("cinema_code", "text")),
            key=("source", "source_cinema_id"),
            required=("source", "source_cinema_id", "cinema_code"),
            codes=(("cinema_code", 8),),
        ),
        Feed(
            "films", "csv",
            (("film_code", "text"), ("film_name", "text"), ("version", "text"), ("language", "text"),
             ("duration_min", "int"), ("release_date", "date")),
            key=("film_code",),
            required=("film_code", "film_name"),
            codes=(("film_code", 12),),
        ),
    )
}


def reference_table(name: str) -> str:
    return f"ref.{name}"


# ---- output contract (CONTRACT.md section 4) -------------------------------------------------------

ISSUE_CATEGORIES = (
    "SHOW_MISSING", "SHOW_EXTRA", "SHOW_TIME_MISMATCH", "SHOW_HALL_MISMATCH", "SHOW_FILM_MISMATCH",
    "SHOW_PRICE_MISMATCH", "SHOW_DUPLICATE", "HALL_OVERLAP", "ORDER_SHOW_CHANGED", "ORDER_SHOW_CANCELLED",
    "SEAT_DOUBLE_SOLD", "PICKUP_CODE_DUPLICATE", "PICKUP_CODE_INVALID", "ORDER_NOT_ISSUED", "ORDER_OUTCOME_SPIKE",
    "FEED_LATE", "FEED_PARTIAL",
    "FEED_VOLUME_DROP", "VALIDATION_FAILED", "UNMAPPED_ENTITY",
)
SEVERITIES = ("P0", "P1", "P2", "P3")
# dq.issues.status values (CONTRACT.md section 4)
ISSUE_STATUSES = ("OPEN", "ACKNOWLEDGED", "CONFIRMED", "FALSE_POSITIVE", "RESOLVED", "SUPPRESSED")
TEAMS = ("RD", "PM", "BD", "OPS", "SALES", "CS")
