"""cur.order_outcome is incremental on new order files: a new delivery recomputes only the orders with an event
in it (a late ISSUED lands on its order), the result equals a full rebuild, and a file seen before that is gone
or changed forces the full rebuild."""

from datetime import datetime, timedelta

import dagster as dg
import pytest

from ticket_dq import settings
from ticket_dq.defs.outcomes import assets as outcomes
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import warehouse
from ticket_dq_tests.outcomes.orders import Orders

T = datetime(2026, 3, 10, 10, 0)
Q = "SELECT * FROM cur.order_outcome ORDER BY order_id"


@pytest.fixture
def con(monkeypatch):
    monkeypatch.setenv("TICKET_DQ_NOW", "2026-03-10 12:00:00")
    with warehouse.connect(settings.warehouse_path()) as c:
        yield c


def materialize() -> dict:
    result = dg.materialize([outcomes.order_outcome], resources=build_resources())
    assert result.success
    [mat] = result.asset_materializations_for_node("cur__order_outcome")
    return {k: v.value for k, v in mat.metadata.items()}


def full_rebuild(con) -> list:
    con.execute("DROP TABLE cur.order_outcome_files")
    con.execute("DROP TABLE cur.order_outcome")
    meta = materialize()
    assert meta["full_rebuild"] is True
    return con.execute(Q).fetchall()


def test_a_new_file_recomputes_only_its_orders_and_equals_a_full_rebuild(con):
    o = Orders()
    for i in range(5):
        o.order(f"A{i}", T + timedelta(minutes=i), file="orders/o_10.csv")
    o.order("B", T, ("ISSUED", 1), file="orders/o_10.csv").write(con)
    assert materialize()["orders_recomputed"] == 6
    assert con.execute("SELECT count(ticket_ts) FROM cur.order_outcome").fetchone()[0] == 1
    # the next file: A0's late ISSUED, a new order C
    Orders().event("A0", "ISSUED", T + timedelta(minutes=1), file="orders/o_11.csv").order(
        "C", T + timedelta(hours=1), ("ISSUED", 1), file="orders/o_11.csv").write(con)
    meta = materialize()
    assert (meta["full_rebuild"], meta["orders_recomputed"]) == (False, 2)
    incremental = con.execute(Q).fetchall()
    a0 = con.execute("SELECT ticket_ts, seen_ts FROM cur.order_outcome WHERE order_id = 'A0'").fetchone()
    assert a0 == (T + timedelta(minutes=1), T + timedelta(hours=1, minutes=1))  # seen with the 11:00 file
    assert full_rebuild(con) == incremental
    assert materialize()["orders_recomputed"] == 0  # nothing new: nothing recomputed


def test_a_changed_file_forces_a_full_rebuild(con):
    Orders().order("A", T, file="orders/o_10.csv").order("B", T, ("ISSUED", 1), file="orders/o_10.csv").write(con)
    materialize()
    con.execute("DELETE FROM raw.orders WHERE order_id = 'B'")
    meta = materialize()
    assert meta["full_rebuild"] is True
    assert [r[0] for r in con.execute(Q).fetchall()] == ["A"]
