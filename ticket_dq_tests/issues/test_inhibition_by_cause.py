"""Inhibition by cause, cell by cell (the table in docs/detection.md): dq.issues materialized for real
on a temp warehouse from hand-made candidate rows, one feed fault beside one issue per cell. The feed
faults carry the evidence cand.feed_health gives them (feed, superseded, current_data_as_of); the
end-to-end collisions (real landing areas, real ingestion) are the conformance corpus's PSHA3, PROWS3,
PCUT3, PVOL3, PLATE3, VSHA3 and REJECTED_ORDERS cases."""

import json

import dagster as dg
import pytest

from ticket_dq import settings
from ticket_dq.defs.issues.assets import issues as issues_asset
from ticket_dq.defs.resources import build_resources
from ticket_dq.lib import issues, warehouse

NOW = "2026-03-09 21:00:00"
DAY = "2026-03-09"
DATA_AS_OF = "2026-03-09 19:05:00"  # the source's previous complete snapshot: 115 min before NOW


def _fault(category, source, feed, superseded=False, business_date=DAY):
    evidence = {"feed": feed, "current_data_as_of": DATA_AS_OF}
    if category != "FEED_LATE":
        evidence["superseded"] = superseded
    rule = {"FEED_LATE": "silent", "FEED_PARTIAL": "manifest_mismatch", "FEED_VOLUME_DROP": "volume_drop"}[category]
    return (category, rule, source, None, business_date, None, None, None, None, None, business_date,
            f"{source} {category}", json.dumps(evidence))


def _issue(category, rule, source, key, order_id=None, pickup_code=None, evidence=None):
    return (category, rule, source, "11011004", DAY, "2026-03-09 23:30:00", order_id, pickup_code, 1, 0, key,
            f"{category} {key}", json.dumps(evidence or {}))


PARTNER_SHOW = {c: _issue(c, "r", "FH", f"11011004|{DAY} 23:30") for c in issues.SHOW_LEVEL}
ORDERS = {"ORDER_SHOW_CHANGED": _issue("ORDER_SHOW_CHANGED", "time_shift", "FH", "TK1", order_id="TK1"),
          "ORDER_SHOW_CANCELLED": _issue("ORDER_SHOW_CANCELLED", "cancel", "FH", "TK2", order_id="TK2"),
          "SEAT_DOUBLE_SOLD": _issue("SEAT_DOUBLE_SOLD", "double_sold", "FH", "TK3|1排1座", order_id="TK3")}
CODE_EVIDENCE = {"allocated_at": f"{DAY} 08:40:00"}
CODES = {rule: _issue("PICKUP_CODE_INVALID", rule, "TAOBAO", f"K-{rule}", order_id=f"O-{rule}",
                      pickup_code=f"K-{rule}", evidence=CODE_EVIDENCE)
         for rule in ("unknown_order", "cancelled_show", "seat_mismatch")}
CODES["duplicate"] = _issue("PICKUP_CODE_DUPLICATE", "duplicate", "TAOBAO", "K-dup", order_id="O-dup", pickup_code="K-dup")
PLATFORM_ISSUES = {"SHOW_TIME_MISMATCH": _issue("SHOW_TIME_MISMATCH", "time_shift", "MAOYAN", f"11011004|{DAY} 22:00"),
                   "UNMAPPED_ENTITY": _issue("UNMAPPED_ENTITY", "competitor_cinema_unmatched", "MAOYAN", "MY-77")}
EVERYTHING = {**{f"partner {k}": v for k, v in {**PARTNER_SHOW, **ORDERS}.items()},
              **{f"code {k}": v for k, v in CODES.items()}, **{f"platform {k}": v for k, v in PLATFORM_ISSUES.items()}}
VALIDATION_FH = _issue("VALIDATION_FAILED", "row_parse", "FH", f"FH|row_parse|{DAY}")


def _materialize(monkeypatch, *rows):
    with warehouse.connect(settings.warehouse_path()) as con:
        con.execute("DROP TABLE IF EXISTS cand.test_rows")
        con.execute(warehouse.candidate_table_ddl("cand.test_rows"))
        for r in rows:
            con.execute(f"INSERT INTO cand.test_rows VALUES ({', '.join('?' * len(r))})", list(r))
    monkeypatch.setenv("TICKET_DQ_NOW", NOW)
    assert dg.materialize([issues_asset], resources=build_resources()).success
    with warehouse.connect(settings.warehouse_path(), read_only=True) as con:
        cols = [d[0] for d in con.execute("SELECT * FROM dq.issues LIMIT 0").description]
        return {r[0]: dict(zip(cols, r)) for r in con.execute("SELECT * FROM dq.issues").fetchall()}


def _id(row):
    return issues.issue_id(row[0], row[2], row[10])


def _note(row):
    return json.loads(row["evidence"]).get("feed_fault")


