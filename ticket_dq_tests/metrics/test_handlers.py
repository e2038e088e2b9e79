"""Simulated handlers deliver contract-valid issue_events files that judge issues by the truth file."""

from __future__ import annotations

import csv
import hashlib
import json
from argparse import Namespace
from datetime import datetime

from ticket_dq.lib import complaints, contract, ingest, metrics, warehouse
from ticket_dq.simulate import handlers
from ticket_dq_tests.metrics.scenario import add_issue

NOW = datetime(2026, 3, 9, 21, 0)
FAULT_HEADER = ("fault_id,kind,category,rule,source,cinema_code,business_date,show_start_time,order_id,"
                "pickup_code,detail")


def make_world(tmp, n=60):
    """n issues first detected in the morning of 9 March; every even one is a true fault in the truth file."""
    landing, wh = tmp / "landing", tmp / "warehouse" / "ticket_dq.duckdb"
    truth = landing / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    rows = [FAULT_HEADER]
    with warehouse.connect(wh) as con:
        for i in range(n):
            kind = i % 3
            fd = f"2026-03-09 {8 + i % 4:02d}:{i % 60:02d}:00"
            if kind == 0:  # order-level: matched by order_id
                add_issue(con, f"ISS{i:03d}", "ORDER_SHOW_CHANGED", fd, team="CS", order_id=f"O{i}",
                          severity="P1")
                line = f"F{i:06d},fault,ORDER_SHOW_CHANGED,time_shift,FH,11000001,2026-03-09,,O{i},,{{}}"
            elif kind == 1:  # show-level: cinema + start within 5 min
                add_issue(con, f"ISS{i:03d}", "SHOW_TIME_MISMATCH", fd, cinema_code=f"1100{i:04d}",
                          show_start_time="2026-03-10 19:00:00")
                line = (f"F{i:06d},fault,SHOW_TIME_MISMATCH,time_shift,FH,1100{i:04d},2026-03-10,"
                        f"2026-03-10 19:03:00,,,\"{{\"\"old\"\": \"\"19:00\"\"}}\"")
            else:  # pickup code
                add_issue(con, f"ISS{i:03d}", "PICKUP_CODE_INVALID", fd, team="SALES", source="TAOBAO",
                          pickup_code=f"P{i}")
                line = f"F{i:06d},fault,PICKUP_CODE_INVALID,unknown_order,TAOBAO,,2026-03-09,,,P{i},{{}}"
            if i % 2 == 0:
                rows.append(line)
            else:  # the truth row exists but describes something else: the issue is a false positive
                rows.append(line.replace(",fault,", ",benign,"))
        add_issue(con, "ISS_SUP", "SHOW_MISSING", "2026-03-09 08:00:00", status="SUPPRESSED")
    (truth / "faults.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return landing, wh


def delivered(landing):
    folder = landing / "issue_events" / "handlers"
    out = []
    for manifest_path in sorted(folder.glob("*/_manifest_*.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        data = (manifest_path.parent / manifest["file"]).read_bytes()
        out.append((manifest, data))
    return out


def events_of(data: bytes) -> list[dict]:
    return list(csv.DictReader(data.decode("utf-8").splitlines()))


def args(landing, wh, now=NOW, seed=7):
    return Namespace(landing=str(landing), warehouse=str(wh), truth=None, now=now.strftime("%Y-%m-%d %H:%M:%S"),
                     seed=seed)


def test_handlers_deliver_contract_valid_issue_events_judged_by_truth(isolated_env):
    landing, wh = make_world(isolated_env["tmp"])
    assert handlers.main(args(landing, wh)) == 0
    [(manifest, data)] = delivered(landing)
    assert manifest["feed"] == "issue_events" and manifest["source"] == "handlers"
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    events = events_of(data)
    assert manifest["rows"] == len(events) > 0
    assert list(events[0]) == contract.FEEDS["issue_events"].contract_names
    assert all(e["to_status"] in contract.HANDLER_STATUSES for e in events)
    assert all(e["resolution_code"] in ("", *contract.RESOLUTION_CODES) for e in events)
    assert all(datetime.fromisoformat(e["event_ts"]) <= NOW for e in events)
    assert "ISS_SUP" not in {e["issue_id"] for e in events}
    verdicts = {e["issue_id"]: e["to_status"] for e in events if e["to_status"] in ("CONFIRMED", "FALSE_POSITIVE")}
    assert verdicts, "some issues must be judged"
    for issue_id, verdict in verdicts.items():
        assert verdict == ("CONFIRMED" if int(issue_id[3:]) % 2 == 0 else "FALSE_POSITIVE"), issue_id
    reviewed = {e["issue_id"] for e in events}
    assert 0 < 60 - len(reviewed) < 25  # a share is left unreviewed
    resolved = [e for e in events if e["to_status"] == "RESOLVED"]
    assert resolved and all(verdicts[e["issue_id"]] == "CONFIRMED" and e["resolution_code"] for e in resolved)

    # The real ingestion accepts the delivery without quarantining a row; metrics then see the reviews.
    with warehouse.connect(wh) as con:
        report = ingest.ingest_feed(con, landing, "issue_events", "run-h1", NOW)
        assert [f.status for f in report.files] == ["INGESTED"]
        assert con.execute("SELECT count(*) FROM raw.issue_events").fetchone()[0] == len(events)
        assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0
        complaints.link_complaints(con, NOW)
        metrics.compute_daily(con, NOW)
        row = con.execute("SELECT alerts, confirmed, false_positive, pending FROM dq.metrics_daily").fetchall()
    assert row == [(60, sum(v == "CONFIRMED" for v in verdicts.values()),
                    sum(v == "FALSE_POSITIVE" for v in verdicts.values()), 60 - len(verdicts))]


def test_handlers_are_deterministic_and_never_redeliver_an_event(isolated_env):
    tmp = isolated_env["tmp"]
    landing_a, wh_a = make_world(tmp / "a")
    landing_b, wh_b = make_world(tmp / "b")
    assert handlers.main(args(landing_a, wh_a)) == 0
    assert handlers.main(args(landing_b, wh_b)) == 0
    assert delivered(landing_a)[0][1] == delivered(landing_b)[0][1]  # same seed, same bytes

    assert handlers.main(args(landing_a, wh_a)) == 0  # same clock again: nothing new to say
    assert len(delivered(landing_a)) == 1
    later = datetime(2026, 3, 10, 12, 0)
    assert handlers.main(args(landing_a, wh_a, now=later)) == 0  # the story goes on: later resolutions
    deliveries = delivered(landing_a)
    assert len(deliveries) == 2
    pairs = [(e["issue_id"], e["to_status"]) for _, data in deliveries for e in events_of(data)]
    assert len(pairs) == len(set(pairs))
    assert all(datetime.fromisoformat(e["event_ts"]) > NOW for e in events_of(deliveries[1][1]))


def test_handlers_without_truth_file_refuse(isolated_env):
    landing, wh = make_world(isolated_env["tmp"])
    (landing / "_truth" / "faults.csv").unlink()
    assert handlers.main(args(landing, wh)) == 2
    assert not (landing / "issue_events").exists()


def test_replay_default_clock_lets_handlers_answer_alerts_raised_at_the_simulation_clock(isolated_env):
    """`make run` detects at sim.json's clock; the handlers answer the next morning (clock + 12 h)."""
    landing, wh = make_world(isolated_env["tmp"])
    with warehouse.connect(wh) as con:  # a one-shot replay: everything first detected at the sim clock
        con.execute("UPDATE dq.issues SET first_detected_at = TIMESTAMP '2026-03-09 21:05:00'")
    (landing / "_truth" / "sim.json").write_text(json.dumps({"seed": 7, "now": "2026-03-09 21:05:00"}))
    assert handlers.main(Namespace(landing=landing, warehouse=wh, truth=None, now=None, seed=7)) == 0
    [(manifest, data)] = delivered(landing)
    assert manifest["snapshot_ts"] == "2026-03-10 09:05:00"
    times = [datetime.fromisoformat(e["event_ts"]) for e in events_of(data)]
    assert times and all(datetime(2026, 3, 9, 21, 5) < t <= datetime(2026, 3, 10, 9, 5) for t in times)
