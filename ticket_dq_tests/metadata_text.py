"""Read Dagster metadata values the way the UI shows them, for assertions."""

from __future__ import annotations

import json

import dagster as dg


def rows(value) -> list[dict]:
    """The records of a table metadata value (what the UI renders inline)."""
    assert isinstance(value, dg.TableMetadataValue), type(value)
    return [json.loads(r) if isinstance(r, str) else dict(r.data) for r in value.records]


def text(value) -> str:
    """Every cell of a table value (or the text of any other value), space-joined."""
    if isinstance(value, dg.TableMetadataValue):
        return " ".join(str(v) for r in rows(value) for v in r.values())
    return str(value.value)
