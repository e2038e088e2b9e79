"""A process killed with SIGKILL while a large file lands leaves that file's parts (as large as the file)
in its temp directory; the next landing removes them, and never the parts of a process that still runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from ticket_dq.lib import file_parts
from ticket_dq_tests.ingest.landing_helpers import deliver, jsonl_bytes, sample_row

CRAWL = "competitor_schedule"
# One landing of the crawl feed in a real process; the file (small here) is read as two parts, as a
# national one is.
CHILD = """
import sys
from datetime import datetime
from ticket_dq.lib import file_parts, ingest, warehouse
file_parts.part_count = lambda size, threads: 2
with warehouse.connect(sys.argv[1]) as con:
    files = ingest.ingest_feed(con, sys.argv[2], "competitor_schedule", "run", datetime(2026, 3, 8, 12)).files
print(" ".join(f"{f.status}:{f.rows_ingested}" for f in files))
"""


def _child(tmp: Path, landing: Path, warehouse: Path, **env) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_DQ_")}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(warehouse), str(landing)],
                            env={**base, "TMPDIR": str(tmp), **env}, stdout=subprocess.PIPE, text=True)


def _parts_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob(f"{file_parts.TEMP_PREFIX}*"))


def test_parts_left_by_a_killed_landing_are_removed_by_the_next_and_a_live_process_keeps_its_own(tmp_path):
    tmp, landing, warehouse = tmp_path / "tmp", tmp_path / "landing", tmp_path / "wh" / "ticket_dq.duckdb"
    tmp.mkdir()
    rows = [sample_row(CRAWL, platform_show_id=f"P{i}") for i in range(6)]
    deliver(landing, CRAWL, "MAOYAN", "2026-03-08", "c1", jsonl_bytes(rows), len(rows))
    marker = tmp_path / "paused"

    killed = _child(tmp, landing, warehouse, TICKET_DQ_PAUSE_AT="ingest:parts_cut", TICKET_DQ_PAUSE_FILE=str(marker))
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert killed.poll() is None, "the landing ended before its parts were cut"
        assert time.monotonic() < deadline, "the landing never reached its parts"
        time.sleep(0.1)
    left = _parts_dirs(tmp)
    assert [d.name.startswith(f"{file_parts.TEMP_PREFIX}{killed.pid}_") for d in left] == [True]
    assert sorted(p.name for p in left[0].iterdir()) == ["part0.jsonl", "part1.jsonl"]
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert _parts_dirs(tmp) == left  # nothing cleans up after SIGKILL

    live = tmp / f"{file_parts.TEMP_PREFIX}{os.getpid()}_live"  # this test process runs: its parts stay
    live.mkdir()
    second = _child(tmp, landing, warehouse)
    out, _ = second.communicate(timeout=120)

    assert second.returncode == 0 and out.split() == [f"INGESTED:{len(rows)}"]
    assert _parts_dirs(tmp) == [live]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT status, rows_ingested FROM meta.ingested_files").fetchall() == [("INGESTED", 6)]
        assert con.execute("SELECT count(*) FROM raw.competitor_schedule").fetchone()[0] == 6
