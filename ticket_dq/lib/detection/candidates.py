"""The comparisons: each writes one issue-candidate table ``cand.<name>`` of the shape
``warehouse.CANDIDATE_COLUMNS``, which ``issue_table.build_issues`` unions.

The contract between this module and a comparison's script (``sql/<name>.sql``):
- the script leaves its findings in TEMP ``candidates_new`` (columns named as CANDIDATE_COLUMNS);
- an incremental comparison also leaves TEMP ``candidates_kept``: the rows of ``cand.<name>`` that
  still hold (not re-evaluated and not aged out). It reads ``$full_run``, ``$last_now`` and TEMP
  ``changed_inputs`` (see ``incremental``) to know what to re-evaluate.
``evaluate`` then replaces the table with kept + new rows and records the incremental state, all in
one transaction with the script itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from ticket_dq.lib import warehouse
from ticket_dq.lib.detection import incremental, outcome_rules, scripts, tolerances
from ticket_dq.lib.detection.incremental import Incremental
from ticket_dq.lib.pause_points import pause_point


@dataclass(frozen=True)
class Comparison:
    name: str  # cand.<name>, computed by sql/<name>.sql
    incremental: Incremental | None = None
    # other candidate tables the script reads (created empty if missing, so a first run can join them)
    reads: tuple[str, ...] = ()
    # for checks of order data: the time of a finding (SQL over the candidate columns). Findings before the
    # closed-history boundary are final: carried from the table as it was, since their orders may have left
    # the live tables (lib/closed_orders.py); a finding without a time is always judged.
    closed_history: str | None = None

    @property
    def table(self) -> str:
        return f"cand.{self.name}"


SHOW_TIME = "show_start_time"
SPIKE_HOUR = "TRY_CAST(json_extract_string(evidence, '$.hour') AS TIMESTAMP)"

COMPARISONS: dict[str, Comparison] = {c.name: c for c in (
    Comparison("feed_health"),
    Comparison("unmapped_entity"),
    # a new platform crawl can pair or unpair any show: full; a partner's snapshot touches its cinemas
    Comparison("schedule_discrepancy", Incremental(knobs=("time_tol_min", "max_shift_min", "price_tol"),
                                                   full_when_changed=("platform",))),
    # every finding lies within one partner's schedule
    Comparison("schedule_integrity", Incremental(knobs=("integrity_lookback_h", "cleaning_gap_min"))),
    # an order is judged from its partner's schedule, the crawls, its own state and the films
    Comparison("order_show", Incremental(knobs=("time_tol_min",), full_when_changed=("platform",),
                                         read_whole=("cur.order_state", "ref.films"))),
    Comparison("seat_double_sold", closed_history=SHOW_TIME),
    Comparison("pickup_code", closed_history=SHOW_TIME),
    # order outcomes (sql/order_outcome.sql keeps cur.order_outcome, incremental on new orders files)
    Comparison("order_not_issued", closed_history=SHOW_TIME),
    # a spike's show is looked up in the schedule comparisons for a schedule issue of the same show
    Comparison("order_outcome_spike", closed_history=SPIKE_HOUR,
               reads=("cand.schedule_discrepancy", "cand.schedule_integrity", "cand.order_show")),
)}


def _cast_columns() -> str:
    return ", ".join(f"CAST({n} AS {t}) AS {n}" for n, t in warehouse.CANDIDATE_COLUMNS)


def ensure_candidate_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create ``table`` in the candidate shape; one left in another shape (by older code) is re-created
    (in the caller's transaction, so it is never seen missing)."""
    have = [name for name, _, _ in warehouse.table_columns(con, table)]
    if have and have != [n for n, _ in warehouse.CANDIDATE_COLUMNS]:
        con.execute(f"DROP TABLE {table}")
    con.execute(warehouse.candidate_table_ddl(table))


def write_candidates(con: duckdb.DuckDBPyConnection, table: str, *sources: str) -> int:
    """Replace ``table`` with the rows of the TEMP ``sources``, cast to the candidate shape (in the
    caller's transaction). Returns the rows written."""
    ensure_candidate_table(con, table)
    con.execute(f"DELETE FROM {table}")
    for src in sources:
        con.execute(f"INSERT INTO {table} SELECT {_cast_columns()} FROM {src}")
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def carry_closed_history(con: duckdb.DuckDBPyConnection, table: str, at: str) -> str:
    """Split at the closed-history boundary: findings of ``candidates_new`` before it are dropped, the
    table's own rows before it are kept (TEMP ``candidates_closed``, returned)."""
    con.execute(f"DELETE FROM candidates_new WHERE {at} < closed_before()")
    con.execute(f"CREATE OR REPLACE TEMP TABLE candidates_closed AS SELECT * FROM {table} WHERE {at} < closed_before()")
    return "candidates_closed"


def evaluate(con: duckdb.DuckDBPyConnection, name: str, now: datetime,
             tol: tolerances.Tolerances | None = None, rules: outcome_rules.OutcomeRules | None = None
             ) -> tuple[int, incremental.Scope | None]:
    """Run comparison ``name`` into ``cand.<name>``: script, candidates and incremental state commit
    together or not at all. Returns the table's rows and, for an incremental one, its scope."""
    comp = COMPARISONS[name]
    params = tolerances.params(now, tol, rules)
    scripts.prepare(con)
    with warehouse.transaction(con):
        ensure_candidate_table(con, comp.table)
        for table in comp.reads:
            con.execute(warehouse.candidate_table_ddl(table))
        scope = None
        if comp.incremental:
            scope = incremental.decide(con, comp.table, comp.incremental, params)
            params = {**params, "full_run": scope.full, "last_now": scope.last_now}
        scripts.execute(con, [name], params)
        keep = scope is not None and not scope.full
        sources = (["candidates_kept"] if keep else []) + ["candidates_new"]
        if comp.closed_history:
            sources += [carry_closed_history(con, comp.table, comp.closed_history)]
        n = write_candidates(con, comp.table, *sources)
        if scope is not None:
            incremental.save(con, comp.table, scope)
        pause_point(f"{comp.table}:written")
    pause_point(f"{comp.table}:committed")
    return n, scope


def candidate_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table in schema cand that has all candidate columns (comparisons, validation, and any other)."""
    need = [n for n, _ in warehouse.CANDIDATE_COLUMNS]
    rows = con.execute(
        """SELECT table_name FROM information_schema.columns WHERE table_schema = 'cand' AND column_name IN ?
           GROUP BY table_name HAVING count(DISTINCT column_name) = ? ORDER BY table_name""",
        [need, len(need)]).fetchall()
    return [r[0] for r in rows]


def union_sql(tables: list[str]) -> str:
    """One SELECT over the candidate tables, in the candidate shape (empty, typed, when there are none)."""
    cols = _cast_columns()
    if tables:
        return " UNION ALL ".join(f'SELECT {cols} FROM cand."{t}"' for t in tables)
    nulls = ", ".join(f"NULL AS {n}" for n, _ in warehouse.CANDIDATE_COLUMNS)
    return f"SELECT {cols} FROM (SELECT {nulls}) WHERE false"


def summary(con: duckdb.DuckDBPyConnection, table: str) -> dict:
    """What a candidate table holds, for run metadata: counts by category, rule and source, and a sample."""
    return {
        "by_category": con.execute(
            f"SELECT category, rule, source, count(*) FROM {table} GROUP BY ALL ORDER BY ALL").fetchall(),
        "sample": con.execute(
            f"SELECT category, source, business_key, reason FROM {table} ORDER BY category, business_key LIMIT 10"
        ).fetchall(),
    }
