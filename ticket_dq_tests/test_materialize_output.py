"""`ticket-dq materialize` is quiet by default: the summary and the warnings that matter (rejected
files and why), no Dagster DEBUG event stream; `--verbose` brings the full event log back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ticket_dq_tests.ingest.landing_helpers import csv_bytes, deliver, sample_row

REPO = Path(__file__).resolve().parent.parent
DEBUG_MARK = " - DEBUG - "


def _landing(root: Path) -> None:
    good = [sample_row("complaints", complaint_id=f"C{i}") for i in range(3)]
    deliver(root, "complaints", "internal", "2026-03-08", "complaints_ok", csv_bytes(good), rows=3)
    # The manifest promises 5 rows, the file has 2: a partial delivery, rejected with the reason.
    deliver(root, "complaints", "internal", "2026-03-08", "complaints_cut", csv_bytes(good[:2]), rows=5)


def _materialize(tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    landing, home = tmp / "landing", tmp / "home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    _landing(landing)
    env = {**os.environ, "TICKET_DQ_LANDING": str(landing), "TICKET_DQ_WAREHOUSE": str(tmp / "wh" / "t.duckdb"),
           "DAGSTER_HOME": str(home), "TICKET_DQ_NOW": "2026-03-08 12:00:00"}
    exe = Path(sys.executable).with_name("ticket-dq")
    return subprocess.run([str(exe), "materialize", "--select", "key:raw/complaints", *extra], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_materialize_prints_summary_and_rejected_file_warning_without_debug_events(tmp_path):
    proc = _materialize(tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert DEBUG_MARK not in proc.stderr and DEBUG_MARK not in proc.stdout
    assert "warnings (1; --verbose shows the full event log):" in proc.stdout
    warning = next(line for line in proc.stdout.splitlines() if "complaints_cut.csv" in line)
    assert "raw__complaints" in warning and "rejected" in warning and "5" in warning
    assert "complaints_ok.csv" not in proc.stdout  # a good file is no warning
    assert "Files delivered (meta.ingested_files)" in proc.stdout and "REJECTED   files=1" in proc.stdout
    assert len(proc.stderr.splitlines()) < 5, proc.stderr


def test_materialize_verbose_streams_dagster_debug_events(tmp_path):
    proc = _materialize(tmp_path, "--verbose", "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count(DEBUG_MARK) > 10
    assert "complaints_cut.csv rejected" in proc.stderr  # the warning is in the event stream itself
    assert "Files delivered" not in proc.stdout  # --quiet still drops the summary
