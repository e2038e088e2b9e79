"""Small raw tables written straight into a temp warehouse with the project's own DDL."""

from __future__ import annotations

from datetime import datetime

from ticket_dq.lib import contract

CLEAN_SHOW = {
    "snapshot_ts": datetime(2026, 3, 8, 10, 0), "cinema_code": "11010001", "partner_cinema_id": "P1",
    "cinema_name": "星光影城", "hall_code": "H1", "hall_name": "1号厅", "hall_type": "2D", "seat_total": 120,
    "show_code": "S1", "business_date": "2026-03-08", "start_time": datetime(2026, 3, 8, 14, 0),
    "end_time": datetime(2026, 3, 8, 16, 0), "film_code": "001101232026", "film_name": "流浪地球3",
    "language": "国语", "version": "2D", "duration_min": 120, "list_price_fen": 6000, "sale_price_fen": 4500,
    "service_fee_fen": 300, "seats_available": 80, "show_status": "ON_SALE",
    "partner_update_time": datetime(2026, 3, 8, 9, 0),
}

CLEAN_ORDER = {
    "event_ts": datetime(2026, 3, 8, 10, 0), "order_id": "O1", "partner_code": "FH", "partner_order_id": "PO1",
    "channel_code": "APP", "user_id": "u1", "mobile": "13812345678", "cinema_code": "11010001",
    "show_code": "S1", "show_start_time": datetime(2026, 3, 8, 14, 0), "hall_name": "1号厅",
    "film_code": "001101232026", "film_name": "流浪地球3", "version": "2D", "ticket_count": 2,
    "seats": "7排11座,7排12座", "unit_price_fen": 4500, "service_fee_fen": 600, "total_fen": 9600,
    "status": "PAID", "status_reason": None,
}


def insert_rows(con, feed: str, rows: list[dict], *, source: str = "FH", file: str | None = None,
                run_id: str = "run-1", extras: str | None = None) -> str:
    """Insert contract rows of ``feed`` as ingestion would (lineage columns filled); return the file."""
    f = contract.FEEDS[feed]
    file = file or f"{feed}/{source}/2026-03-08/{feed}_1000.csv"
    cols = [c for c, _ in f.raw_columns()] + ["source", "ingest_file", "ingest_line", "ingested_at",
                                               "ingest_run_id", "extras"]
    values = []
    for i, row in enumerate(rows):
        values.append([row.get(c) for c, _ in f.raw_columns()]
                      + [source, file, i + 2, datetime(2026, 3, 8, 10, 5), run_id, extras])
    if values:  # executemany refuses an empty parameter list
        con.executemany(f"INSERT INTO {f.table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", values)
    return file


def shows(n: int, **overrides_by_index) -> list[dict]:
    """``n`` clean, distinct shows; ``overrides_by_index={'i3': {...}}`` patches row 3."""
    out = []
    for i in range(n):
        row = dict(CLEAN_SHOW, show_code=f"S{i}", start_time=datetime(2026, 3, 8, 10 + i % 12, 0),
                   end_time=datetime(2026, 3, 8, 12 + i % 12, 0))
        row.update(overrides_by_index.get(f"i{i}", {}))
        out.append(row)
    return out
