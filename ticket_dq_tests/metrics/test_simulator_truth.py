"""On simulator data: complaint links match `_truth/complaints.csv`, and the simulated handlers judge an
ideal detector's issues (one per injected fault) as true faults.

Detection's issues are not needed: an ideal detector is built from `_truth/faults.csv`
(issue_id = fault_id), so what is measured here is linking and truth matching alone.
"""

from __future__ import annotations

import csv
from argparse import Namespace
from datetime import datetime

import pytest

from ticket_dq import cli
from ticket_dq.lib import complaints, ingest, warehouse
from ticket_dq.simulate import handlers

NOW = datetime(2026, 3, 9, 21, 5)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    landing, wh = root / "landing", root / "w.duckdb"
    assert cli.main(["simulate", "demo", "--out", str(landing), "--cinemas", "20", "--days", "2", "--seed", "7"]) == 0
    with warehouse.connect(wh) as con:
        for feed in ("complaints", "orders", "pickup_codes"):
            ingest.ingest_feed(con, landing, feed, "run-sim", NOW)
        # the ideal detector: every injected fault, detected at the start of the simulation
        con.execute(
            """
            INSERT INTO dq.issues (issue_id, category, rule, severity, team, status, source, cinema_code,
                                   business_date, show_start_time, order_id, pickup_code, business_key,
                                   first_detected_at, last_detected_at)
            SELECT fault_id, category, rule, 'P2', 'BD', 'OPEN', nullif(source, ''), nullif(cinema_code, ''),
                   try_cast(business_date AS DATE), try_cast(show_start_time AS TIMESTAMP),
                   nullif(order_id, ''), nullif(pickup_code, ''),
                   CASE WHEN category = 'ORDER_OUTCOME_SPIKE'  -- its business key starts with the hour
                        THEN substr(json_extract_string(detail, '$.hour_from'), 1, 16) || '|' || rule
                        ELSE concat_ws('|', rule, json_extract_string(detail, '$.platform_cinema_id'),
                                       json_extract_string(detail, '$.platform_film_id')) END,
                   TIMESTAMP '2026-03-08 00:00:00', TIMESTAMP '2026-03-08 00:00:00'
            FROM read_csv(?, header = true, all_varchar = true) WHERE kind = 'fault'
            """, [str(landing / "_truth" / "faults.csv")])
        complaints.link_complaints(con, NOW)
        links = {r[0]: r[1:] for r in con.execute(
            "SELECT complaint_id, issue_id, link_method, complaint_only FROM dq.complaint_links").fetchall()}
        categories = dict(con.execute("SELECT complaint_id, category FROM raw.complaints").fetchall())
        issue_keys = {r[0]: r[1:] for r in con.execute("SELECT issue_id, category, cinema_code FROM dq.issues").fetchall()}
    with (landing / "_truth" / "complaints.csv").open(encoding="utf-8") as fh:
        truth = {r["complaint_id"]: r["fault_id"] or None for r in csv.DictReader(fh)}
    return {"landing": landing, "wh": wh, "links": links, "truth": truth, "categories": categories,
            "issue_keys": issue_keys}


def test_complaint_links_match_the_simulators_truth(sim):
    links, truth = sim["links"], sim["truth"]
    data_related = {c for c, cat in sim["categories"].items() if cat in complaints.CATEGORY_MAP}
    assert set(links) == data_related  # every data complaint has a row, linked or not
    with_fault = [c for c, f in truth.items() if f]
    assert len(with_fault) >= 5
    exact = [c for c in with_fault if links.get(c, (None,))[0] == truth[c]]
    # A cinema-only complaint (PRICE_DIFF carries no order) cannot tell apart two faults of the same
    # category at the same cinema; linking to such a twin still counts the complaint as covered.
    twin = [c for c in with_fault if c not in exact and links.get(c, (None,))[0] is not None
            and links[c][1] == "CINEMA_TIME" and sim["issue_keys"][links[c][0]] == sim["issue_keys"][truth[c]]]
    assert len(exact) + len(twin) == len(with_fault), {c: (links.get(c), truth[c]) for c in with_fault
                                                        if c not in exact + twin}
    assert len(exact) >= 0.9 * len(with_fault)
    # background complaints (no injected fault behind them) rarely find an issue by accident
    background = [c for c in links if not truth.get(c)]
    false_links = [c for c in background if links[c][0] is not None]
    assert len(false_links) <= max(1, len(background) // 5), {c: (links[c], sim["categories"][c]) for c in false_links}
    # detected at the start of the simulation: no complaint about a linked fault is a miss
    assert not any(links[c][2] for c in with_fault)


def test_handlers_judge_the_ideal_detectors_issues_as_true_faults(sim, isolated_env):
    landing = isolated_env["tmp"] / "handler_landing"
    assert handlers.main(Namespace(landing=landing, warehouse=sim["wh"], truth=sim["landing"] / "_truth",
                                   now=None, seed=7)) == 0  # now: sim.json's clock + 12 h
    [manifest] = list((landing / "issue_events" / "handlers").glob("2026-03-10/_manifest_*.json"))
    assert '"snapshot_ts": "2026-03-10 09:05:00"' in manifest.read_text(encoding="utf-8")
    [path] = list((landing / "issue_events" / "handlers").glob("*/*.csv"))
    with path.open(encoding="utf-8") as fh:
        events = list(csv.DictReader(fh))
    verdicts = {e["to_status"] for e in events if e["to_status"] in ("CONFIRMED", "FALSE_POSITIVE")}
    assert verdicts == {"CONFIRMED"}
    assert all(e["event_ts"] <= "2026-03-10 09:05:00" for e in events)
