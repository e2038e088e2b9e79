"""lib/delivery.py, the one writer our tools deliver feed files with: a contract CSV the real ingestion
accepts (RFC 4180 quoting, UTF-8 Chinese), the manifest last, no temporary file left behind."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from ticket_dq.lib import delivery, ingest, warehouse

NOW = datetime(2026, 3, 8, 10, 0, 5)


def _event(issue_id, comment=""):
    return {"event_ts": NOW, "issue_id": issue_id, "to_status": "ACKNOWLEDGED", "handler": "li.na", "team": "CS",
            "comment": comment}


def test_delivered_file_is_ingested_whole_with_quotes_commas_and_chinese_intact(isolated_env):
    landing = isolated_env["landing"]
    tricky = '已联系顾客, 说 "明天再来"\n第二行'
    path = delivery.deliver(landing, "issue_events", "web", [_event("A", tricky), _event("B")], NOW)
    assert path.parent == landing / "issue_events" / "web" / "2026-03-08"
    manifest = json.loads((path.parent / f"_manifest_{path.stem}.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == 2 and manifest["file"] == path.name and manifest["snapshot_ts"] == "2026-03-08 10:00:05"
    assert sorted(p.name for p in path.parent.iterdir()) == [f"_manifest_{path.stem}.json", path.name]
    with warehouse.connect(isolated_env["warehouse"]) as con:
        ingest.ingest_feed(con, landing, "issue_events", "run-1", datetime(2026, 3, 8, 10, 1))
        rows = con.execute("SELECT issue_id, comment, handler, source FROM raw.issue_events ORDER BY 1").fetchall()
        status = con.execute("SELECT status, rows_ingested FROM meta.ingested_files").fetchall()
    assert rows[0] == ("A", tricky, "li.na", "web") and rows[1][0] == "B" and not rows[1][1]
    assert status == [("INGESTED", 2)]


def test_a_data_file_without_its_manifest_is_not_delivered(isolated_env):
    landing = isolated_env["landing"]
    path = delivery.deliver(landing, "issue_events", "triage", [_event("A")], NOW)
    assert delivery.delivered_files(landing, "issue_events") == [path]
    (path.parent / f"_manifest_{path.stem}.json").unlink()  # as if the writer died before the manifest
    assert delivery.delivered_files(landing, "issue_events") == []


def test_two_deliveries_in_the_same_second_stay_two_files(isolated_env):
    a = delivery.deliver(isolated_env["landing"], "issue_events", "web", [_event("A")], NOW,
                         stem=delivery.unique_stem("web", NOW))
    b = delivery.deliver(isolated_env["landing"], "issue_events", "web", [_event("B")], NOW,
                         stem=delivery.unique_stem("web", NOW))
    assert a != b and a.exists() and b.exists()


def test_only_csv_feeds_of_the_contract_are_written(isolated_env):
    with pytest.raises(ValueError):
        delivery.deliver(isolated_env["landing"], "competitor_schedule", "MAOYAN", [], NOW)
    with pytest.raises(ValueError):
        delivery.deliver(isolated_env["landing"], "no_such_feed", "x", [], NOW)
