"""Triage CLI: writes the same issue_events files as handler tools; illegal actions refused at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from ticket_dq.cli import main as cli
from ticket_dq.lib import ingest, lifecycle, warehouse
from ticket_dq_tests.routing.conftest import add_events, add_issue, add_order


def at(monkeypatch, ts):
    monkeypatch.setenv("TICKET_DQ_NOW", ts)


def state_of(con):
    lifecycle.handler_states(con)
    return con.execute("SELECT issue_id, status, status_at, resolution_code FROM handler_state ORDER BY 1").fetchall()


def test_triage_cli_and_events_feed_produce_the_same_states(isolated_env, monkeypatch, capsys, tmp_path):
    wh = isolated_env["warehouse"]
    with warehouse.connect(wh) as con:
        add_issue(con, "A", team="BD")
        add_issue(con, "B", team="RD")
    at(monkeypatch, "2026-03-08 10:00:00")
    assert cli(["issues", "ack", "A", "B", "--handler", "li.na"]) == 0
    at(monkeypatch, "2026-03-08 10:05:00")   # not ingested yet: the CLI still sees the ack it delivered
    assert cli(["issues", "confirm", "A", "--handler", "li.na"]) == 0
    at(monkeypatch, "2026-03-08 10:06:00")
    assert cli(["issues", "false-positive", "B", "--handler", "li.na", "--comment", "partner was right"]) == 0
    at(monkeypatch, "2026-03-08 10:10:00")
    assert cli(["issues", "resolve", "A", "--code", "PARTNER_FIXED", "--handler", "li.na"]) == 0
    capsys.readouterr()
    # Illegal from the current state: refused immediately, nothing delivered.
    assert cli(["issues", "confirm", "B"]) == 1
    out = capsys.readouterr().out
    assert "B: confirm refused: cannot go FALSE_POSITIVE -> CONFIRMED" in out
    manifests = sorted((isolated_env["landing"] / "issue_events" / "triage" / "2026-03-08").glob("_manifest_*.json"))
    assert len(manifests) == 4
    m = json.loads(manifests[0].read_text())
    assert m["feed"] == "issue_events" and m["source"] == "triage" and len(m["sha256"]) == 64
    # The landing files go through the real ingestion, exactly like a handler tool's feed.
    with warehouse.connect(wh) as con:
        report = ingest.ingest_feed(con, isolated_env["landing"], "issue_events", "run-t", datetime(2026, 3, 8, 10, 11))
        assert con.execute("SELECT count(*) FROM raw.issue_events").fetchall()[0][0] == 5, report
        via_cli = state_of(con)
    with warehouse.connect(tmp_path / "feed.duckdb") as con:
        add_events(con, [("2026-03-08 10:00:00", "A", "ACKNOWLEDGED"), ("2026-03-08 10:00:00", "B", "ACKNOWLEDGED"),
                         ("2026-03-08 10:05:00", "A", "CONFIRMED"),
                         ("2026-03-08 10:06:00", "B", "FALSE_POSITIVE", "NO_ACTION"),
                         ("2026-03-08 10:10:00", "A", "RESOLVED", "PARTNER_FIXED")])
        via_feed = state_of(con)
    assert via_cli == via_feed == [("A", "RESOLVED", datetime(2026, 3, 8, 10, 10), "PARTNER_FIXED"),
                                   ("B", "FALSE_POSITIVE", datetime(2026, 3, 8, 10, 6), "NO_ACTION")]


def test_list_and_show_read_the_warehouse_and_the_replayed_state(isolated_env, monkeypatch, capsys):
    with warehouse.connect(isolated_env["warehouse"]) as con:
        add_issue(con, "A", severity="P1", reason="FH shows 19:30; Maoyan shows 20:00")
        add_issue(con, "B", severity="P3", team="RD")
        add_events(con, [("2026-03-08 10:00:00", "A", "ACKNOWLEDGED"), ("2026-03-08 09:00:00", "A", "RESOLVED")])
    assert cli(["issues", "list", "--status", "acknowledged"]) == 0
    out = capsys.readouterr().out
    assert "A " in out and "ACKNOWLEDGED" in out and "\nB " not in out and "1 shown of 1 matching (2 issues in all)" in out
    assert cli(["issues", "show", "A"]) == 0
    out = capsys.readouterr().out
    assert "FH shows 19:30" in out and "rejected events (1)" in out and "cannot go OPEN -> RESOLVED" in out


def test_locked_warehouse_is_reported_clearly(isolated_env, capsys):
    wh = isolated_env["warehouse"]
    with warehouse.connect(wh):
        pass
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(30)", str(wh)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        assert cli(["issues", "list"]) == 2
        assert time.monotonic() - t0 < 20
        assert "locked by a running job" in capsys.readouterr().out
    finally:
        holder.kill()
        holder.wait()


def test_acknowledge_is_the_verb_and_ack_its_alias_and_the_output_says_when_it_takes_effect(isolated_env, monkeypatch,
                                                                                           capsys):
    with warehouse.connect(isolated_env["warehouse"]) as con:
        add_issue(con, "A")
        add_issue(con, "B")
    at(monkeypatch, "2026-03-08 10:00:00")
    assert cli(["issues", "acknowledge", "A", "--handler", "li.na"]) == 0
    out = capsys.readouterr().out
    assert "A: ACKNOWLEDGED delivered; the status becomes ACKNOWLEDGED on the next pipeline run" in out
    assert "pending until the next pipeline run" in out and "-> status" not in out
    assert cli(["issues", "ack", "B", "--handler", "li.na"]) == 0
    assert cli(["issues", "list"]) == 0
    out = capsys.readouterr().out
    assert "ACKNOWLEDGED*" in out and "takes effect on the next pipeline run" in out


def test_list_sorts_by_urgency_shows_show_time_and_keeps_the_whole_reason(isolated_env, monkeypatch, capsys):
    long_reason = "FH 把 19:30 场改到 20:15，两家平台仍显示 19:30；" + "顾客已购票 " * 20 + "END-OF-REASON"
    with warehouse.connect(isolated_env["warehouse"]) as con:
        add_issue(con, "p2-started", severity="P2", show_start_time=datetime(2026, 3, 8, 9, 0))
        add_issue(con, "p2-later", severity="P2", show_start_time=datetime(2026, 3, 8, 21, 0))
        add_issue(con, "p2-soon", severity="P2", show_start_time=datetime(2026, 3, 8, 19, 30), reason=long_reason)
        add_issue(con, "p1-none", severity="P1")
    at(monkeypatch, "2026-03-08 18:00:00")
    assert cli(["issues", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    ids = [ln.split()[0] for ln in lines[1:-1]]
    # Severity first; then shows still to come, soonest first; a show already started after those.
    assert ids == ["p1-none", "p2-soon", "p2-later", "p2-started"]
    soon = next(ln for ln in lines if ln.startswith("p2-soon"))
    assert "03-08 19:30" in soon and "in 1h30" in soon and soon.endswith("END-OF-REASON")
    assert "9h00 ago" in next(ln for ln in lines if ln.startswith("p2-started"))
    assert cli(["issues", "list", "--source", "FH", "--cinema", "C001", "--limit", "1"]) == 0
    assert "1 shown of 4 matching" in capsys.readouterr().out


def test_show_carries_the_evidence_and_the_masked_orders_the_mail_carries(isolated_env, capsys):
    with warehouse.connect(isolated_env["warehouse"]) as con:
        add_issue(con, "O", category="ORDER_SHOW_CHANGED", team="CS", order_id="T1",
                  evidence='{"partner": {"hall_name": "3号激光厅"}, "note": "call 13912345678"}')
        add_order(con, "T1", "13812345678", datetime(2026, 3, 8, 20, 0))
    assert cli(["issues", "show", "O"]) == 0
    out = capsys.readouterr().out
    assert "evidence:" in out and '"hall_name": "3号激光厅"' in out and "139****5678" in out
    assert "T1  mobile 138****5678  哪吒之魔童闹海" in out and "Tell the customer".lower() in out.lower()
    assert "13812345678" not in out and "13912345678" not in out


def test_show_piped_into_head_ends_without_a_broken_pipe_traceback(isolated_env):
    with warehouse.connect(isolated_env["warehouse"]) as con:
        for i in range(3):
            add_issue(con, f"I{i}", evidence=json.dumps({"rows": list(range(40000))}))
    exe = Path(sys.executable).with_name("ticket-dq")
    proc = subprocess.run(f"'{exe}' issues show I0 | head -n 3", shell=True, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    assert len(proc.stdout.splitlines()) == 3 and "issue_id: I0" in proc.stdout
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
