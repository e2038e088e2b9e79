"""cand.schedule_integrity is incremental: a new snapshot of one partner re-evaluates only that partner's
schedule (another partner's findings are kept as they were), moving the clock forward ages the kept rows
exactly as a full evaluation would, and every step equals a full recompute."""

import dagster as dg

from ticket_dq import settings
from ticket_dq.defs.compare import assets as compare
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import warehouse
from ticket_dq.lib.detection import incremental

from .test_current_schedule import DAY, _snapshot

FH_1 = [("F1", "10:00", "1号厅"), ("F2", "11:00", "1号厅")]  # 120-min shows: F2 overlaps F1
DX_1 = [("D1", "10:00", "1号厅"), ("D1X", "10:00", "1号厅"), ("D2", "13:00", "1号厅")]  # D1 under two codes
FH_2 = [("F1", "10:00", "1号厅"), ("F2", "13:00", "1号厅"), ("F3", "14:00", "1号厅")]  # F2 moved: F3 overlaps F2

Q = "SELECT category, source, business_key, reason, evidence FROM cand.schedule_integrity ORDER BY ALL"


def _integrity(monkeypatch, now: str):
    monkeypatch.setenv("TICKET_DQ_NOW", f"{DAY} {now}:00")
    assert dg.materialize([compare.partner_schedule_current, compare.schedule_integrity],
                          resources=build_resources()).success
    with warehouse.connect(settings.warehouse_path()) as con:
        got = con.execute(Q).fetchall()
    return got


def _full(monkeypatch, now: str):
    """The same evaluation from scratch (no remembered state): what incremental must equal."""
    with warehouse.connect(settings.warehouse_path()) as con:
        incremental.forget(con, "cand.schedule_integrity")
    return _integrity(monkeypatch, now)


def _found(rows):
    return sorted((c, s, k) for c, s, k, *_ in rows)


def test_one_partner_snapshot_reevaluates_only_that_partner_and_the_clock_ages_kept_rows(monkeypatch):
    with warehouse.connect(settings.warehouse_path()) as con:
        _snapshot(con, "FH", f"{DAY} 07:00:00", FH_1)
        _snapshot(con, "DX", f"{DAY} 07:10:00", DX_1)
    first = _integrity(monkeypatch, "09:00")
    assert _found(first) == [("HALL_OVERLAP", "FH", f"11011004|{DAY} 11:00"),
                             ("SHOW_DUPLICATE", "DX", f"11011004|{DAY} 10:00")]

    # Mark DX's finding: an incremental run for FH's snapshot must not touch it.
    with warehouse.connect(settings.warehouse_path()) as con:
        con.execute("UPDATE cand.schedule_integrity SET reason = 'kept' WHERE source = 'DX'")
        _snapshot(con, "FH", f"{DAY} 08:00:00", FH_2)
    inc = _integrity(monkeypatch, "09:00")
    assert _found(inc) == [("HALL_OVERLAP", "FH", f"11011004|{DAY} 14:00"),
                           ("SHOW_DUPLICATE", "DX", f"11011004|{DAY} 10:00")]
    assert [r[3] for r in inc if r[1] == "DX"] == ["kept"]  # not re-evaluated
    full = _full(monkeypatch, "09:00")
    assert [r for r in inc if r[1] == "FH"] == [r for r in full if r[1] == "FH"]
    assert _found(inc) == _found(full)

    # The clock moves, no new data: 6 h lookback. At 17:00 DX's 10:00 duplicate is history; FH's 14:00
    # overlap stays (its previous show, 13:00, is inside the lookback). At 19:30 the 13:00 show is
    # behind the lookback, so the 14:00 show has no previous show any more: no overlap, as a full run says.
    assert _integrity(monkeypatch, "17:00") == _full(monkeypatch, "17:00")
    assert _found(_integrity(monkeypatch, "17:00")) == [("HALL_OVERLAP", "FH", f"11011004|{DAY} 14:00")]
    late = _integrity(monkeypatch, "19:30")
    assert late == [] and late == _full(monkeypatch, "19:30")

    # The clock going back (a replay) is evaluated in full.
    assert _found(_integrity(monkeypatch, "09:00")) == _found(full)
