"""The one mask for personal data in text that leaves the raw layer: mainland mobile numbers.

``mask`` is the function; everything else here applies it somewhere: to JSON-like values
(``mask_value``), to text columns of a DuckDB table (``mask_columns``, the same Python function
registered as a SQL function, run only on rows whose text holds a candidate number), and to files
written by other libraries (``mask_files``: Great Expectations' Data Docs). Raw tables keep the data
as delivered; every reason, evidence, sample, page, export and log line derived from them is masked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import duckdb
import duckdb.sqltypes

# Any run of exactly 11 digits starting with 1 (mainland mobile), not inside a longer digit run.
MOBILE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
# Hashes and run ids (sha256 of files, hashed user ids, UUIDs) are not personal data and must stay
# intact; their digit runs can look like a mobile, so they are matched first and kept as they are.
_HEX_TOKEN = r"[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_MASKABLE = re.compile(rf"(?P<hex>{_HEX_TOKEN})|{MOBILE.pattern}")
# The same shape for DuckDB (RE2 has no look-behind): a cheap filter before the Python mask runs.
MOBILE_SQL = "(^|[^0-9])1[0-9]{10}([^0-9]|$)"
SQL_FUNCTION = "ticket_dq_mask"


def mask(text: Any) -> str:
    """Mask every 11-digit mobile pattern: 13812341234 -> 138****1234. None becomes ''."""
    if text is None:
        return ""
    return _MASKABLE.sub(lambda m: m.group("hex") or f"{m.group(2)}****{m.group(3)}", str(text))


def mask_opt(text: Any) -> str | None:
    """``mask`` that keeps None as None (nullable columns)."""
    return None if text is None else mask(text)


def mask_value(value: Any) -> Any:
    """Mask every string inside a JSON-like value (dicts, lists, scalars); numbers stay numbers
    unless they look like a mobile, then they become the masked string."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and MOBILE.fullmatch(str(value)):
        return mask(value)
    return value


def _register(con: duckdb.DuckDBPyConnection) -> None:
    # Look before creating: a failed create_function inside a transaction aborts that transaction.
    if con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [SQL_FUNCTION]).fetchall()[0][0]:
        return
    try:
        con.create_function(SQL_FUNCTION, mask_opt, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.VARCHAR,
                            null_handling="special")
    except (duckdb.CatalogException, duckdb.NotImplementedException):
        pass  # already registered on this connection


def mask_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Iterable[str]) -> int:
    """Mask the text (or JSON) ``columns`` of ``table`` in place; returns rows changed. Only rows
    holding an 11-digit run reach the Python function, so a clean national table costs one scan."""
    _register(con)
    changed = 0
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    for col in columns:
        as_text = f"CAST({col} AS VARCHAR)"
        back = f"CAST({SQL_FUNCTION}({as_text}) AS JSON)" if types.get(col) == "JSON" else f"{SQL_FUNCTION}({as_text})"
        n = con.execute(f"UPDATE {table} SET {col} = {back} WHERE regexp_matches({as_text}, '{MOBILE_SQL}')"
                        ).fetchone()[0]
        changed += int(n)
    return changed


def mask_files(folder: Path, suffixes: tuple[str, ...] = (".html", ".json", ".js")) -> int:
    """Mask text files under ``folder`` in place (atomically, only those that change)."""
    changed = 0
    for path in Path(folder).rglob("*"):
        if not path.is_file() or path.suffix not in suffixes:
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        masked = mask(text)
        if masked != text:
            tmp = path.with_name(f".{path.name}.masking")
            tmp.write_text(masked, encoding="utf-8", errors="surrogateescape")
            tmp.replace(path)
            changed += 1
    return changed


def find_mobiles(text: str) -> list[str]:
    """Unmasked mainland mobile numbers (1[3-9] + 9 digits, not inside a longer digit run) in ``text``.
    The fraction of a decimal number is not a mobile: Dagster stores step durations as floats, and a
    repr such as ``1635.13756399462`` would otherwise count. ``mask`` stays stricter and masks those too."""
    return re.findall(r"(?<!\d)(?<!\d\.)1[3-9]\d{9}(?!\d)", re.sub(_HEX_TOKEN, " ", text))

