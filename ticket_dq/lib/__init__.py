"""Plain-Python logic of ticket_dq. Never imports Dagster: defs/ wires these functions into assets."""
