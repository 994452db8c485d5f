"""The unit's recent lifecycle: each start with its cause, each stop with how it ended.

Pure functions. In: journal entries (for ``watch`` also the manager's D-Bus
signals) and the snapshot's graph of who names the unit. Out: a Timeline of
typed events. Entries are matched on MESSAGE_ID and structured fields (UNIT=,
JOB_ID=, JOB_TYPE=, JOB_RESULT=, INVOCATION_ID=), never on MESSAGE= text, which
changes with StatusUnitFormat= and translations. The two exceptions are named
where they are used: debug-level lines have no MESSAGE_ID and are known by
CODE_FUNC= (every systemd version's spelling, journal_vocabulary.SEEN_ON), and
dbus-daemon writes its activation request only as text (dbus-broker writes none:
its launcher's StartUnit call, logged at debug level, stands in for it).

systemd does not record who started a unit (the journal has no "requested by"),
so each cause is either *recorded* (an entry or signal says so: a scheduled
restart, a start job in the same transaction, a trigger seen firing) or
*inferred* (the graph allows only this explanation, and nothing contradicts it).
docs/timeline.md explains the rules and their limits.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wizard.analysis.findings import (
    Certainty,
    Evidence,
    StartCause,
    StopCause,
    Timeline,
    TimelineEvent,
)
from wizard.analysis.systemctl_calls import unit_callers
from wizard.model.frozen import frozen
from wizard.model.journal_vocabulary import (
    BUS_CALL_FUNCTION,
    BUS_DAEMON_UNITS,
    ENQUEUE_FUNCTIONS,
    ON_FAILURE_FUNCTIONS,
    TRIGGER_FUNCTIONS,
    UNIT_FAILED,
    UNIT_FAILURE_RESULT,
    UNIT_OOMD_KILL,
    UNIT_OUT_OF_MEMORY,
    UNIT_PROCESS_EXIT,
    UNIT_RESTART_SCHEDULED,
    UNIT_STARTED,
    UNIT_STARTING,
    UNIT_STOPPED,
    UNIT_STOPPING,
    UNIT_SUCCESS,
    UPHELD_FUNCTIONS,
)
from wizard.model.snapshots import (
    BusMessage,
    JobSignal,
    JournalEntry,
    Record,
    SystemSnapshot,
    UnitChange,
    record_time,
)

# The method calls that ask the manager to start a unit (org.freedesktop.systemd1(5)).
_START_METHODS = frozenset({
    "StartUnit", "StartUnitReplace", "StartUnitWithFlags", "RestartUnit", "TryRestartUnit",
    "ReloadOrRestartUnit", "ReloadOrTryRestartUnit", "EnqueueUnitJob", "Start", "Restart",
    "TryRestart", "ReloadOrRestart", "ReloadOrTryRestart",
})
# sd-bus's own text for an incoming call (bus-message.c, log_bus_message); no
# structured fields exist for it.
_BUS_CALL = re.compile(r"type=method_call sender=(?P<sender>\S+) .*?member=(?P<member>\w+)")

# dbus-daemon has no structured fields for this line (bus/activation.c). Both
# spellings name the unit as the activation file's SystemdService=, often an
# alias (dbus-org.freedesktop.hostname1.service); "to hand-off" is the one for
# a request that came before systemd was on the bus (seen at boot on 252).
_BUS_ACTIVATION = re.compile(
    r"Activating (?:via systemd|systemd to hand-off): service name='(?P<name>[^']*)' "
    r"unit='(?P<unit>[^']*)'"
    r"(?: requested by '(?P<sender>[^']*)' \((?P<who>[^)]*)\))?"
)

TRANSACTION_WINDOW_USEC = 2_000_000
"""Jobs of one transaction are installed in one go; their entries are this close."""
BOOT_TARGET_WINDOW_USEC = 120_000_000
"""A target's "Reached target" entry comes when its whole transaction is done."""
CAUSE_WINDOW_USEC = 2_000_000
"""How far back a trigger firing, a failure or an activation request may explain a start."""
MAX_EVENTS = 200
MAX_CHAIN = 8

# Reverse properties of the started unit naming the units that pull it in.
PULLED_BY = ("WantedBy", "RequiredBy", "BoundBy")
_PULL_WORD = {"WantedBy": "Wants", "RequiredBy": "Requires", "BoundBy": "BindsTo"}




@dataclass
class _Job:
    """Everything seen about one job: journal entries and bus signals share JOB_ID."""

    job_id: int
    unit: str
    boot_id: str
    first_index: int
    first_usec: int
    last_index: int = 0
    first_bus_index: int = -1
    """The first bus signal about the job: bus order is only comparable with bus order."""
    types: set[str] = field(default_factory=set)
    done_usec: int = 0
    result: str = ""
    invocation_id: str = ""
    entries: list[JournalEntry] = field(default_factory=list)

    @property
    def is_start(self) -> bool:
        # A restart job logs JOB_TYPE=restart for its stop half and
        # JOB_TYPE=start for its start half, under one JOB_ID.
        return bool(self.types & {"start", "restart"})


