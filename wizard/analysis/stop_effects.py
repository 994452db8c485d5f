"""What stopping (or masking) one unit does to others: the plan's predicted side effects.

Pure: a snapshot and a unit in, the other units the change stops or keeps
from starting, each with its reason. This is the direct version, read off
the unit's own reverse dependencies; the full stop/start transaction model
(``wizard/analysis/transaction.py``) is meant to replace the body of
:func:`side_effects_of_stop` without changing its callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wizard.model.snapshots import SystemSnapshot


class Effect(StrEnum):
    """What happens to the other unit."""

    STOPS = "stops"
    KEEPS_FROM_STARTING = "keeps-from-starting"


@dataclass(frozen=True)
class SideEffect:
    """One unit an action takes down (or keeps down) beyond its own unit, and why."""

    unit: str
    effect: Effect
    reason: str
    """Why, in systemd's words: ``Requires=docker.socket``, "the mount behind x.automount"."""


# systemd.unit(5): a stop of U is propagated to units that have Requires=U or
# BindsTo=U (U's RequiredBy/BoundBy), to units PartOf=U (U's ConsistsOf), and to
# U's PropagatesStopTo=. In unit.c these are the UNIT_ATOM_PROPAGATE_STOP atoms.
_STOP_PROPAGATES_FROM = (
    ("RequiredBy", "Requires={unit}"),
    ("BoundBy", "BindsTo={unit}"),
    ("ConsistsOf", "PartOf={unit}"),
)
_STOP_PROPAGATES_TO = (("PropagatesStopTo", "PropagatesStopTo={other} in {unit}"),)
# A start of a unit that Requires=/BindsTo= a masked unit fails ("Unit is masked"
# fails the job, and the dependant's job with it). A hold does not: a failed
# condition skips the unit without failing the units that require it.
_START_NEEDS = (("RequiredBy", "Requires={unit}"), ("BoundBy", "BindsTo={unit}"))


def _running_or_unknown(snapshot: SystemSnapshot, name: str) -> bool:
    # Units outside the neighbourhood were not read; a stop may still reach them.
    unit = snapshot.unit(name)
    return unit is None or unit.is_active


def side_effects_of_stop(snapshot: SystemSnapshot, unit: str) -> tuple[SideEffect, ...]:
    """Units that stopping ``unit`` stops too (direct dependants only), with the reason."""
    found: dict[str, SideEffect] = {}
    me = snapshot.unit(unit)
    if me is None:
        return ()

    def add(name: str, reason: str) -> None:
        if name != unit and name not in found and _running_or_unknown(snapshot, name):
            found[name] = SideEffect(name, Effect.STOPS, reason)

    for prop, reason in _STOP_PROPAGATES_FROM:
        for other in me.related(prop):
            add(other, reason.format(unit=unit))
    for prop, reason in _STOP_PROPAGATES_TO:
        for other in me.related(prop):
            add(other, reason.format(unit=unit, other=other))
    if me.type == "automount":
        for mount in me.related("Triggers"):
            add(mount, f"the mount behind {unit}, unmounted with it")
    return tuple(found.values())


def side_effects_of_mask(snapshot: SystemSnapshot, unit: str) -> tuple[SideEffect, ...]:
    """Units a mask of ``unit`` keeps from starting (they require it)."""
    me = snapshot.unit(unit)
    if me is None:
        return ()
    found: dict[str, SideEffect] = {}
    for prop, reason in _START_NEEDS:
        for other in me.related(prop):
            if other != unit and other not in found:
                found[other] = SideEffect(
                    other, Effect.KEEPS_FROM_STARTING,
                    f"{reason.format(unit=unit)}: its start fails while {unit} is masked",
                )
    return tuple(found.values())
