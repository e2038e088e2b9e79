"""`python -m bench`: run every benchmark module that exists, in order, each with its defaults.

A module's ``main`` may take ``argv`` (given ``[]`` so it uses its defaults) and may return an exit
code or its results (a dict); only a non-zero integer code or an exception counts as a failure, and
one failing benchmark does not stop the others.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import traceback

ORDER = ("simulate", "ingest", "validation", "data_docs", "detection", "distribution", "evaluation", "latency")


def main() -> int:
    failed = []
    for name in ORDER:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                print(f"== bench.{name}: not present, skipped", flush=True)
                continue
            raise
        print(f"== bench.{name}", flush=True)
        try:
            rc = module.main([]) if inspect.signature(module.main).parameters else module.main()
        except SystemExit as exc:  # argparse-style mains
            rc = exc.code
        except Exception:  # noqa: BLE001 - report and go on with the next benchmark
            traceback.print_exc()
            rc = 1
        if isinstance(rc, int) and not isinstance(rc, bool) and rc != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