class _History:
    """The merged records, indexed the ways the rules need them."""

    def __init__(self, records: Sequence[Record], snapshot: SystemSnapshot,
                 bus_peers: Mapping[str, str] | None = None,
                 bus_monitored: bool = False) -> None:
        # Stable sort: signals received together keep the order they came in.
        self.records = sorted(records, key=record_time)
        self.snapshot = snapshot
        self.bus_peers = dict(bus_peers or {})
        self.bus_monitored = bus_monitored
        """A bus monitor ran throughout: a bus activation would have been seen."""
        self.watched = any(isinstance(r, UnitChange) for r in self.records)
        """A watch saw every unit's state changes: a trigger that fired was seen doing so."""
        self.jobs: dict[tuple[str, int], _Job] = {}
        self._index_jobs()

    def _job(self, boot: str, job_id: int, unit: str, index: int, at: int) -> _Job:
        key = (boot, job_id)
        job = self.jobs.get(key)
        if job is None:
            job = self.jobs[key] = _Job(job_id, unit, boot, index, at)
        job.last_index = index
        return job

    def _index_jobs(self) -> None:
        # Bus signals come from the running system, whose boot is the newest in
        # the journal; JOB_IDs start again at every boot.
        live_boot = self.live_boot = _live_boot(self.records)
        for index, record in enumerate(self.records):
            if isinstance(record, JournalEntry):
                if not record.job_id or not record.unit:
                    continue
                job = self._job(record.boot_id, record.job_id, record.unit, index,
                                record.realtime_usec)
                job.entries.append(record)
                if record.job_type:
                    job.types.add(record.job_type)
                if record.job_result:
                    job.done_usec = record.realtime_usec
                    job.result = record.job_result
                    job.invocation_id = record.invocation_id or job.invocation_id
            elif isinstance(record, JobSignal):
                # Signals come from the running system: the newest boot seen.
                job = self._job(live_boot, record.job_id, record.unit, index, record.at_usec)
                if job.first_bus_index < 0:
                    job.first_bus_index = index
                if record.job_type:
                    job.types.add(record.job_type)
                if record.removed:
                    job.done_usec = job.done_usec or record.at_usec
                    job.result = job.result or record.result
        self._infer_bus_job_types()

    def _infer_bus_job_types(self) -> None:
        # A job seen only on the bus, too short-lived to read its JobType: the
        # unit's state changes while the job was installed say what it did.
        changes: dict[tuple[str, int], list[tuple[int, UnitChange]]] = {}
        for index, record in enumerate(self.records):
            if isinstance(record, UnitChange) and record.job_id:
                changes.setdefault((record.unit, record.job_id), []).append((index, record))
        for job in self.jobs.values():
            seen = changes.get((job.unit, job.job_id))
            if not seen:
                continue
            job.last_index = max(job.last_index, seen[-1][0])
            first = seen[0][0]
            job.first_bus_index = first if job.first_bus_index < 0 else min(
                job.first_bus_index, first)
            last = seen[-1][1]
            job.invocation_id = job.invocation_id or last.invocation_id
            if not job.types:
                kind = _job_type_from_states([change.active_state for _, change in seen])
                if kind:
                    job.types.add(kind)

    def related(self, unit: str, prop: str) -> tuple[str, ...]:
        snapshot = self.snapshot.unit(unit)
        return snapshot.related(prop) if snapshot is not None else ()

    def entries_of(self, unit: str, start: int, stop: int) -> list[tuple[int, JournalEntry]]:
        return [
            (i, r) for i, r in enumerate(self.records[start:stop], start)
            if isinstance(r, JournalEntry) and r.unit == unit
        ]

    def window_start(self, index: int, usec: int) -> int:
        """The first record index within ``usec`` before the record at ``index``."""
        at = record_time(self.records[index]) - usec
        low = index
        while low > 0 and record_time(self.records[low - 1]) >= at:
            low -= 1
        return low

    def was_active(self, unit: str, index: int) -> tuple[bool, str]:
        """Whether ``unit`` was up just before record ``index``, and what says so."""
        for position in range(index - 1, -1, -1):
            verdict = _lifecycle(self.records[position], unit)
            if verdict is not None:
                return verdict, _describe(self.records[position])
        for position in range(index, len(self.records)):
            record = self.records[position]
            verdict = _lifecycle(record, unit)
            if verdict is not None:
                # A journal entry is a change: a stop seen next means it was up
                # before. A bus signal tells the state it is in, unchanged since.
                was = verdict if isinstance(record, UnitChange) else not verdict
                return was, f"the next change was: {_describe(record)}"
        now = self.snapshot.unit(unit)
        if now is None:
            return False, "not in the snapshot"
        return now.is_active, f"ActiveState={now.active_state} ({now.sub_state}) now, " \
            "with no change in the journal since"


def _live_boot(records: Sequence[Record]) -> str:
    """The newest boot in the journal entries: the running system's."""
    return next((r.boot_id for r in reversed(records)
                 if isinstance(r, JournalEntry) and r.boot_id), "")


def _job_type_from_states(states: Sequence[str]) -> str:
    """The job type ("start", "stop" or ""), from the states a unit went through.

    A start passes "activating" or goes from down to up (a oneshot ends down
    again); a stop passes "deactivating" or goes from up to down.
    """
    if "activating" in states or "reloading" in states:
        return "start"
    if "deactivating" in states:
        return "stop"
    up = ("active",)
    if states and states[0] not in up and any(s in up for s in states[1:]):
        return "start"
    if states and states[0] in up and any(s not in up for s in states[1:]):
        return "stop"
    return ""


def _lifecycle(record: Record, unit: str) -> bool | None:
    """True for a record saying the unit went up, False for down, None otherwise."""
    if isinstance(record, UnitChange):
        if record.unit != unit:
            return None
        if record.active_state in ("active", "reloading"):
            return True
        if record.active_state in ("inactive", "failed"):
            return False
        return None
    if not isinstance(record, JournalEntry) or record.unit != unit:
        return None
    if record.message_id == UNIT_STARTED and record.job_type == "start":
        return True
    if record.message_id in (UNIT_FAILURE_RESULT, UNIT_FAILED, UNIT_SUCCESS, UNIT_STOPPED):
        return False
    return None


