"""The checks attach to the real raw/ref assets of the code location, two per table."""

from __future__ import annotations

import dagster as dg

from ticket_dq.defs.validation.checks import CHECK_NAMES
from ticket_dq.lib import contract


def test_every_raw_and_reference_asset_has_a_blocking_and_a_warn_check():
    from ticket_dq.definitions import defs

    graph = defs().resolve_asset_graph()
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    tables = [f.table for f in contract.FEEDS.values()] + [contract.reference_table(n) for n in contract.REFERENCE]
    assert sorted(CHECK_NAMES) == sorted(tables)
    for table in tables:
        key = dg.AssetKey(table.split("."))
        assert key in materializable, table
        keys_name, rules_name = CHECK_NAMES[table]
        assert dg.AssetCheckKey(key, keys_name) in graph.asset_check_keys
        assert dg.AssetCheckKey(key, rules_name) in graph.asset_check_keys
        assert graph.get_check_spec(dg.AssetCheckKey(key, keys_name)).blocking is True
        assert graph.get_check_spec(dg.AssetCheckKey(key, rules_name)).blocking is False
    cand = dg.AssetKey(["cand", "validation_failed"])
    assert cand in materializable and graph.get(cand).group_name == "compare"
