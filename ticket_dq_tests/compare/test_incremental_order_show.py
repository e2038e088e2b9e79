"""cand.order_show is incremental: a new snapshot of one partner re-evaluates only that partner's orders
(another partner's findings are kept as they were), the clock retires orders whose show has started exactly
as a full evaluation would, and a change of order states is evaluated in full."""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.compare import assets as compare
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import warehouse
from ticket_dq.lib.detection import incremental, scripts

DAY = "2026-03-10"
FILM = "哪吒之魔童闹海（数字）"


def _snapshot(con, source: str, ts: str, shows: list[tuple[str, str, str]]):
    """shows: (show_code, start HH:MM, status) in hall 1 of cinema 11011004; one file with a ledger row."""
    f = f"partner_schedule/{source}/{DAY}/{source}_{ts[11:13]}{ts[14:16]}.csv"
    for i, (code, hhmm, status) in enumerate(shows):
        con.execute(
            """INSERT INTO raw.partner_schedule (snapshot_ts, cinema_code, hall_name, show_code, business_date, start_time,
                 film_code, film_name, version, duration_min, sale_price_fen, service_fee_fen, show_status,
                 source, ingest_file, ingest_line, ingested_at)
               VALUES (?, '11011004', '1号厅', ?, ?, CAST(? AS TIMESTAMP), '001100112025', ?, '2D', 100, 3000, 300, ?,
                       ?, ?, ?, ?)""",
            [ts, code, DAY, f"{DAY} {hhmm}:00", FILM, status, source, f, i + 2, ts])
    con.execute(
        """INSERT INTO meta.ingested_files (file, feed, source, folder_date, stem, sha256, snapshot_ts, rows_manifest,
             rows_ingested, rows_quarantined, status, ingested_at)
           VALUES (?, 'partner_schedule', ?, ?, ?, 'x', ?, ?, ?, 0, 'INGESTED', ?)""",
        [f, source, DAY, f, ts, len(shows), len(shows), ts])


def _order(con, order_id: str, partner: str, show_code: str, hhmm: str, status: str = "PAID"):
    con.execute(
        """INSERT INTO raw.orders (event_ts, order_id, partner_code, cinema_code, show_code, show_start_time, hall_name,
             film_code, film_name, ticket_count, seats, total_fen, status, source, ingest_file, ingest_line, ingested_at)
           VALUES (?, ?, ?, '11011004', ?, CAST(? AS TIMESTAMP), '1号厅', '001100112025', ?, 1, '1排1座', 3300, ?,
                   'internal', 'orders/o.csv', 2, ?)""",
        [f"{DAY} 07:00:00", order_id, partner, show_code, f"{DAY} {hhmm}:00", FILM, status, f"{DAY} 07:00:00"])


def _platform(con):
    """MAOYAN's current crawl lists the FH show at 10:30 (not 10:00) and DX's at 12:00."""
    scripts.prepare(con)
    sql = (scripts.SQL / "competitor_current.sql").read_text(encoding="utf-8")
    for ddl in sql.split(";")[:2]:  # the current tables' CREATE TABLE IF NOT EXISTS (no raw crawl here)
        assert "CREATE TABLE IF NOT EXISTS cur.competitor_" in ddl
        con.execute(ddl)
    for hhmm in ("10:30", "12:00"):
        con.execute("""INSERT INTO cur.competitor_schedule (platform, cinema_code, business_date, start_ts, hall_name,
                         hall_key, film_name, film_key, price_fen)
                       VALUES ('MAOYAN', '11011004', ?, CAST(? AS TIMESTAMP), '1号厅', '1', '哪吒之魔童闹海', '哪吒之魔童闹海', 3300)""",
                    [DAY, f"{DAY} {hhmm}:00"])
    con.execute(f"INSERT INTO cur.competitor_current_file VALUES ('MAOYAN', 'c.jsonl', TIMESTAMP '{DAY} 07:30:00')")


Q = "SELECT category, rule, source, order_id, show_start_time, reason FROM cand.order_show ORDER BY ALL"


def _order_show(monkeypatch, now: str):
    monkeypatch.setenv("TICKET_DQ_NOW", f"{DAY} {now}:00")
    assert dg.materialize([compare.partner_schedule_current, compare.order_state, compare.order_show],
                          resources=build_resources()).success
    with warehouse.connect(settings.warehouse_path()) as con:
        return con.execute(Q).fetchall()


def _full(monkeypatch, now: str):
    with warehouse.connect(settings.warehouse_path()) as con:
        incremental.forget(con, "cand.order_show")  # no remembered state: a full evaluation
    return _order_show(monkeypatch, now)


def test_one_partner_snapshot_reevaluates_only_that_partners_orders(monkeypatch):
    with warehouse.connect(settings.warehouse_path()) as con:
        _snapshot(con, "FH", f"{DAY} 07:00:00", [("F1", "10:00", "ON_SALE")])
        _snapshot(con, "DX", f"{DAY} 07:10:00", [("D1", "12:00", "CANCELLED")])
        _order(con, "O1", "FH", "F1", "10:00")
        _order(con, "O2", "DX", "D1", "12:00")
        _platform(con)
    first = _order_show(monkeypatch, "08:30")
    # FH's show is where the customer bought it (MAOYAN's 10:30 is a partner-vs-platform matter, not an order's)
    assert [(c, r, s, o) for c, r, s, o, *_ in first] == [("ORDER_SHOW_CANCELLED", "cancel", "DX", "O2")]

    with warehouse.connect(settings.warehouse_path()) as con:
        con.execute("UPDATE cand.order_show SET reason = 'kept' WHERE source = 'DX'")
        _snapshot(con, "FH", f"{DAY} 08:00:00", [("F1", "10:30", "ON_SALE")])  # moved to where MAOYAN has it
    inc = _order_show(monkeypatch, "08:30")
    assert [(c, r, s, o) for c, r, s, o, *_ in inc] == [("ORDER_SHOW_CANCELLED", "cancel", "DX", "O2"),
                                                          ("ORDER_SHOW_CHANGED", "time_shift", "FH", "O1")]
    assert [x[5] for x in inc if x[2] == "DX"] == ["kept"]  # DX's order was not re-evaluated
    full = _full(monkeypatch, "08:30")
    assert [x for x in inc if x[2] == "FH"] == [x for x in full if x[2] == "FH"]
    assert [x[:5] for x in inc] == [x[:5] for x in full]

    # The clock passes O1's 10:00 show (no new data): O1 leaves the comparison, as in a full evaluation.
    at_1015 = _order_show(monkeypatch, "10:15")
    assert at_1015 == _full(monkeypatch, "10:15")
    assert [x[3] for x in at_1015] == ["O2"]

    # An order state changes (O2 refunded): evaluated in full, O2 gone.
    with warehouse.connect(settings.warehouse_path()) as con:
        con.execute("""INSERT INTO raw.orders (event_ts, order_id, partner_code, cinema_code, show_code, show_start_time,
                         hall_name, film_code, film_name, status, source, ingest_file, ingest_line, ingested_at)
                       SELECT TIMESTAMP '2026-03-10 09:00:00', order_id, partner_code, cinema_code, show_code,
                              show_start_time, hall_name, film_code, film_name, 'REFUNDED', source, 'orders/o2.csv', 2,
                              ingested_at FROM raw.orders WHERE order_id = 'O2'""")
    assert _order_show(monkeypatch, "10:15") == []