def _describe(record: Record) -> str:
    if isinstance(record, UnitChange):
        return f"{record.unit} became {record.active_state} ({record.sub_state}) [bus]"
    if isinstance(record, JobSignal):
        what = "removed" if record.removed else "new"
        return f"job {record.job_id} {what} for {record.unit} [bus]"
    if isinstance(record, BusMessage):
        return f"{record.member} from {record.sender} to {record.destination} [bus monitor]"
    name = {
        UNIT_STARTED: "started", UNIT_STOPPED: "stopped", UNIT_FAILURE_RESULT: "failed",
        UNIT_FAILED: "failed to start", UNIT_SUCCESS: "deactivated successfully",
        UNIT_STARTING: "starting", UNIT_STOPPING: "stopping",
        UNIT_RESTART_SCHEDULED: "restart scheduled",
    }.get(record.message_id, record.code_func or record.message_id or "entry")
    job = f" (job {record.job_id}, {record.job_type})" if record.job_id else ""
    return f"{record.unit} {name}{job}"


def _evidence(record: Record, fact: str | None = None) -> Evidence:
    if isinstance(record, JournalEntry):
        detail = fact or _describe(record)
        if record.message_id:
            detail += f" [MESSAGE_ID={record.message_id}]"
        elif record.code_func:
            detail += f" [CODE_FUNC={record.code_func}]"
        return Evidence(record.unit or record.syslog_identifier, detail, "journal")
    unit = record.unit
    return Evidence(unit, fact or _describe(record), "bus")


@frozen
class _Cause:
    cause: StartCause
    by: str
    """The unit (or bus name) that started it directly; "" for manual."""
    certainty: Certainty
    summary: str
    evidence: tuple[Evidence, ...]
    upstream: tuple[str, ...] = ()
    """Chain above ``by`` (root first), when ``by`` was itself started by something."""


