"""Survey: the transaction model against the old reachability on every unit of a lab.

Boots a lab (the host's own tree by default, scenario ``control``), reads every loaded
unit's neighbourhood the way the model wants it (``complete_for_model``, ``file_facts``),
walks the old chains, and asks the model about each. Prints how many chains each calls
live, why the model calls the others dormant, and what the reading and the model cost.

Run as root: ``.venv/bin/python bench/model_survey.py [--scenario NAME]`` (about two
minutes on the host tree). Not a test: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import time

from wizard.analysis.chain_sources import source_for_chain
from wizard.analysis.liveness import liveness
from wizard.analysis.stop_model import after_stop
from wizard.analysis.unit_graph import UnitGraph
from wizard.errors import StaydownError
from wizard.lab import nspawn as lab_module
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import systemd_client
from wizard.system.transaction_inputs import complete_for_model, file_facts

# Dormant reasons, by the words liveness.py uses, most specific first.
CATEGORIES = (
    ("a stage before it is dormant", re.compile(r"does not run now")),
    ("the source is only pulled in when it is itself started", re.compile(r"pulls it in only")),
    ("the source stops with the unit", re.compile(r"^\S+: \S+=|stops \S+ too")),
    ("a restart policy armed, not live", re.compile(r"restart policy is armed")),
    ("a socket or path running because its unit runs", re.compile(r"is running because")),
    ("an active unit's redundant job dropped", re.compile(r"is active, so the start job")),
    ("RefuseManualStop=", re.compile(r"RefuseManualStop")),
    ("RefuseManualStart=", re.compile(r"RefuseManualStart")),
    ("a condition fails", re.compile(r"condition fail")),
    ("a boot target", re.compile(r"at boot and does not fire")),
    ("nothing starts the root", re.compile(r"nothing here starts")),
)


def category(dormant: str) -> str:
    """The first category whose words the dormant reason uses."""
    return next((name for name, words in CATEGORIES if words.search(dormant)), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="control")
    args = parser.parse_args()
    name = f"survey{os.getpid()}"
    lab = lab_module.up(args.scenario, name)
    try:
        survey(lab)
    finally:
        lab_module.down(name)


def survey(lab: lab_module.Lab) -> None:
    root = lab.connection.files_root
    assert root is not None
    listed = lab.systemctl("list-units", "--all", "--plain", "--no-legend").splitlines()
    names = [line.split()[0] for line in listed if line.strip()]
    pairs: collections.Counter[tuple[bool, bool]] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    unreadable = 0
    read_s = model_s = 0.0
    sizes: list[tuple[int, int]] = []
    with systemd_client(lab.connection) as client:
        for unit in names:
            started = time.monotonic()
            try:
                base = collect_neighbourhood(client, unit)
            except StaydownError:
                unreadable += 1
                continue
            snapshot = complete_for_model(client, base)
            files = file_facts(root, snapshot)
            read_done = time.monotonic()
            sizes.append((len(base.units), len(snapshot.units)))
            outcome = after_stop(snapshot, snapshot.target, files=files)
            for chain in UnitGraph(snapshot).walk(snapshot.target):
                verdict = liveness(snapshot, snapshot.target, source_for_chain(snapshot, chain),
                                   outcome=outcome, files=files)
                pairs[(chain.live, verdict.live)] += 1
                if chain.live and not verdict.live:
                    reasons[category(verdict.dormant)] += 1
            model_s += time.monotonic() - read_done
            read_s += read_done - started
    total = sum(pairs.values())
    print(f"units diagnosed: {len(sizes)} (unreadable: {unreadable}); chains: {total}")
    print(f"live by reachability: {pairs[(True, True)] + pairs[(True, False)]}; "
          f"live by the model: {pairs[(True, True)] + pairs[(False, True)]}; "
          f"newly live: {pairs[(False, True)]}")
    print("reachability-live chains the model calls dormant, by reason:")
    for reason, count in reasons.most_common():
        print(f"  {count:5d}  {reason}")
    print(f"reading: {read_s:.1f} s; model: {model_s:.1f} s "
          f"({1000 * model_s / max(total, 1):.2f} ms a chain)")
    print(f"units per snapshot: neighbourhood {sum(b for b, _ in sizes) / len(sizes):.1f}, "
          f"completed {sum(c for _, c in sizes) / len(sizes):.1f} "
          f"(max {max(c for _, c in sizes)})")


if __name__ == "__main__":
    main()
