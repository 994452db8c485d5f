"""Whether a revival source would start the unit again after `systemctl stop`, as systemd decides.

A source is *live* when firing it in the post-stop state (stop_model) makes a
start transaction (transaction) whose kept jobs start the unit. Otherwise it is
*dormant*: the verdict says why in plain words and what would wake it.
docs/systemd-model.md cites the systemd code each rule follows.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from wizard.analysis.stop_model import (
    PINS_STOP_WHEN_UNNEEDED,
    STOP_WHEN_UNNEEDED_QUEUE,
    StopOutcome,
    after_stop,
)
from wizard.analysis.transaction import (
    JobType,
    Outcome,
    PlannedJob,
    Step,
    Transaction,
    UnitStates,
    leaves_connection_queued,
    run_fails,
    start_transaction,
)
from wizard.model.frozen import frozen
from wizard.model.snapshots import STATE_PATH_SPECS, FileFacts, SystemSnapshot, UnitSnapshot


class SourceKind(StrEnum):
    """How a source asks systemd for a start job."""

    SOCKET = "socket"
    PATH = "path"
    TIMER = "timer"
    AUTOMOUNT = "automount"
    BUS = "bus-activation"
    MANUAL = "manual"
    """systemctl start from a script or another unit's ExecStart=."""
    CRON = "cron"
    """systemctl start from a crontab line: fires only while a cron daemon runs."""
    BOOT = "boot"
    """A target that pulls the unit in at boot and does not fire again by itself."""
    RESTART = "restart"
    """A service whose Restart= brings it back: each restart job pulls in its
    dependencies again (service.c service_enter_restart() queues JOB_RESTART)."""
    IDLE = "idle"
    """A unit at the top of a chain that nothing here starts by itself."""
    ON_FAILURE = "on-failure"
    ON_SUCCESS = "on-success"
    UPHOLDS = "upholds"
    UNIT = "unit"
    """A unit started by something not in the snapshot (its start job is the anchor)."""


@frozen
class Source:
    """Something that can ask for a start job: a trigger unit, a caller, a hook's owner.

    ``name`` is the trigger, the caller, the hook's owner or the upholder;
    ``starts`` the unit whose start job it asks for (a trigger's unit when empty).
    """

    name: str
    kind: SourceKind
    starts: str = ""
    started_by: Source | None = None
    """What starts ``name`` first: the timer of a service that runs systemctl
    start, or of a hook's owner. None when ``name`` fires by itself."""


TRIGGER_KINDS = {
    "socket": SourceKind.SOCKET,
    "path": SourceKind.PATH,
    "timer": SourceKind.TIMER,
    "automount": SourceKind.AUTOMOUNT,
}
"""The source kind of a trigger unit, by its type."""


def source_of(snapshot: SystemSnapshot, name: str) -> Source:
    """The source a unit stands for by its type (a timer, a socket...), else a plain unit."""
    unit = snapshot.unit(name)
    canonical = unit.name if unit is not None else name
    kind = TRIGGER_KINDS.get(canonical.rpartition(".")[2], SourceKind.UNIT)
    return Source(canonical, kind)


@frozen
class Firing:
    """What a source does when it fires in the post-stop state."""

    anchor: str | None
    reason: str
    """Why it asks for no job (anchor None), or what it asks for."""
    wakes: str = ""
    """What would make it fire again, when it does not now."""
    manual: bool = False
    immediate: bool = False
    """It fires right after the stop, with nobody doing anything."""


@frozen
class Verdict:
    """Whether a source starts the target after a stop, and why (not)."""

    target: str
    source: Source
    live: bool
    anchor: str | None = None
    chain: tuple[Step, ...] = ()
    """The jobs systemd walks from the anchor to the target (live verdicts)."""
    dormant: str = ""
    """Why it does not start the target now (dormant verdicts), in plain words."""
    wakes: str = ""
    """What would make it start the target."""
    immediate: bool = False
    facts: tuple[str, ...] = ()
    transaction: Transaction | None = None