class _Classifier:
    """The rules, in the order that makes the strongest evidence win."""

    def __init__(self, history: _History) -> None:
        self.history = history
        self._callers = unit_callers(history.snapshot)

    def start_cause(self, job: _Job, depth: int = 0) -> _Cause:
        for rule in (
            self._external_caller,
            self._monitored_request,
            self._requested_over_bus,
            self._restart_policy,
            self._bus_activation,
            self._failure_hook,
            self._recorded_trigger,
            self._pulled_in,
            self._upholds,
            self._inferred_trigger,
            self._unexplained,
        ):
            found = rule(job, depth)
            if found is not None:
                return found
        return _Cause(
            StartCause.MANUAL, "", Certainty.INFERRED,
            "nothing in the journal explains this start: a systemctl start, a script or an "
            "agent asked for it (systemd does not record who)",
            (),
        )

    def _upstream(self, starter: _Job | None, depth: int) -> tuple[
            tuple[str, ...], tuple[Evidence, ...], str]:
        """What started ``starter`` in turn: its chain (root first), evidence, a clause."""
        if starter is None or depth >= MAX_CHAIN:
            return (), (), ""
        above = self.start_cause(starter, depth + 1)
        if above.cause == StartCause.MANUAL or not above.by:
            return (), (), ""
        return ((*above.upstream, above.by), above.evidence,
                f"; {starter.unit} itself was {above.summary}")

    def _last_start_before(self, unit: str, index: int, boot: str) -> _Job | None:
        found = [j for j in self.history.jobs.values()
                 if j.unit == unit and j.is_start and j.boot_id == boot and j.first_index < index]
        return max(found, key=lambda j: j.first_index, default=None)

    # -- rules -----------------------------------------------------------------

    def _restart_policy(self, job: _Job, depth: int) -> _Cause | None:
        history = self.history
        unit = job.unit
        # The last start of the unit before this job bounds the search.
        low = 0
        for other in history.jobs.values():
            if other.unit == unit and other.is_start and other.first_index < job.first_index \
                    and other.boot_id == job.boot_id and other.job_id != job.job_id:
                # Past everything the earlier start left, its own signals included.
                low = max(low, min(other.last_index, job.first_index - 1) + 1)
        for index in range(job.first_index - 1, low - 1, -1):
            record = history.records[index]
            if isinstance(record, JournalEntry) and record.unit == unit \
                    and record.message_id == UNIT_RESTART_SCHEDULED:
                snapshot = history.snapshot.unit(unit)
                policy = snapshot.service.restart if snapshot and snapshot.service else ""
                counter = f"; restart counter {record.n_restarts}" if record.n_restarts else ""
                return _Cause(
                    StartCause.RESTART_POLICY, unit, Certainty.RECORDED,
                    f"restarted by its own restart policy{f' (Restart={policy})' if policy else ''}"
                    f" after its last run ended{counter}",
                    (_evidence(record, f"{unit}: scheduled restart job"),),
                )
            if isinstance(record, UnitChange) and record.unit == unit \
                    and record.sub_state == "auto-restart":
                return _Cause(
                    StartCause.RESTART_POLICY, unit, Certainty.RECORDED,
                    "restarted by its own restart policy (it was in auto-restart)",
                    (_evidence(record),),
                )
        if "restart" in job.types:
            # A restart job that no restart policy scheduled was asked for:
            # systemctl restart, or a restart passed on through PartOf=.
            return _Cause(
                StartCause.MANUAL, "", Certainty.RECORDED,
                f"restarted by a restart job (job {job.job_id}) that no restart policy "
                "scheduled: systemctl restart, or a restart passed on through PartOf=",
                tuple(_evidence(e) for e in job.entries[:1]),
            )
        return None

    def _external_caller(self, job: _Job, depth: int) -> _Cause | None:
        """A unit running `systemctl start UNIT` in an Exec line was running at that moment."""
        history = self.history
        snapshot = history.snapshot.unit(job.unit)
        names = snapshot.names if snapshot is not None else (job.unit,)
        callers = [c for alias in names for c in self._callers.get(alias, ())
                   if c.call.revives_stopped]
        for caller in callers:
            running = [
                other for other in history.jobs.values()
                if other.unit == caller.caller and other.is_start
                and other.boot_id == job.boot_id and other.first_index < job.first_index
                and (not other.done_usec or other.done_usec >= job.first_usec)
            ]
            active, why = history.was_active(caller.caller, job.first_index)
            if not running and not active:
                continue
            command = " ".join(caller.command.argv)
            evidence = [Evidence(caller.caller, f"{caller.command.setting}={command}")]
            if running:
                evidence.append(Evidence(caller.caller, f"its start job {running[-1].job_id} "
                                         "was still running", "journal"))
            else:
                evidence.append(Evidence(caller.caller, f"active at the time: {why}", "journal"))
            over_bus = self._requested_over_bus(job, depth)
            if over_bus is not None:
                evidence += over_bus.evidence
            upstream, more, clause = self._upstream(running[-1] if running else None, depth)
            return _Cause(
                StartCause.EXTERNAL, caller.caller,
                Certainty.RECORDED if over_bus is not None else Certainty.INFERRED,
                f"started by {caller.caller}, which runs `{command}` and was running at that "
                "moment" + ("; the debug log shows the call" if over_bus else
                            " (inferred: systemd does not record which process asked)")
                + clause,
                (*evidence, *more), upstream,
            )
        return None

    def _monitored_request(self, job: _Job, depth: int) -> _Cause | None:
        """A bus monitor saw the start call whose reply is this job's path."""
        messages = [r for r in self.history.records if isinstance(r, BusMessage)]
        path = f"/org/freedesktop/systemd1/job/{job.job_id}"
        reply = next((m for m in messages
                      if m.kind == "method_return" and m.arguments[:1] == (path,)), None)
        if reply is None:
            return None
        call = next((m for m in messages if m.kind == "method_call"
                     and m.sender == reply.destination and m.cookie == reply.reply_cookie), None)
        if call is None:
            return None
        asked = call.arguments[0] if call.arguments else job.unit
        peer = self.history.bus_peers.get(call.sender, "")
        seen = Evidence("bus", f"{call.member}({asked}) from {call.sender}"
                        + (f", which is {peer}" if peer else "")
                        + f"; systemd answered with job {job.job_id} [bus monitor]", "bus")
        if peer not in BUS_DAEMON_UNITS:
            via = call.sender + (f" ({peer})" if peer else "")
            return _Cause(
                StartCause.MANUAL, "", Certainty.RECORDED,
                f"asked for over D-Bus: a {call.member} call for {asked} from {via}, seen by "
                "the bus monitor (systemctl, a script or an agent)",
                (seen,),
            )
        names = self._bus_names(job.unit)
        callers = [m for m in messages if m.kind == "method_call" and m.destination in names
                   and record_time(m) <= record_time(call)]
        name = callers[-1].destination if callers else (names[0] if names else peer)
        who = ""
        evidence = [seen]
        if callers:
            caller = callers[-1]
            caller_unit = self.history.bus_peers.get(caller.sender, "")
            who = f" by {caller.sender}" + (f" ({caller_unit})" if caller_unit else "")
            evidence.insert(0, Evidence("bus", f"{caller.member} call to {name} from "
                                               f"{caller.sender} [bus monitor]", "bus"))
        return _Cause(
            StartCause.BUS_ACTIVATION, name, Certainty.RECORDED,
            f"activated over D-Bus: a call to {name} was made{who}, and the bus ({peer}) "
            f"asked systemd to start {asked}; seen by the bus monitor",
            tuple(evidence),
        )

    def _requested_over_bus(self, job: _Job, depth: int) -> _Cause | None:
        """Debug level: a start method call came in right before the job was enqueued."""
        history = self.history
        low = history.window_start(job.first_index, TRANSACTION_WINDOW_USEC)
        records = history.records
        for index in range(job.first_index, low - 1, -1):
            enqueue = records[index]
            if not (isinstance(enqueue, JournalEntry) and enqueue.unit == job.unit
                    and enqueue.code_func in ENQUEUE_FUNCTIONS):
                continue
            # The call is the manager's last bus message before the enqueue line.
            for before in range(index - 1, max(low, index - 50) - 1, -1):
                call = records[before]
                if not isinstance(call, JournalEntry) or call.code_func != BUS_CALL_FUNCTION:
                    # "Trying to enqueue" and "Enqueued" are both manager_add_job;
                    # another unit's enqueue means the call was not for this one.
                    if isinstance(call, JournalEntry) and call.code_func in ENQUEUE_FUNCTIONS \
                            and call.unit != job.unit:
                        return None
                    continue
                match = _BUS_CALL.search(call.message)
                if match is None or match["member"] not in _START_METHODS:
                    return None
                via = ("systemd's private socket (root's systemctl)"
                       if match["sender"] == "n/a" else f"the bus, from {match['sender']}")
                # Unique names are unique for a bus's lifetime: ones resolved
                # now say nothing about an earlier boot's senders.
                peer = history.bus_peers.get(match["sender"], "") \
                    if call.boot_id == history.live_boot else ""
                if peer in BUS_DAEMON_UNITS:
                    return self._activated_by_bus(job, match["member"], match["sender"], peer,
                                                  enqueue)
                if peer:
                    via += f" ({peer})"
                return _Cause(
                    StartCause.MANUAL, "", Certainty.RECORDED,
                    f"asked for over D-Bus: a {match['member']} call came in through {via} "
                    "just before the job was enqueued (systemctl, a script or an agent)",
                    (Evidence("systemd", f"method call {match['member']} via {via} (debug log)",
                              "journal"),
                     _evidence(enqueue, f"{job.unit}: job enqueued (debug log)")),
                )
            return None
        return None

    def _bus_names(self, unit: str) -> tuple[str, ...]:
        """The bus names whose activation starts ``unit``: activation files naming it."""
        snapshot = self.history.snapshot.unit(unit)
        names = set(snapshot.names) if snapshot is not None else set()
        names.add(unit)
        # An activation file makes a name activatable; BusName= alone does not.
        return tuple(dict.fromkeys(s.bus_name for s in self.history.snapshot.dbus_services
                                   if s.systemd_service in names))

    def _activated_by_bus(self, job: _Job, member: str, sender: str, peer: str,
                          enqueue: JournalEntry) -> _Cause:
        """dbus-broker's launcher (or any bus daemon's process) asked for the start."""
        names = self._bus_names(job.unit)
        name = names[0] if names else ""
        called = f"a call to {name}" if name else "a call to its bus name"
        return _Cause(
            StartCause.BUS_ACTIVATION, name or peer, Certainty.RECORDED,
            f"activated over D-Bus: {called} made the bus ({peer}) ask systemd for it with "
            f"{member}; the debug log shows the request (the bus does not log who called)",
            (Evidence("systemd", f"method call {member} from {sender}, which is {peer} "
                                 "(debug log)", "journal"),
             _evidence(enqueue, f"{job.unit}: job enqueued (debug log)")),
        )

    def _bus_activation(self, job: _Job, depth: int) -> _Cause | None:
        history = self.history
        low = history.window_start(job.first_index, CAUSE_WINDOW_USEC)
        snapshot = history.snapshot.unit(job.unit)
        # The line names the activation file's SystemdService=, which may be any
        # of the unit's names (on 252 hostnamed's is its alias
        # dbus-org.freedesktop.hostname1.service).
        names = {job.unit, *(snapshot.names if snapshot is not None else ())}
        for index in range(job.first_index - 1, low - 1, -1):
            record = history.records[index]
            if not isinstance(record, JournalEntry) or record.unit or not record.message:
                continue
            match = _BUS_ACTIVATION.search(record.message)
            if match is None or match["unit"] not in names:
                continue
            who = f" by {match['sender']} ({match['who']})" if match["sender"] else ""
            return _Cause(
                StartCause.BUS_ACTIVATION, match["name"], Certainty.RECORDED,
                f"activated over D-Bus: a call to {match['name']} was requested{who}",
                (Evidence(record.syslog_identifier or "dbus-daemon",
                          f"Activating via systemd: service name='{match['name']}' "
                          f"unit='{match['unit']}'{who}", "journal"),),
            )
        return None

    def _failure_hook(self, job: _Job, depth: int) -> _Cause | None:
        history = self.history
        low = history.window_start(job.first_index, CAUSE_WINDOW_USEC)
        hooks = (
            ("OnFailureOf", StartCause.ON_FAILURE, (UNIT_FAILURE_RESULT,), ("failed",)),
            ("OnSuccessOf", StartCause.ON_SUCCESS, (UNIT_SUCCESS,), ("inactive",)),
        )
        for prop, cause, message_ids, states in hooks:
            owners = history.related(job.unit, prop)
            for index in range(job.first_index - 1, low - 1, -1):
                record = history.records[index]
                if record.unit not in owners:
                    continue
                ended = (
                    isinstance(record, JournalEntry) and record.message_id in message_ids
                ) or (isinstance(record, UnitChange) and record.active_state in states)
                if not ended:
                    continue
                owner = record.unit
                # The journal's "Triggering OnFailure= dependencies." may sort
                # before or after the bus change: look in the whole window.
                announced = [
                    r for _, r in history.entries_of(owner, low, job.last_index + 1)
                    if r.code_func in ON_FAILURE_FUNCTIONS
                ]
                setting = "OnFailure" if cause == StartCause.ON_FAILURE else "OnSuccess"
                evidence = [_evidence(record)]
                evidence += [_evidence(r, f"{owner}: triggering {setting}= dependencies")
                             for r in announced[:1]]
                evidence.append(Evidence(owner, f"{setting}={job.unit}"))
                how = "failed" if cause == StartCause.ON_FAILURE else "finished successfully"
                upstream, more, clause = self._upstream(
                    self._last_start_before(owner, index, job.boot_id), depth)
                return _Cause(
                    cause, owner, Certainty.RECORDED if announced else Certainty.INFERRED,
                    f"started because {owner} {how} and names it in {setting}={clause}",
                    (*evidence, *more), upstream,
                )
        return None

    def _triggers(self, unit: str) -> tuple[str, ...]:
        return self.history.related(unit, "TriggeredBy")

    def _recorded_trigger(self, job: _Job, depth: int) -> _Cause | None:
        history = self.history
        triggers = self._triggers(job.unit)
        # Journal timestamps and bus arrival times come from different clocks'
        # readers, so a debug line is looked for before the job's first record
        # of any kind, a state change before its first bus signal.
        bus_start = job.first_bus_index if job.first_bus_index >= 0 else job.first_index
        start = max(job.first_index, bus_start)
        low = history.window_start(start, CAUSE_WINDOW_USEC)
        # A trigger's last state before the job is what counts: one seen back in
        # "listening" (or "waiting") after an earlier firing did not fire for
        # this job (a stop and a manual start within the window, say).
        settled: set[str] = set()
        for index in range(start - 1, low - 1, -1):
            record = history.records[index]
            if record.unit not in triggers or record.unit in settled:
                continue
            if isinstance(record, UnitChange) and index >= bus_start:
                continue
            if isinstance(record, JournalEntry) and index >= job.first_index:
                continue
            if isinstance(record, JournalEntry) and record.code_func in TRIGGER_FUNCTIONS:
                what = TRIGGER_FUNCTIONS[record.code_func]
                # An automount request is logged at info level and names the
                # process that touched the directory: show the line as it is.
                automount = record.code_func == "automount_dispatch_io"
                fact = record.message if automount else f"{record.unit}: {what} (debug log)"
                return self._trigger_cause(
                    job.unit, record.unit, Certainty.RECORDED, (_evidence(record, fact),),
                    f"the journal shows the {what} just before" if automount
                    else f"the debug log shows {what} just before",
                )
            # A socket, path or timer enters "running" when it fires, before the
            # start job exists; a manual start moves it there only afterwards.
            if isinstance(record, UnitChange) and record.sub_state == "running":
                return self._trigger_cause(
                    job.unit, record.unit, Certainty.RECORDED,
                    (_evidence(record, f"{record.unit} entered running before the start job "
                                       "was queued"),),
                    "it fired just before the start job was queued",
                )
            if isinstance(record, UnitChange):
                settled.add(record.unit)
        return None

    def _trigger_cause(
        self, unit: str, trigger: str, certainty: Certainty, evidence: tuple[Evidence, ...],
        how: str,
    ) -> _Cause:
        kind = trigger.rpartition(".")[2]
        words = {
            "socket": "socket activation: a connection or datagram arrived",
            "timer": "the timer elapsed",
            "path": "the watched path changed",
            "automount": "something accessed the mount point",
        }.get(kind, "it was triggered")
        return _Cause(
            StartCause.TRIGGERED, trigger, certainty,
            f"started by {trigger} ({words}); {how}",
            (*evidence, Evidence(unit, f"TriggeredBy={trigger}")),
        )

    def _pulled_in(self, job: _Job, depth: int) -> _Cause | None:
        history = self.history
        pullers = {
            puller: prop for prop in PULLED_BY for puller in history.related(job.unit, prop)
        }
        own_jobs = [other.job_id for other in history.jobs.values()
                    if other.unit == job.unit and other.boot_id == job.boot_id]
        best: _Job | None = None
        for other in history.jobs.values():
            if other.unit not in pullers or not other.is_start or other.boot_id != job.boot_id:
                continue
            # The transaction's jobs get increasing IDs, its anchor first, so the
            # unit that pulled this one in has the lower ID, and no job of this
            # unit lies between the two (a stop job in between means another
            # transaction). A target logs only when it is reached, which at boot
            # may be long after its units started; other units log at once.
            if other.job_id >= job.job_id:
                continue
            if any(other.job_id < own < job.job_id for own in own_jobs):
                continue
            window = BOOT_TARGET_WINDOW_USEC if other.unit.endswith(".target") \
                else TRANSACTION_WINDOW_USEC
            if abs(other.first_usec - job.first_usec) > window:
                continue
            if best is None or other.job_id > best.job_id:
                best = other
        if best is None:
            return None
        prop = pullers[best.unit]
        evidence = [
            Evidence(best.unit, f"start job {best.job_id} and {job.unit}'s start job "
                                f"{job.job_id} came in one transaction",
                     "journal" if best.entries else "bus"),
            Evidence(best.unit, f"{_PULL_WORD[prop]}={job.unit}"),
        ]
        upstream, more, clause = self._upstream(best, depth)
        summary = f"pulled in by {best.unit} ({_PULL_WORD[prop]}={job.unit}), whose start job " \
                  f"came in the same transaction{clause}"
        return _Cause(StartCause.PULLED_IN, best.unit, Certainty.RECORDED, summary,
                      (*evidence, *more), upstream)

    def _live_triggers(self, job: _Job) -> list[tuple[str, str]]:
        live: list[tuple[str, str]] = []
        for trigger in self._triggers(job.unit):
            active, why = self.history.was_active(trigger, job.first_index)
            if active:
                live.append((trigger, why))
        return live

    def _inferred_trigger(self, job: _Job, depth: int) -> _Cause | None:
        # Never a guess a record contradicts: a watch sees a socket, path, timer
        # or automount enter "running" when it fires (_recorded_trigger), so one
        # that did not was not the cause. And a unit a bus call also starts
        # (from 257 hostnamed has a Varlink socket beside its bus name) has two
        # explanations, which the journal at info level cannot tell apart.
        if self._bus_names(job.unit):
            return None
        live = [(trigger, why) for trigger, why in self._live_triggers(job)
                if not self._seen_not_firing(trigger)]
        if not live:
            return None
        # Sockets first: they fire on any client, which is what operators forget.
        order = {"socket": 0, "path": 1, "automount": 2, "timer": 3}
        live.sort(key=lambda t: order.get(t[0].rpartition(".")[2], 9))
        trigger = live[0][0]
        others = "".join(f"; {name} was active too" for name, _ in live[1:])
        return self._trigger_cause(
            job.unit, trigger, Certainty.INFERRED,
            tuple(Evidence(name, f"active at the time: {reason}", "journal")
                  for name, reason in live),
            f"inferred: {trigger} was active and nothing else explains the start; systemd logs "
            f"a trigger firing only at debug level (watch --debug-log shows it){others}",
        )

    def _monitored_calls(self, job: _Job, names: Sequence[str]) -> list[BusMessage]:
        """Calls to the unit's bus names a monitor saw shortly before the job."""
        history = self.history
        low = history.window_start(job.first_index, CAUSE_WINDOW_USEC)
        return [r for r in history.records[low:job.last_index + 1]
                if isinstance(r, BusMessage) and r.kind == "method_call"
                and r.destination in names]

    def _seen_not_firing(self, trigger: str) -> bool:
        """A watch would have seen this trigger enter "running" had it fired.

        An Accept=yes socket stays "listening" while it spawns instances, so a
        watch cannot tell whether it fired.
        """
        unit = self.history.snapshot.unit(trigger)
        accepts = unit is not None and unit.socket is not None and unit.socket.accept
        return self.history.watched and not accepts

    def _unexplained(self, job: _Job, depth: int) -> _Cause | None:
        """The graph offers starters, and no record says which of them fired."""
        live = self._live_triggers(job)
        ruled_out = [trigger for trigger, _ in live if self._seen_not_firing(trigger)]
        triggers = [(trigger, why) for trigger, why in live if trigger not in ruled_out]
        bus_names = self._bus_names(job.unit)
        called = self._monitored_calls(job, bus_names)
        if self.history.bus_monitored and not called:
            bus_names = ()  # nobody called the name: no bus activation
        if not triggers and not bus_names:
            return None  # nothing left but someone asking: manual
        candidates = [f"{trigger} firing" for trigger, _ in triggers]
        evidence = [Evidence(trigger, f"active at the time: {why}", "journal")
                    for trigger, why in triggers]
        for name in bus_names:
            candidates.append(f"a call to {name} (dbus-daemon logs the request, dbus-broker "
                              "does not; watch --debug-log records the bus's StartUnit)")
            evidence.append(Evidence(job.unit, f"bus name {name}"))
        not_fired = "".join(f"; {trigger} was listening and the watch saw it did not fire"
                            for trigger in ruled_out)
        if self.history.bus_monitored and not bus_names and self._bus_names(job.unit):
            not_fired += "; the bus monitor saw no call to its bus name"
        return _Cause(
            StartCause.UNEXPLAINED, "", Certainty.INFERRED,
            "unexplained: no record says what started it; it could have been "
            + "; ".join(candidates) + "; or a systemctl start" + not_fired,
            tuple(evidence),
        )

    def _upholds(self, job: _Job, depth: int) -> _Cause | None:
        upholders = self.history.related(job.unit, "UpheldBy")
        history = self.history
        low = history.window_start(job.first_index, CAUSE_WINDOW_USEC)
        for index in range(job.first_index - 1, low - 1, -1):
            record = history.records[index]
            if isinstance(record, JournalEntry) and record.unit == job.unit \
                    and record.code_func in UPHELD_FUNCTIONS:
                live = [u for u in upholders if history.was_active(u, index)[0]]
                upholder = live[0] if live else (upholders[0] if upholders else "")
                if not upholder:
                    break
                return _Cause(
                    StartCause.UPHOLDS, upholder, Certainty.RECORDED,
                    f"started again by {upholder}, which upholds it (Upholds=) while it is "
                    "active; the debug log says so",
                    (_evidence(record, f"{job.unit}: started because upheld (debug log)"),
                     Evidence(upholder, f"Upholds={job.unit}")),
                )
        for upholder in upholders:
            active, why = self.history.was_active(upholder, job.first_index)
            if active:
                return _Cause(
                    StartCause.UPHOLDS, upholder, Certainty.INFERRED,
                    f"started again by {upholder}, which upholds it (Upholds=) while it is "
                    "active; inferred, systemd logs this only at debug level",
                    (Evidence(upholder, f"Upholds={job.unit}"),
                     Evidence(upholder, f"active at the time: {why}", "journal")),
                )
        return None


