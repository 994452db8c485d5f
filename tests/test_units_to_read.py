"""What the model reads below the walk loses nothing its answers depend on.

Recordings hold more than the reading keeps: the recorded scenarios, the
bookworm-server lab (every loaded unit of a real Debian server) and the
differential dataset (every unit of 1,100 generated graphs, with systemd's own
outcomes). Each is cut down to what analysis.units_to_read asks for, read from
the recording instead of the bus by the same fixed point (read_below), and the
answers must be the same as on the whole recording: the diagnosis, the plans,
and, for the differential cases, the verdict on every provoked source and the
agreement with systemd. The lab half (what systemd does with an active target
that is an anchor, and with a masked unit behind one) is in
tests/test_lab_transaction_model.py, cases y and z.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from pathlib import Path

import pytest

from tests.differential.compare import compare
from tests.differential.dataset import Dataset, load_dataset
from tests.real_packages import sweep
from wizard.analysis import diagnose
from wizard.analysis.liveness import Verdict, fired_liveness, revived_at_once
from wizard.analysis.systemctl_calls import unit_callers
from wizard.analysis.unit_graph import REVERSE_PROPERTIES
from wizard.analysis.units_to_read import read_below
from wizard.errors import StaydownError
from wizard.model.snapshots import SystemSnapshot, snapshot_from_json
from wizard.plan.build import build_plan, default_choices

SNAPSHOTS = Path(__file__).parent / "snapshots"


def walk(whole: SystemSnapshot) -> tuple[str, ...]:
    """The walk up from the target, as collect_neighbourhood makes it, on a recording."""
    callers = unit_callers(whole)
    seen: dict[str, None] = {}
    queue = [whole.target]
    while queue:
        unit = whole.unit(queue.pop())
        if unit is None or unit.name in seen:
            continue
        seen[unit.name] = None
        queue.extend(r for prop in REVERSE_PROPERTIES for r in unit.related(prop))
        queue.extend(c.caller for alias in unit.names for c in callers.get(alias, ()))
    return tuple(seen)


def cut_down(whole: SystemSnapshot, target: str, also: Collection[str] = ()) -> tuple[
        SystemSnapshot, SystemSnapshot]:
    """(the whole recording, what the reading keeps of it), both aimed at ``target``."""
    whole = dataclasses.replace(whole, target=target)
    walked = walk(whole)
    whole = dataclasses.replace(whole, walked=walked)
    start = dataclasses.replace(whole, units={n: whole.units[n] for n in walked})
    kept, cut_short = read_below(start, whole.unit, also=also, max_units=10_000)
    assert not cut_short
    return whole, kept


def answers(snapshot: SystemSnapshot) -> list[str]:
    """Everything diagnose and plan (either kind) say about the snapshot's target."""
    diagnosis = diagnose(snapshot)
    said = [json.dumps(dataclasses.asdict(diagnosis), sort_keys=True, default=str)]
    for persistent in (False, True):
        try:
            plan = build_plan(diagnosis, snapshot, default_choices(diagnosis, snapshot, persistent),
                              created="2026-12-02T00:00:00")
            said.append(json.dumps(dataclasses.asdict(plan), sort_keys=True, default=str))
        except StaydownError as refused:
            said.append(f"{type(refused).__name__}: {refused}")
    return said


@pytest.mark.parametrize("path", sorted(SNAPSHOTS.glob("*.json")), ids=lambda p: p.stem)
def test_a_recorded_scenario_gets_the_same_answers_from_what_is_kept(path: Path) -> None:
    whole = snapshot_from_json(path.read_text())
    whole, kept = cut_down(whole, whole.target)
    assert answers(kept) == answers(whole)


def test_every_unit_of_a_real_debian_server_gets_the_same_answers_from_what_is_kept() -> None:
    server = snapshot_from_json(sweep.SNAPSHOT.read_text())
    targets = list(json.loads(sweep.RESULTS.read_text())["units"])
    kept_units = whole_units = 0
    for target in targets:
        whole, kept = cut_down(server, target)
        assert answers(kept) == answers(whole), target
        kept_units += len(kept.units)
        whole_units += len(whole.units)
    # Not vacuous: most of the host is left unread (multi-user.target alone wants
    # dozens of units), and every answer above was still the same.
    assert len(targets) > 100
    assert kept_units < whole_units / 3


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_dataset()


def test_every_differential_case_gets_the_same_diagnosis_from_what_is_kept(
    dataset: Dataset,
) -> None:
    for recorded in dataset.cases:
        for state in (recorded.pre_stop, recorded.post_stop):
            if state is not None:
                whole, kept = cut_down(state, recorded.case.target)
                assert answers(kept) == answers(whole), recorded.case.id


def test_every_provoked_source_gets_the_same_verdict_from_what_is_kept(
    dataset: Dataset,
) -> None:
    # Each source the runner fired is an anchor named apart (``also``), as a
    # caller or a crontab line names one in diagnose.
    sources = {r.case.target: tuple(o.unit for o in r.outcomes) for r in dataset.cases}
    kept_of: dict[int, SystemSnapshot] = {}
    differences: list[str] = []

    def kept(snapshot: SystemSnapshot, target: str) -> SystemSnapshot:
        if id(snapshot) not in kept_of:
            kept_of[id(snapshot)] = cut_down(snapshot, target, sources[target])[1]
        return kept_of[id(snapshot)]

    def said(verdict: Verdict) -> tuple[bool, str, tuple[object, ...]]:
        return verdict.live, verdict.dormant, verdict.chain

    def model(snapshot: SystemSnapshot, target: str, unit: str, kind: str) -> Verdict:
        verdict = fired_liveness(kept(snapshot, target), target, unit, kind=kind)
        if said(verdict) != said(fired_liveness(snapshot, target, unit, kind=kind)):
            differences.append(f"{target} {unit} ({kind})")
        return verdict

    def revival(snapshot: SystemSnapshot, target: str) -> Verdict:
        verdict = revived_at_once(kept(snapshot, target), target)
        if said(verdict) != said(revived_at_once(snapshot, target)):
            differences.append(f"{target}: revived at once")
        return verdict

    report = compare(model, dataset, revival_fn=revival)
    assert differences == []
    assert report.agreed == report.compared, report.text(limit=5)
