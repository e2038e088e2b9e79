"""Resources registered once for the whole code location."""

from __future__ import annotations

from contextlib import contextmanager

from dagster_duckdb import DuckDBResource

from ticket_dq import settings
from ticket_dq.lib import warehouse

# Every asset or check that writes the warehouse declares this pool; dagster.yaml limits it to 1
# because DuckDB allows a single writing process per file.
DUCKDB_POOL = "duckdb"


class WarehouseResource(DuckDBResource):
    """The embedded DuckDB warehouse. Opens through ``lib.warehouse.connect`` so every connection
    retries on a lock held by another process, has the shared tables, and is closed promptly."""

    @contextmanager
    def get_connection(self):
        with warehouse.connect(self.database) as con:
            yield con


def build_resources() -> dict:
    """Resources from the current environment (settings are read now, not at import)."""
    return {"warehouse": WarehouseResource(database=str(settings.warehouse_path()))}