# -- stops ------------------------------------------------------------------------


def _signal_name(number: str) -> str:
    try:
        return signal.Signals(int(number)).name
    except ValueError:
        return f"signal {number}"


def _stop_events(
    history: _History, unit: str, bus_stops: bool
) -> list[tuple[int, TimelineEvent]]:
    """One stop per invocation that ended, from the entries that invocation left."""
    by_invocation: dict[str, list[tuple[int, JournalEntry]]] = {}
    for index, record in enumerate(history.records):
        if isinstance(record, JournalEntry) and record.unit == unit and record.invocation_id \
                and record.message_id in (UNIT_SUCCESS, UNIT_FAILURE_RESULT, UNIT_PROCESS_EXIT,
                                          UNIT_STOPPED, UNIT_OUT_OF_MEMORY, UNIT_OOMD_KILL):
            by_invocation.setdefault(record.invocation_id, []).append((index, record))
    events: list[tuple[int, TimelineEvent]] = []
    for invocation, entries in by_invocation.items():
        ids = {r.message_id for _, r in entries}
        if not ids & {UNIT_SUCCESS, UNIT_FAILURE_RESULT, UNIT_STOPPED}:
            continue
        failure = next((p for p in entries if p[1].message_id == UNIT_FAILURE_RESULT), None)
        stop_job = next((p for p in entries
                         if p[1].message_id == UNIT_STOPPED and p[1].job_type == "stop"), None)
        ended = [p for p in entries if p[1].message_id in (UNIT_SUCCESS, UNIT_STOPPED)]
        index, anchor = failure or stop_job or ended[-1]
        evidence = [_evidence(r) for _, r in entries if r.message_id != UNIT_PROCESS_EXIT]
        exits = [r for _, r in entries if r.message_id == UNIT_PROCESS_EXIT
                 and r.exit_code in ("exited", "killed", "dumped")]
        how = ""
        if exits:
            last = exits[-1]
            how = (f"exit status {last.exit_status}" if last.exit_code == "exited"
                   else f"{_signal_name(last.exit_status)}"
                   + (", core dumped" if last.exit_code == "dumped" else ""))
            evidence.append(_evidence(last, f"{unit}: main process {last.exit_code}, "
                                            f"status {last.exit_status}"))
        if failure is not None:
            result = failure[1].unit_result
            oom = bool(ids & {UNIT_OUT_OF_MEMORY, UNIT_OOMD_KILL})
            killed = oom or result in ("signal", "core-dump", "oom-kill") or (
                exits and exits[-1].exit_code in ("killed", "dumped"))
            cause = StopCause.KILLED if killed else StopCause.FAILURE
            detail = ", ".join(d for d in (f"Result={result}" if result else "", how,
                                           "out of memory" if oom else "") if d)
            summary = (f"killed ({detail})" if killed else f"failed ({detail})")
        elif stop_job is not None:
            cause, result = StopCause.CLEAN, "success"
            summary = f"stopped by a stop job (job {stop_job[1].job_id})"
        else:
            cause, result = StopCause.CLEAN, "success"
            restart = any(r.job_type == "restart" for _, r in entries)
            summary = "stopped by a restart job" if restart else "exited on its own, successfully"
        events.append((index, TimelineEvent(
            at_usec=anchor.realtime_usec, unit=unit, event="stop", cause=cause.value,
            source="", chain=(), certainty=Certainty.RECORDED.value, summary=summary,
            evidence=tuple(evidence), job_id=stop_job[1].job_id if stop_job else 0,
            invocation_id=invocation, result=result,
        )))
    if bus_stops:
        events += _bus_stop_events(history, unit, set(by_invocation))
    return events


