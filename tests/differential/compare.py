"""Compares a liveness model with what systemd did in the recorded dataset (pure).

    .venv/bin/python -m tests.differential.compare            # today's diagnose
    .venv/bin/python -m tests.differential.compare --model wizard.analysis.transaction:liveness

A model is a function ``model_fn(snapshot, target, source) -> live`` where
``live`` is a bool, a ``(bool, reason)`` pair, or an object with ``live`` (and
``reason``) attributes. If the function takes a ``kind`` keyword it also gets
the source's kind (socket, path, timer, on-failure, on-success, upholds, manual).
The snapshot is the case's settled post-stop state (``snapshot="pre"`` gives
the state before the stop instead).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.differential.dataset import (
    DATASET,
    Dataset,
    RecordedCase,
    SourceOutcome,
    load_dataset,
)
from wizard.analysis.diagnosis import diagnose
from wizard.model.snapshots import SystemSnapshot

ModelFn = Callable[..., Any]
RevivalFn = Callable[[SystemSnapshot, str], Any]


@dataclass(frozen=True)
class Disagreement:
    """One source where the model and systemd disagree."""

    case: str
    source: str
    kind: str
    target: str
    recorded: bool
    predicted: bool
    reason: str
    before_fire: bool
    started_by_fire: tuple[str, ...]
    edges: tuple[str, ...]
    start: tuple[str, ...]
    after_stop: dict[str, str]

    def describe(self) -> str:
        """A few lines a person can reproduce the case from."""
        said = "live" if self.predicted else "not live"
        did = "started" if self.recorded else "did not start"
        if self.kind == REVIVED_AT_ONCE:
            said = "revived at once" if self.predicted else "not revived"
            did = "came back" if self.recorded else "stayed down"
        lines = [
            f"{self.case}: {self.kind} source {self.source}: model says {said}, "
            f"but {self.target} {did}"
            + (" (it was already back before the fire)" if self.before_fire else ""),
            f"  model's reason: {self.reason or '-'}",
            f"  edges: {'; '.join(self.edges)}",
            f"  started in order: {', '.join(self.start)}",
            "  after stop: " + ", ".join(f"{u} {s}" for u, s in sorted(self.after_stop.items())),
            f"  the {'stop' if self.kind == REVIVED_AT_ONCE else 'fire'} started: "
            f"{', '.join(self.started_by_fire) or 'nothing'}",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class ComparisonReport:
    """Agreement over every non-racy source of the dataset, and each disagreement."""

    compared: int
    agreed: int
    racy_skipped: int
    unattributed_skipped: int
    """Upholders of a case with several, when the target came back: which one did it?"""
    disagreements: tuple[Disagreement, ...]
    unobservable_skipped: int = 0
    """Fired sources of runs where the target was back before the fire: their
    fire question cannot be observed. With a revival model, each such case
    is asked its own question instead (kind ``revived-at-once``)."""
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    """kind -> (agreed, compared)."""

    @property
    def agreement(self) -> float:
        """Agreement in percent."""
        return 100.0 * self.agreed / self.compared if self.compared else 0.0

    def summary(self) -> str:
        """The figure and the per-kind breakdown."""
        kinds = ", ".join(
            f"{kind} {agreed}/{total}" for kind, (agreed, total) in sorted(self.by_kind.items())
        )
        return (
            f"agreement {self.agreement:.2f}% ({self.agreed}/{self.compared} sources; "
            f"{self.racy_skipped} racy, {self.unattributed_skipped} unattributed and "
            f"{self.unobservable_skipped} unobservable sources left out); by kind: {kinds}"
        )

    def text(self, limit: int | None = None) -> str:
        """The summary and the disagreements (all, or the first ``limit``)."""
        shown = self.disagreements if limit is None else self.disagreements[:limit]
        parts = [self.summary(), *(d.describe() for d in shown)]
        if len(shown) < len(self.disagreements):
            parts.append(f"... and {len(self.disagreements) - len(shown)} more")
        return "\n".join(parts)


def _verdict(result: Any) -> tuple[bool, str]:
    if isinstance(result, bool):
        return result, ""
    if isinstance(result, tuple) and result and isinstance(result[0], bool):
        return result[0], str(result[1]) if len(result) > 1 else ""
    live = getattr(result, "live", None)
    if isinstance(live, bool):
        return live, str(getattr(result, "reason", "") or "")
    raise TypeError(f"a model must return a bool, (bool, reason) or .live, not {result!r}")


def _takes_kind(model_fn: ModelFn) -> bool:
    try:
        parameters = inspect.signature(model_fn).parameters
    except (TypeError, ValueError):
        return False
    return "kind" in parameters or any(
        p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


TRUTHS = ("source", "any", "fire")


def recorded_truth(recorded: RecordedCase, outcome: SourceOutcome, truth: str) -> bool:
    """Whether the target started, in the sense ``truth`` asks for.

    ``any``: at any moment after the stop, also before the fire (the dataset's
    ``live``). ``fire``: the fire itself started it, from the settled post-stop
    state the model is shown. ``source`` (the default): ``fire`` for sources
    that are fired, ``any`` for upholders, which act by themselves right after
    the stop. Under ``any`` a target brought back by one upholder makes every
    other source of the case live too, whatever it is.
    """
    if truth == "any" or (truth == "source" and outcome.kind == "upholds"):
        return outcome.live
    return recorded.case.target in outcome.started_by_fire


def _shared_revival(recorded: RecordedCase, outcome: SourceOutcome) -> bool:
    # Upholders act without being fired, so a case's upholders share one run:
    # when the target came back there, the run cannot tell which one did it.
    upholders = sum(1 for o in recorded.outcomes if o.kind == "upholds")
    return outcome.kind == "upholds" and upholders > 1 and outcome.live


REVIVED_AT_ONCE = "revived-at-once"
"""The kind of the one question asked of a case whose target came back by itself."""


def compare(model_fn: ModelFn, dataset: Dataset, *, snapshot: str = "post",
            truth: str = "source", revival_fn: RevivalFn | None = None) -> ComparisonReport:
    """Ask the model about every recorded source and count where it agrees with systemd.

    ``truth`` is explained at :func:`recorded_truth`. A source whose outcome was
    not the same every time it was provoked (marked racy in the dataset), and an
    upholder of a case with several whose target came back (which one did it?),
    are left out of the figure and counted apart.

    Under ``truth="source"``, a fired source whose run found the target already
    back before the fire asks a question the run cannot answer (the fire met an
    active target). Those sources are counted apart as unobservable, and the
    case is asked what was observed instead: is the target revived at once
    after the stop, with nothing fired? ``revival_fn(pre_stop_snapshot, target)``
    answers it (bool, pair or ``.live``), from the state *before* the stop,
    since the post-stop snapshot already shows the target back. The question
    is counted once per case, in every case where systemd or the model says
    the target came back (docs/systemd-model.md, "Scoring").
    """
    if truth not in TRUTHS:
        raise ValueError(f"truth is one of {', '.join(TRUTHS)}, not {truth!r}")
    with_kind = _takes_kind(model_fn)
    compared = agreed = racy = unattributed = unobservable = 0
    by_kind: dict[str, list[int]] = {}
    disagreements: list[Disagreement] = []

    def count(kind: str, agrees: bool) -> None:
        nonlocal compared, agreed
        tally = by_kind.setdefault(kind, [0, 0])
        compared += 1
        tally[1] += 1
        if agrees:
            agreed += 1
            tally[0] += 1

    for recorded in dataset.cases:
        state = recorded.post_stop if snapshot == "post" else recorded.pre_stop
        if state is None:
            continue
        for outcome in recorded.outcomes:
            if outcome.racy:
                racy += 1
                continue
            if truth != "fire" and _shared_revival(recorded, outcome):
                unattributed += 1
                continue
            if truth == "source" and outcome.kind != "upholds" and outcome.before_fire:
                unobservable += 1
                continue
            recorded_live = recorded_truth(recorded, outcome, truth)
            kwargs = {"kind": outcome.kind} if with_kind else {}
            try:
                predicted, reason = _verdict(
                    model_fn(state, recorded.case.target, outcome.unit, **kwargs)
                )
            except Exception as error:  # a crash is a disagreement to show
                predicted, reason = (not recorded_live), f"the model raised {error!r}"
            count(outcome.kind, predicted == recorded_live)
            if predicted != recorded_live:
                disagreements.append(
                    _disagreement(recorded, outcome.unit, predicted, recorded_live, reason))
        if truth == "source" and revival_fn is not None:
            revival = _revival_question(recorded, revival_fn)
            if revival is not None:
                count(REVIVED_AT_ONCE, revival.predicted == revival.recorded)
                if revival.predicted != revival.recorded:
                    disagreements.append(revival)
    return ComparisonReport(
        compared=compared,
        agreed=agreed,
        racy_skipped=racy,
        unattributed_skipped=unattributed,
        disagreements=tuple(disagreements),
        by_kind={k: (v[0], v[1]) for k, v in by_kind.items()},
        unobservable_skipped=unobservable,
    )


def recorded_revival(recorded: RecordedCase) -> bool | None:
    """Whether the target came back after the stop with nothing fired (None: only racy runs)."""
    steady = [o.before_fire for o in recorded.outcomes if not o.racy]
    if not recorded.outcomes:
        return recorded.revived_by_stop
    return steady[0] if steady else None


def _revival_question(recorded: RecordedCase, revival_fn: RevivalFn) -> Disagreement | None:
    """The case's revived-at-once question, as a Disagreement-shaped record (or None).

    None when the question is not asked: every run was racy, or neither
    systemd nor the model says the target came back.
    """
    truth = recorded_revival(recorded)
    if truth is None or recorded.pre_stop is None:
        return None
    try:
        predicted, reason = _verdict(revival_fn(recorded.pre_stop, recorded.case.target))
    except Exception as error:  # a crash is a disagreement to show
        predicted, reason = (not truth), f"the model raised {error!r}"
    if not truth and not predicted:
        return None
    case = recorded.case
    return Disagreement(
        case=case.id, source="(nothing fired)", kind=REVIVED_AT_ONCE, target=case.target,
        recorded=truth, predicted=predicted, reason=reason, before_fire=truth,
        started_by_fire=recorded.started_by_stop,
        edges=tuple(f"{e.owner} {e.kind}={e.dest}" for e in case.edges),
        start=case.start, after_stop=recorded.after_stop,
    )


def _disagreement(recorded: RecordedCase, source: str, predicted: bool, recorded_live: bool,
                  reason: str) -> Disagreement:
    outcome = next(o for o in recorded.outcomes if o.unit == source)
    case = recorded.case
    return Disagreement(
        case=case.id,
        source=source,
        kind=outcome.kind,
        target=case.target,
        recorded=recorded_live,
        predicted=predicted,
        reason=reason,
        before_fire=outcome.before_fire,
        started_by_fire=outcome.started_by_fire,
        edges=tuple(f"{e.owner} {e.kind}={e.dest}" for e in case.edges),
        start=case.start,
        after_stop=recorded.after_stop,
    )


# Sources fired by starting them (the runner's systemctl start): today's diagnose
# has no notion of firing them, so the fairest reading of it is reachability.
_STARTED_KINDS = ("manual", "timer", "on-failure", "on-success")


def diagnose_liveness(snapshot: SystemSnapshot, target: str, source: str,
                      kind: str = "manual") -> tuple[bool, str]:
    """What today's ``diagnose`` says about one source, as a model for :func:`compare`.

    A unit that fires by itself (socket, path, upholder) is live when diagnose
    reports a live finding rooted at it. A unit that is fired by starting it
    (manual start, a timer's start, a hook owner's run) is live when it lies on
    any of diagnose's chains to the target: diagnose treats revival as
    reachability (issue 10).
    """
    findings = diagnose(snapshot).findings
    if kind in _STARTED_KINDS:
        for finding in findings:
            if source in finding.chain[:-1]:
                return True, f"on the chain {' -> '.join(finding.chain)}"
        return False, "on no chain to the target"
    for finding in findings:
        if finding.chain and finding.chain[0] == source:
            if finding.live:
                return True, f"live finding {' -> '.join(finding.chain)}"
            return False, f"dormant finding {' -> '.join(finding.chain)}"
    return False, "no finding rooted at it"


def diagnose_revival(snapshot: SystemSnapshot, target: str) -> tuple[bool, str]:
    """Today's ``diagnose`` on the pre-stop state, as a revival model for :func:`compare`.

    Revived at once when diagnose has a live finding rooted at a unit that acts
    by itself right after a stop (an upholder, the owner of an OnSuccess= hook).
    """
    for finding in diagnose(snapshot).findings:
        root = snapshot.unit(finding.chain[0]) if finding.chain else None
        if finding.live and root is not None and (root.related("Upholds")
                                                  or root.related("OnSuccess")):
            return True, f"live finding {' -> '.join(finding.chain)}"
    return False, "no live finding rooted at an upholder or an OnSuccess= owner"


def _load_model(spec: str) -> ModelFn:
    module, _, name = spec.partition(":")
    model: ModelFn = getattr(importlib.import_module(module), name or "liveness")
    return model


def main(argv: list[str] | None = None) -> int:
    """Print the comparison of a model (today's diagnose by default) with the dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="module:function (default: today's diagnose)")
    parser.add_argument("--dataset", default=str(DATASET))
    parser.add_argument("--snapshot", choices=("post", "pre"), default="post")
    parser.add_argument("--truth", choices=TRUTHS, default="source",
                        help="what counts as started (see recorded_truth)")
    parser.add_argument("--revival",
                        help="module:function answering revived-at-once from the pre-stop "
                        "state (default: revived_at_once beside --model, else today's diagnose)")
    parser.add_argument("--limit", type=int, default=20, help="disagreements to print")
    args = parser.parse_args(argv)
    model = _load_model(args.model) if args.model else diagnose_liveness
    if args.revival:
        revival: RevivalFn = _load_model(args.revival)
    elif args.model:
        revival = _load_model(f"{args.model.partition(':')[0]}:revived_at_once")
    else:
        revival = diagnose_revival
    report = compare(model, load_dataset(Path(args.dataset)), snapshot=args.snapshot,
                     truth=args.truth, revival_fn=revival)
    print(report.text(limit=args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
