"""Completes a neighbourhood snapshot with what the transaction model reads below it.

It also reads the files the model needs (file_facts): Condition*= paths and the
paths path units watch, under the system's root.

The neighbourhood walks *up* from the target; systemd's transactions also go
*down*: a start job pulls in the Requires=/Wants=/... of every unit it reaches,
and a masked or active unit there changes the outcome. This loads those forward
dependencies of every unit already in the snapshot, to a fixed point.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Sequence

from wizard.errors import StaydownError
from wizard.model.snapshots import FileFacts, SystemSnapshot, UnitSnapshot
from wizard.system.systemd import SystemdClient

# What a start or stop transaction follows from a unit it holds a job for.
PULL_INS = ("Requires", "BindsTo", "Requisite", "Wants", "Upholds")
ONE_LEVEL = ("Triggers", "PropagatesStopTo", "OnSuccess", "OnFailure", "RequiredBy", "BoundBy",
             "ConsistsOf", "RequisiteOf", "UpheldBy")
MAX_UNITS = 3000


def complete_for_model(
    client: SystemdClient, snapshot: SystemSnapshot, also: Sequence[str] = ()
) -> SystemSnapshot:
    """The snapshot plus the units its transactions can reach below it.

    Every pull-in of a unit in the snapshot is loaded, and the pull-ins of
    those, further down, only while they are not active: a start job on an
    active unit is redundant and dropped with its links (transaction.c
    transaction_drop_redundant), so what an active unit pulls in matters only
    when it is the anchor, and the anchors are all in the snapshot. ``also``
    names sources to load with their own pull-ins: a unit nothing loaded yet (a
    service only cron starts) has no reverse dependencies in systemd, so the
    walk up from the target cannot find it.
    """
    units: dict[str, UnitSnapshot] = dict(snapshot.units)
    known = {alias for unit in units.values() for alias in (unit.name, *unit.names)}
    queue: list[str] = [n for unit in units.values() for p in (*PULL_INS, *ONE_LEVEL)
                        for n in unit.related(p)]
    queue.extend(also)
    while queue and len(units) < MAX_UNITS:
        name = queue.pop(0)
        if name in known:
            continue
        try:
            unit = client.load_unit(name)
        except StaydownError:
            # An unreadable unit below the chains is unknown, as systemd's
            # transaction would find it: the model treats it as not loaded.
            unit = UnitSnapshot(name=name, load_state="error")
        units[unit.name] = unit
        known.update((unit.name, *unit.names))
        if name in also or not unit.is_active:
            queue.extend(n for p in PULL_INS for n in unit.related(p) if n not in known)
    return dataclasses.replace(snapshot, units=units)


# Condition*=/Assert*= that only look at files, as src/shared/condition.c tests them.
def _under(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _path_check(kind: str, root: str, param: str) -> bool | None:
    path = _under(root, param)
    match kind.removeprefix("Condition").removeprefix("Assert"):
        case "PathExists":
            return os.path.lexists(path)
        case "PathExistsGlob":
            return bool(glob.glob(path))
        case "PathIsDirectory":
            return os.path.isdir(path)
        case "PathIsSymbolicLink":
            return os.path.islink(path)
        case "DirectoryNotEmpty":
            try:
                return any(not e.startswith(".") for e in os.listdir(path))
            except OSError:
                return False
        case "FileNotEmpty":
            return os.path.isfile(path) and os.path.getsize(path) > 0
        case "FileIsExecutable":
            return os.path.isfile(path) and os.access(path, os.X_OK)
    return None


def _evaluate(
    root: str, checks: tuple[tuple[str, bool, bool, str, int], ...]
) -> tuple[bool, str] | None:
    """condition.c condition_test_list(): all plain checks, and one trigger (|) if any."""
    plain_failed: list[str] = []
    triggers: list[tuple[bool, str]] = []
    for kind, trigger, negate, param, _last in checks:
        result = _path_check(kind, root, param)
        if result is None:
            return None  # one check we cannot evaluate here makes the whole list unknown
        passes = result != negate
        words = f"{kind}={'|' if trigger else ''}{'!' if negate else ''}{param}"
        if trigger:
            triggers.append((passes, words))
        elif not passes:
            plain_failed.append(words)
    if plain_failed:
        return False, ", ".join(plain_failed)
    if triggers and not any(passes for passes, _ in triggers):
        return False, ", ".join(words for _, words in triggers)
    return True, ""


_STATE_SPECS = ("PathExists", "PathExistsGlob", "DirectoryNotEmpty")


def file_facts(root: str, snapshot: SystemSnapshot) -> FileFacts:
    """Evaluate the snapshot's file conditions and path-unit specs under ``root``."""
    conditions: dict[str, tuple[bool, str]] = {}
    asserts: dict[str, tuple[bool, str]] = {}
    holding: set[str] = set()
    for unit in snapshot.units.values():
        if unit.conditions:
            result = _evaluate(root, unit.conditions)
            if result is not None:
                conditions[unit.name] = result
        if unit.asserts:
            result = _evaluate(root, unit.asserts)
            if result is not None:
                asserts[unit.name] = result
        if unit.path is not None:
            for kind, param in unit.path.paths:
                if kind in _STATE_SPECS and _path_check(kind, root, param):
                    holding.add(param)
    return FileFacts(tuple(sorted(holding)), conditions, asserts)
