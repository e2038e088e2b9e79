"""Which part of a comparison must be re-evaluated: all of it, or only what new inputs touch.

One keyed table, ``meta.incremental_state``, remembers for each incremental candidate table what its
last evaluation read: the clock, the tolerances, the current partner and platform files, and a
fingerprint of the other tables it reads whole. ``decide`` compares that with what there is now:

- full evaluation when there is no earlier one, the clock went back, a tolerance changed, the
  fingerprint changed, or a feed the comparison spans as a whole (``full_when_changed``) has a new
  current file;
- otherwise incremental: the TEMP table ``changed_inputs (feed, source, file)`` lists the current
  files that are new or gone since then, and ``$last_now`` is the clock of that evaluation; the
  comparison's script re-evaluates what they touch and keeps the rest.

``save`` records the new state; the caller writes it in the same transaction as the candidates, so
the state can never say "up to date" over a table that was not written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

STATE_TABLE = "meta.incremental_state"
STATE_DDL = f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
  target VARCHAR PRIMARY KEY,      -- the derived table, e.g. cand.order_show
  evaluated_now TIMESTAMP NOT NULL, -- the rules' clock ($now) of its last evaluation
  knobs JSON NOT NULL,             -- the tolerances that evaluation used
  fingerprint VARCHAR NOT NULL,    -- row count and hash of each table it reads whole
  inputs JSON NOT NULL             -- the current files it read: [[feed, source, file], ...]
)"""
# The current file of every partner and platform (written by partner_current / competitor_current).
CURRENT_FILES = (("partner", "cur.partner_current_file"), ("platform", "cur.competitor_current_file"))


@dataclass(frozen=True)
class Incremental:
    """How a candidate table may be evaluated in part."""
    knobs: tuple[str, ...]  # tolerances the rules read: a change means a full evaluation
    full_when_changed: tuple[str, ...] = ()  # feeds ('partner', 'platform') whose new file means a full one
    read_whole: tuple[str, ...] = ()  # other tables the rules read: any change means a full one


@dataclass(frozen=True)
class Scope:
    full: bool
    reason: str  # why a full evaluation, or what changed
    now: datetime
    last_now: datetime  # clock of the previous evaluation (= now for a full one)
    knobs: dict = field(default_factory=dict)
    fingerprint: str = ""
    inputs: tuple[tuple[str, str, str], ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()

    def as_metadata(self) -> dict:
        return {"full": self.full, "reason": self.reason,
                "changed_inputs": [list(c) for c in self.changed]}


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, name]).fetchone()[0] > 0


def current_inputs(con: duckdb.DuckDBPyConnection) -> tuple[tuple[str, str, str], ...]:
    rows: list[tuple[str, str, str]] = []
    for feed, table in CURRENT_FILES:
        if _exists(con, table):
            rows += [(feed, s, f) for s, f in con.execute(f"SELECT source, file FROM {table}").fetchall()]
    return tuple(sorted(rows))


def fingerprint(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> str:
    parts = []
    for t in tables:
        if not _exists(con, t):
            parts.append(f"{t}:absent")
            continue
        n, h = con.execute(f"SELECT count(*), coalesce(bit_xor(hash(x)), 0) FROM {t} x").fetchone()
        parts.append(f"{t}:{n}:{h}")
    return "|".join(parts)


def decide(con: duckdb.DuckDBPyConnection, target: str, spec: Incremental, params: dict) -> Scope:
    """Full or incremental for ``target`` now; creates TEMP ``changed_inputs`` for the rules to read."""
    con.execute(STATE_DDL)
    now = params["now"]
    knobs = {k: params[k] for k in spec.knobs}
    fp = fingerprint(con, spec.read_whole)
    inputs = current_inputs(con)
    row = con.execute(f"SELECT evaluated_now, knobs, fingerprint, inputs FROM {STATE_TABLE} WHERE target = ?",
                      [target]).fetchone()
    prev_inputs = {tuple(x) for x in json.loads(row[3])} if row else set()
    changed = tuple(sorted(set(inputs) ^ prev_inputs))
    if row is None:
        reason = "no earlier evaluation"
    elif row[0] > now:
        reason = f"the clock went back (last evaluated at {row[0]})"
    elif json.loads(row[1]) != knobs:
        reason = "tolerances changed"
    elif row[2] != fp:
        reason = f"{', '.join(spec.read_whole)} changed"
    elif any(feed in spec.full_when_changed for feed, _, _ in changed):
        reason = "a new " + " / ".join(sorted({f for f, _, _ in changed if f in spec.full_when_changed})) + " file"
    else:
        reason = None
    con.execute("CREATE OR REPLACE TEMP TABLE changed_inputs (feed VARCHAR, source VARCHAR, file VARCHAR)")
    if changed:
        con.executemany("INSERT INTO changed_inputs VALUES (?, ?, ?)", [list(c) for c in changed])
    full = reason is not None
    return Scope(full=full, reason=reason or f"{len(changed)} input file(s) changed", now=now,
                 last_now=now if full else row[0], knobs=knobs, fingerprint=fp, inputs=inputs, changed=changed)


def save(con: duckdb.DuckDBPyConnection, target: str, scope: Scope) -> None:
    """Record what ``target`` was evaluated from (in the caller's transaction)."""
    con.execute(f"DELETE FROM {STATE_TABLE} WHERE target = ?", [target])
    con.execute(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, ?)",
                [target, scope.now, json.dumps(scope.knobs, sort_keys=True), scope.fingerprint,
                 json.dumps([list(i) for i in scope.inputs])])


def forget(con: duckdb.DuckDBPyConnection, target: str | None = None) -> None:
    """Drop the remembered state (of one table, or all): the next evaluation is a full one."""
    con.execute(STATE_DDL)
    if target is None:
        con.execute(f"DELETE FROM {STATE_TABLE}")
    else:
        con.execute(f"DELETE FROM {STATE_TABLE} WHERE target = ?", [target])
