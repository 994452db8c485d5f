"""What `systemctl stop UNIT` does to the units around it, computed from a snapshot.

The stop transaction follows UNIT_ATOM_PROPAGATE_STOP (transaction.c); afterwards
systemd's queues act on their own: StopWhenUnneeded= units nobody needs stop
(unit.c ``unit_is_unneeded``), active upholders start what they uphold again
(``unit_is_upheld_by_active``), OnSuccess= hooks of cleanly stopped units start
(unit.c ``unit_notify``), and triggers whose unit stopped return to listening or
waiting (socket.c, path.c). docs/systemd-model.md cites each rule.
"""

from __future__ import annotations

from wizard.analysis.transaction import (
    PROPAGATE_STOP,
    JobType,
    Transaction,
    UnitStates,
    stop_transaction,
)
from wizard.model.frozen import frozen
from wizard.model.snapshots import FileFacts, SystemSnapshot, UnitSnapshot

# UNIT_ATOM_ADD_STOP_WHEN_UNNEEDED_QUEUE: when a unit stops, these of its
# dependencies are checked for being unneeded now.
STOP_WHEN_UNNEEDED_QUEUE = ("Requires", "Requisite", "Wants", "BindsTo", "Upholds")
# UNIT_ATOM_PINS_STOP_WHEN_UNNEEDED: an active unit on these keeps a unit needed.
PINS_STOP_WHEN_UNNEEDED = ("RequiredBy", "RequisiteOf", "WantedBy", "BoundBy", "UpheldBy")


@frozen
class StopOutcome:
    """The state after a stop: what stopped, why, and what systemd does next by itself."""

    unit: str
    refused: str = ""
    """Why systemctl stop is refused ("" when it is not)."""
    stopped: dict[str, str] | None = None
    """Every unit that stops, with its reason ("docker.service: Requires=docker.socket")."""
    states: UnitStates | None = None
    """The active and sub state of every unit in the snapshot afterwards."""
    upheld: tuple[tuple[str, str], ...] = ()
    """(stopped unit, active upholder): systemd starts the unit again right away."""
    on_success: tuple[tuple[str, str], ...] = ()
    """(hook, stopped owner): the clean stop starts the owner's OnSuccess= unit."""
    facts: tuple[str, ...] = ()

    def stopped_units(self) -> dict[str, str]:
        """The stopped units and reasons (empty when the stop was refused)."""
        return dict(self.stopped or {})

    def after(self) -> UnitStates:
        """The post-stop states (the snapshot's own when the stop was refused)."""
        assert self.states is not None
        return self.states


def _reason(states: UnitStates, transaction: Transaction, unit: str) -> str:
    job = transaction.jobs[unit]
    if len(job.path) < 2:
        return f"{unit}: stopped as asked"
    previous, step = job.path[-2], job.path[-1]
    for prop, written in PROPAGATE_STOP:
        if prop == step.via:
            if prop == "PropagatesStopTo":
                return f"{unit}: {previous.unit} has PropagatesStopTo={unit}"
            return f"{unit}: {written}={previous.unit}"
    return f"{unit}: {step.via} {previous.unit}"


