"""A BI reader in another process, opening the export in a loop while it is rewritten, never fails
and never sees a partial file."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from ticket_dq.lib import export, warehouse

READER = r"""
import json, sys, time
from pathlib import Path
import duckdb, pyarrow.parquet as pq
out, stop, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
counts, errors, reads = {}, [], 0
# The documented reader recipes (docs/evaluation.md): DuckDB resolves the current immutable version
# through _export.json (read_parquet opens a path twice per query); pyarrow opens the stable name once.
con = duckdb.connect()
(stop.parent / ("ready-" + mode)).touch()  # imports done: the writer starts its rewrites now
while not stop.exists():
    try:
        if mode == "duckdb":
            manifest = json.loads((out / "_export.json").read_text(encoding="utf-8"))
            version = out / manifest["tables"]["dq.metrics_daily"]["version"]
            n = con.execute("SELECT count(*), count(DISTINCT batch) FROM read_parquet(?)", [str(version)]).fetchall()[0]
        else:
            with open(out / "metrics_daily.parquet", "rb") as fh:
                t = pq.read_table(fh)
            n = (t.num_rows, len(set(t.column("batch").to_pylist())))
        counts[str(n)] = counts.get(str(n), 0) + 1
        reads += 1
    except FileNotFoundError:
        time.sleep(0.001)
    except Exception as exc:
        errors.append(repr(exc)[:300])
print(json.dumps({"reads": reads, "counts": counts, "errors": errors[:5], "n_errors": len(errors)}))
"""


@pytest.mark.parametrize("mode", ["duckdb", "pyarrow"])
def test_reader_process_never_sees_a_partial_export(isolated_env, tmp_path, mode):
    out = tmp_path / "export"
    stop = tmp_path / "stop"
    sizes = (40_000, 90_000)
    with warehouse.connect(isolated_env["warehouse"]) as con:
        con.execute("CREATE TABLE dq.metrics_daily (batch INTEGER, metric_date DATE, payload VARCHAR)")
        export.export_tables(con, out)  # the file exists before the reader starts
        reader = subprocess.Popen([sys.executable, "-c", READER, str(out), str(stop), mode],
                                  stdout=subprocess.PIPE, text=True)
        try:
            ready = tmp_path / f"ready-{mode}"
            wait_until = time.monotonic() + 60  # a loaded machine can take seconds to import pyarrow
            while not ready.exists() and time.monotonic() < wait_until and reader.poll() is None:
                time.sleep(0.05)
            assert ready.exists(), "reader process did not start"
            rewrites = 0
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                n = sizes[rewrites % 2]
                con.execute("DELETE FROM dq.metrics_daily")
                con.execute("INSERT INTO dq.metrics_daily SELECT $b, DATE '2026-03-08' + (i % 30)::INTEGER, "
                            "md5(i::VARCHAR) FROM range($n) t(i)", {"b": rewrites, "n": n})
                export.export_tables(con, out)
                rewrites += 1
        finally:
            stop.touch()
            stdout, _ = reader.communicate(timeout=60)
    result = json.loads(stdout)
    assert result["n_errors"] == 0, result["errors"]
    assert rewrites >= 5 and result["reads"] >= 20
    # every read saw one whole batch: either the empty first export or a complete rewrite
    assert set(result["counts"]) <= {"(0, 0)", f"({sizes[0]}, 1)", f"({sizes[1]}, 1)"}, result["counts"]
    assert len(result["counts"]) >= 2
    assert not list(out.glob(".*.tmp")) and not list(out.glob("versions/.*.tmp"))
    # the stable name and the manifest's version are the same bytes
    assert (out / "metrics_daily.parquet").samefile(export.current_file(out, "metrics_daily.parquet"))
