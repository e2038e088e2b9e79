"""Run the detection scripts of ``sql/`` on one connection.

A script that reads TEMP tables made by another script says so on a ``-- requires: a, b`` line at its
top; ``run`` runs those first (each once), so no caller has to know which helpers a script needs.
Everything a step writes commits in one transaction: a run killed midway leaves the tables as they
were, never a table rewritten without the state that describes it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from ticket_dq.lib import normalize, sqlscript, warehouse
from ticket_dq.lib.detection import tolerances
from ticket_dq.lib.pause_points import pause_point

SQL = Path(__file__).parent / "sql"
SCHEMAS = ("map", "cur", "cand", "dq", "meta")


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Per-connection setup every detection step needs: schemas and the normalisation macros."""
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    normalize.install_macros(con)
    for ddl in warehouse.EVENT_HISTORY_DDL:  # closed_history.sql and the order scripts read these
        con.execute(ddl)
    sqlscript.run_file(con, path("closed_history"), {})


def path(name: str) -> Path:
    return SQL / f"{name}.sql"


def with_requirements(names: tuple[str, ...] | list[str]) -> list[str]:
    """``names`` with the scripts each requires before it, in order, each once."""
    out: list[str] = []

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in out:
            return
        if name in stack:
            raise ValueError(f"{name}.sql requires itself through {' -> '.join(stack)}")
        for need in sqlscript.requirements(path(name)):
            visit(need, stack + (name,))
        out.append(name)

    for n in names:
        visit(n, ())
    return out


def execute(con: duckdb.DuckDBPyConnection, names, params: dict) -> None:
    """Run the scripts (and what they require) in the caller's transaction."""
    for name in with_requirements(names):
        sqlscript.run_file(con, path(name), params)


def run(con: duckdb.DuckDBPyConnection, *names: str, now: datetime, tol: tolerances.Tolerances | None = None) -> None:
    """Run the named scripts in one transaction, with ``$now`` and the tolerances bound."""
    prepare(con)
    with warehouse.transaction(con):
        execute(con, names, tolerances.params(now, tol))
        pause_point(f"{'+'.join(names)}:written")
