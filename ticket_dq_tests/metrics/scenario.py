"""Hand-built warehouse rows for the evaluation tests: issues, issue events, complaints, orders."""

from __future__ import annotations

from datetime import datetime

T = datetime.fromisoformat

ISSUE_COLS = ("issue_id", "category", "severity", "team", "status", "source", "cinema_code",
              "business_date", "show_start_time", "order_id", "pickup_code", "first_detected_at",
              "last_detected_at")


def add_issue(con, issue_id, category, first_detected_at, *, team="BD", status="OPEN", source="FH",
              cinema_code="11000001", show_start_time=None, order_id=None, pickup_code=None,
              severity="P2"):
    fd = T(first_detected_at)
    sst = T(show_start_time) if show_start_time else None
    con.execute(
        f"INSERT INTO dq.issues ({', '.join(ISSUE_COLS)}) VALUES ({', '.join('?' * len(ISSUE_COLS))})",
        [issue_id, category, severity, team, status, source, cinema_code,
         (sst or fd).date(), sst, order_id, pickup_code, fd, fd])


_LINE = iter(range(2, 10**9))  # every event row gets its own physical line, as ingestion records it


def add_event(con, issue_id, to_status, event_ts, *, run_id="run-events-1", resolution_code=None,
              ingested_at="2026-03-10 00:00:00"):
    con.execute(
        "INSERT INTO raw.issue_events (event_ts, issue_id, to_status, handler, team, resolution_code, comment, "
        "source, ingest_file, ingest_line, ingested_at, ingest_run_id) "
        "VALUES (?, ?, ?, 'h1', 'BD', ?, '', 'handlers', 'issue_events/handlers/x.csv', ?, ?, ?)",
        [T(event_ts), issue_id, to_status, resolution_code, next(_LINE), T(ingested_at), run_id])


def add_complaint(con, complaint_id, created_ts, category, *, order_id=None, cinema_code=None,
                  run_id="run-complaints-1", channel="APP"):
    con.execute(
        "INSERT INTO raw.complaints (complaint_id, created_ts, channel, order_id, cinema_code, category, "
        "description, source, ingest_file, ingest_line, ingested_at, ingest_run_id) "
        "VALUES (?, ?, ?, ?, ?, ?, '', 'internal', 'complaints/internal/x.csv', 2, ?, ?)",
        [complaint_id, T(created_ts), channel, order_id, cinema_code, category, T(created_ts), run_id])


def add_order(con, order_id, cinema_code, show_start_time, *, partner_code="FH", event_ts="2026-03-07 10:00:00",
              status="PAID"):
    con.execute(
        "INSERT INTO raw.orders (event_ts, order_id, partner_code, cinema_code, show_code, show_start_time, "
        "status, source, ingest_file, ingest_line, ingested_at) "
        "VALUES (?, ?, ?, ?, 'S1', ?, ?, ?, 'orders/FH/x.csv', 2, ?)",
        [T(event_ts), order_id, partner_code, cinema_code, T(show_start_time), status, partner_code, T(event_ts)])


def add_pickup(con, order_id, pickup_code, *, cinema_code="11000001"):
    con.execute(
        "INSERT INTO raw.pickup_codes (allocation_ts, channel_partner, order_id, cinema_code, pickup_code, status, "
        "source, ingest_file, ingest_line, ingested_at) VALUES "
        "(TIMESTAMP '2026-03-07 10:00:00', 'TAOBAO', ?, ?, ?, 'DELIVERED', 'TAOBAO', 'p.csv', 2, now())",
        [order_id, cinema_code, pickup_code])
