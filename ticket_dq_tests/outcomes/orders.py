"""Hand-made order events and pickup codes for the outcome tests, written into the real raw tables."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

ORDER_COLUMNS = ("event_ts", "order_id", "partner_code", "channel_code", "mobile", "cinema_code", "show_code",
                 "show_start_time", "hall_name", "film_name", "ticket_count", "seats", "total_fen", "status",
                 "source", "ingest_file", "ingest_line", "ingested_at")


class Orders:
    """Collects order events (one list of rows) and writes them into raw.orders in one insert."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def event(self, order_id: str, status: str, ts: datetime, *, partner: str = "FH", file: str = "orders/o.csv",
              channel: str = "APP", cinema: str = "11011004", show: str = "S1", start: datetime | None = None,
              total_fen: int = 9800) -> "Orders":
        self.rows.append({
            "event_ts": ts, "order_id": order_id, "partner_code": partner, "channel_code": channel,
            "mobile": "13812345678", "cinema_code": cinema, "show_code": show,
            "show_start_time": start or ts + timedelta(hours=30), "hall_name": "1号厅", "film_name": "哪吒之魔童闹海",
            "ticket_count": 2, "seats": "7排11座,7排12座", "total_fen": total_fen, "status": status,
            "source": "internal", "ingest_file": file, "ingest_line": len(self.rows) + 2, "ingested_at": ts})
        return self

    def order(self, order_id: str, paid: datetime, *outcomes: tuple[str, int], **kw) -> "Orders":
        """CREATED + PAID at ``paid``, then each (status, minutes after paid)."""
        self.event(order_id, "CREATED", paid - timedelta(minutes=1), **kw).event(order_id, "PAID", paid, **kw)
        for status, minutes in outcomes:
            self.event(order_id, status, paid + timedelta(minutes=minutes), **kw)
        return self

    def write(self, con) -> None:
        df = pl.DataFrame(self.rows, schema_overrides={"ticket_count": pl.Int32, "total_fen": pl.Int64,
                                                        "ingest_line": pl.Int64})  # noqa: F841 (scanned by DuckDB)
        con.execute("INSERT INTO raw.orders BY NAME SELECT * FROM df")
        self.rows = []


def pickup(con, order_id: str, code: str, *statuses: tuple[str, datetime], channel: str = "TAOBAO") -> None:
    for i, (status, ts) in enumerate(statuses):
        con.execute(
            """INSERT INTO raw.pickup_codes (allocation_ts, channel_partner, channel_order_id, order_id, cinema_code,
                 show_code, show_start_time, pickup_code, verify_code, seats, ticket_count, status, source,
                 ingest_file, ingest_line, ingested_at)
               VALUES (?, ?, ?, ?, '11011004', 'S1', ?, ?, '123456', '7排11座,7排12座', 2, ?, ?, 'pickup_codes/p.csv', ?, ?)""",
            [ts, channel, f"TB{order_id}", order_id, ts + timedelta(hours=30), code, status, channel, i + 2, ts])