def _triggered(states: UnitStates, unit: UnitSnapshot) -> str:
    if unit.timer is not None and unit.timer.unit:
        return states.name(unit.timer.unit)
    if unit.path is not None and unit.path.unit:
        return states.name(unit.path.unit)
    triggers = states.related(unit.name, "Triggers")
    return triggers[0] if triggers else ""


BUS_SOCKETS = ("/run/dbus/system_bus_socket",)
"""Where the system bus listens (dbus.socket's ListenStream=)."""


def _bus_down(states: UnitStates) -> str:
    """Why the bus cannot be reached in these states ("" when it can, or is not in view).

    A bus call first connects to the bus's socket: while the socket listens
    the connection starts the bus service (socket activation); with both the
    socket and its service stopped nothing answers, and the bus daemon, not
    systemd, is who asks for an activated unit's start.
    """
    for name, unit in states.snapshot.units.items():
        if unit.socket is None or not any(
                addr in BUS_SOCKETS or (addr.startswith("/run/user/") and addr.endswith("/bus"))
                for _, addr in unit.socket.listen):
            continue
        services = states.related(name, "Triggers")
        if states.is_active(name) or any(states.is_active(s) for s in services):
            return ""
        return f"{name} and {', '.join(services) or 'its service'} are stopped"
    return ""


