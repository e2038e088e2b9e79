"""The settled-inputs guard of dq.issues (rule 2 of ``lib/settle.py``), wired to the warehouse ledger."""

from __future__ import annotations

from ticket_dq import settings
from ticket_dq.lib import settle


def known_files(con) -> set[str]:
    """Landing files the ledger knows: ingested or rejected, and re-deliveries (no-ops)."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'meta'").fetchall()}
    parts = [f"SELECT file FROM meta.{t}" for t in ("ingested_files", "redeliveries") if t in tables]
    return {r[0] for r in con.execute(" UNION ".join(parts)).fetchall()} if parts else set()


def waiting_inputs(con) -> list[settle.Waiting]:
    return settle.unsettled(settings.landing_root(), known_files(con))


def describe(waiting: list[settle.Waiting], limit: int = 5) -> str:
    names = ", ".join(f"{w.manifest} ({w.age_s:.0f}s)" for w in waiting[:limit])
    more = f" and {len(waiting) - limit} more" if len(waiting) > limit else ""
    return f"{len(waiting)} delivery(ies) landed but not ingested yet: {names}{more}"
