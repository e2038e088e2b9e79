"""A Great Expectations SQL datasource over an already-open DuckDB connection.

Two problems with GX 1.24 + duckdb-engine 0.17 + duckdb 2.0, and how this module solves them:

1. Lock / configuration clash. DuckDB allows one writing process per file, and inside one process a
   second ``duckdb.connect`` to the same file with another configuration fails ("Can't open a
   connection to same database file with a different configuration"): duckdb-engine adds a
   ``custom_user_agent``. So GX must not open its own connection: the SQLAlchemy engine is built
   with ``creator=`` returning the caller's connection (wrapped so SQLAlchemy cannot close it) and
   a ``StaticPool``. The temp views of the batch are then visible to GX too.
2. Results fetched after release. GX's ``execute_query`` leaves ``with engine.connect()`` before
   calling ``fetchall()``; closing a SQLAlchemy connection rolls its transaction back, and on
   DuckDB that discards the pending result, so every metric fails with "list index out of range".
   GX keeps one persistent connection for sqlite/SQL Server; ``DuckDBExecutionEngine`` does the same
   for DuckDB.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Literal, Type

import duckdb
import duckdb_engine
import great_expectations as gx
import sqlalchemy as sa
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine

from ticket_dq.lib.validation import docs_views


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """Keeps a single SQLAlchemy connection for all metric queries of a validation (as GX does for
    sqlite), so results are fetched while the connection and its transaction are still open."""

    @contextmanager
    def get_connection(self) -> Iterator[sa.Connection]:
        if self._connection is None:
            self._connection = self.engine.connect()
        yield self._connection

    def close(self) -> None:
        """Release the SQLAlchemy connection now, not at garbage collection: a late pool finalizer
        would roll back whatever transaction the caller has open on the shared DuckDB connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


class DuckDBDatasource(SQLDatasource):
    """SQL datasource whose metrics run through ``DuckDBExecutionEngine``."""

    type: Literal["ticket_dq_duckdb"] = "ticket_dq_duckdb"  # type: ignore[assignment]

    @property
    def execution_engine_type(self) -> Type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine


class _BorrowedConnection(duckdb_engine.ConnectionWrapper):
    """The caller's DuckDB connection as a DB-API connection that SQLAlchemy may not close."""

    def close(self) -> None:  # the caller (``warehouse.connect``) owns its lifetime
        pass


def engine_kwargs(con: duckdb.DuckDBPyConnection) -> dict:
    """``create_engine`` keyword arguments that make SQLAlchemy use ``con`` and nothing else."""
    return {"creator": lambda: _BorrowedConnection(con), "poolclass": sa.pool.StaticPool}


@contextmanager
def ephemeral_context(con: duckdb.DuckDBPyConnection, *, docs_dir: str | None = None,
                      datasource: str = "warehouse"):
    """An ephemeral GX context with one datasource bound to ``con`` and, if given, a local Data Docs
    site under ``docs_dir``. Yields ``(context, datasource)``; on exit every SQLAlchemy connection
    over ``con`` is released (``con`` itself stays open: it belongs to the caller)."""
    ctx = gx.get_context(mode="ephemeral")
    # No tqdm bars in Dagster logs and test output.
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        ctx.add_data_docs_site(
            site_name="local",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                **docs_views.site_views(),
            },
        )
    # The connection string only names the dialect: every connection comes from ``creator``.
    ds = ctx.data_sources.add_ticket_dq_duckdb(
        name=datasource, connection_string="duckdb:///:memory:", kwargs=engine_kwargs(con)
    )
    try:
        yield ctx, ds
    finally:
        ds.get_execution_engine().close()
        ds.get_engine().dispose()
