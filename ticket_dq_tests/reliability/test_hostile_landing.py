"""A landing area with a poisoned orders file, next to the same landing area without it, both through
real `ticket-dq materialize` processes: the bad rows cost only themselves (one VALIDATION_FAILED issue,
every other issue as in the clean run), and no output anywhere holds an unmasked mobile number."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import duckdb
import pytest

from ticket_dq.lib.masking import find_mobiles
from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver
from ticket_dq_tests.reliability.procs import TICKET_DQ, instance_env, materialize, simulate

MOBILE_IN_TYPED_COLUMN = "13900000001"
DAY = "2026-03-08"


def _poison(landing: Path) -> None:
    """One more orders file: three orders with an 11-digit cinema code, one with a mobile number in
    ticket_count (the column after a missing comma would hold it)."""
    source_file = sorted((landing / "orders" / "internal" / DAY).glob("*.csv"))[0]
    rows = list(csv.DictReader(io.StringIO(source_file.read_text(encoding="utf-8"))))[:4]
    for i, row in enumerate(rows):
        row["order_id"] = f"TKPOISON{i:09d}"
        row["cinema_code"] = row["cinema_code"] + "123" if i < 3 else row["cinema_code"]
    rows[3]["ticket_count"] = MOBILE_IN_TYPED_COLUMN
    deliver(landing, "orders", "internal", DAY, "orders_20260308_poisoned", csv_bytes(rows), len(rows))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    clean = tmp / "clean_landing"
    simulate(clean)
    hostile = tmp / "hostile_landing"
    shutil.copytree(clean, hostile)
    _poison(hostile)
    out = {}
    for name, landing in (("clean", clean), ("hostile", hostile)):
        env = instance_env(tmp, landing, name)
        done = materialize(env)
        assert done.returncode == 0, done.stderr[-3000:]
        out[name] = {"env": env, "tmp": tmp / name, "logs": [done.stdout, done.stderr]}
    return out


def _issues(env) -> list[tuple]:
    with duckdb.connect(env["TICKET_DQ_WAREHOUSE"], read_only=True) as con:
        return con.execute("SELECT issue_id, category, rule, source, business_date, status, reason, "
                           "CAST(evidence AS VARCHAR) FROM dq.issues ORDER BY issue_id").fetchall()


def test_a_poisoned_orders_file_holds_back_only_its_bad_rows_and_they_become_one_issue(runs):
    clean, hostile = _issues(runs["clean"]["env"]), _issues(runs["hostile"]["env"])
    parse = [i for i in hostile if i[1] == "VALIDATION_FAILED" and i[2] == "row_parse" and i[3] == "internal"]
    assert len(parse) == 1, parse
    issue = parse[0]
    evidence = json.loads(issue[7])
    reasons = " | ".join(s["reason"] for s in evidence["sample_keys"] if "poisoned" in s["file"])
    assert reasons.count("is not a national code of 8 digits") == 3, reasons
    assert "cannot parse \"139****0001\" as an integer" in reasons
    # Every other issue, of every feed, is what the clean run gives.
    assert [i for i in hostile if i[0] != issue[0]] == [i for i in clean if i[0] != issue[0]]
    assert {i[1] for i in clean} - {"VALIDATION_FAILED"}, "the clean run should have found something"

    with duckdb.connect(runs["hostile"]["env"]["TICKET_DQ_WAREHOUSE"], read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.orders WHERE order_id LIKE 'TKPOISON%'").fetchone()[0] == 0
        assert con.execute("SELECT rows_ingested, rows_quarantined FROM meta.ingested_files "
                           "WHERE file LIKE '%poisoned%'").fetchone() == (0, 4)
        failed_keys = con.execute("SELECT count(*) FROM dq.validation_results WHERE asset = 'raw.orders' "
                                  "AND severity = 'ERROR' AND NOT success").fetchone()[0]
    assert failed_keys == 0  # nothing blocks: the bad rows never reached raw.orders

    again = materialize(runs["hostile"]["env"])  # the next run does not fail the same way
    assert again.returncode == 0, again.stderr[-3000:]
    assert _issues(runs["hostile"]["env"]) == hostile


def _texts_of_duckdb(path: Path, skip_raw: bool) -> str:
    parts = []
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        for schema, table in tables:
            if skip_raw and schema == "raw":
                continue
            cols = con.execute(f'SELECT column_name FROM (DESCRIBE "{schema}"."{table}")').fetchall()
            casts = ", ".join(f'CAST("{c}" AS VARCHAR)' for (c,) in cols)
            parts += [f"{schema}.{table}: {r}" for r in con.execute(f'SELECT {casts} FROM "{schema}"."{table}"').fetchall()]
    return "\n".join(parts)


def _texts_of_sqlite(path: Path) -> str:
    parts = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            parts += [f"{path.name}.{table}: {r}" for r in con.execute(f'SELECT * FROM "{table}"').fetchall()]
    finally:
        con.close()
    return "\n".join(parts)


def _texts_of_parquet(path: Path) -> str:
    with duckdb.connect() as con:
        return "\n".join(map(str, con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()))


def test_no_output_anywhere_holds_an_unmasked_mobile_number(runs):
    env, tmp = runs["hostile"]["env"], runs["hostile"]["tmp"]
    report = subprocess.run([TICKET_DQ, "report"], env=env, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    warehouse = Path(env["TICKET_DQ_WAREHOUSE"])
    # The raw layer does hold mobiles (that is where personal data lives): the scan must be able to see them.
    assert find_mobiles(_texts_of_duckdb(warehouse, skip_raw=False))

    found: dict[str, list[str]] = {}
    scanned = {"warehouse tables other than raw.*": _texts_of_duckdb(warehouse, skip_raw=True),
               "run output": "\n".join(runs["hostile"]["logs"] + [report.stdout, report.stderr])}
    files = [p for p in tmp.rglob("*") if p.is_file() and p != warehouse and not p.name.endswith(".wal")]
    kinds = set()
    for p in files:
        if p.suffix == ".parquet":
            text, kind = _texts_of_parquet(p), "export parquet"
        elif p.suffix == ".db":
            text, kind = _texts_of_sqlite(p), "Dagster sqlite"
        else:
            text, kind = p.read_bytes().decode("utf-8", errors="replace"), p.suffix or p.name
        scanned[str(p.relative_to(tmp))] = text
        kinds.add(kind)
    for name, text in scanned.items():
        if hits := find_mobiles(text):
            found[name] = sorted(set(hits))[:5]
    assert not found, found
    # Everything the issue names was there to scan.
    assert {"export parquet", "Dagster sqlite", ".html", ".json", ".eml"} <= kinds or {
        "export parquet", "Dagster sqlite", ".html", ".json"} <= kinds, kinds
    assert any("docs" in name for name in scanned) and any("outbox" in name for name in scanned)
    assert any("reports" in name for name in scanned)
