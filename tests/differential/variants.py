"""Hand-made variants of recorded cases, provoked in one lab to confirm a modelled rule.

    .venv/bin/python -m tests.differential.variants      # root: boots one lab

Each rule the model learnt from a disagreement (docs/systemd-model.md) is checked
by a pair of variants that differ only in what the rule says decides, so the
recording shows the rule and not just the one case it was found in. The output
is each variant's recorded outcome beside the model's answer; the figures are in
docs/systemd-model.md ("Rules confirmed by variants").
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from tests.differential.dataset import snapshot_from_data
from tests.differential.generate import Case, Edge, Source, Unit
from tests.differential.runner import run_batch
from wizard.analysis.liveness import fired_liveness, revived_at_once


def _case(number: int, units: list[tuple[int, str]], edges: list[tuple[int, str, int]],
          start: list[int], target: int, sources: list[tuple[int, str]]) -> Case:
    case_id = f"d{number:04d}"
    suffix = {"target": "target", "socket": "socket"}

    def name(k: int) -> str:
        kind = dict(units)[k]
        return f"{case_id}-u{k}.{suffix.get(kind, 'service')}"

    return Case(
        id=case_id, seed=-number,
        units=tuple(Unit(name(k), kind) for k, kind in units),
        edges=tuple(Edge(name(a), kind, name(b)) for a, kind, b in edges),
        start=tuple(name(k) for k in start), target=name(target),
        sources=tuple(Source(name(k), kind) for k, kind in sources),
    )


@dataclass(frozen=True)
class Variant:
    """A hand-made case and what systemd does with it (read in its source, seen in a lab)."""

    title: str
    case: Case
    revived: bool
    """The target is back right after the stop, with nothing fired."""
    started: tuple[bool, ...] = ()
    """Per source of the case: whether firing it starts the target."""


VARIANTS: tuple[Variant, ...] = (
    # d0563's rule: an immediate failure (a Requisite= check on the stopped target)
    # cascades at once through BindsTo=; the run queue dispatches by name.
    Variant("cascade: the failing check (u1) sorts before the BindsTo= owner (u4)",
            _case(9001, [(1, "simple"), (5, "oneshot-rae"), (4, "exit-ok")],
                  [(5, "Requisite", 1), (4, "BindsTo", 5), (4, "OnSuccess", 1)],
                  [1, 5], 1, [(4, "on-success")]), False, (False,)),
    Variant("cascade: the BindsTo= owner (u2) sorts before the failing check (u9)",
            _case(9002, [(9, "simple"), (3, "oneshot-rae"), (2, "exit-ok")],
                  [(3, "Requisite", 9), (2, "BindsTo", 3), (2, "OnSuccess", 9)],
                  [9, 3], 9, [(2, "on-success")]), False, (True,)),
    # d0992's rule: a socket's oneshot that never accepts loops to its start limit.
    Variant("socket loop: oneshot /bin/true, OnFailure= the target",
            _case(9003, [(1, "simple"), (2, "oneshot"), (3, "socket")],
                  [(3, "Triggers", 2), (2, "OnFailure", 1)],
                  [1, 3], 1, [(3, "socket")]), False, (True,)),
    Variant("socket loop: RemainAfterExit=yes, so it stays active and never fails",
            _case(9004, [(1, "simple"), (2, "oneshot-rae"), (3, "socket")],
                  [(3, "Triggers", 2), (2, "OnFailure", 1)],
                  [1, 3], 1, [(3, "socket")]), False, (False,)),
    # d0569's rule: OnSuccess= (job mode fail) of a unit stopped before its hook.
    Variant("OnSuccess= owner u2 After= the target: u2 stops first, the hook is refused",
            _case(9005, [(1, "target"), (2, "simple")],
                  [(2, "PartOf", 1), (2, "After", 1), (2, "OnSuccess", 1)],
                  [1, 2], 1, []), False),
    Variant("OnSuccess= owner u2 Before= the target (u1 After= u2): the target stops first",
            _case(9006, [(1, "target"), (2, "simple")],
                  [(2, "PartOf", 1), (1, "After", 2), (2, "OnSuccess", 1)],
                  [1, 2], 1, []), True),
)


def observed(line: dict[str, Any], case: Case) -> tuple[bool, tuple[bool, ...]]:
    """What systemd did in a recorded run of a variant: (revived at once, per source)."""
    return line["revived_by_stop"], tuple(case.target in run["started_by_fire"]
                                          for run in line["runs"])


def predicted(line: dict[str, Any], case: Case) -> tuple[bool, tuple[bool, ...]]:
    """What the model says, from the run's own pre-stop and post-stop snapshots."""
    answers = _model(line, case)
    return answers["revived at once"], tuple(answers[s.unit] for s in case.sources)


def _model(line: dict[str, Any], case: Case) -> dict[str, bool]:
    pre = snapshot_from_data(line["snapshots"]["pre"])
    post = snapshot_from_data(line["snapshots"]["post"])
    answers = {"revived at once": revived_at_once(pre, case.target).live}
    for source in case.sources:
        answers[source.unit] = fired_liveness(post, case.target, source.unit,
                                              kind=source.kind).live
    return answers


def main() -> int:
    """Provoke every variant in one lab and print what systemd and the model say."""
    cases = [variant.case for variant in VARIANTS]
    lines = run_batch(cases, "model-variants", workers=len(cases))
    for variant, line in zip(VARIANTS, lines, strict=True):
        case = variant.case
        if "error" in line:
            print(f"{case.id} {variant.title}: lab error {line['error']}")
            continue
        model = _model(line, case)
        print(f"{case.id} {variant.title}")
        print(f"  revived at once: systemd {line['revived_by_stop']}, "
              f"model {model['revived at once']}")
        for run in line["runs"]:
            fired = case.target in run["started_by_fire"]
            print(f"  {run['kind']} {run['source']}: systemd started the target {fired} "
                  f"(fire started {', '.join(run['started_by_fire']) or 'nothing'}), "
                  f"model {model[run['source']]}" + (f" RACY {run['racy']}"
                                                     if run.get("racy") else ""))
        if line["journal"]:
            print("  journal: " + " | ".join(line["journal"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
