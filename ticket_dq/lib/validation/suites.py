"""Great Expectations suites as code: one ``Suite`` per raw and reference table.

Severity is chosen per rule:
- ERROR (blocking): key uniqueness, null keys and unparseable key formats. Comparison assets join
  on these keys; a duplicate or malformed key produces false SHOW_*/ORDER_* alerts downstream.
- WARN (non-blocking): ranges, value sets and cross-column consistency. The row is still usable
  for comparison; the violation itself is a partner-data issue (VALIDATION_FAILED), not a reason to
  stop detection.
Rule names are unique across tables (they become ``business_key`` prefixes of issues); the two that
the simulator injects keep the truth file's names: ``sale_gt_list``, ``seats_available_gt_total``.
Plain GX, no Dagster import: the runner is ``ticket_dq.lib.validation``.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from ticket_dq.lib import contract
from ticket_dq.lib.validation import Rule, Suite, unexpected_rows
from ticket_dq.lib.validation.runner import ERROR, WARN

_F = contract.FEEDS
_R = contract.REFERENCE


def _not_null(feed: str, cols: tuple[str, ...]) -> list[Rule]:
    return [Rule(f"{feed}_{c}_not_null", ERROR, gxe.ExpectColumnValuesToNotBeNull(column=c),
                 "a null key cannot be matched or deduplicated") for c in cols]


def _unique(feed: str, cols: tuple[str, ...], severity: str = ERROR, why: str = "", candidate: bool = True) -> Rule:
    # Compound keys through SQL: GX's ExpectCompoundColumnsToBeUnique returns no row index on SQL
    # datasources, so it could give neither the business date nor the sample keys of duplicates.
    cl = ", ".join(cols)
    # Within one file: two rows of one delivery with one key are ambiguous, so they block. The same
    # key in two files is a re-send, reported by ``_unique_across_files`` (WARN).
    exp = (gxe.ExpectColumnValuesToBeUnique(column=cols[0]) if len(cols) == 1
           else unexpected_rows(cols, f"({cl}, ingest_file) IN (SELECT ({cl}, ingest_file) FROM {{batch}} "
                                      f"GROUP BY ALL HAVING count(*) > 1)"))
    return Rule(f"{feed}_key_unique", severity, exp,
                why or "duplicate keys double-count shows/orders and cause false alerts", candidate=candidate)


def _in_set(feed: str, col: str, values, severity: str = WARN) -> Rule:
    return Rule(f"{feed}_{col}_in_set", severity, gxe.ExpectColumnValuesToBeInSet(column=col, value_set=list(values)),
                "value outside the contract's set")


def _digits(feed: str, key: tuple[str, ...], col: str, n: int, severity: str = ERROR) -> Rule:
    # Regex through SQL: GX refuses ExpectColumnValuesToMatchRegex on the duckdb dialect.
    return Rule(f"{feed}_{col}_format", severity,
                unexpected_rows(key, f"{col} IS NOT NULL AND NOT (length({col}) = {n} AND regexp_matches({col}, '^[0-9]+$'))"),
                f"{col} must be {n} digits (national code): other values never match reference data")


def _key_rules(feed: str, key: tuple[str, ...]) -> list[Rule]:
    """ERROR rules for the contract's required columns and national codes. Ingestion quarantines rows
    that break them (lib/contract.py ``required``/``codes``), so these fail only on rows that reached
    the table some other way; they stay as the guard that keeps such rows from reaching comparisons."""
    spec = _F.get(feed) or _R[feed]
    return [*_not_null(feed, spec.required), *(_digits(feed, key, col, n) for col, n in spec.codes)]


def _unique_across_files(feed: str, key: tuple[str, ...]) -> Rule:
    """WARN: a key of the batch that an earlier delivered file of the table already holds (the
    ERROR rule only sees the batch). Not for snapshot feeds, whose key carries the snapshot time."""
    cl = ", ".join(key)
    table = f"raw.{feed}"
    return Rule(f"{feed}_key_unique_across_files", WARN,
                unexpected_rows(key, f"({cl}) IN (SELECT ({cl}) FROM {table} WHERE ({cl}) IN "
                                     f"(SELECT ({cl}) FROM {{batch}}) GROUP BY ALL HAVING count(DISTINCT ingest_file) > 1)"),
                "the same key delivered again in another file is counted twice downstream")


def _non_negative(feed: str, key: tuple[str, ...], cols: tuple[str, ...]) -> Rule:
    cond = " OR ".join(f"{c} < 0" for c in cols)
    return Rule(f"{feed}_amounts_non_negative", WARN, unexpected_rows(key, cond),
                f"{', '.join(cols)} cannot be negative")


def _k(feed: str) -> tuple[str, ...]:
    return ("source", *contract.FEEDS[feed].key)


PS = "partner_schedule"
PS_KEY = _k(PS)
PARTNER_SCHEDULE = Suite(
    table="raw.partner_schedule", key=PS_KEY,
    rules=(
        _unique(PS, PS_KEY),
        *_key_rules(PS, PS_KEY),
        Rule("start_not_before_end", WARN,
             gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end_time", column_B="start_time", ignore_row_if="either_value_is_missing"),
             "a show must end after it starts"),
        Rule("duration_40_300", WARN, gxe.ExpectColumnValuesToBeBetween(column="duration_min", min_value=40, max_value=300),
             "feature films run 40-300 minutes"),
        Rule("business_date_matches_start", WARN,
             unexpected_rows(PS_KEY, "business_date <> CAST(start_time - INTERVAL 6 HOUR AS DATE)"),
             "business_date is the start date, or the previous day for starts before 06:00"),
        _in_set(PS, "show_status", contract.SHOW_STATUSES),
        Rule("sale_price_range", WARN, gxe.ExpectColumnValuesToBeBetween(column="sale_price_fen", min_value=1000, max_value=100000),
             "a ticket costs 10-1000 yuan"),
        Rule("sale_gt_list", WARN,
             gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="list_price_fen", column_B="sale_price_fen", or_equal=True,
                                                        ignore_row_if="either_value_is_missing"),
             "sale price above the list price is a pricing error"),
        _non_negative(PS, PS_KEY, ("list_price_fen", "sale_price_fen", "service_fee_fen", "seats_available",
                                   "seat_total")),
        Rule("seats_available_gt_total", WARN,
             gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="seat_total", column_B="seats_available", or_equal=True,
                                                        ignore_row_if="either_value_is_missing"),
             "more seats available than the hall has"),
    ),
)

CS = "competitor_schedule"
CS_KEY = _k(CS)
COMPETITOR_SCHEDULE = Suite(
    table="raw.competitor_schedule", key=CS_KEY,
    rules=(
        _unique(CS, CS_KEY),
        *_key_rules(CS, CS_KEY),
        Rule("competitor_start_time_hhmm", ERROR,
             unexpected_rows(CS_KEY, "start_time IS NOT NULL AND NOT regexp_matches(start_time, '^([01][0-9]|2[0-3]):[0-5][0-9]$')"),
             "start_time must be HH:MM: the show cannot be placed in time otherwise"),
        Rule("competitor_price_range", WARN, gxe.ExpectColumnValuesToBeBetween(column="price_fen", min_value=500, max_value=120000),
             "platform price (sale + fee - discounts) between 5 and 1200 yuan"),
        Rule("competitor_version_text_parseable", WARN,
             unexpected_rows(CS_KEY, "version_text IS NOT NULL AND NOT regexp_matches(version_text, "
                                     "'(2D|3D|IMAX|CINITY|DOLBY|杜比|4D|巨幕|激光|原版|国语|英语|粤语|日语|中文)', 'i')"),
             "version text must name a language or format that film matching understands"),
    ),
)

OR = "orders"
OR_KEY = _k(OR)
ORDERS = Suite(
    table="raw.orders", key=OR_KEY,
    rules=(
        _unique(OR, OR_KEY),
        *_key_rules(OR, OR_KEY),
        _in_set(OR, "status", contract.ORDER_STATUSES),
        _unique_across_files(OR, OR_KEY),
        _non_negative(OR, OR_KEY, ("unit_price_fen", "service_fee_fen", "total_fen")),
        Rule("orders_ticket_count_1_6", WARN, gxe.ExpectColumnValuesToBeBetween(column="ticket_count", min_value=1, max_value=6),
             "one order holds 1-6 tickets"),
        Rule("orders_seats_pattern", WARN,
             unexpected_rows(OR_KEY, "seats IS NOT NULL AND NOT regexp_matches(seats, '^[0-9]+排[0-9]+座(,[0-9]+排[0-9]+座)*$')"),
             "seats are N排M座, comma separated"),
        Rule("orders_ticket_count_matches_seats", WARN,
             unexpected_rows(OR_KEY, "seats IS NOT NULL AND ticket_count IS NOT NULL AND len(string_split(seats, ',')) <> ticket_count"),
             "ticket_count must equal the number of seats"),
        Rule("orders_total_consistent", WARN,
             unexpected_rows(OR_KEY, "abs(total_fen - (ticket_count * unit_price_fen + coalesce(service_fee_fen, 0))) > ticket_count"),
             "total = count x unit + fees, within one fen per ticket of rounding"),
        Rule("orders_show_after_event", WARN,
             unexpected_rows(OR_KEY, "status IN ('CREATED', 'PAID') AND show_start_time <= event_ts"),
             "a ticket cannot be bought for a show that has started"),
    ),
)

PC = "pickup_codes"
PC_KEY = _k(PC)
PICKUP_CODES = Suite(
    table="raw.pickup_codes", key=PC_KEY,
    rules=(
        # WARN, not ERROR: one code handed out twice is a business fault that the comparison stage
        # reports as PICKUP_CODE_DUPLICATE; blocking would hide exactly that alert. Not a candidate
        # either: a code given to two orders in one bulk push (same allocation_ts and status) breaks
        # this key, and a VALIDATION_FAILED issue for it would be a second alert for the same fault
        # (the one false alert of the national-day quality run). The check still reports it.
        _unique(PC, PC_KEY, WARN, "duplicates are reported by compare as PICKUP_CODE_DUPLICATE", candidate=False),
        *_key_rules(PC, PC_KEY),
        _in_set(PC, "status", contract.PICKUP_STATUSES),
        Rule("pickup_codes_ticket_count_1_6", WARN, gxe.ExpectColumnValuesToBeBetween(column="ticket_count", min_value=1, max_value=6),
             "one allocation holds 1-6 tickets"),
    ),
)

CO = "complaints"
CO_KEY = _k(CO)
COMPLAINTS = Suite(
    table="raw.complaints", key=CO_KEY,
    rules=(
        _unique(CO, CO_KEY),
        *_key_rules(CO, CO_KEY),
        _unique_across_files(CO, CO_KEY),
        # WARN: complaints are linked to issues by order first; a bad cinema code only weakens recall.
        _digits(CO, CO_KEY, "cinema_code", 8, WARN),
        _in_set(CO, "channel", contract.COMPLAINT_CHANNELS),
        _in_set(CO, "category", contract.COMPLAINT_CATEGORIES),
    ),
)

IE = "issue_events"
IE_KEY = _k(IE)
ISSUE_EVENTS = Suite(
    table="raw.issue_events", key=IE_KEY,
    rules=(
        # WARN: handler tools re-send events (CONTRACT.md: "late, duplicate and out-of-order events
        # happen"); the lifecycle logic deduplicates them, so a duplicate is not a reason to block.
        _unique(IE, IE_KEY, WARN, "duplicate handler events are expected and deduplicated downstream"),
        *_key_rules(IE, IE_KEY),
        _in_set(IE, "to_status", contract.HANDLER_STATUSES),
        _in_set(IE, "resolution_code", contract.RESOLUTION_CODES),
    ),
)

CINEMAS = Suite(
    table="ref.cinemas", key=("cinema_code",), incremental=False,
    rules=(
        _unique("cinemas", ("cinema_code",)),
        *_key_rules("cinemas", ("cinema_code",)),
    ),
)
CINEMA_ALIASES = Suite(
    table="ref.cinema_aliases", key=("source", "source_cinema_id"), incremental=False,
    rules=(
        _unique("cinema_aliases", ("source", "source_cinema_id")),
        *_key_rules("cinema_aliases", ("source", "source_cinema_id")),
    ),
)
FILMS = Suite(
    table="ref.films", key=("film_code",), incremental=False,
    rules=(
        _unique("films", ("film_code",)),
        *_key_rules("films", ("film_code",)),
        Rule("films_duration_40_300", WARN, gxe.ExpectColumnValuesToBeBetween(column="duration_min", min_value=40, max_value=300),
             "feature films run 40-300 minutes"),
    ),
)

SUITES: dict[str, Suite] = {s.table: s for s in (
    PARTNER_SCHEDULE, COMPETITOR_SCHEDULE, ORDERS, PICKUP_CODES, COMPLAINTS, ISSUE_EVENTS,
    CINEMAS, CINEMA_ALIASES, FILMS,
)}
