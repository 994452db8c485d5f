"""The OS-tree matrix: build (or reuse) every tree, boot it with each bus, time it, check it.

    .venv/bin/python bench/os_tree_matrix.py [--rounds 3]

For each tree and bus: the wall time of ``lab.up`` until systemd reports
running or degraded (median of the rounds), the systemd version, which unit is
dbus.service, how many units are loaded, which failed, and whether
``staydown diagnose --lab NAME --json systemd-hostnamed.service`` works from the
host. Prints a Markdown table for docs/lab.md. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from wizard.errors import LabError
from wizard.lab import nspawn as lab_module
from wizard.lab import os_trees as lab_os_trees
from wizard.lab.os_trees import BUSES
from wizard.lab.os_trees import TREE_NAMES as OS_TREE_NAMES

STAYDOWN = os.path.join(os.path.dirname(sys.executable), "staydown")


def one(tree: str, bus: str, rounds: int) -> dict[str, Any]:
    name = f"matrix{os.getpid()}"
    boots = []
    row: dict[str, Any] = {"tree": tree, "bus": bus}
    for number in range(rounds):
        started = time.monotonic()
        try:
            lab = lab_module.up(None, name, os_name=tree, bus=bus)
        except LabError as error:
            row["error"] = f"{error.message} {error.hint or ''}".strip()
            return row
        boots.append(time.monotonic() - started)
        try:
            if number == 0:
                row["version"] = lab.systemctl("--version").splitlines()[0]
                row["state"] = lab.systemctl("is-system-running", check=False).strip()
                row["bus_unit"] = lab.systemctl("show", "-p", "Id", "--value",
                                                "dbus.service").strip()
                row["units"] = len(lab.systemctl("list-units", "--all", "--plain",
                                                 "--no-legend").splitlines())
                row["failed"] = [line.split()[0] for line in lab.systemctl(
                    "--failed", "--plain", "--no-legend").splitlines() if line.split()]
                result = subprocess.run(
                    [STAYDOWN, "diagnose", "--lab", name, "--json",
                     "systemd-hostnamed.service"], capture_output=True, text=True, check=False)
                findings = json.loads(result.stdout)["findings"] if result.stdout else []
                row["diagnose"] = (f"exit {result.returncode}, "
                                   f"{sorted({f['kind'] for f in findings})}")
        finally:
            started = time.monotonic()
            lab_module.down(name)
            row.setdefault("down_seconds", round(time.monotonic() - started, 1))
    row["boot_seconds"] = round(statistics.median(boots), 2)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", action="append", choices=OS_TREE_NAMES)
    args = parser.parse_args()
    rows = []
    for tree in args.tree or OS_TREE_NAMES:
        spec = lab_os_trees.tree_spec(tree)
        built = lab_os_trees.ensure_tree(spec, log=print)
        print(f"{tree}: systemd {built.systemd_version}, {built.size_bytes / 1e6:.0f} MB, "
              f"built in {built.build_seconds:.0f} s", flush=True)
        for bus in BUSES:
            row = one(tree, bus, args.rounds)
            row["build_seconds"] = built.build_seconds
            row["size_mb"] = round(built.size_bytes / 1e6)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("\n| tree | systemd | bus | dbus.service is | boot (median) | units | failed | "
          "diagnose from the host |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['tree']} | | {row['bus']} | fails: {row['error'][:80]} | | | | |")
            continue
        print(f"| {row['tree']} | {str(row['version']).split(' ', 1)[1]} | {row['bus']} | "
              f"{row['bus_unit']} | {row['boot_seconds']} s | {row['units']} | "
              f"{', '.join(row['failed']) or 'none'} | {row['diagnose']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