def fire(outcome: StopOutcome, source: Source) -> Firing:
    """What the source asks systemd to start when it fires in the post-stop state.

    With file facts in the states, a path unit whose PathExists= (or
    DirectoryNotEmpty=) holds is known to fire right after the stop.
    """
    states = outcome.after()
    existing_paths = states.files.existing_paths if states.files is not None else None
    stopped = outcome.stopped_units()
    name = states.name(source.name)
    unit = states.unit(name)
    if source.kind == SourceKind.CRON and not states.snapshot.cron_daemon_active:
        return Firing(None, "no cron daemon is running, so the crontab line never runs",
                      "a cron daemon (cron.service) is started")
    if source.kind == SourceKind.BUS:
        down = _bus_down(states)
        if down:
            return Firing(None, f"{down}, so no client can reach the bus to ask for "
                          f"{source.name}: bus activation needs a running bus",
                          "the bus runs again (its socket listens or its service runs)")
    if source.kind in (SourceKind.MANUAL, SourceKind.BUS, SourceKind.CRON):
        return Firing(states.name(source.starts), f"asks for a start of {source.starts}",
                      manual=True)
    if source.kind == SourceKind.IDLE:
        return Firing(None, f"{name} pulls it in only when {name} is started, and nothing "
                      f"here starts {name} by itself",
                      f"{name} is started (by systemctl start, at boot or by another unit)")
    if source.kind == SourceKind.RESTART:
        restarting = states.unit(name)
        verdict = restart_verdict(restarting) if restarting is not None else None
        if name in outcome.stopped_units():
            return Firing(None, f"{outcome.stopped_units()[name]}, so stopping {outcome.unit} "
                          f"stops {name} too, and a stop is never undone by Restart=",
                          f"{name} is started again")
        if verdict is None or not verdict.live:
            reason = verdict.reason if verdict is not None else f"{name} is not in the snapshot"
            return Firing(None, f"{name}'s restart policy is armed but not acting: {reason}",
                          f"{name} crashes or is killed")
        return Firing(name, f"{name} restarts by itself ({verdict.reason}); each restart job "
                      "pulls in its dependencies again")
    if source.kind == SourceKind.BOOT:
        return Firing(None, f"{name} pulls it in at boot and does not fire again by itself",
                      f"the next boot, or systemctl start (or isolate) {name}")
    if source.kind == SourceKind.UNIT:
        return Firing(name, f"a start job for {name}")
    if (source.kind == SourceKind.ON_SUCCESS and source.started_by is None
            and (states.name(source.starts), name) in outcome.on_success):
        # Checked before "stopped with it": the clean stop itself is the event.
        hook = states.name(source.starts)
        return Firing(hook, f"{name} stopped cleanly, which starts OnSuccess={hook}",
                      immediate=True)
    if name in stopped:
        return Firing(None, f"{stopped[name]}, so stopping {outcome.unit} stops {name} too",
                      f"{name} is started again (at boot, or by systemctl start {name})")
    if source.kind in (SourceKind.ON_FAILURE, SourceKind.ON_SUCCESS):
        hook = states.name(source.starts)
        event = "fails" if source.kind == SourceKind.ON_FAILURE else "exits successfully"
        if source.started_by is not None:
            return Firing(hook, f"{name} is started by {source.started_by.name}; when it "
                          f"{event}, systemd starts {hook}")
        if states.state(name) in ("active", "activating", "reloading", "deactivating"):
            if name.rpartition(".")[2] in ("target", "slice"):
                # Nothing runs in a target: it fails only when its own start job does.
                return Firing(None, f"{name} is active, and a {name.rpartition('.')[2]} "
                              "only fails or succeeds when it is started or stopped",
                              f"{name} is started again and fails (or stopped cleanly)")
            return Firing(hook, f"{name} runs; when it {event}, systemd starts {hook}")
        return Firing(None, f"{name} is {states.state(name)}, so it cannot {event.split()[0]} "
                      "now", f"{name} is started and then {event}")
    if source.kind == SourceKind.UPHOLDS:
        upheld = states.name(source.starts)
        if not states.is_active(name):
            return Firing(None, f"{name} is {states.state(name)}; Upholds= acts only while "
                          "the upholder is active", f"{name} is started")
        if not states.is_inactive(upheld):
            return Firing(None, f"{upheld} is {states.state(upheld)}; Upholds= starts only "
                          "inactive units", f"{upheld} stops")
        return Firing(upheld, f"{name} is active and upholds {upheld}: systemd starts it "
                      "right away (unit_is_upheld_by_active)", immediate=True)
    if unit is None:
        return Firing(None, f"{name} is not in the snapshot", "")
    started = states.name(source.starts) if source.starts else _triggered(states, unit)
    state, sub = states.state(name), states.sub_state(name)
    if not states.is_active(name) and source.started_by is None:
        return Firing(None, f"{name} is {state} ({sub}), so it watches nothing",
                      f"{name} is started (at boot or by systemctl start {name})")
    match source.kind:
        case SourceKind.SOCKET:
            assert unit.socket is not None
            if unit.socket.accept:
                template = name.rpartition(".")[0] + "@.service"
                return Firing(template, f"each connection to {name} (Accept=yes) starts a new "
                              f"instance of {template}")
            if sub == "running" or not states.is_inactive(started):
                return Firing(None, f"{name} is running because {started} runs; it starts "
                              f"nothing until {started} stops (socket_enter_running)",
                              f"{started} stops")
            return Firing(started, f"the next connection to {name} starts {started}")
        case SourceKind.PATH:
            assert unit.path is not None
            if not states.is_inactive(started):
                return Firing(None, f"{name} is running because {started} runs; it watches "
                              f"nothing until {started} stops", f"{started} stops")
            state_specs = [p for kind, p in unit.path.paths if kind in STATE_PATH_SPECS]
            holding = [p for p in state_specs if existing_paths is not None
                       and p in existing_paths]
            if holding:
                return Firing(started, f"{', '.join(holding)} exists, and {name} re-checks it "
                              f"as soon as {started} stops: it starts {started} at once",
                              immediate=True)
            paths = ", ".join(f"{kind}={p}" for kind, p in unit.path.paths)
            return Firing(started, f"{name} starts {started} when its paths change ({paths})")
        case SourceKind.TIMER:
            return Firing(started, f"{name} starts {started} each time it elapses, even when "
                          f"{started} is active")
        case SourceKind.AUTOMOUNT:
            return Firing(started, f"the next access to {name}'s directory mounts {started}")
    return Firing(None, f"{name} does not start units by itself", "")