def bus_stops(records: Sequence[Record], unit: str) -> list[tuple[int, UnitChange, str]]:
    """Where the unit went from up (or on its way) to down on the bus: index, change, run.

    The run that ended is the one seen while the unit was up: a signal is read
    when it is sent, so a restart job's "inactive" may carry the next run's ID.
    """
    stops: list[tuple[int, UnitChange, str]] = []
    up_invocation = ""
    for index, record in enumerate(records):
        if not isinstance(record, UnitChange) or record.unit != unit:
            continue
        if record.active_state not in ("inactive", "failed"):
            up_invocation = up_invocation or record.invocation_id
            continue
        ended, up_invocation = up_invocation, ""
        if ended:
            stops.append((index, record, ended))
    return stops


def _bus_stop_events(
    history: _History, unit: str, known: set[str]
) -> list[tuple[int, TimelineEvent]]:
    """Stops seen only on the bus (a watch without a readable journal)."""
    events: list[tuple[int, TimelineEvent]] = []
    for index, record, ended in bus_stops(history.records, unit):
        if ended in known:
            continue
        failed = record.active_state == "failed"
        cause = StopCause.FAILURE if failed else StopCause.CLEAN
        events.append((index, TimelineEvent(
            at_usec=record.at_usec, unit=unit, event="stop", cause=cause.value, source="",
            chain=(), certainty=Certainty.RECORDED.value,
            summary="failed (seen on the bus)" if failed else "stopped (seen on the bus)",
            evidence=(_evidence(record),), invocation_id=ended,
            result="failed" if failed else "success",
        )))
    return events


