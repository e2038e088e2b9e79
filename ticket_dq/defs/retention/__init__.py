"""retention stage: Dagster wiring; the logic lives in ticket_dq.lib.retention."""
