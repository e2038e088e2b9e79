"""A flash-sale day (bench/record_day.py's generator, tiny scale) through the real product path:
`ticket-dq materialize` of the order feeds and the order checks in a child process, under a DuckDB memory
limit (TICKET_DQ_DUCKDB_MEMORY_LIMIT) far below what DuckDB would otherwise take. Every injected order fault
is found and nothing else; every delivered row is accounted for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench import record_day

ROOT = Path(__file__).resolve().parent.parent


def test_flash_sale_day_under_a_small_duckdb_memory_limit_finds_every_order_fault_and_loses_nothing(tmp_path):
    res = record_day.run_day("record", 0.01, tmp_path, timeout=600, keep=True, memory_limit="100MB")
    log = (tmp_path / "record" / "materialize.log").read_text(errors="replace")
    assert res["materialize"]["succeeded"], log[-3000:]
    v = res["verify"]
    assert v["nothing_lost"], v["ledger"]
    by_rule = {(f["category"], f["rule"]): f for f in v["faults"]}
    # the generator injected every kind; each one found exactly, nothing extra in any order category
    for key in [("ORDER_NOT_ISSUED", "not_issued"), ("ORDER_NOT_ISSUED", "failed_not_refunded"),
                ("ORDER_NOT_ISSUED", "code_not_delivered"), ("SEAT_DOUBLE_SOLD", "double_sold"),
                ("PICKUP_CODE_DUPLICATE", "duplicate"), ("PICKUP_CODE_INVALID", "unknown_order"),
                ("PICKUP_CODE_INVALID", "seat_mismatch"), ("ORDER_SHOW_CANCELLED", "cancel"),
                ("ORDER_OUTCOME_SPIKE", "issue_failure")]:
        assert by_rule[key]["injected"] > 0, key
    assert [f for f in v["faults"] if f["missed"] or f["extra"]] == []
    # most orders went through one channel partner, in bulk code pushes (one allocation_ts for many codes)
    import duckdb

    con = duckdb.connect(str(tmp_path / "record" / "wh" / "ticket_dq.duckdb"), read_only=True)
    try:
        taobao, orders = con.execute("SELECT count(DISTINCT order_id) FILTER (WHERE channel_code = 'TAOBAO'), "
                                     "count(DISTINCT order_id) FROM raw.orders").fetchone()
        biggest_push = con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM raw.pickup_codes "
                                   "WHERE status = 'ALLOCATED' GROUP BY channel_partner, allocation_ts)").fetchone()[0]
    finally:
        con.close()
    assert taobao > orders / 2
    assert biggest_push > 50


def test_a_malformed_duckdb_memory_limit_fails_the_run_with_the_variable_named(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_DQ_")}
    env.update(TICKET_DQ_LANDING=str(tmp_path / "landing"), TICKET_DQ_WAREHOUSE=str(tmp_path / "wh" / "w.duckdb"),
               TICKET_DQ_DUCKDB_MEMORY_LIMIT="lots", DAGSTER_HOME="")
    (tmp_path / "landing").mkdir(exist_ok=True)
    p = subprocess.run([str(Path(sys.executable).parent / "ticket-dq"), "materialize", "--select", 'key:"raw/orders"'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode != 0
    assert "TICKET_DQ_DUCKDB_MEMORY_LIMIT='lots'" in p.stdout + p.stderr
