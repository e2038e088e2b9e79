"""Subcommands of the ``ticket-dq`` CLI, one module each (see ticket_dq/cli.py)."""
