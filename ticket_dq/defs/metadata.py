"""What the Dagster UI shows about a table asset, built the same way for every asset.

- ``table_metadata``: the column schema (``dagster/column_schema``), row count and table name, read
  from the real DuckDB table after the asset wrote it, so the UI never drifts from the warehouse.
- ``layer``: the kinds and tag that tell the layers apart (``raw/competitor_schedule`` and
  ``cur/competitor_schedule`` both show as "competitor_schedule" in the lineage graph; the layer
  badge and tag say which is which).
- ``inline_table``: evidence as a Dagster table value, which the UI renders inline (a markdown value
  longer than 1000 characters hides behind "[Show Markdown]").
- ``nothing_new``: the first metadata entry of a run that found nothing new, instead of a row of zeros.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import dagster as dg

from ticket_dq.lib import warehouse

# Layer (first part of the asset key) -> the badge shown on the asset in the lineage and catalog.
LAYERS = {
    "raw": "raw",
    "ref": "reference",
    "map": "mapping",
    "cur": "current",
    "cand": "candidates",
    "dq": "output",
}


def table_name(key: dg.AssetKey) -> str:
    """The DuckDB table an asset owns: its key path joined by dots (raw/orders -> raw.orders)."""
    return ".".join(key.path)


def layer(key: dg.AssetKey, *kinds: str) -> dict:
    """``kinds`` and ``tags`` for ``@dg.asset``: the storage, the layer badge and a ``layer`` tag."""
    name = LAYERS[key.path[0]]
    return {"kinds": {"duckdb", name, *kinds}, "tags": {"layer": name}}


def column_schema(con, table: str) -> dg.TableSchema:
    """The table's columns as DuckDB has them (name, type, nullability), in table order."""
    rows = warehouse.table_columns(con, table)
    if not rows:
        raise ValueError(f"{table} does not exist in the warehouse")
    return dg.TableSchema(columns=[
        dg.TableColumn(name=col, type=typ, constraints=dg.TableColumnConstraints(nullable=nullable))
        for col, typ, nullable in rows])


def table_metadata(con, key: dg.AssetKey) -> dict:
    """``dagster/column_schema``, ``dagster/row_count`` and ``dagster/table_name`` of the asset's table."""
    table = table_name(key)
    return {
        "dagster/column_schema": column_schema(con, table),
        "dagster/row_count": dg.MetadataValue.int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]),
        "dagster/table_name": dg.MetadataValue.text(table),
    }


def inline_table(columns: Sequence[str], rows: Iterable[Sequence[object]], limit: int = 50) -> dg.MetadataValue:
    """Rows as a Dagster table value (rendered inline in the UI); values as text, at most ``limit`` rows."""
    rows = list(rows)
    records = [dg.TableRecord({c: "" if v is None else str(v) for c, v in zip(columns, r)}) for r in rows[:limit]]
    if len(rows) > limit:
        records.append(dg.TableRecord({columns[0]: f"… {len(rows) - limit} more", **{c: "" for c in columns[1:]}}))
    schema = dg.TableSchema(columns=[dg.TableColumn(name=c, type="text") for c in columns])
    return dg.MetadataValue.table(records=records, schema=schema)


def nothing_new(since: object, what: str = "delivery") -> dict:
    """The leading entry of a run that changed nothing: 'nothing new since <time>'."""
    when = str(since) if since is not None else "the first run (nothing delivered yet)"
    return {"summary": dg.MetadataValue.text(f"nothing new since {when} (latest {what})")}