def _dormant_from_transaction(
    transaction: Transaction, target: str, states: UnitStates
) -> tuple[str, str]:
    """Why the transaction does not start the target, and what would wake it."""
    if transaction.failed:
        return transaction.failed, "the refusal is lifted"
    job = transaction.jobs.get(target)
    if job is not None:
        if job.outcome == Outcome.CONDITION_FAILED:
            return job.reason, f"{target}'s condition holds"
        return job.reason or f"{target}'s start job ends {job.outcome}", "its cause is fixed"
    dropped = transaction.dropped_job(target)
    if dropped is not None:
        redundant = [d for d in transaction.dropped if "redundant" in d.why
                     and any(s.unit == d.unit for s in dropped.path)]
        if redundant:
            via = redundant[0].unit
            return (f"{via} is active, so the start job systemd adds for it is redundant and "
                    f"dropped, and with it every job only it pulled in; {target} is one "
                    f"(path {' -> '.join(s.unit for s in dropped.path)})",
                    f"{via} is inactive when the source fires (this chain acts at boot, or "
                    f"after {via} stops)")
        return dropped.why, ""
    return (f"the transaction anchored at {transaction.anchor} pulls in no job for {target}",
            "")


def liveness(
    snapshot: SystemSnapshot,
    target: str,
    source: Source | str,
    *,
    outcome: StopOutcome | None = None,
    files: FileFacts | None = None,
) -> Verdict:
    """Whether firing ``source`` after ``systemctl stop target`` starts ``target`` again.

    Pass ``outcome`` (from :func:`after_stop`) when asking about many sources of
    one target, so the stop is modelled once. ``files`` (from
    wizard.system.transaction_inputs.file_facts) tells which conditions and watched
    paths hold now; without it the last checks systemd remembers are used.
    """
    if isinstance(source, str):
        source = source_of(snapshot, source)
    outcome = outcome or after_stop(snapshot, target, files=files)
    states = outcome.after()
    target = states.name(target)
    if outcome.refused:
        return Verdict(target, source, False, dormant=outcome.refused, facts=outcome.facts)
    if states.name(source.name) == target:
        return Verdict(target, source, False,
                       dormant=f"{source.name} is {target} itself", facts=outcome.facts)
    verdict = reaches(outcome, source, target)
    return dataclasses.replace(verdict, facts=(*outcome.facts, *verdict.facts))


_VIA = {
    SourceKind.ON_FAILURE: "OnFailure",
    SourceKind.ON_SUCCESS: "OnSuccess",
    SourceKind.MANUAL: "systemctl start",
    SourceKind.CRON: "systemctl start",
    SourceKind.BUS: "bus activation",
    SourceKind.UPHOLDS: "Upholds",
}


def reaches(outcome: StopOutcome, source: Source, unit: str) -> Verdict:
    """Whether firing ``source`` in the post-stop state starts ``unit`` (any unit).

    A source with ``started_by`` is asked in two steps, as systemd runs them: the
    first transaction must start ``source.name`` (the caller, the hook's owner),
    then the source's own request makes the second one.
    """
    states = outcome.after()
    unit = states.name(unit)
    before: tuple[Step, ...] = ()
    facts: list[str] = []
    if source.started_by is not None:
        first = reaches(outcome, source.started_by, source.name)
        if not first.live:
            return Verdict(unit, source, False,
                           dormant=f"{source.name} does not run now: {first.dormant}",
                           wakes=first.wakes, facts=first.facts)
        before, facts = first.chain, list(first.facts)
    firing = fire(outcome, source)
    if firing.anchor is None:
        return Verdict(unit, source, False, dormant=firing.reason, wakes=firing.wakes,
                       facts=tuple(facts))
    transaction = start_transaction(states, firing.anchor, manual=firing.manual)
    facts.extend((firing.reason, *transaction.notes))
    if transaction.starts(unit):
        chain = transaction.jobs[unit].path
        if before:
            chain = (*before, Step(chain[0].unit, _VIA.get(source.kind, "anchor")), *chain[1:])
        return Verdict(unit, source, True, anchor=firing.anchor, chain=chain,
                       immediate=firing.immediate, facts=tuple(facts), transaction=transaction)
    looping = ""
    if source.kind == SourceKind.SOCKET and firing.anchor in transaction.jobs:
        job = transaction.jobs[firing.anchor]
        if job.outcome == Outcome.STARTS and leaves_connection_queued(states, firing.anchor):
            looping = firing.anchor
            facts.append(f"{looping} exits without taking the connection: {source.name} "
                         f"triggers it again and again until its start limit fails it "
                         "(start-limit-hit)")
    hooked = _through_hooks(states, transaction, unit, frozenset(), looping)
    if hooked is not None:
        chain = hooked[0]
        if before:
            chain = (*before, Step(chain[0].unit, _VIA.get(source.kind, "anchor")), *chain[1:])
        return Verdict(unit, source, True, anchor=firing.anchor, chain=chain,
                       immediate=firing.immediate, facts=(*facts, hooked[1]),
                       transaction=transaction)
    dormant, wakes = _dormant_from_transaction(transaction, unit, states)
    return Verdict(unit, source, False, anchor=firing.anchor, dormant=dormant, wakes=wakes,
                   facts=tuple(facts), transaction=transaction)