# Schedule feed faults: the faulty file is never current, so every issue stands; those of the faulty
# source that rest on its schedule carry the fault and the age of that data while the fault is not superseded.
SCHEDULE_FAULTS = {
    "partner latest delivery rejected": (_fault("FEED_PARTIAL", "FH", "partner_schedule"), "FH"),
    "partner latest snapshot a volume drop": (_fault("FEED_VOLUME_DROP", "FH", "partner_schedule"), "FH"),
    "partner silent": (_fault("FEED_LATE", "FH", "partner_schedule"), "FH"),
    "platform latest crawl rejected": (_fault("FEED_PARTIAL", "MAOYAN", "competitor_schedule"), "MAOYAN"),
    "platform silent": (_fault("FEED_LATE", "MAOYAN", "competitor_schedule"), "MAOYAN"),
}


@pytest.mark.parametrize("fault,faulty_source", SCHEDULE_FAULTS.values(), ids=SCHEDULE_FAULTS.keys())
def test_a_schedule_feed_fault_suppresses_nothing_and_notes_the_age_of_the_data_on_its_source_issues(
        monkeypatch, fault, faulty_source):
    rows = _materialize(monkeypatch, fault, VALIDATION_FH, *EVERYTHING.values())
    assert rows[_id(fault)]["status"] == "OPEN" and "holds back" not in rows[_id(fault)]["reason"]
    for name, cand in EVERYTHING.items():
        got = rows[_id(cand)]
        assert (got["status"], got["suppressed_by"]) == ("OPEN", None), name
        if cand[2] == faulty_source and cand[0] in issues.SCHEDULE_BASED:
            assert _note(got) == {"issue_id": _id(fault), "category": fault[0], "data_as_of": DATA_AS_OF,
                                  "data_age_min": 115}, name
        else:
            assert _note(got) is None, name
    assert _note(rows[_id(VALIDATION_FH)]) is None  # it describes a file of its own, not the current data
    assert _note(rows[_id(ORDERS["SEAT_DOUBLE_SOLD"])]) is None  # it rests on the orders alone


@pytest.mark.parametrize("category", ["FEED_PARTIAL", "FEED_VOLUME_DROP"])
def test_a_schedule_feed_fault_a_later_complete_snapshot_superseded_leaves_no_note(monkeypatch, category):
    fault = _fault(category, "FH", "partner_schedule", superseded=True)
    rows = _materialize(monkeypatch, fault, *PARTNER_SHOW.values(), *ORDERS.values())
    for cand in (*PARTNER_SHOW.values(), *ORDERS.values()):
        assert rows[_id(cand)]["status"] == "OPEN" and _note(rows[_id(cand)]) is None, cand[0]


ORDERS_FAULTS = {"orders file rejected": _fault("FEED_PARTIAL", "internal", "orders"),
                 "orders feed silent": _fault("FEED_LATE", "internal", "orders")}


@pytest.mark.parametrize("fault", ORDERS_FAULTS.values(), ids=ORDERS_FAULTS.keys())
def test_an_orders_feed_fault_suppresses_only_codes_whose_order_is_unknown_and_counts_them(monkeypatch, fault):
    unknown_2 = _issue("PICKUP_CODE_INVALID", "unknown_order", "MEITUAN", "K-u2", order_id="O-u2",
                       pickup_code="K-u2", evidence=CODE_EVIDENCE)
    rows = _materialize(monkeypatch, fault, unknown_2, *EVERYTHING.values())
    for name, cand in {**EVERYTHING, "code unknown_order 2": unknown_2}.items():
        got = rows[_id(cand)]
        if cand[1] == "unknown_order":
            assert (got["status"], got["suppressed_by"]) == ("SUPPRESSED", _id(fault)), name
        else:
            assert (got["status"], got["suppressed_by"]) == ("OPEN", None), name
        assert _note(got) is None, name
    assert rows[_id(fault)]["status"] == "OPEN"
    assert rows[_id(fault)]["reason"].endswith("It holds back 2 issue(s) that rest on that data (SUPPRESSED).")


def test_a_rejected_orders_file_of_another_day_does_not_hide_an_unknown_order_code(monkeypatch):
    # codes handed out on 03-09 for a show that day: an orders file of 03-05 cannot hold their orders
    old = _fault("FEED_PARTIAL", "internal", "orders", business_date="2026-03-05")
    rows = _materialize(monkeypatch, old, CODES["unknown_order"])
    got = rows[_id(CODES["unknown_order"])]
    assert (got["status"], got["suppressed_by"]) == ("OPEN", None)
    assert "holds back" not in rows[_id(old)]["reason"]


def test_a_rejected_pickup_code_file_suppresses_nothing(monkeypatch):
    fault = _fault("FEED_PARTIAL", "TAOBAO", "pickup_codes")
    rows = _materialize(monkeypatch, fault, *EVERYTHING.values())
    for name, cand in EVERYTHING.items():
        got = rows[_id(cand)]
        assert (got["status"], got["suppressed_by"], _note(got)) == ("OPEN", None, None), name


def test_feed_faults_never_suppress_each_other(monkeypatch):
    faults = [f for f, _ in SCHEDULE_FAULTS.values() if f[2] == "FH"][:2] + list(ORDERS_FAULTS.values())
    faults.append(_fault("FEED_PARTIAL", "TAOBAO", "pickup_codes"))
    rows = _materialize(monkeypatch, *faults)
    assert {(r["category"], r["status"], r["suppressed_by"]) for r in rows.values()} == {
        (f[0], "OPEN", None) for f in faults}
