"""Run every benchmark module in gridgov/bench/ (or those named on the command line)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    import gridgov.bench as package

    names = argv or sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")
    )
    for name in names:
        module = importlib.import_module(f"gridgov.bench.{name}")
        print(f"# {name}", flush=True)
        for figure in module.run():
            print(figure.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
