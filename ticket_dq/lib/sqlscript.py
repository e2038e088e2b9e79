"""The one way a ``.sql`` script runs: split into statements, comments dropped, and each statement
given only the ``$named`` parameters it uses (values are bound, never spliced into the text).

A script may also carry ``{name}`` placeholders for SQL fragments that are code, not data (the issue
rules of ``lib/issues.py``); they are filled in before the statements are split.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import duckdb

_PARAM = re.compile(r"\$([a-z_]+)")


def split_statements(sql: str) -> list[str]:
    """Statements of a script: ``;`` at the end of a line ends one (no ``;`` inside literals at EOL).
    Line comments are removed, so a ``$name`` or ``;`` inside a comment is not code."""
    code = "\n".join(_strip_comment(line) for line in sql.splitlines())
    return [s.strip() for s in re.split(r";\s*\n", code + "\n") if s.strip()]


def _strip_comment(line: str) -> str:
    # ``--`` inside a quoted literal is not a comment: only cut at a ``--`` outside quotes.
    quoted = False
    for i, ch in enumerate(line):
        if ch == "'":
            quoted = not quoted
        elif not quoted and line.startswith("--", i):
            return line[:i].rstrip()
    return line


def run(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object], *, name: str = "script",
        fragments: Mapping[str, str] | None = None) -> None:
    """Execute ``sql`` statement by statement, binding the ``$name`` parameters each one uses."""
    for key, code in (fragments or {}).items():
        sql = sql.replace("{" + key + "}", code)
    for stmt in split_statements(sql):
        names = set(_PARAM.findall(stmt))
        missing = names - params.keys()
        if missing:
            raise KeyError(f"{name}: no value for {sorted(missing)}")
        con.execute(stmt, {k: params[k] for k in names} if names else None)


def run_file(con: duckdb.DuckDBPyConnection, path: Path, params: Mapping[str, object], *,
             fragments: Mapping[str, str] | None = None) -> None:
    run(con, path.read_text(encoding="utf-8"), params, name=path.name, fragments=fragments)


def requirements(path: Path) -> list[str]:
    """Scripts named on a ``-- requires: a, b`` line at the top of ``path``: the TEMP tables it reads
    are made by them, on the same connection, before it runs."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        m = re.match(r"--\s*requires:\s*(.+)", line)
        if m:
            return [n.strip() for n in m.group(1).split(",") if n.strip()]
    return []
