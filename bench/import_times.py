"""What the imports of ``diagnose --json`` cost: ``python -X importtime``, medians of runs.

Runs ``PYTHON -X importtime -c "import wizard.cli.main, wizard.cli.commands.diagnose"``
``--runs`` times (each a fresh process, .pyc files already written) and prints, per
module, the median of its own time and of its cumulative time (the modules it
imported first included), the most expensive first, and the median of the whole.
docs/performance.md quotes these figures.

Usage: ``.venv/bin/python bench/import_times.py [--python .venv-app/bin/python] [--runs 15]
[--against /var/tmp/base/bin/python]`` (the second alternated with the first, for a before/after).
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
    # From /, not from the worktree: -c puts the current directory first on
    # sys.path, and the worktree's own wizard/ would shadow the installed one.
    done = subprocess.run([str(python), "-X", "importtime", "-c", statement],
                          capture_output=True, text=True, check=True, cwd="/")
    modules: dict[str, tuple[int, int, int]] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        modules[name.strip()] = (int(own), int(cumulative), depth)
    return modules


class Medians:
    """The runs of one interpreter: own and cumulative µs per module, and totals."""

    def __init__(self) -> None:
        self.own: dict[str, list[int]] = defaultdict(list)
        self.cumulative: dict[str, list[int]] = defaultdict(list)
        self.totals: list[int] = []
        self.statement: set[str] = set()
        """The modules the statement imported (not the interpreter's own start-up)."""

    def add(self, modules: dict[str, tuple[int, int, int]]) -> None:
        """One run's figures."""
        for name, (self_us, cumulative_us, _depth) in modules.items():
            self.own[name].append(self_us)
            self.cumulative[name].append(cumulative_us)
        # Dicts keep the output's order: what comes after site is the statement's.
        names = list(modules)
        after_site = names[names.index("site") + 1:] if "site" in names else names
        self.statement.update(after_site)
        self.totals.append(sum(modules[n][1] for n in after_site if modules[n][2] == 0))

    def total_ms(self) -> float:
        """The median of the statement's imports, in ms."""
        return statistics.median(self.totals) / 1000

    def own_us(self, name: str) -> float:
        """A module's median own time (0 when it was not imported)."""
        return statistics.median(self.own[name]) if name in self.own else 0.0

    def cumulative_us(self, name: str) -> float:
        """A module's median cumulative time (0 when it was not imported)."""
        return statistics.median(self.cumulative[name]) if name in self.cumulative else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    """Print the medians; exit 2 when an interpreter is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--python", type=Path, default=REPO / ".venv-app" / "bin" / "python",
                        help="the interpreter whose install is measured (default .venv-app's)")
    parser.add_argument("--against", type=Path,
                        help="another interpreter (a baseline's install), run alternately")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=40, help="modules listed (default 40)")
    parser.add_argument("--statement", default=DIAGNOSE_PATH)
    args = parser.parse_args(argv)
    pythons = [args.python] + ([args.against] if args.against else [])
    for python in pythons:
        if not python.exists():
            print(f"{python} is missing: run make install", file=sys.stderr)
            return 2
        one_run(python, args.statement)  # warm-up: .pyc files, page cache
    medians = {python: Medians() for python in pythons}
    for _ in range(args.runs):
        for python in pythons:
            medians[python].add(one_run(python, args.statement))
    measured = medians[args.python]
    baseline = medians[args.against] if args.against else None
    print(f"{len(measured.own)} modules; the statement's imports (after site): "
          f"median {measured.total_ms():.1f} ms over {args.runs} runs"
          + (f"; {args.against}: {len(baseline.own)} modules, {baseline.total_ms():.1f} ms"
             if baseline else ""))
    for label, medians_of in (("measured", measured), ("baseline", baseline)):
        if medians_of is None:
            continue
        groups = {"wizard": 0.0, "pystemd": 0.0, "the standard library": 0.0}
        for name in medians_of.statement:
            group = name.split(".")[0] if name.split(".")[0] in groups else "the standard library"
            groups[group] += medians_of.own_us(name)
        print(f"{label}: own time by origin (ms): "
              + ", ".join(f"{g} {us / 1000:.1f}" for g, us in groups.items()))
    print(f"{'own µs':>8} {'cum µs':>8}" + (f" {'was own':>8} {'was cum':>8}" if baseline else "")
          + "  module")
    names = set(measured.own) | (set(baseline.own) if baseline else set())
    ranked = sorted(names, key=lambda n: max(measured.own_us(n),
                                             baseline.own_us(n) if baseline else 0.0),
                    reverse=True)
    for name in ranked[:args.top]:
        line = f"{measured.own_us(name):8.0f} {measured.cumulative_us(name):8.0f}"
        if baseline:
            line += f" {baseline.own_us(name):8.0f} {baseline.cumulative_us(name):8.0f}"
        print(f"{line}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