def after_stop(
    snapshot: SystemSnapshot, unit: str, *, files: FileFacts | None = None
) -> StopOutcome:
    """Model ``systemctl stop unit`` on the snapshot (``files``: see transaction.FileFacts)."""
    states = UnitStates.of(snapshot, files)
    name = states.name(unit)
    found = states.unit(name)
    if found is not None and found.refuse_manual_stop:
        return StopOutcome(name, refused=f"{name} has RefuseManualStop=yes; systemctl stop "
                           "refuses it", stopped={}, states=states)
    stopped: dict[str, str] = {}
    facts: list[str] = []
    pending = [(name, "")]
    while pending:
        target, why = pending.pop(0)
        transaction = stop_transaction(states, target)
        newly = [u for u in transaction.jobs if transaction.stops(u) and u not in stopped]
        for stopped_unit in newly:
            stopped[stopped_unit] = why if stopped_unit == target and why else _reason(
                states, transaction, stopped_unit)
        states = states.with_changes(dict.fromkeys(newly, "inactive"),
                                     dict.fromkeys(newly, "dead"))
        # StopWhenUnneeded=: dependencies of what stopped, no longer pinned.
        for stopped_unit in newly:
            for prop in STOP_WHEN_UNNEEDED_QUEUE:
                for dep in states.related(stopped_unit, prop):
                    dep_unit = states.unit(dep)
                    if dep_unit is None or not dep_unit.stop_when_unneeded:
                        continue
                    # unit_is_unneeded(): only an active unit is cleaned up, and any
                    # dependent that is not inactive or failed pins it.
                    if states.state(dep) != "active":
                        continue
                    if dep in stopped or any(d == dep for d, _ in pending):
                        continue
                    pinned = [p for pin in PINS_STOP_WHEN_UNNEEDED
                              for p in states.related(dep, pin)
                              if not states.is_inactive(p)]
                    if not pinned:
                        pending.append((dep, f"{dep}: StopWhenUnneeded=yes and no active unit "
                                        f"needs it once {stopped_unit} stopped"))
    active_after = dict(states.active)
    sub_after = dict(states.sub)
    # socket.c socket_trigger_notify / path.c path_trigger_notify: a trigger whose
    # unit stopped (and that was not stopped itself) watches again.
    for unit_name, snap in snapshot.units.items():
        if unit_name in stopped or not states.is_active(unit_name):
            continue
        triggered = states.related(unit_name, "Triggers")
        if not triggered or any(not states.is_inactive(t) for t in triggered):
            continue
        if snap.socket is not None and snap.sub_state == "running":
            sub_after[unit_name] = "listening"
        elif snap.path is not None and snap.sub_state == "running":
            sub_after[unit_name] = "waiting"
    states = states.with_changes(active_after, sub_after)
    upheld = []
    on_success = []
    for stopped_unit in stopped:
        for upholder in states.related(stopped_unit, "UpheldBy"):
            if states.is_active(upholder):
                upheld.append((stopped_unit, upholder))
                facts.append(f"{upholder} is active and has Upholds={stopped_unit}: systemd "
                             f"starts {stopped_unit} again right away")
        was = snapshot.unit(stopped_unit)
        if was is not None and was.active_state in ("active", "reloading", "activating"):
            for hook in states.related(stopped_unit, "OnSuccess"):
                if (_hook_mode(was) == "fail"
                        and hook in _stops_after(states, stopped, stopped_unit)):
                    facts.append(
                        f"{stopped_unit} stops cleanly, but its OnSuccess={hook} is refused: "
                        f"{hook}'s own stop job waits for {stopped_unit} (ordering), and "
                        f"OnSuccessJobMode={_hook_mode(was)} does not replace a queued job "
                        "(transaction.c transaction_is_destructive)")
                    continue
                on_success.append((hook, stopped_unit))
                facts.append(f"{stopped_unit} stops cleanly, which starts its OnSuccess={hook}")
    return StopOutcome(name, stopped=stopped, states=states, upheld=tuple(upheld),
                       on_success=tuple(on_success), facts=tuple(facts))


def _hook_mode(unit: UnitSnapshot) -> str:
    return unit.on_success_job_mode or "fail"


def _stops_after(states: UnitStates, stopped: dict[str, str], unit: str) -> set[str]:
    """The stopped units whose stop jobs wait for ``unit``'s to finish.

    Stop jobs run in the reverse of After= order (job.c job_compare()): a
    unit with After=X stops before X, so X's stop job is still queued when
    the unit becomes inactive. Only ordering between units that have a stop
    job in the transaction counts; unordered stops finish in either order.
    """
    waiting: set[str] = set()
    frontier = [unit]
    while frontier:
        current = frontier.pop()
        for later in (*states.related(current, "After"),):
            if later in stopped and later not in waiting and later != unit:
                waiting.add(later)
                frontier.append(later)
    return waiting


def stopped_with(outcome: StopOutcome) -> dict[str, str]:
    """Units stopped along with the asked unit (not the unit itself)."""
    return {u: r for u, r in outcome.stopped_units().items() if u != outcome.unit}


__all__ = ["JobType", "StopOutcome", "after_stop", "stopped_with"]