_HOOK_DEPTH = 4


def _run_ends(states: UnitStates, job: PlannedJob) -> str:
    """How a kept start job's unit ends once its job has run: "failure", "success" or "".

    A oneshot without RemainAfterExit= goes activating -> inactive when its
    command exits 0 and -> failed otherwise (service.c service_enter_dead());
    unit.c unit_notify() starts OnSuccess= on the first and OnFailure= on the
    second. Other units stay up (""). A start job failed by a dependency
    starts OnFailure= too (job.c job_finish_and_invalidate(), JOB_DEPENDENCY).
    The exit status is known only for a command that always fails (false);
    any other oneshot is taken to succeed.
    """
    if job.type != JobType.START:
        return ""
    if job.outcome in (Outcome.DEPENDENCY_FAILED, Outcome.FAILS):
        return "failure"
    if job.outcome != Outcome.STARTS:
        return ""
    found = states.unit(job.unit)
    service = found.service if found is not None else None
    if service is None or service.type != "oneshot" or service.remain_after_exit:
        return ""
    return "failure" if run_fails(states, job.unit) else "success"


def _stop_unneeded(states: UnitStates, started: list[str]) -> tuple[UnitStates, list[str]]:
    """The StopWhenUnneeded= units systemd stops right after a transaction ran.

    unit.c unit_notify() submits every unit that becomes active to the
    stop-when-unneeded queue; manager.c manager_dispatch_stop_when_unneeded_queue()
    stops those unit_is_unneeded() holds for (active, no pinning dependent that
    is not inactive or failed), and each stop queues its own dependencies
    (UNIT_ATOM_ADD_STOP_WHEN_UNNEEDED_QUEUE). A clean stop starts OnSuccess=.
    """
    stopped: list[str] = []
    queue = list(started)
    while queue:
        unit = queue.pop(0)
        found = states.unit(unit)
        if found is None or not found.stop_when_unneeded or unit in stopped:
            continue
        if states.state(unit) != "active":
            continue
        if any(not states.is_inactive(p) for pin in PINS_STOP_WHEN_UNNEEDED
               for p in states.related(unit, pin)):
            continue
        stopped.append(unit)
        states = states.with_changes({unit: "inactive"}, {unit: "dead"})
        queue.extend(d for prop in STOP_WHEN_UNNEEDED_QUEUE for d in states.related(unit, prop))
    return states, stopped


