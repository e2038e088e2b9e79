"""`python -m bench`: run every benchmark module that exists, in order, each with its defaults."""

from __future__ import annotations

import importlib
import sys

ORDER = ("simulate", "ingest", "validation", "detection", "distribution", "evaluation")


def main() -> int:
    failed = []
    for name in ORDER:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                print(f"== bench.{name}: not present, skipped")
                continue
            raise
        print(f"== bench.{name}")
        try:
            rc = module.main([]) if _takes_argv(module.main) else module.main()
        except SystemExit as exc:  # argparse-style mains
            rc = exc.code
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


def _takes_argv(fn) -> bool:
    import inspect

    return bool(inspect.signature(fn).parameters)


if __name__ == "__main__":
    sys.exit(main())
