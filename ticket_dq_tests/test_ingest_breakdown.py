"""bench/ingest_breakdown.py at a small size: every stage of a CSV and a JSON Lines file is timed over the
product's own SQL (it takes it from ticket_dq.lib.ingest and decode, so a change there must keep it
running), and the product lands the file on the fast path it takes apart. No figure is judged here."""

from __future__ import annotations

import pytest

from bench import ingest_breakdown


@pytest.mark.parametrize("case", ["partner_schedule_csv", "orders_jsonl"])
def test_every_stage_of_a_fast_path_file_is_timed(tmp_path, case):
    feed, fmt = case.rsplit("_", 1)
    r = ingest_breakdown._case(tmp_path, feed, fmt, reps=1, rows=20_000)

    assert r["rows"] == 20_000
    assert set(r["stages"]) == set(ingest_breakdown.STAGES)
    assert all(s["cpu_s"] > 0 and len(s["cpu_runs"]) == 1 for k, s in r["stages"].items()
               if k in ("floor", "product", "read", "+ lineage"))
    assert [name for name, _, _ in ingest_breakdown.increments(r)][:4] == [
        "sha256", "counts (scan - sha256)", "parts copy", "read (VARCHAR, parts)"]
    assert not list(tmp_path.iterdir())  # the generated file and the stages' databases are removed
