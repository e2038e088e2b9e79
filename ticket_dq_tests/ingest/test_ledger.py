"""The ledger: manifests gate delivery, mismatches are rejected as a unit, re-deliveries and re-runs
are no-ops, manifests may only name files in their own folder."""

from __future__ import annotations

import os

from ticket_dq.lib import ingest
from ticket_dq_tests.ingest.conftest import NOW
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, sample_row, write_manifest

FEED = "partner_schedule"


def _rows(n: int) -> bytes:
    return csv_bytes([sample_row(FEED, show_code=f"S{i}") for i in range(n)])


def _counts(con):
    return (con.execute("SELECT count(*) FROM raw.partner_schedule").fetchone()[0],
            con.execute("SELECT count(*) FROM meta.ingested_files").fetchone()[0])


def test_wrong_sha256_ingests_nothing_and_is_recorded_as_rejected(con, landing):
    deliver(landing, FEED, "FH", "2026-03-08", "s1", _rows(3), 3, sha256="0" * 64)

    report = ingest.ingest_feed(con, landing, FEED, "run-1", NOW)

    assert [f.status for f in report.files] == ["REJECTED"]
    row = con.execute("SELECT status, rows_manifest, rows_in_file, rows_ingested, rows_quarantined, reason "
                      "FROM meta.ingested_files").fetchone()
    assert row[:5] == ("REJECTED", 3, 3, 0, 3)
    assert "sha256" in row[5] and "manifest says " + "0" * 64 in row[5]
    assert con.execute("SELECT count(*) FROM raw.partner_schedule").fetchone()[0] == 0
    q = con.execute("SELECT ingest_file, ingest_line, reason FROM raw.quarantine").fetchall()
    assert len(q) == 1 and q[0][0] == f"{FEED}/FH/2026-03-08/s1.csv" and q[0][1] is None
    assert "sha256" in q[0][2]


def test_truncated_file_with_row_count_mismatch_is_rejected_with_both_counts(con, landing):
    full = _rows(5)
    truncated = b"\n".join(full.split(b"\n")[:4]) + b"\n"  # header + 3 rows
    import hashlib
    deliver(landing, FEED, "FH", "2026-03-08", "s1", truncated, 5, sha256=hashlib.sha256(full).hexdigest())

    ingest.ingest_feed(con, landing, FEED, "run-1", NOW)

    status, rin, rman, rq, reason = con.execute(
        "SELECT status, rows_in_file, rows_manifest, rows_quarantined, reason FROM meta.ingested_files").fetchone()
    assert (status, rin, rman, rq) == ("REJECTED", 3, 5, 5)
    assert "file has 3 rows, manifest says 5" in reason and "sha256" in reason


def test_file_without_manifest_is_left_alone_until_its_manifest_arrives(con, landing):
    body = _rows(2)
    data = deliver(landing, FEED, "FH", "2026-03-08", "s1", body, 2, manifest=False)

    first = ingest.ingest_feed(con, landing, FEED, "run-1", NOW)
    assert first.files == [] and _counts(con) == (0, 0)

    import hashlib
    write_manifest(data.parent, "s1", {"file": "s1.csv", "feed": FEED, "source": "FH", "rows": 2,
                                       "sha256": hashlib.sha256(body).hexdigest()})
    second = ingest.ingest_feed(con, landing, FEED, "run-2", NOW)
    assert [f.status for f in second.files] == ["INGESTED"] and _counts(con) == (2, 1)


def test_rerun_is_a_no_op(con, landing):
    deliver(landing, FEED, "FH", "2026-03-08", "s1", _rows(2), 2)
    ingest.ingest_feed(con, landing, FEED, "run-1", NOW)

    again = ingest.ingest_feed(con, landing, FEED, "run-2", NOW)

    assert again.files == [] and again.already_known == 1
    assert _counts(con) == (2, 1)


def test_redelivery_of_same_stem_and_content_in_another_folder_does_not_duplicate(con, landing):
    body = _rows(2)
    deliver(landing, FEED, "FH", "2026-03-08", "s1", body, 2)
    ingest.ingest_feed(con, landing, FEED, "run-1", NOW)
    deliver(landing, FEED, "FH", "2026-03-09", "s1", body, 2)

    report = ingest.ingest_feed(con, landing, FEED, "run-2", NOW)

    assert [f.status for f in report.files] == ["REDELIVERY"]
    assert _counts(con) == (2, 1)
    assert con.execute("SELECT file, original_file FROM meta.redeliveries").fetchall() == [
        (f"{FEED}/FH/2026-03-09/s1.csv", f"{FEED}/FH/2026-03-08/s1.csv")]
    assert ingest.ingest_feed(con, landing, FEED, "run-3", NOW).files == []


def test_corrected_file_after_a_rejected_delivery_ingests_normally(con, landing):
    deliver(landing, FEED, "FH", "2026-03-08", "s1", _rows(3), 4)  # wrong count: rejected
    ingest.ingest_feed(con, landing, FEED, "run-1", NOW)
    deliver(landing, FEED, "FH", "2026-03-09", "s1", _rows(4), 4)  # same stem, corrected

    report = ingest.ingest_feed(con, landing, FEED, "run-2", NOW)

    assert [f.status for f in report.files] == ["INGESTED"]
    assert con.execute("SELECT status FROM meta.ingested_files ORDER BY folder_date").fetchall() == [
        ("REJECTED",), ("INGESTED",)]
    assert _counts(con) == (4, 2)


