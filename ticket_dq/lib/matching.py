"""Cross-source matching helpers: run the comparison SQL scripts with their knobs.

The matching itself is SQL (``ticket_dq/defs/compare/sql/*.sql``) over DuckDB; this module holds the
tolerances (overridable through ``settings.env``) and the one way scripts are executed: split into
statements, each given only the ``$named`` parameters it uses (values are bound, never spliced).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from ticket_dq import settings
from ticket_dq.lib import normalize


@dataclass(frozen=True)
class Tolerances:
    time_tol_min: int = 10  # start times within this many minutes are the same show
    max_shift_min: int = 180  # a same hall+film show further away than this is another show
    price_tol: float = 0.20  # relative difference of partner sale+fee vs platform price
    cleaning_gap_min: int = 0  # minimum gap between two shows of one hall
    integrity_lookback_h: int = 6  # duplicates / overlaps of shows older than this are not alerted
    cinema_threshold: float = 0.92  # name-match confidence needed to map a platform cinema
    volume_ratio: float = 0.5  # a snapshot below this share of the partner's baseline is a volume drop
    baseline_n: int = 24  # snapshots the baseline (median rows) looks back over
    partner_sla_min: int = 90  # partner silent longer than this is late (CONTRACT.md)
    platform_sla_min: int = 180  # platforms crawl every ~2 h
    orders_sla_min: int = 90  # order events come in hourly files; order-outcome issues wait for them

    @classmethod
    def from_env(cls) -> "Tolerances":
        """Defaults, each overridable by ``TICKET_DQ_<NAME>`` (e.g. ``TICKET_DQ_PRICE_TOL=0.3``)."""
        kw = {}
        for name, value in asdict(cls()).items():
            raw = settings.env(f"TICKET_DQ_{name.upper()}")
            if raw not in (None, ""):
                kw[name] = type(value)(raw)
        return cls(**kw)


_PARAM = re.compile(r"\$([a-z_]+)")


def split_statements(sql: str) -> list[str]:
    """Statements of a script: ``;`` at the end of a line ends one (no ``;`` inside literals at EOL)."""
    return [s.strip() for s in re.split(r";\s*\n", sql + "\n") if s.strip() and not _only_comments(s)]


def _only_comments(s: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in s.splitlines())


def run_script(con: duckdb.DuckDBPyConnection, path: Path, params: dict) -> None:
    """Execute a .sql script statement by statement, binding the ``$name`` parameters each one uses."""
    for stmt in split_statements(path.read_text(encoding="utf-8")):
        code = "\n".join(line.split("--", 1)[0] for line in stmt.splitlines())
        names = set(_PARAM.findall(code))
        missing = names - params.keys()
        if missing:
            raise KeyError(f"{path.name}: no value for {sorted(missing)}")
        con.execute(code, {k: params[k] for k in names} if names else None)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Per-connection setup every comparison needs: schemas and the normalisation macros."""
    for schema in ("map", "cur", "cand", "dq"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    normalize.install_macros(con)


def params(now, tol: Tolerances | None = None) -> dict:
    tol = tol or Tolerances.from_env()
    return {"now": now, **asdict(tol)}
