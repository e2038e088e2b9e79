"""``ticket-dq``: one entry point; each subcommand lives in ``ticket_dq.commands.<name>``."""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> module under ticket_dq.commands exposing register(subparsers) and run(args) -> int
COMMANDS = ("simulate", "materialize", "issues", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticket-dq", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"ticket_dq.commands.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
