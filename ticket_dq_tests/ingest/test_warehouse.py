"""The warehouse connection (lib/warehouse.py): retries while another process holds the DuckDB lock,
fails clearly after its timeout, and creates the shared schema idempotently."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ticket_dq.lib import warehouse

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_connect_waits_for_a_lock_held_by_another_process_then_succeeds(isolated_env):
    path = isolated_env["warehouse"]
    with warehouse.connect(path):
        pass  # create the file and schema first
    holder = _hold_lock(path, 1.5)
    try:
        started = time.monotonic()
        with warehouse.connect(path, timeout_s=30) as con:
            waited = time.monotonic() - started
            assert con.execute("SELECT count(*) FROM meta.ingested_files").fetchone()[0] == 0
    finally:
        holder.wait(timeout=30)
    assert waited >= 0.5  # it really waited for the other process to let go


def test_connect_fails_clearly_when_the_lock_outlasts_the_timeout(isolated_env):
    path = isolated_env["warehouse"]
    with warehouse.connect(path):
        pass
    holder = _hold_lock(path, 5)
    try:
        started = time.monotonic()
        with pytest.raises(warehouse.WarehouseLocked, match="stayed locked"):
            with warehouse.connect(path, timeout_s=0.8):
                pass
        assert time.monotonic() - started < 4
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_schema_creation_is_idempotent_and_keeps_data(isolated_env):
    path = isolated_env["warehouse"]
    with warehouse.connect(path) as con:
        con.execute("INSERT INTO raw.quarantine (feed, ingest_file, reason, quarantined_at) "
                    "VALUES ('orders', 'f.csv', 'r', TIMESTAMP '2026-03-08 10:00:00')")
        warehouse.ensure_schema(con)
        warehouse.ensure_schema(con)
    with warehouse.connect(path) as con:
        assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
        assert set(warehouse.SCHEMAS) <= schemas


def test_the_next_connect_recreates_any_shared_table_view_or_schema_that_went_missing(isolated_env):
    path = isolated_env["warehouse"]
    with warehouse.connect(path) as con:
        fresh = con.execute("SELECT schema_name, table_name, sql FROM duckdb_tables() "
                            "WHERE database_name = current_database() ORDER BY ALL").fetchall()
        con.execute("INSERT INTO raw.quarantine (feed, ingest_file, reason, quarantined_at) "
                    "VALUES ('orders', 'f.csv', 'r', TIMESTAMP '2026-03-08 10:00:00')")
    # Each one alone: the connect that finds everything in place skips the statements.
    for damage in ("DROP TABLE dq.issues", "DROP VIEW audit.orders", "DROP SCHEMA cand"):
        with warehouse.connect(path, ensure=False) as con:
            con.execute(damage)
        with warehouse.connect(path) as con:
            assert con.execute("SELECT schema_name, table_name, sql FROM duckdb_tables() "
                               "WHERE database_name = current_database() ORDER BY ALL").fetchall() == fresh, damage
            assert con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'audit'").fetchone()[0] == 2
            assert "cand" in {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
            assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
