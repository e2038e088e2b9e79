"""A pickup-code feed whose writer keeps a code's allocation_ts on every status row (CONTRACT.md names
the column, not that it moves with the status). cand.pickup_code judges each code by its latest row;
on equal times the later status in the code's life is the latest (ALLOCATED, DELIVERED, PRINTED,
REVOKED), and every field comes from that one row, whatever order the rows were ingested in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ticket_dq import settings
from ticket_dq.lib import warehouse
from ticket_dq.lib.detection import candidates, scripts
from ticket_dq_tests.outcomes.orders import Orders

T = datetime(2026, 3, 10, 10, 0)
NOW = datetime(2026, 3, 10, 12, 0)
RIGHT, WRONG = "7排11座,7排12座", "9排1座,9排2座"


@pytest.fixture
def con():
    with warehouse.connect(settings.warehouse_path()) as c:
        yield c


def _code(con, order_id: str, code: str, status: str, ts: datetime, seats: str) -> None:
    con.execute(
        """INSERT INTO raw.pickup_codes (allocation_ts, channel_partner, channel_order_id, order_id, cinema_code,
             show_code, show_start_time, pickup_code, verify_code, seats, ticket_count, status, source,
             ingest_file, ingest_line, ingested_at)
           VALUES (?, 'TAOBAO', ?, ?, '11011004', 'S1', ?, ?, '123456', ?, 2, ?, 'TAOBAO', 'pickup_codes/p.csv',
                   (SELECT count(*) + 2 FROM raw.pickup_codes), ?)""",
        [ts, f"TB{order_id}", order_id, ts + timedelta(hours=30), code, seats, status, ts])


@pytest.mark.parametrize("latest_first", [True, False], ids=["latest_row_ingested_first", "latest_row_ingested_last"])
def test_a_code_is_judged_by_its_latest_status_row_when_the_writer_keeps_the_allocation_time(con, latest_first):
    o = Orders()
    for order_id in ("A", "B", "C"):
        o.order(order_id, T, ("ISSUED", 1), channel="TAOBAO")
    o.write(con)
    scripts.run(con, "order_state", now=NOW)

    def tie(order_id, code, earlier, later):
        for status, seats in ((later, earlier) if latest_first else (earlier, later)):
            _code(con, order_id, code, status, T, seats)

    # A: revoked at the allocation's time: no longer live, never judged (its seats are wrong in both rows)
    tie("A", "C1", ("ALLOCATED", WRONG), ("REVOKED", WRONG))
    # B: delivered with the order's seats at the allocation's time; the ALLOCATED row had them wrong
    tie("B", "C2", ("ALLOCATED", WRONG), ("DELIVERED", RIGHT))
    # C: delivered later with the wrong seats: a real mismatch
    _code(con, "C", "C3", "ALLOCATED", T, RIGHT)
    _code(con, "C", "C3", "DELIVERED", T + timedelta(minutes=1), WRONG)
    candidates.ensure_candidate_table(con, "cand.order_show")  # no cancelled show here
    candidates.evaluate(con, "pickup_code", NOW)
    found = con.execute("SELECT pickup_code, category, rule FROM cand.pickup_code ORDER BY pickup_code").fetchall()
    assert found == [("C3", "PICKUP_CODE_INVALID", "seat_mismatch")]
    evidence = con.execute("SELECT json_extract_string(evidence, '$.status') FROM cand.pickup_code").fetchone()[0]
    assert evidence == "DELIVERED"