# -- the timeline -----------------------------------------------------------------


def _start_events(history: _History, unit: str) -> list[tuple[int, TimelineEvent]]:
    classifier = _Classifier(history)
    events: list[tuple[int, TimelineEvent]] = []
    starts = sorted(
        (j for j in history.jobs.values() if j.unit == unit and j.is_start),
        key=lambda j: j.first_index,
    )
    for job in starts:
        if job.result and job.result not in ("done", "failed", "timeout", "dependency"):
            continue  # canceled, skipped, unsupported: nothing started
        if not job.entries and history.was_active(unit, job.first_index)[0]:
            # Seen only on the bus: a start job for a unit that is already up
            # finishes at once and changes nothing (the journal logs nothing).
            continue
        found = classifier.start_cause(job)
        chain = (*found.upstream, found.by, unit) if found.by and found.by != unit else (unit,)
        summary = found.summary
        if job.result and job.result != "done":
            summary = f"start attempt that ended {job.result}: {summary}"
        # A restart job's stop half comes first; the start is its start half.
        start_half = next((e for e in job.entries if e.job_type == "start"), None)
        at_usec = start_half.realtime_usec if start_half else job.first_usec
        events.append((job.first_index, TimelineEvent(
            at_usec=at_usec, unit=unit, event="start", cause=found.cause.value,
            source=chain[0] if found.by else "", chain=chain if found.by else (),
            certainty=found.certainty.value, summary=summary, evidence=found.evidence,
            job_id=job.job_id, invocation_id=job.invocation_id, result=job.result,
        )))
    return events


