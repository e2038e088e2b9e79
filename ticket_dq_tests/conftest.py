"""Shared fixtures: every test gets its own landing area and warehouse file, never data/."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Point settings at temp paths so no test touches the repo's data/ or another test's files."""
    landing = tmp_path / "landing"
    landing.mkdir()
    warehouse = tmp_path / "warehouse" / "ticket_dq.duckdb"
    monkeypatch.setenv("TICKET_DQ_LANDING", str(landing))
    monkeypatch.setenv("TICKET_DQ_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("TICKET_DQ_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.delenv("TICKET_DQ_NOW", raising=False)
    monkeypatch.delenv("TICKET_DQ_ROUTES", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return {"landing": landing, "warehouse": warehouse, "tmp": tmp_path}
