"""Real `ticket-dq` processes on a temp instance: the repo's dagster.yaml, own landing and warehouse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
TICKET_DQ = str(Path(sys.executable).with_name("ticket-dq"))


def instance_env(tmp: Path, landing: Path, name: str) -> dict:
    """Environment of one installation: DAGSTER_HOME with the repo's dagster.yaml (the duckdb pool of 1)."""
    home = tmp / name / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKET_DQ_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), TICKET_DQ_LANDING=str(landing),
               TICKET_DQ_WAREHOUSE=str(tmp / name / "warehouse" / "ticket_dq.duckdb"),
               TICKET_DQ_OUTBOX=str(tmp / name / "outbox"))
    return env


def simulate(landing: Path) -> None:
    subprocess.run([TICKET_DQ, "simulate", "--out", str(landing), "--cinemas", "6", "--days", "1",
                    "--snapshots-per-day", "2", "--crawls-per-day", "1"], check=True, capture_output=True)


def materialize(env: dict, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([TICKET_DQ, "materialize", "--demo-clock", "--quiet", *extra], env=env,
                          capture_output=True, text=True, timeout=timeout)


def popen_materialize(env: dict, log: Path) -> subprocess.Popen:
    """A materialize in the background, its output in ``log`` (a file: a pipe nobody reads would
    stall the child once full)."""
    with open(log, "w") as fh:
        return subprocess.Popen([TICKET_DQ, "materialize", "--demo-clock", "--quiet"], env=env,
                                stdout=fh, stderr=subprocess.STDOUT)


# What a run leaves behind, without run ids and wall-clock stamps.
TABLE_FINGERPRINT = {
    "meta.ingested_files": "SELECT file, status, rows_manifest, rows_ingested, rows_quarantined, reason",
    "raw.quarantine": "SELECT feed, source, ingest_file, ingest_line, reason",
    "dq.issues": "SELECT issue_id, category, rule, severity, team, status, source, cinema_code, business_date, "
                 "order_id, affected_orders, reason, evidence",
    "dq.notifications": "SELECT issue_id, channel, recipient, team, status",
    "dq.metrics_daily": "SELECT *",
}


def warehouse_tables(env: dict) -> dict[str, list]:
    with duckdb.connect(env["TICKET_DQ_WAREHOUSE"], read_only=True) as con:
        out = {t: sorted(map(repr, con.execute(f"{sel} FROM {t}").fetchall())) for t, sel in TABLE_FINGERPRINT.items()}
        for (t,) in con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                                "WHERE schema_name = 'raw'").fetchall():
            out[f"count {t}"] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
    return out