def start_call_senders(records: Sequence[Record]) -> set[str]:
    """The unique bus names behind start calls and calls a bus monitor kept.

    Start calls are read from this boot's debug log. Watch (and diagnose) resolve
    them into units while they are still on the bus.
    """
    senders = {r.sender for r in records if isinstance(r, BusMessage)
               and r.kind == "method_call" and r.sender.startswith(":")}
    live_boot = _live_boot(records)
    for record in records:
        if isinstance(record, JournalEntry) and record.code_func == BUS_CALL_FUNCTION \
                and record.boot_id == live_boot:
            match = _BUS_CALL.search(record.message)
            if match is not None and match["member"] in _START_METHODS \
                    and match["sender"].startswith(":"):
                senders.add(match["sender"])
    return senders


def build_timeline(
    unit: str,
    records: Sequence[Record],
    snapshot: SystemSnapshot,
    *,
    since_usec: int,
    until_usec: int,
    limit: int = MAX_EVENTS,
    notes: Sequence[str] = (),
    bus_stops: bool = False,
    bus_peers: Mapping[str, str] | None = None,
    bus_monitored: bool = False,
) -> Timeline:
    """Every start and stop of ``unit`` in the records, classified, oldest first.

    ``records`` are journal entries about the unit and its neighbours (the units
    in ``snapshot``), and for a watch also bus signals; ``snapshot`` says which
    units trigger, pull in, uphold or hook onto the unit. ``bus_stops`` takes
    stops from the bus signals too, for a watch that cannot follow the journal
    (the journal says more: exit status, signal, result). ``bus_peers`` maps
    the unique bus names seen as senders of start calls to the unit of their
    process, so a StartUnit from dbus-broker's launcher is a bus activation.
    ``bus_monitored``: a bus monitor ran throughout (its messages are among the
    records), so a bus activation it did not see did not happen.
    """
    history = _History(records, snapshot, bus_peers, bus_monitored)
    events = _start_events(history, unit) + _stop_events(history, unit, bus_stops)
    events.sort(key=lambda pair: (pair[1].at_usec, pair[0]))
    ordered = [event for _, event in events if since_usec <= event.at_usec <= until_usec]
    omitted = max(0, len(ordered) - limit)
    return Timeline(
        unit=unit,
        since_usec=since_usec,
        until_usec=until_usec,
        events=tuple(ordered[omitted:]),
        omitted=omitted,
        notes=tuple(notes),
    )