def test_conservation_holds_for_every_ledger_row(con, landing):
    deliver(landing, FEED, "FH", "2026-03-08", "ok", _rows(3), 3)
    deliver(landing, FEED, "FH", "2026-03-08", "bad", _rows(3), 7)
    body = _rows(2) + b"x,y\n"
    deliver(landing, FEED, "DX", "2026-03-08", "partly", body, 3)

    ingest.ingest_feed(con, landing, FEED, "run-1", NOW)

    rows = con.execute("SELECT stem, status, rows_manifest, rows_ingested, rows_quarantined "
                       "FROM meta.ingested_files ORDER BY stem").fetchall()
    assert rows == [("bad", "REJECTED", 7, 0, 7), ("ok", "INGESTED", 3, 3, 0), ("partly", "INGESTED", 3, 2, 1)]


def test_manifest_naming_a_file_outside_its_folder_is_rejected(con, landing):
    (landing / "secret.csv").write_bytes(_rows(1))
    folder = landing / FEED / "FH" / "2026-03-08"
    folder.mkdir(parents=True)
    write_manifest(folder, "x", {"file": "../x.csv", "feed": FEED, "source": "FH", "rows": 1, "sha256": "a" * 64})
    write_manifest(folder, "abs", {"file": str(landing / "secret.csv"), "feed": FEED, "source": "FH", "rows": 1,
                                   "sha256": "a" * 64})
    os.symlink(landing / "secret.csv", folder / "link.csv")
    write_manifest(folder, "link", {"file": "link.csv", "feed": FEED, "source": "FH", "rows": 1, "sha256": "a" * 64})

    report = ingest.ingest_feed(con, landing, FEED, "run-1", NOW)

    assert sorted(f.status for f in report.files) == ["REJECTED"] * 3
    reasons = {r[0]: r[1] for r in con.execute("SELECT file, reason FROM meta.ingested_files").fetchall()}
    assert "only a plain file name" in reasons[f"{FEED}/FH/2026-03-08/_manifest_x.json"]
    assert "only a plain file name" in reasons[f"{FEED}/FH/2026-03-08/_manifest_abs.json"]
    assert "leads out of its folder" in reasons[f"{FEED}/FH/2026-03-08/_manifest_link.json"]
    assert con.execute("SELECT count(*) FROM raw.partner_schedule").fetchone()[0] == 0
    assert ingest.ingest_feed(con, landing, FEED, "run-2", NOW).files == []  # recorded once


def test_manifest_whose_feed_or_source_disagrees_with_its_path_is_rejected(con, landing):
    deliver(landing, FEED, "FH", "2026-03-08", "s1", _rows(1), 1, manifest_overrides={"source": "DX"})
    deliver(landing, FEED, "FH", "2026-03-08", "s2", _rows(1), 1, manifest_overrides={"feed": "orders"})
    folder = landing / FEED / "FH" / "2026-03-08"
    (folder / "_manifest_s3.json").write_text("{not json", encoding="utf-8")

    ingest.ingest_feed(con, landing, FEED, "run-1", NOW)

    reasons = sorted(r[0] for r in con.execute("SELECT reason FROM meta.ingested_files").fetchall())
    assert len(reasons) == 3
    assert any("source 'DX' does not match" in r for r in reasons)
    assert any("feed 'orders' does not match" in r for r in reasons)
    assert any("not valid JSON" in r for r in reasons)


def test_truth_folder_and_unknown_folders_are_ignored(con, landing):
    deliver(landing, FEED, "FH", "2026-03-08", "s1", _rows(1), 1)
    (landing / "_truth").mkdir()
    (landing / "_truth" / "faults.csv").write_text("fault_id\n")
    (landing / "not_a_feed" / "FH" / "2026-03-08").mkdir(parents=True)

    for feed in ("partner_schedule", "orders"):
        ingest.ingest_feed(con, landing, feed, "run-1", NOW)

    assert con.execute("SELECT file FROM meta.ingested_files").fetchall() == [(f"{FEED}/FH/2026-03-08/s1.csv",)]


def test_truncated_file_cut_inside_a_chinese_character_is_reported_as_manifest_mismatch(con, landing):
    import hashlib
    full = csv_bytes([sample_row(FEED, cinema_name="万达影城")] * 3)
    cut = full[: full.rindex("影".encode()) + 1]  # ends inside a multi-byte character
    deliver(landing, FEED, "FH", "2026-03-08", "s1", cut, 3, sha256=hashlib.sha256(full).hexdigest())

    report = ingest.ingest_feed(con, landing, FEED, "run-1", NOW)

    f = report.files[0]
    assert (f.status, f.rows_quarantined) == ("REJECTED", 3)
    assert f.reason.startswith("manifest mismatch: sha256 of the file is")
