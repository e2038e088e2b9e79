"""The legal variations of one delivered file's shape (CONTRACT.md section 1), resolved before parsing.

- Format: ``<stem>.<csv|jsonl>`` holds for every feed, so the file's own extension says how to read
  it, whatever the feed's usual format.
- Money: "in integer fen unless the column name ends in ``_yuan`` (decimal string)", on every feed and
  for every money column. A file may name each money column ``<stem>_fen`` or ``<stem>_yuan``; the
  raw table keeps ``<stem>_fen`` BIGINT either way (``contract.Feed.raw_column``). A file that names
  the same column both ways is ambiguous and is rejected with that reason.

``as_delivered`` gives the ``contract.Feed`` of one file: same raw table, the file's format, each money
column under the name and unit the file uses. Ingestion parses, stages and types the file with it.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
from collections.abc import Iterable
from pathlib import Path

from ticket_dq.lib import contract

FORMATS = ("csv", "jsonl")
MONEY_UNITS = {"fen": "_fen", "yuan": "_yuan"}  # logical type -> column name suffix


class AmbiguousMoney(ValueError):
    """A file names one money column in both units: which one holds is unknowable, so it is rejected."""


def file_format(path: Path | str) -> str | None:
    """``csv`` / ``jsonl`` from the file name, None for anything else."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else None


def money_stem(name: str, typ: str) -> str | None:
    """``list_price`` for the money column ``list_price_fen`` (or ``price`` for ``price_yuan``)."""
    suffix = MONEY_UNITS.get(typ)
    return name[: -len(suffix)] if suffix and name.endswith(suffix) else None


def as_delivered(feed: contract.Feed, fmt: str, names: Iterable[str] | None = None) -> contract.Feed:
    """``feed`` as one file delivers it: format ``fmt``; each money column in the unit ``names`` (the
    file's header or JSON keys) uses, the contract's own unit when the file names neither (the column
    is then reported missing under its contract name). Raises ``AmbiguousMoney``."""
    present = set(names or ())
    columns, both = [], []
    for name, typ in feed.columns:
        stem = money_stem(name, typ)
        if stem is None:
            columns.append((name, typ))
            continue
        named = [(stem + suffix, unit) for unit, suffix in MONEY_UNITS.items() if stem + suffix in present]
        if len(named) > 1:
            both.append(stem)
        columns.append(named[0] if len(named) == 1 else (name, typ))
    if both:
        raise AmbiguousMoney("money column(s) delivered both in fen and in yuan: "
                             + ", ".join(f"{s}_fen and {s}_yuan" for s in both))
    if fmt == feed.fmt and tuple(columns) == feed.columns:
        return feed
    return dataclasses.replace(feed, fmt=fmt, columns=tuple(columns))


def csv_header(data: bytes) -> list[str]:
    """Column names of a CSV file's header (first non-blank line), in any of the contract's
    encodings; names are ASCII, so an undecodable byte elsewhere in the line does not matter."""
    body = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    body = body.lstrip(b"\r\n")
    end = body.find(b"\n")
    line = body[: end if end >= 0 else len(body)]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("gb18030", errors="replace")
    return [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
