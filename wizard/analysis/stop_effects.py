"""What stopping (or masking) one unit does to others: the plan's predicted side effects.

Pure: a snapshot and a unit in, the other units the change stops or keeps
from starting, each with its reason. A stop is the stop model's
(stop_model.after_stop, systemd's stop transaction replayed); a mask is read
off the units that require the masked one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wizard.analysis.stop_model import after_stop, stopped_with
from wizard.analysis.transaction import PROPAGATE_STOP
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


# A start of a unit that Requires=/BindsTo= a masked unit fails ("Unit is masked"
# fails the job, and the dependant's job with it). A hold does not: a failed
# condition skips the unit without failing the units that require it.
_START_NEEDS = (("RequiredBy", "Requires={unit}"), ("BoundBy", "BindsTo={unit}"))


def _running_or_unknown(snapshot: SystemSnapshot, name: str) -> bool:
    # Units outside the neighbourhood were not read; a stop may still reach them.
    unit = snapshot.unit(name)
    return unit is None or unit.is_active


def side_effects_of_stop(snapshot: SystemSnapshot, unit: str) -> tuple[SideEffect, ...]:
    """Units that stopping ``unit`` stops too, transitively, with the reason.

    The stop is systemd's own transaction as the stop model replays it
    (stop_model.after_stop: Requires=/BindsTo=/PartOf=/PropagatesStopTo=
    propagated, StopWhenUnneeded= cleaned up); units it names but the snapshot
    does not hold were not read, and a stop may still reach them, so the direct
    relations name those too.
    """
    me = snapshot.unit(unit)
    if me is None:
        return ()
    found: dict[str, SideEffect] = {}
    for other, why in stopped_with(after_stop(snapshot, me.name)).items():
        # The model words it "x.service: Requires=y.socket"; the unit is in its own field.
        reason = why.removeprefix(f"{other}: ")
        found[other] = SideEffect(other, Effect.STOPS, reason)

    def add(name: str, reason: str) -> None:
        if name != me.name and name not in found and snapshot.unit(name) is None:
            found[name] = SideEffect(name, Effect.STOPS, reason)

    # The stop model's own list of what a stop propagates through (transaction.py).
    for prop, written in PROPAGATE_STOP:
        for other in me.related(prop):
            add(other, f"PropagatesStopTo={other} in {me.name}" if prop == "PropagatesStopTo"
                else f"{written}={me.name}")
    if me.type == "automount":
        for mount in me.related("Triggers"):
            if mount not in found and _running_or_unknown(snapshot, mount):
                found[mount] = SideEffect(mount, Effect.STOPS,
                                          f"the mount behind {me.name}, unmounted with it")
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
