"""Order events that tie on time: a re-sent event (the same order, time and status in two files, or twice
in one), or two outcomes stamped the same second. cur.order_state takes the greatest (event_ts, status
rank, status, ingest_file, ingest_line) and cur.order_outcome the first (event_ts, ingest_line,
ingest_file), whatever order the rows were ingested in: the aggregates pick a winner by a key packed with
the rowid (lib/detection/sql/event_key.sql) and must fall back to the whole key exactly when the time
ties. The rows below are inserted so that the rowid order disagrees with the key order."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ticket_dq import settings
from ticket_dq.lib import warehouse
from ticket_dq.lib.detection import scripts
from ticket_dq_tests.outcomes.orders import Orders

T = datetime(2026, 3, 10, 10, 0)
NOW = datetime(2026, 3, 10, 12, 0)
RANK = "CASE status WHEN 'CREATED' THEN 0 WHEN 'PAID' THEN 1 ELSE 2 END"


@pytest.fixture
def con():
    with warehouse.connect(settings.warehouse_path()) as c:
        yield c


def _add(o: Orders, order_id: str, status: str, ts: datetime, *, file: str, line: int, fen: int) -> None:
    o.event(order_id, status, ts, file=file, total_fen=fen)
    o.rows[-1]["ingest_line"] = line


def _tied_world(con) -> None:
    o = Orders()
    # S: ISSUED and PRINTED at the same second: 'PRINTED' is the greater status; ISSUED has the higher rowid
    _add(o, "S", "PAID", T - timedelta(minutes=5), file="orders/a.csv", line=2, fen=1)
    _add(o, "S", "PRINTED", T, file="orders/a.csv", line=3, fen=2)
    _add(o, "S", "ISSUED", T, file="orders/a.csv", line=4, fen=3)
    # F: one PAID re-sent in another file: the greater file name wins, though ingested first
    _add(o, "F", "PAID", T, file="orders/b.csv", line=9, fen=10)
    _add(o, "F", "PAID", T, file="orders/a.csv", line=2, fen=11)
    # L: the same PAID twice in one file: the later line wins, though ingested first
    _add(o, "L", "PAID", T, file="orders/a.csv", line=9, fen=20)
    _add(o, "L", "PAID", T, file="orders/a.csv", line=5, fen=21)
    # O: two first events at the same second: the earlier line wins (the second file's), whatever the file
    _add(o, "O", "PAID", T, file="orders/a.csv", line=7, fen=30)
    _add(o, "O", "PAID", T, file="orders/b.csv", line=3, fen=31)
    _add(o, "O", "ISSUED", T + timedelta(minutes=1), file="orders/b.csv", line=4, fen=32)
    # P: two first events on the same line number of two files: the lesser file name wins
    _add(o, "P", "PAID", T, file="orders/b.csv", line=6, fen=40)
    _add(o, "P", "PAID", T, file="orders/a.csv", line=6, fen=41)
    # N: no tie, the latest ingested first
    _add(o, "N", "ISSUED", T + timedelta(minutes=2), file="orders/b.csv", line=8, fen=50)
    _add(o, "N", "PAID", T, file="orders/a.csv", line=8, fen=51)
    o.write(con)


def _state(con) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT order_id, status, total_fen, last_event_ts FROM cur.order_state").fetchall()}


def test_the_latest_event_is_chosen_by_the_whole_key_when_times_tie(con):
    _tied_world(con)
    scripts.run(con, "order_state", now=NOW)
    state = _state(con)
    assert state["S"][:2] == ("PRINTED", 2)
    assert state["F"][1] == 10
    assert state["L"][1] == 20
    assert state["N"][:2] == ("ISSUED", 50)
    # the whole key as a plain arg_max over every event agrees for every order
    expected = dict(con.execute(
        f"SELECT order_id, arg_max(total_fen, (event_ts, {RANK}, status, ingest_file, ingest_line)) "
        "FROM raw.orders GROUP BY order_id").fetchall())
    assert {k: v[1] for k, v in state.items()} == expected


def test_an_order_with_an_untimed_event_keeps_its_state(con):
    _tied_world(con)
    # written past the ledger (a repair): the ingestion never lands a row without its event_ts
    con.execute("INSERT INTO raw.orders BY NAME SELECT * REPLACE (NULL::TIMESTAMP AS event_ts, 60 AS total_fen, "
                "'X' AS order_id) FROM raw.orders WHERE order_id = 'N' AND status = 'PAID'")
    scripts.run(con, "order_state", now=NOW)
    state = _state(con)
    assert "X" in state and state["X"][1] == 60
    assert state["S"][:2] == ("PRINTED", 2)


def test_the_first_event_of_an_outcome_is_chosen_by_line_then_file_when_times_tie(con):
    _tied_world(con)
    scripts.run(con, "order_outcome", now=NOW)
    first = dict(con.execute("SELECT order_id, total_fen FROM cur.order_outcome").fetchall())
    assert first["O"] == 31
    assert first["P"] == 41
    assert first["F"] == 11  # line 2 before line 9
    assert first["L"] == 21
    assert first["N"] == 51
    expected = dict(con.execute(
        "SELECT order_id, arg_min(total_fen, (event_ts, ingest_line, ingest_file)) FROM raw.orders "
        "GROUP BY order_id").fetchall())
    assert first == expected
