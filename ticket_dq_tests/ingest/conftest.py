from __future__ import annotations

from datetime import datetime

import pytest

from ticket_dq.lib import warehouse

NOW = datetime(2026, 3, 8, 12, 0, 0)


@pytest.fixture
def con(isolated_env):
    """A real DuckDB warehouse file in tmp_path, with the shared tables."""
    with warehouse.connect(isolated_env["warehouse"]) as c:
        yield c


@pytest.fixture
def landing(isolated_env):
    return isolated_env["landing"]
