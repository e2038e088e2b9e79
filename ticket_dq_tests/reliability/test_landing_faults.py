"""Hostile landing areas written by hand (not by our simulator), each through `ticket-dq materialize`:
corrected re-deliveries, folders linking out of the landing root, broken rows, truncated files, folders
with the wrong name and undeclared sources."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path

import duckdb

from ticket_dq import cli
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, sample_row, write_manifest

DAY = "2026-03-08"
NOW = "2026-03-08 12:00:00"


def _materialize(monkeypatch, *select: str) -> str:
    monkeypatch.setenv("TICKET_DQ_NOW", NOW)
    out, err = io.StringIO(), io.StringIO()
    args = ["materialize", "--quiet"] + (["--select", " or ".join(select)] if select else [])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert cli.main(args) == 0, out.getvalue() + err.getvalue()
    return out.getvalue() + err.getvalue()


def _sql(env, query: str, params=None) -> list[tuple]:
    with duckdb.connect(str(env["warehouse"]), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def _complaints(n: int) -> list[dict]:
    return [sample_row("complaints", complaint_id=f"C{i}", channel="APP", category="OTHER",
                       description=f"complaint {i}") for i in range(n)]


def _partner_rows(n: int) -> list[dict]:
    return [sample_row("partner_schedule", show_code=f"S{i}", start_time=f"{DAY} {10 + i}:00:00",
                       end_time=f"{DAY} {11 + i}:30:00", business_date=DAY, snapshot_ts=f"{DAY} 10:00:00",
                       show_status="ON_SALE", duration_min="90", list_price_fen="6000", sale_price_fen="4500",
                       seat_total="120", seats_available="80") for i in range(n)]


# ---- corrected re-delivery -----------------------------------------------------------------------------

def test_a_rejected_delivery_whose_manifest_is_corrected_is_ingested_and_its_feed_partial_resolves(
        isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    body = csv_bytes(_partner_rows(3))
    data = deliver(landing, "partner_schedule", "FH", DAY, "FH_1000", body, 3, sha256="0" * 64)
    _materialize(monkeypatch)
    assert _sql(isolated_env, "SELECT status FROM meta.ingested_files") == [("REJECTED",)]
    assert _sql(isolated_env, "SELECT status FROM dq.issues WHERE category = 'FEED_PARTIAL'") == [("OPEN",)]

    # The partner fixes the manifest in the same folder (same path, new content).
    write_manifest(data.parent, "FH_1000", {"file": data.name, "feed": "partner_schedule", "source": "FH",
                                            "rows": 3, "sha256": hashlib.sha256(body).hexdigest(),
                                            "snapshot_ts": f"{DAY} 10:00:00", "schema_version": 1})
    _materialize(monkeypatch)
    assert _sql(isolated_env, "SELECT status, rows_ingested FROM meta.ingested_files") == [("INGESTED", 3)]
    assert _sql(isolated_env, "SELECT count(*) FROM raw.partner_schedule") == [(3,)]
    assert _sql(isolated_env, "SELECT count(*) FROM raw.quarantine") == [(0,)]
    assert _sql(isolated_env, "SELECT status FROM dq.issues WHERE category = 'FEED_PARTIAL'") == [("RESOLVED",)]


def test_a_rejected_delivery_whose_bytes_are_rewritten_is_tried_again(isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    rows = _complaints(4)
    full = csv_bytes(rows)
    # Half written when the manifest (of the full file) appeared: a partial delivery.
    data = deliver(landing, "complaints", "internal", DAY, "complaints_1", csv_bytes(rows[:2]), 4,
                   sha256=hashlib.sha256(full).hexdigest())
    _materialize(monkeypatch, "key:raw/complaints")
    assert _sql(isolated_env, "SELECT status FROM meta.ingested_files") == [("REJECTED",)]
    _materialize(monkeypatch, "key:raw/complaints")  # nothing changed: stays rejected, not retried
    assert _sql(isolated_env, "SELECT count(*) FROM meta.rejected_deliveries") == [(1,)]
    data.write_bytes(full)
    _materialize(monkeypatch, "key:raw/complaints")
    assert _sql(isolated_env, "SELECT status, rows_ingested FROM meta.ingested_files") == [("INGESTED", 4)]
    assert _sql(isolated_env, "SELECT count(*) FROM raw.complaints") == [(4,)]


# ---- folders that lead out of the landing area ---------------------------------------------------------

def test_source_and_date_folders_linking_outside_the_landing_root_are_refused_and_reported(
        isolated_env, monkeypatch):
    landing, outside = isolated_env["landing"], isolated_env["tmp"] / "elsewhere"
    deliver(outside, "complaints", "EVIL", DAY, "c_src", csv_bytes(_complaints(2)), 2)
    deliver(outside, "complaints", "internal", "2026-03-09", "c_day", csv_bytes(_complaints(2)), 2)
    (landing / "complaints" / "internal").mkdir(parents=True)
    os.symlink(outside / "complaints" / "EVIL", landing / "complaints" / "EVIL")
    os.symlink(outside / "complaints" / "internal" / "2026-03-09", landing / "complaints" / "internal" / "2026-03-09")
    logs = _materialize(monkeypatch, "key:raw/complaints")

    assert _sql(isolated_env, "SELECT count(*) FROM raw.complaints") == [(0,)]
    assert _sql(isolated_env, "SELECT count(*) FROM meta.ingested_files") == [(0,)]
    assert _sql(isolated_env, "SELECT path, kind FROM meta.landing_problems ORDER BY path") == [
        ("complaints/EVIL", "symlink_out"), ("complaints/internal/2026-03-09", "symlink_out")]
    assert _sql(isolated_env, "SELECT count(*) FROM raw.quarantine WHERE reason LIKE 'landing: %outside the landing root%'"
                ) == [(2,)]
    assert "leads outside the landing root" in logs


# ---- one bad row, a truncated file --------------------------------------------------------------------

def test_an_unclosed_quote_costs_only_its_record_and_says_so(isolated_env, monkeypatch):
    lines = csv_bytes(_complaints(7)).decode().splitlines()
    lines[3] = lines[3].replace("complaint 2", '"complaint 2 has a quote that never closes')  # row 3 of 7
    deliver(isolated_env["landing"], "complaints", "internal", DAY, "c7", ("\n".join(lines) + "\n").encode(), 7)
    _materialize(monkeypatch, "key:raw/complaints")

    assert _sql(isolated_env, "SELECT status, rows_manifest, rows_in_file, rows_ingested, rows_quarantined "
                              "FROM meta.ingested_files") == [("INGESTED", 7, 7, 6, 1)]
    assert _sql(isolated_env, "SELECT complaint_id FROM raw.complaints ORDER BY 1") == [
        (f"C{i}",) for i in (0, 1, 3, 4, 5, 6)]
    [(line, reason)] = _sql(isolated_env, "SELECT ingest_line, reason FROM raw.quarantine")
    assert line == 4 and "quote on line 4 is never closed" in reason


def test_a_count_that_still_disagrees_is_rejected_with_what_was_counted(isolated_env, monkeypatch):
    lines = csv_bytes(_complaints(7)).decode().splitlines()
    lines[3] = lines[3].replace("complaint 2", '"complaint 2')
    deliver(isolated_env["landing"], "complaints", "internal", DAY, "c9", ("\n".join(lines) + "\n").encode(), 9)
    _materialize(monkeypatch, "key:raw/complaints")
    [(status, reason)] = _sql(isolated_env, "SELECT status, reason FROM meta.ingested_files")
    assert status == "REJECTED"
    assert "file has 3 rows, manifest says 9 (a quote opened on line 4 is never closed, so lines 4-8" in reason


def test_a_file_cut_inside_a_multibyte_character_reports_the_byte_where_it_was_cut(isolated_env, monkeypatch):
    body = csv_bytes([sample_row("complaints", complaint_id=f"C{i}", description="影院的投诉" * 3)
                      for i in range(6)])
    cut = body[:-2]  # drops the newline and the last byte of the final 3-byte character
    starts_at = len(body) - 4  # where that character begins
    deliver(isolated_env["landing"], "complaints", "internal", DAY, "cut", cut, 6,
            sha256=hashlib.sha256(body).hexdigest())
    _materialize(monkeypatch, "key:raw/complaints")
    [(reason,)] = _sql(isolated_env, "SELECT reason FROM meta.ingested_files")
    assert f"ends inside a multi-byte UTF-8 character at byte {starts_at}" in reason, reason


# ---- folders with the wrong name, undeclared sources ---------------------------------------------------

def test_wrong_case_unknown_feed_and_malformed_date_folders_are_reported_not_ignored(isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    body = csv_bytes(_complaints(2))
    deliver(landing, "complaints", "internal", DAY, "good", body, 2)
    deliver(landing, "Complaints", "internal", DAY, "wrong_case", body, 2, ext="csv")
    deliver(landing, "complaint", "internal", DAY, "unknown_feed", body, 2, ext="csv")
    deliver(landing, "complaints", "internal", "2026-3-8", "bad_date", body, 2)
    deliver(landing, "complaints", "internal", "2026-02-30", "no_such_day", body, 2)
    logs = _materialize(monkeypatch, "key:raw/complaints")

    assert _sql(isolated_env, "SELECT file FROM meta.ingested_files") == [(f"complaints/internal/{DAY}/good.csv",)]
    assert _sql(isolated_env, "SELECT path, kind FROM meta.landing_problems ORDER BY path") == [
        ("Complaints", "wrong_case_feed"), ("complaint", "unknown_folder"),
        ("complaints/internal/2026-02-30", "bad_date_folder"), ("complaints/internal/2026-3-8", "bad_date_folder")]
    assert _sql(isolated_env, "SELECT count(*) FROM raw.quarantine WHERE reason LIKE 'landing: %'") == [(4,)]
    assert "names are case-sensitive" in logs and "is not a contract feed" in logs
    _materialize(monkeypatch, "key:raw/complaints")  # reported once, not on every run
    assert _sql(isolated_env, "SELECT count(*) FROM raw.quarantine WHERE reason LIKE 'landing: %'") == [(4,)]


def test_a_source_that_reference_data_does_not_declare_is_ingested_with_a_warning(isolated_env, monkeypatch):
    landing = isolated_env["landing"]
    (landing / "reference").mkdir()
    (landing / "reference" / "sources.csv").write_text("source,kind\ninternal,internal\nFH,partner\n")
    deliver(landing, "complaints", "internal", DAY, "known", csv_bytes(_complaints(2)), 2)
    deliver(landing, "complaints", "NEWCO", DAY, "unknown", csv_bytes(_complaints(2)), 2)
    logs = _materialize(monkeypatch, "key:raw/complaints")
    assert _sql(isolated_env, "SELECT source, count(*) FROM raw.complaints GROUP BY ALL ORDER BY 1") == [
        ("NEWCO", 2), ("internal", 2)]
    assert _sql(isolated_env, "SELECT path, kind FROM meta.landing_problems") == [("complaints/NEWCO", "unknown_source")]
    assert "'NEWCO' is not declared in reference/sources.csv" in logs
