"""What the imports of ``diagnose --json`` cost: ``python -X importtime``, medians of runs.

Runs ``PYTHON -X importtime -c "import wizard.cli.main, wizard.cli.commands.diagnose"``
``--runs`` times (each a fresh process, .pyc files already written) and prints, per
module, the median of its own time and of its cumulative time (the modules it
imported first included), the most expensive first, and the median of the whole.
docs/performance.md quotes these figures.

Usage: ``.venv/bin/python bench/import_times.py [--python .venv-app/bin/python] [--runs 15]``.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIAGNOSE_PATH = "import wizard.cli.main, wizard.cli.commands.diagnose"


def one_run(python: Path, statement: str) -> dict[str, tuple[int, int, int]]:
    """Module -> (own µs, cumulative µs, depth) for one fresh interpreter."""
    done = subprocess.run([str(python), "-X", "importtime", "-c", statement],
                          capture_output=True, text=True, check=True)
    modules: dict[str, tuple[int, int, int]] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        modules[name.strip()] = (int(own), int(cumulative), depth)
    return modules


def main(argv: Sequence[str] | None = None) -> int:
    """Print the medians; exit 2 when the interpreter is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--python", type=Path, default=REPO / ".venv-app" / "bin" / "python",
                        help="the interpreter whose install is measured (default .venv-app's)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=40, help="modules listed (default 40)")
    parser.add_argument("--statement", default=DIAGNOSE_PATH)
    args = parser.parse_args(argv)
    if not args.python.exists():
        print(f"{args.python} is missing: run make install", file=sys.stderr)
        return 2
    one_run(args.python, args.statement)  # warm-up: .pyc files, page cache
    own: dict[str, list[int]] = defaultdict(list)
    cumulative: dict[str, list[int]] = defaultdict(list)
    totals: list[int] = []
    for _ in range(args.runs):
        modules = one_run(args.python, args.statement)
        for name, (self_us, cumulative_us, _depth) in modules.items():
            own[name].append(self_us)
            cumulative[name].append(cumulative_us)
        # Dicts keep the output's order: what comes after site is the statement's.
        names = list(modules)
        after_site = names[names.index("site") + 1:] if "site" in names else names
        totals.append(sum(modules[n][1] for n in after_site if modules[n][2] == 0))
    print(f"{len(own)} modules; the statement's imports (after site): "
          f"median {statistics.median(totals) / 1000:.1f} ms over {args.runs} runs")
    print(f"{'own µs':>8} {'cum µs':>8}  module")
    ranked = sorted(own, key=lambda n: statistics.median(own[n]), reverse=True)
    for name in ranked[:args.top]:
        print(f"{statistics.median(own[name]):8.0f} {statistics.median(cumulative[name]):8.0f}"
              f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
