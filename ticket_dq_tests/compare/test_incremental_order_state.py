"""cur.order_state is incremental on new order files: a day's run recomputes the orders its files touch
(from all their events, late and out-of-order ones included) and keeps the rest, and equals a full rebuild."""

from __future__ import annotations

from datetime import datetime

from ticket_dq import settings
from ticket_dq.lib import delivery, ingest, warehouse
from ticket_dq.lib.detection import scripts

DAY1, DAY2 = datetime(2026, 3, 8, 20, 0), datetime(2026, 3, 9, 20, 0)
Q = "SELECT order_id, status, hall_name, last_event_ts, created_ts FROM cur.order_state ORDER BY order_id"


def _event(order_id: str, ts: str, status: str, hall: str = "1号厅") -> dict:
    return {"event_ts": ts, "order_id": order_id, "partner_code": "FH", "partner_order_id": f"P{order_id}",
            "channel_code": "APP", "user_id": "u1", "mobile": "13812345678", "cinema_code": "11010001",
            "show_code": "S1", "show_start_time": "2026-03-10 19:30:00", "hall_name": hall,
            "film_code": "201900000001", "film_name": "影片", "version": "2D", "ticket_count": "1",
            "seats": "7排11座", "unit_price_fen": "3500", "service_fee_fen": "300", "total_fen": "3800",
            "status": status, "status_reason": ""}


def _day(con, rows, now: datetime) -> None:
    delivery.deliver(settings.landing_root(), "orders", "internal", rows, now)
    ingest.ingest_feed(con, settings.landing_root(), "orders", "run", now)
    scripts.run(con, "order_state", now=now)


def test_a_new_orders_file_recomputes_only_its_orders_and_equals_a_full_rebuild():
    with warehouse.connect(settings.warehouse_path()) as con:
        _day(con, [_event("A", "2026-03-08 10:00:00", "CREATED"), _event("A", "2026-03-08 10:01:00", "PAID"),
                   _event("B", "2026-03-08 11:00:00", "CREATED"), _event("D", "2026-03-08 12:00:00", "PAID")], DAY1)
        assert [r[:2] for r in con.execute(Q).fetchall()] == [("A", "PAID"), ("B", "CREATED"), ("D", "PAID")]
        # Day 2: A's ticket (an event of day 1 arriving late), an older CREATED of B arriving out of order
        # after its PAID, and a new order C. D has no new event: its row is kept as it was.
        _day(con, [_event("A", "2026-03-08 10:05:00", "ISSUED", hall="1号厅(激光)"),
                   _event("B", "2026-03-09 09:00:00", "PAID"), _event("B", "2026-03-08 10:59:00", "CREATED"),
                   _event("C", "2026-03-09 10:00:00", "PAID")], DAY2)
        incremental = con.execute(Q).fetchall()
        assert [(r[0], r[1], r[2]) for r in incremental] == [
            ("A", "ISSUED", "1号厅(激光)"), ("B", "PAID", "1号厅"), ("C", "PAID", "1号厅"), ("D", "PAID", "1号厅")]
        assert incremental[1][4] == datetime(2026, 3, 8, 10, 59)  # created_ts from the late, older event
        assert con.execute("SELECT count(*) FROM cur.order_state_files").fetchone()[0] == 2
        con.execute("DROP TABLE cur.order_state")  # a full rebuild from every event
        scripts.run(con, "order_state", now=DAY2)
        assert con.execute(Q).fetchall() == incremental


def test_order_rows_outside_the_ledger_trigger_a_full_rebuild():
    with warehouse.connect(settings.warehouse_path()) as con:
        _day(con, [_event("A", "2026-03-08 10:00:00", "CREATED")], DAY1)
        # a row written straight into raw.orders (a repair, a test): no ledger file says which order it touches
        con.execute("INSERT INTO raw.orders BY NAME SELECT * REPLACE ('PAID' AS status, "
                    "TIMESTAMP '2026-03-08 10:02:00' AS event_ts, 'manual' AS ingest_file) FROM raw.orders")
        scripts.run(con, "order_state", now=DAY2)
        assert con.execute("SELECT order_id, status FROM cur.order_state").fetchall() == [("A", "PAID")]
