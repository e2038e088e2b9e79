"""Markdown tables for run metadata (the Dagster UI renders them)."""

from __future__ import annotations

from typing import Iterable, Sequence


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[object]], *, limit: int | None = None,
          empty: str | None = None, numeric: Sequence[int] = ()) -> str:
    """A markdown table; with ``limit``, rows beyond it are summarised in one last line; ``empty`` is
    the text shown instead of a table without rows; columns numbered in ``numeric`` align right."""
    rows = list(rows)
    if not rows and empty is not None:
        return empty
    shown = rows if limit is None else rows[:limit]
    rule = "".join(" ---: |" if i in numeric else " --- |" for i in range(len(header)))
    lines = ["| " + " | ".join(header) + " |", "|" + rule]
    lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in shown]
    if limit is not None and len(rows) > limit:
        lines.append("| ... | " + f"{len(rows) - limit} more" + " |" * (len(header) - 1))
    return "\n".join(lines)
