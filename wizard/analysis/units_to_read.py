"""Which units below the walk the transaction model needs read, and how far down.

Pure: a snapshot in, the names it still lacks out (units_to_read); read_below
asks again and again until nothing is missing, with a loader it is given
(wizard.system.transaction_inputs gives one that reads systemd over D-Bus).

A start transaction adds a job for every pull-in of every unit it reaches,
active or not (transaction.c ``transaction_add_job_and_dependencies``), then
drops the jobs of active units as redundant (``transaction_drop_redundant``,
keeping the anchor's) and the jobs nobody pulls in any more with them
(``transaction_collect_garbage``). So below a unit whose job is kept (the
anchor, or an inactive unit), every pull-in matters; below an active unit
reached by a pull-in, what it pulls in is garbage once its job is dropped,
except that a unit which cannot be loaded (masked, not found) fails the
adding of jobs up every ``Requires=``/``BindsTo=``/``Requisite=`` link to the
first ``Wants=`` (``goto fail``): for those units only that hard part is read.

The anchors are what liveness.fire() can name: a trigger's unit, a hook, an
upheld unit, a unit a command or crontab starts, a service that restarts by
itself, and whatever the caller names (``also``). The unit, and whatever
its stop takes down with it, is inactive after the stop, so its pull-ins
count too. Every unit of the walk is read whole except an active target
nothing of that applies to (and with no Upholds= of its own): a target only
ever starts at boot (a boot source, which fires nothing) or by a start job of
its own, so its
``Wants=`` (on a server ``multi-user.target`` wants every enabled unit) never
reach a kept job. That is what keeps the cost of a diagnosis the size of the
unit's neighbourhood, not of the host.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from enum import Enum

from wizard.analysis.stop_model import STOP_WHEN_UNNEEDED_QUEUE
from wizard.analysis.systemctl_calls import cron_callers, unit_callers
from wizard.analysis.transaction import (
    ACTIVE_STATES,
    PROPAGATE_STOP,
    PULL_IN_START,
    PULL_IN_START_IGNORED,
    PULL_IN_VERIFY,
)
from wizard.analysis.unit_graph import restarts_by_itself
from wizard.model.snapshots import SystemSnapshot, UnitSnapshot

HARD_PULL_INS = (*PULL_IN_START, *PULL_IN_VERIFY)
"""The pull-ins whose load failure fails the unit that pulls them in (transaction.py's
``_Builder.add`` returns their refusal; it drops an ignored pull-in's)."""
PULL_INS = (*HARD_PULL_INS, *PULL_IN_START_IGNORED)
"""What a start transaction follows from a unit it holds a job for."""
ONE_LEVEL = ("Triggers", "PropagatesStopTo", "OnSuccess", "OnFailure", "RequiredBy", "BoundBy",
             "ConsistsOf", "RequisiteOf", "UpheldBy")
"""Read for every unit of the walk: what it fires, hooks, and who its stop reaches."""
HOOKS = ("OnFailure", "OnSuccess")
_STARTED_BY = ("TriggeredBy", "UpheldBy", "OnFailureOf", "OnSuccessOf")
_STOP_PROPAGATES = tuple(prop for prop, _written in PROPAGATE_STOP)


class Reach(Enum):
    """How much of a unit's pull-ins the model follows."""

    ALL = "all"
    HARD = "hard"


def _redundant(unit: UnitSnapshot) -> bool:
    # job.c job_type_is_redundant(): a start job on an active or reloading unit.
    return unit.active_state in ACTIVE_STATES


def possible_anchors(snapshot: SystemSnapshot, also: Collection[str] = ()) -> set[str]:
    """Every unit of the snapshot that a source can give a start job of its own."""
    called = {*unit_callers(snapshot), *cron_callers(snapshot),
              *(s.systemd_service for s in snapshot.dbus_services)}
    anchors = {snapshot.target, *also}
    for unit in snapshot.units.values():
        if (any(unit.related(prop) for prop in _STARTED_BY) or restarts_by_itself(unit)
                or any(alias in called for alias in unit.names)):
            anchors.add(unit.name)
        for triggered in (unit.timer.unit if unit.timer else "",
                          unit.path.unit if unit.path else ""):
            if triggered:
                anchors.add(triggered)
    return anchors


def stop_closure(snapshot: SystemSnapshot, unit: str) -> set[str]:
    """The units ``systemctl stop unit`` can take down, as far as the snapshot tells.

    A superset of what stop_model.after_stop computes: every unit a stop
    propagates to, and every StopWhenUnneeded= pull-in of those.
    """
    found: set[str] = set()
    queue = [unit]
    while queue:
        name = queue.pop()
        current = snapshot.unit(name)
        key = current.name if current is not None else name
        if key in found:
            continue
        found.add(key)
        if current is None:
            continue
        queue.extend(n for prop in _STOP_PROPAGATES for n in current.related(prop))
        for prop in STOP_WHEN_UNNEEDED_QUEUE:
            for dep in current.related(prop):
                dep_unit = snapshot.unit(dep)
                if dep_unit is None or dep_unit.stop_when_unneeded:
                    queue.append(dep)
    return found


def reach(snapshot: SystemSnapshot, walked: Collection[str], also: Collection[str],
          closure: set[str]) -> dict[str, Reach]:
    """How far the model follows the pull-ins of each unit the snapshot holds.

    ``closure`` is the target's :func:`stop_closure`.
    """
    seeds = possible_anchors(snapshot, also) | closure
    for name in walked:
        unit = snapshot.unit(name)
        # An active target with Upholds= still acts (a source a plan may stop, and
        # its stop's StopWhenUnneeded= check reads what it pulls in).
        if unit is not None and not (unit.type == "target" and _redundant(unit)
                                     and not unit.related("Upholds")):
            seeds.add(unit.name)
    reached: dict[str, Reach] = {}
    queue = [(name, Reach.ALL) for name in seeds]
    while queue:
        name, how = queue.pop()
        unit = snapshot.unit(name)
        if unit is None or reached.get(unit.name) in (how, Reach.ALL):
            continue
        reached[unit.name] = how
        for prop in PULL_INS if how is Reach.ALL else HARD_PULL_INS:
            for dep in unit.related(prop):
                found = snapshot.unit(dep)
                if found is None:
                    continue
                if how is Reach.ALL and not _redundant(found):
                    queue.append((dep, Reach.ALL))
                elif prop in HARD_PULL_INS:
                    queue.append((dep, Reach.HARD))
    return reached


def units_to_read(snapshot: SystemSnapshot, walked: Collection[str],
                  also: Collection[str] = ()) -> list[str]:
    """The names the model needs that the snapshot does not hold yet, in a stable order.

    ``walked`` are the units of the walk up from the target; ``also`` names
    units to treat as anchors (a service only cron starts, found apart).
    """
    wanted: dict[str, None] = dict.fromkeys(also)
    for name in (*walked, *also):
        # A source named apart is read like a unit of the walk: what it fires, its hooks.
        unit = snapshot.unit(name)
        if unit is not None:
            wanted.update((n, None) for prop in ONE_LEVEL for n in unit.related(prop))
    closure = stop_closure(snapshot, snapshot.target)
    for name, how in reach(snapshot, walked, also, closure).items():
        unit = snapshot.units[name]
        # A unit whose job runs may fail or exit, and its hooks start then.
        props = (*PULL_INS, *HOOKS) if how is Reach.ALL else HARD_PULL_INS
        wanted.update((n, None) for prop in props for n in unit.related(prop))
    for name in closure:
        unit = snapshot.unit(name)
        if unit is not None:
            # The stop transaction goes on from every unit it stops.
            wanted.update((n, None) for prop in _STOP_PROPAGATES for n in unit.related(prop))
    return [name for name in wanted if snapshot.unit(name) is None]


def read_below(
    snapshot: SystemSnapshot, load: Callable[[str], UnitSnapshot | None], *,
    also: Collection[str] = (), max_units: int,
) -> tuple[SystemSnapshot, bool]:
    """The snapshot of the walk plus every unit units_to_read asks for, to a fixed point.

    ``load`` returns a unit's snapshot, or None to leave it out. The flag says
    whether ``max_units`` cut the reading short.
    """
    walked = tuple(snapshot.units)
    units: dict[str, UnitSnapshot] = dict(snapshot.units)
    asked: set[str] = set()
    current = snapshot
    missing = units_to_read(current, walked, also)
    while missing and len(units) < max_units:
        for name in missing[:max_units - len(units)]:
            asked.add(name)
            unit = load(name)
            if unit is not None:
                units[unit.name] = unit
        current = dataclasses.replace(snapshot, units=dict(units))
        # A name asked once is not asked again, whatever came back for it.
        missing = [n for n in units_to_read(current, walked, also) if n not in asked]
    return current, bool(missing)