def _through_hooks(states: UnitStates, transaction: Transaction, target: str,
                   seen: frozenset[str], looping: str = "",
                   ) -> tuple[tuple[Step, ...], str] | None:
    """How the transaction's jobs start ``target`` through OnFailure=/OnSuccess= hooks.

    Once the jobs have run, their units that fail or exit start their hooks;
    the answer is the chain and what happened, or None. ``looping`` is a
    socket's oneshot that runs again and again until its start limit fails
    it (transaction.leaves_connection_queued): it ends both ways.
    Each hook is its own transaction (unit_start_on_failure() calls
    manager_add_job() with OnFailureJobMode=, replace by default), asked in the
    states the first transaction leaves behind.
    """
    if len(seen) >= _HOOK_DEPTH:
        return None
    ends = {u: _run_ends(states, j) for u, j in transaction.jobs.items()}
    active: dict[str, str] = {}
    sub: dict[str, str] = {}
    for unit, job in transaction.jobs.items():
        if job.type == JobType.START and job.outcome == Outcome.STARTS:
            end = "failure" if unit == looping else ends[unit]
            active[unit] = {"failure": "failed", "success": "inactive"}.get(end, "active")
            sub[unit] = {"failure": "failed", "success": "dead"}.get(end, "running")
        elif job.type == JobType.STOP:
            active[unit], sub[unit] = "inactive", "dead"
    after = states.with_changes(active, sub)
    after, unneeded = _stop_unneeded(after, [u for u, j in transaction.jobs.items()
                                              if j.outcome == Outcome.STARTS])
    ends.update(dict.fromkeys(unneeded, "success"))
    endings = [(u, e) for u, e in ends.items() if e]
    if looping:
        endings.append((looping, "failure"))
    for unit, end in endings:
        prop = "OnFailure" if end == "failure" else "OnSuccess"
        for hook in states.related(unit, prop):
            if hook in seen:
                continue
            event = ("hits its start limit and fails" if unit == looping and end == "failure"
                     else "fails" if end == "failure" else "exits successfully")
            second = start_transaction(after, hook)
            what = f"{unit} {event}, so systemd starts {prop}={hook}"
            ran = transaction.jobs.get(unit)
            hop = (*(ran.path if ran is not None else (Step(unit, "StopWhenUnneeded"),)),
                   Step(hook, prop))
            if second.starts(target):
                return (*hop, *second.jobs[target].path[1:]), what
            deeper = _through_hooks(after, second, target, seen | {hook})
            if deeper is not None:
                return (*hop, *deeper[0][1:]), f"{what}; {deeper[1]}"
    return None


@frozen
class RestartVerdict:
    """Restart= of a service: armed (would act after a crash) or live (acting)."""

    unit: str
    armed: bool
    live: bool
    reason: str


def restart_verdict(unit: UnitSnapshot, restart_records: int = 0) -> RestartVerdict:
    """Armed: the policy would restart it after a kill or crash. Live: restarts are seen.

    ``restart_records`` counts "Scheduled restart job" entries found in the journal.
    A clean stop is always respected (service.c service_stop clears the restart).
    """
    service = unit.service
    if service is None or (service.restart == "no" and unit.sub_state != "auto-restart"):
        return RestartVerdict(unit.name, False, False, "no restart policy")
    if unit.sub_state == "auto-restart":
        return RestartVerdict(unit.name, True, True,
                              "a restart is scheduled right now (SubState=auto-restart)")
    if service.n_restarts > 0 or restart_records > 0:
        seen = (f"NRestarts={service.n_restarts}" if service.n_restarts
                else f"{restart_records} restart records in the journal")
        return RestartVerdict(unit.name, True, True, f"restarts are observed ({seen})")
    return RestartVerdict(unit.name, True, False,
                          f"Restart={service.restart} would restart it after a crash or a "
                          "kill; no restart has been seen, and a clean stop is respected")


