"""End to end on a small simulated landing area: every truth fact about files holds in the warehouse."""

from __future__ import annotations

import csv
import json

import pytest

from ticket_dq.lib import contract, ingest
from ticket_dq.simulate import generate
from ticket_dq_tests.ingest.conftest import NOW


@pytest.fixture
def simulated(landing):
    generate(landing, cinemas=4, days=2, seed=11, snapshots_per_day=4, crawls_per_day=3)
    with open(landing / "_truth" / "faults.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_simulated_landing_ingests_with_conservation_partial_files_rejected_and_redeliveries_skipped(
        con, landing, simulated):
    for feed in contract.FEEDS:
        ingest.ingest_feed(con, landing, feed, "run-1", NOW)
    for name in contract.REFERENCE:
        assert ingest.ingest_reference(con, landing, name, "run-1", NOW).status == "LOADED"

    assert con.execute("SELECT count(*) FROM meta.ingested_files "
                       "WHERE rows_manifest <> rows_ingested + rows_quarantined").fetchone()[0] == 0
    ledger = {r[0]: r[1:] for r in con.execute(
        "SELECT file, status, rows_ingested, reason FROM meta.ingested_files").fetchall()}

    partial = [json.loads(t["detail"])["file"] for t in simulated if t["category"] == "FEED_PARTIAL"]
    assert partial
    for f in partial:
        status, ingested, reason = ledger[f]
        assert (status, ingested) == ("REJECTED", 0) and reason.startswith("manifest mismatch"), (f, reason)

    without_manifest = [json.loads(t["detail"])["file"] for t in simulated if t["category"] == "FILE_WITHOUT_MANIFEST"]
    assert without_manifest and not set(without_manifest) & set(ledger)

    redelivered = {json.loads(t["detail"])["file"]: json.loads(t["detail"])["first_delivered_as"]
                   for t in simulated if t["category"] == "REDELIVERED_FILE"}
    assert redelivered
    assert dict(con.execute("SELECT file, original_file FROM meta.redeliveries").fetchall()) == redelivered

    # Malformed rows the simulator injected are quarantined at the physical line it reports.
    quarantined = {(r[0], r[1]) for r in con.execute("SELECT ingest_file, ingest_line FROM raw.quarantine").fetchall()}
    injected = {(json.loads(t["detail"])["file"], row["line"])
                for t in simulated if t["rule"] == "row_parse" for row in json.loads(t["detail"])["rows"]}
    assert injected and injected <= quarantined

    # Nothing ingested twice, and everything re-runs as a no-op.
    before = con.execute("SELECT count(*) FROM raw.partner_schedule").fetchone()[0]
    for feed in contract.FEEDS:
        assert ingest.ingest_feed(con, landing, feed, "run-2", NOW).files == []
    assert con.execute("SELECT count(*) FROM raw.partner_schedule").fetchone()[0] == before
    assert set(con.execute("SELECT DISTINCT encoding FROM meta.ingested_files WHERE feed = 'partner_schedule' "
                           "AND status = 'INGESTED'").fetchall()) == {("gb18030",), ("utf-8",), ("utf-8-sig",)}
