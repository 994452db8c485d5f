"""Compare staydown's diagnosis with the recorded ground truth, offline (no lab needed).

    .venv/bin/python -m tests.real_packages.compare [--details]

For every swept unit, diagnose() runs on the recorded snapshot of the booted
lab with that unit as the target, and each of its findings whose source the
sweep fired is set against what systemd did:

- false live: staydown calls the source live, and firing it did not start the unit;
- missed: firing the source started the unit, and staydown has no live finding for it;
- agreed: the rest of the compared pairs.

Sources the sweep left undetermined (a unit that does not stay down) or did not
fire are not compared, and `systemctl start` of a root (graphical.target, a
service nothing pulls in) is counted apart: staydown does not call an
operator's start a revival source. Not a test: staydown's model is known to disagree here
(issue 10); this prints the figures that a better model should drive to zero.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.real_packages.sweep import RESULTS, SNAPSHOT
from wizard.analysis import diagnose
from wizard.model.snapshots import snapshot_from_json


def sweep_name(finding_source: str, kind: str) -> str:
    """The sweep's name for a finding's source (bus names are prefixed there)."""
    return f"dbus:{finding_source}" if kind == "bus-activation" else finding_source


def compare(document: dict[str, Any], details: bool = False) -> dict[str, Any]:
    snapshot = snapshot_from_json(SNAPSHOT.read_text())
    figures: dict[str, Any] = {"pairs": 0, "agreed": 0, "false_live": 0, "missed": 0,
                               "root_starts": 0, "root_starts_that_revived": 0}
    false_live: list[str] = []
    missed: list[str] = []
    for unit, result in sorted(document["units"].items()):
        if snapshot.unit(unit) is None:
            continue
        diagnosis = diagnose(replace(snapshot, target=unit))
        live = {sweep_name(f.source, f.kind.value) for f in diagnosis.findings if f.live}
        for source in result["sources"]:
            if not source["provoked"] or source["revived"] is None:
                continue
            if source["kind"] == "start":
                figures["root_starts"] += 1
                figures["root_starts_that_revived"] += bool(source["revived"])
                continue
            figures["pairs"] += 1
            said_live = source["source"] in live
            if said_live and not source["revived"]:
                figures["false_live"] += 1
                false_live.append(f"{unit} <- {source['source']}")
            elif source["revived"] and not said_live:
                figures["missed"] += 1
                missed.append(f"{unit} <- {source['source']}")
            else:
                figures["agreed"] += 1
    if details:
        figures["false_live_pairs"] = false_live
        figures["missed_pairs"] = missed
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="list every disagreement")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    print(json.dumps(compare(json.loads(args.results.read_text()), args.details), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