def source_by_kind(snapshot: SystemSnapshot, unit: str, kind: str) -> tuple[Source, ...]:
    """The sources a unit stands for when it fires in the given way.

    ``kind`` is how it fires: ``socket``, ``path``, ``timer`` (it is that
    trigger), ``manual`` (``systemctl start`` of it), ``on-failure`` or
    ``on-success`` (it is started by hand and then fails or succeeds: one
    source per hook it names, and the manual start of it, whose transaction
    may start the target by a pull-in or by the hooks of other units it runs),
    ``upholds`` (one per unit it upholds).
    """
    found = snapshot.unit(unit)
    name = found.name if found is not None else unit
    hooks = {"on-failure": ("OnFailure", SourceKind.ON_FAILURE),
             "on-success": ("OnSuccess", SourceKind.ON_SUCCESS)}
    if kind in hooks:
        prop, source_kind = hooks[kind]
        first = Source(name, SourceKind.MANUAL, starts=name)
        related = found.related(prop) if found is not None else ()
        # The owner is fired by a start of its own (the differential runner's
        # systemctl start --no-block): that transaction, with the hooks of every
        # unit it runs, is the firing too, also when the owner's own job fails
        # with "dependency" (which starts OnFailure= as well).
        return (*(Source(name, source_kind, starts=h, started_by=first) for h in related),
                first)
    if kind == "upholds":
        related = found.related("Upholds") if found is not None else ()
        return tuple(Source(name, SourceKind.UPHOLDS, starts=u) for u in related)
    if kind == "manual":
        return (Source(name, SourceKind.MANUAL, starts=name),)
    source = source_of(snapshot, name)
    if kind == "timer" and found is not None and not found.is_active:
        # An inactive timer fires only once something starts it (the
        # differential runner does, with systemctl start; so does boot).
        return (dataclasses.replace(
            source, started_by=Source(name, SourceKind.MANUAL, starts=name)),)
    return (source,)


def immediate_sources(outcome: StopOutcome) -> tuple[Source, ...]:
    """What can act right after the stop with nobody firing anything.

    Active upholders of a stopped unit (manager.c
    manager_dispatch_start_when_upheld_queue), OnSuccess= hooks of units the
    stop ends cleanly (unit.c unit_notify), and path units whose watched
    state already holds (path.c path_check_good, known only with file facts).
    """
    states = outcome.after()
    found = [Source(upholder, SourceKind.UPHOLDS, starts=stopped)
             for stopped, upholder in outcome.upheld]
    found += [Source(owner, SourceKind.ON_SUCCESS, starts=hook)
              for hook, owner in outcome.on_success]
    found += [Source(name, SourceKind.PATH) for name, unit in states.snapshot.units.items()
              if unit.path is not None and states.is_active(name)]
    return tuple(found)


def revived_at_once(snapshot: SystemSnapshot, target: str) -> Verdict:
    """Whether ``systemctl stop target`` is undone at once, by nothing anybody fires.

    ``snapshot`` is the state *before* the stop. The answer is live when one of
    :func:`immediate_sources` starts the target right after the stop (directly,
    or by starting a unit that pulls it in); the verdict names that source.
    """
    outcome = after_stop(snapshot, target)
    states = outcome.after()
    name = states.name(target)
    if outcome.refused:
        return Verdict(name, Source(name, SourceKind.UNIT), False, dormant=outcome.refused,
                       facts=outcome.facts)
    verdicts = [reaches(outcome, source, name) for source in immediate_sources(outcome)]
    for verdict in verdicts:
        if verdict.live and verdict.immediate:
            return dataclasses.replace(verdict, facts=(*outcome.facts, *verdict.facts))
    return Verdict(name, Source(name, SourceKind.UNIT), False,
                   dormant=f"nothing acts by itself after systemctl stop {name}: "
                   + ("; ".join(v.dormant for v in verdicts if v.dormant)
                      or "no active upholder, OnSuccess= hook or holding path unit"),
                   facts=outcome.facts)


def fired_liveness(snapshot: SystemSnapshot, target: str, unit: str, *, kind: str) -> Verdict:
    """Whether firing ``unit`` in the way ``kind`` says starts ``target`` (any of its sources)."""
    outcome = after_stop(snapshot, target)
    verdicts = [liveness(snapshot, target, source, outcome=outcome)
                for source in source_by_kind(snapshot, unit, kind)]
    live = [v for v in verdicts if v.live]
    if live:
        return live[0]
    if verdicts:
        return verdicts[0]
    return Verdict(target, Source(unit, SourceKind.UNIT), False,
                   dormant=f"{unit} names nothing it would start as {kind}")
