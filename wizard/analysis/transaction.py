"""systemd's job transactions, replayed on a snapshot: which jobs a start or stop really runs.

This follows src/core/transaction.c of systemd v252 (``transaction_add_job_and_dependencies``,
``transaction_drop_redundant``, ``transaction_collect_garbage``, ``transaction_merge_jobs``) and
the job results of src/core/job.c and unit.c ``unit_start``. The code is replayed as it is,
quirks included: a job whose puller was dropped survives when another kept job still pulls it,
so mutual pull-in cycles survive garbage collection. docs/systemd-model.md cites each rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from wizard.model.frozen import frozen
from wizard.model.snapshots import FileFacts, SystemSnapshot, UnitSnapshot

# The dependency properties behind each atom transaction.c follows
# (src/core/unit-dependency-atom.c, atom_map[] of v252).
PULL_IN_START = ("Requires", "BindsTo")  # UNIT_ATOM_PULL_IN_START: errors fail the puller
PULL_IN_START_IGNORED = ("Wants", "Upholds")  # UNIT_ATOM_PULL_IN_START_IGNORED
PULL_IN_VERIFY = ("Requisite",)  # UNIT_ATOM_PULL_IN_VERIFY: a verify-active job, no start
# UNIT_ATOM_PROPAGATE_STOP, with the setting the *other* unit wrote, for the reason.
PROPAGATE_STOP: tuple[tuple[str, str], ...] = (
    ("RequiredBy", "Requires"),
    ("RequisiteOf", "Requisite"),
    ("BoundBy", "BindsTo"),
    ("ConsistsOf", "PartOf"),
    ("PropagatesStopTo", "StopPropagatedFrom"),
)
# A unit's start job fails when one of these of its dependencies fails to start
# (their inverses carry UNIT_ATOM_PROPAGATE_START_FAILURE).
FAILS_WITH = ("Requires", "Requisite", "BindsTo")
ACTIVE_STATES = frozenset({"active", "reloading"})
INACTIVE_STATES = frozenset({"inactive", "failed"})


class JobType(StrEnum):
    """The job types a start or stop transaction holds."""

    START = "start"
    VERIFY_ACTIVE = "verify-active"
    STOP = "stop"


class Outcome(StrEnum):
    """What running a job does to its unit."""

    STARTS = "starts"
    ALREADY_ACTIVE = "already-active"
    CONDITION_FAILED = "condition-failed"
    ASSERT_FAILED = "assert-failed"
    START_LIMIT_HIT = "start-limit-hit"
    FAILS = "fails"
    """The unit's start fails at once (a mount systemd has no configuration for)."""
    DEPENDENCY_FAILED = "dependency-failed"
    VERIFY_OK = "verify-ok"
    VERIFY_FAILED = "verify-failed"
    STOPS = "stops"


@frozen
class UnitStates:
    """The active state of every unit in a snapshot, possibly after a modelled change."""

    snapshot: SystemSnapshot
    active: Mapping[str, str]
    sub: Mapping[str, str]
    files: FileFacts | None = None

    @classmethod
    def of(cls, snapshot: SystemSnapshot, files: FileFacts | None = None) -> UnitStates:
        """The states the snapshot recorded."""
        return cls(
            snapshot,
            {n: u.active_state for n, u in snapshot.units.items()},
            {n: u.sub_state for n, u in snapshot.units.items()},
            files if files is not None else snapshot.files,
        )

    def name(self, unit: str) -> str:
        """The unit's own name for an alias (the name itself when unknown)."""
        found = self.snapshot.unit(unit)
        return found.name if found is not None else unit

    def unit(self, name: str) -> UnitSnapshot | None:
        """The unit's snapshot, by name or alias."""
        return self.snapshot.unit(name)

    def state(self, unit: str) -> str:
        """ActiveState now; a unit outside the snapshot counts as inactive."""
        return self.active.get(self.name(unit), "inactive")

    def sub_state(self, unit: str) -> str:
        """SubState now."""
        return self.sub.get(self.name(unit), "dead")

    def is_active(self, unit: str) -> bool:
        """UNIT_IS_ACTIVE_OR_RELOADING."""
        return self.state(unit) in ACTIVE_STATES

    def is_inactive(self, unit: str) -> bool:
        """UNIT_IS_INACTIVE_OR_FAILED."""
        return self.state(unit) in INACTIVE_STATES

    def related(self, unit: str, prop: str) -> tuple[str, ...]:
        """A dependency property of a unit, as unit names (aliases resolved)."""
        found = self.unit(unit)
        if found is None:
            return ()
        return tuple(dict.fromkeys(self.name(n) for n in found.related(prop)))

    def with_changes(self, active: Mapping[str, str], sub: Mapping[str, str]) -> UnitStates:
        """A copy with some units in another state."""
        return UnitStates(self.snapshot, {**self.active, **active}, {**self.sub, **sub},
                          self.files)


@frozen
class Step:
    """One link of the path systemd walks from the anchor job to a job."""

    unit: str
    via: str
    """The setting of the previous unit that pulled this one in; "anchor" for the first."""


@frozen
class PlannedJob:
    """A job that stays in the transaction, with what running it does."""

    unit: str
    type: JobType
    path: tuple[Step, ...]
    outcome: Outcome
    reason: str = ""


@frozen
class DroppedJob:
    """A job systemd added and then removed again before running anything."""

    unit: str
    type: JobType
    why: str
    path: tuple[Step, ...] = ()


@frozen
class Transaction:
    """The jobs one request really runs, as transaction.c builds them."""

    anchor: str
    anchor_type: JobType
    failed: str = ""
    """Why the whole transaction is refused ("" when it was accepted)."""
    jobs: Mapping[str, PlannedJob] = field(default_factory=dict)
    dropped: tuple[DroppedJob, ...] = ()
    notes: tuple[str, ...] = ()

    def starts(self, unit: str) -> bool:
        """Whether the transaction makes this unit start (and not fail right away)."""
        job = self.jobs.get(unit)
        return job is not None and job.type == JobType.START and job.outcome == Outcome.STARTS

    def stops(self, unit: str) -> bool:
        """Whether the transaction stops this unit."""
        job = self.jobs.get(unit)
        return job is not None and job.type == JobType.STOP

    def dropped_job(self, unit: str) -> DroppedJob | None:
        """The dropped job of a unit, if systemd added one and removed it."""
        return next((d for d in self.dropped if d.unit == unit), None)


# -- the job graph of one transaction ---------------------------------------------


@dataclass(eq=False)
class _Job:
    unit: str
    type: JobType
    pulled_by: list[_Link] = field(default_factory=list)  # object_list
    pulls: list[_Link] = field(default_factory=list)  # subject_list


@dataclass(eq=False)
class _Link:
    subject: _Job
    object: _Job
    matters: bool
    relation: str


@frozen
class _Refusal:
    unit: str
    reason: str


class _Builder:
    """transaction_add_job_and_dependencies and the clean-up steps of transaction_activate."""

    def __init__(self, states: UnitStates) -> None:
        self.states = states
        self.jobs: dict[str, list[_Job]] = {}
        self.anchor: _Job | None = None
        self.dropped: list[DroppedJob] = []
        self.notes: list[str] = []
        self._first_paths: dict[tuple[str, JobType], tuple[Step, ...]] = {}
        self.matters: set[int] = set()

    def all_jobs(self) -> Iterator[_Job]:
        for jobs in list(self.jobs.values()):
            yield from list(jobs)

    def _load_refusal(self, unit: str) -> _Refusal | None:
        # bus_unit_validate_load_state() (dbus-unit.c), checked for every job but stop.
        found = self.states.unit(unit)
        if found is None:
            self.notes.append(
                f"{unit} is not in the snapshot; it is assumed to load and to be inactive"
            )
            return None
        match found.load_state:
            case "loaded" | "":
                return None
            case "masked":
                return _Refusal(unit, f"{unit} is masked")
            case "not-found":
                return _Refusal(unit, f"{unit} is not found")
            case state:
                return _Refusal(unit, f"{unit} failed to load (LoadState={state})")

    def add(
        self, type_: JobType, unit: str, by: _Job | None, matters: bool, relation: str,
        path: tuple[Step, ...],
    ) -> _Refusal | None:
        unit = self.states.name(unit)
        if type_ != JobType.STOP:
            refusal = self._load_refusal(unit)
            if refusal is not None:
                return refusal
        jobs = self.jobs.setdefault(unit, [])
        job = next((j for j in jobs if j.type == type_), None)
        is_new = job is None
        if job is None:
            job = _Job(unit, type_)
            jobs.append(job)
        here = (*path, Step(unit, relation))
        self._first_paths.setdefault((unit, type_), here)
        if by is not None:
            link = _Link(by, job, matters, relation)
            by.pulls.append(link)
            job.pulled_by.append(link)
        else:
            self.anchor = job
        if not is_new:
            return None
        if type_ == JobType.START:
            for prop in PULL_IN_START:
                for dep in self.states.related(unit, prop):
                    refusal = self.add(JobType.START, dep, job, True, prop, here)
                    if refusal is not None:
                        # "goto fail": the jobs added so far stay in the transaction.
                        return refusal
            for prop in PULL_IN_START_IGNORED:
                for dep in self.states.related(unit, prop):
                    refusal = self.add(JobType.START, dep, job, False, prop, here)
                    if refusal is not None:
                        self.dropped.append(DroppedJob(
                            dep, JobType.START,
                            f"{refusal.reason}; {unit}'s {prop}= ignores that", here))
            for prop in PULL_IN_VERIFY:
                for dep in self.states.related(unit, prop):
                    refusal = self.add(JobType.VERIFY_ACTIVE, dep, job, True, prop, here)
                    if refusal is not None:
                        return refusal
        elif type_ == JobType.STOP:
            for prop, _written in PROPAGATE_STOP:
                for dep in self.states.related(unit, prop):
                    self.add(JobType.STOP, dep, job, True, prop, here)
        return None

    def _delete(self, job: _Job, delete_dependencies: bool) -> None:
        # transaction_unlink_job(): a deleted job's pullers that needed it go too.
        jobs = self.jobs.get(job.unit, [])
        if job not in jobs:
            return
        jobs.remove(job)
        if not jobs:
            del self.jobs[job.unit]
        for link in list(job.pulls):
            link.object.pulled_by.remove(link)
        job.pulls.clear()
        for link in list(job.pulled_by):
            link.subject.pulls.remove(link)
            job.pulled_by.remove(link)
            if link.matters and delete_dependencies:
                self._delete(link.subject, True)

    def _redundant(self, job: _Job) -> bool:
        # job_type_is_redundant() (job.c)
        state = self.states.state(job.unit)
        if job.type == JobType.STOP:
            return state in INACTIVE_STATES
        return state in ACTIVE_STATES

    def drop_redundant(self) -> None:
        # transaction_drop_redundant(): a unit's jobs go when all are no-ops and
        # none is the anchor; its dependencies are *not* deleted with it.
        for unit, jobs in list(self.jobs.items()):
            if any(j is self.anchor or not self._redundant(j) for j in jobs):
                continue
            for job in list(jobs):
                state = self.states.state(unit)
                self.dropped.append(DroppedJob(
                    unit, job.type,
                    f"{unit} is already {state}, so its {job.type} job is redundant",
                    self._first_paths.get((unit, job.type), ())))
                self._delete(job, False)

    def collect_garbage(self, cause: str) -> None:
        # transaction_collect_garbage(): a job nobody pulls in any more goes;
        # jobs that pull each other in keep each other. HASHMAP_FOREACH(j, tr->jobs)
        # sees only the head of each unit's job list, the job added last
        # (transaction_add_one_job() LIST_PREPENDs): an orphaned start job behind a
        # later verify-active job of its unit stays, and merges with it.
        again = True
        while again:
            again = False
            for job in [jobs[-1] for jobs in list(self.jobs.values()) if jobs]:
                if job is not self.anchor and not job.pulled_by:
                    self.dropped.append(DroppedJob(
                        job.unit, job.type, f"no job pulls {job.unit} in any more ({cause})",
                        self._first_paths.get((job.unit, job.type), ())))
                    self._delete(job, True)
                    again = True
                    break

    def mark_matters(self) -> None:
        # transaction_find_jobs_that_matter_to_anchor(): the anchor and every job
        # reachable from it through links with the "matters" flag (Requires=,
        # BindsTo=, Requisite=); Wants=/Upholds= pull-ins do not matter.
        self.matters = set()
        if self.anchor is None:
            return
        queue = [self.anchor]
        self.matters.add(id(self.anchor))
        while queue:
            job = queue.pop()
            for link in job.pulls:
                if link.matters and id(link.object) not in self.matters:
                    self.matters.add(id(link.object))
                    queue.append(link.object)

    def _ordered_after(self, unit: str) -> list[str]:
        # UNIT_ATOM_AFTER between units that have a job here (After=, and Before= read
        # from the other side, which a snapshot may list on one side only).
        after = set(self.states.related(unit, "After"))
        after |= {u for u in self.jobs if unit in self.states.related(u, "Before")}
        return [u for u in self.jobs if u in after and u != unit]

    def _cycle(self) -> list[str] | None:
        # transaction_verify_order_one(): a depth-first sweep of the ordering graph;
        # a cycle is the path from the unit seen again to the unit that reached it.
        done: set[str] = set()

        def sweep(unit: str, path: list[str]) -> list[str] | None:
            if unit in path:
                return path[path.index(unit):]
            if unit in done:
                return None
            for other in self._ordered_after(unit):
                found = sweep(other, [*path, unit])
                if found is not None:
                    return found
            done.add(unit)
            return None

        for unit in list(self.jobs):
            found = sweep(unit, [])
            if found is not None:
                return found
        return None

    def verify_order(self) -> str:
        """Break ordering cycles as transaction_verify_order() does; "" or why it fails.

        Walking the cycle back from where it was found, the first unit none of whose
        jobs matters to the anchor loses its jobs (transaction_delete_unit(), with
        what needed them) and the sweep starts again after a garbage collection;
        when every unit of the cycle matters, the transaction fails ("Transaction
        order is cyclic").
        """
        while True:
            cycle = self._cycle()
            if cycle is None:
                return ""
            victim = next((u for u in reversed(cycle)
                           if not any(id(j) in self.matters for j in self.jobs.get(u, []))),
                          None)
            if victim is None:
                return ("its jobs are ordered in a cycle (" + " -> ".join([*cycle, cycle[0]])
                        + ") where every job matters to the anchor, so systemd refuses the "
                        "transaction (Transaction order is cyclic)")
            for job in list(self.jobs.get(victim, [])):
                self.dropped.append(DroppedJob(
                    victim, job.type,
                    f"{victim}'s job was deleted to break the ordering cycle "
                    f"{' -> '.join([*cycle, cycle[0]])}",
                    self._first_paths.get((victim, job.type), ())))
                self._delete(job, True)
            self.collect_garbage(f"after {victim}'s job was deleted to break an ordering cycle")

    def merge(self) -> None:
        # transaction_merge_jobs(): start and verify-active of one unit merge into start.
        for unit, jobs in list(self.jobs.items()):
            types = {j.type for j in jobs}
            if types == {JobType.START, JobType.VERIFY_ACTIVE}:
                start = next(j for j in jobs if j.type == JobType.START)
                verify = next(j for j in jobs if j.type == JobType.VERIFY_ACTIVE)
                for link in list(verify.pulled_by):
                    link.object = start
                    start.pulled_by.append(link)
                verify.pulled_by.clear()
                for link in list(verify.pulls):
                    link.subject = start
                    start.pulls.append(link)
                verify.pulls.clear()
                if self.anchor is verify:
                    self.anchor = start
                jobs.remove(verify)
            elif JobType.STOP in types and len(types) > 1:
                self.notes.append(
                    f"{unit} gets both a stop and a start job; their merge is not modelled"
                )

    def path_to(self, job: _Job) -> tuple[Step, ...]:
        """The shortest chain of kept jobs from the anchor to this job."""
        if self.anchor is None:
            return ()
        queue: list[tuple[_Job, tuple[Step, ...]]] = [
            (self.anchor, (Step(self.anchor.unit, "anchor"),))]
        seen = {id(self.anchor)}
        while queue:
            current, path = queue.pop(0)
            if current is job:
                return path
            for link in current.pulls:
                if id(link.object) not in seen:
                    seen.add(id(link.object))
                    queue.append((link.object, (*path, Step(link.object.unit, link.relation))))
        # Kept by a cycle that no longer hangs off the anchor.
        return self._first_paths.get((job.unit, job.type), (Step(job.unit, "cycle"),))


def _start_outcome(states: UnitStates, unit: str, is_anchor: bool) -> tuple[Outcome, str]:
    """What unit_start() does for a start job that runs (unit.c, v252)."""
    if states.is_active(unit):
        return Outcome.ALREADY_ACTIVE, f"{unit} is already active"
    found = states.unit(unit)
    if found is None:
        return Outcome.STARTS, ""
    files = states.files
    if files is not None and unit in files.conditions:
        passes, failing = files.conditions[unit]
        if not passes:
            return Outcome.CONDITION_FAILED, (
                f"{unit}'s condition fails ({failing}); the job completes but the unit "
                "stays inactive")
    elif found.conditions and not found.condition_result \
            and found.condition_timestamp_realtime_usec:
        failed = [f"{'!' if neg else ''}{kind}={param}"
                  for kind, _trig, neg, param, state in found.conditions if state < 0]
        return Outcome.CONDITION_FAILED, (
            f"{unit}'s condition failed when last checked "
            f"({', '.join(failed) or 'ConditionResult=no'}); the job completes but the unit "
            "stays inactive"
        )
    if files is not None and unit in files.asserts:
        passes, failing = files.asserts[unit]
        if not passes:
            return Outcome.ASSERT_FAILED, f"{unit}'s assertion fails ({failing})"
    elif found.asserts and not found.assert_result and found.assert_timestamp_realtime_usec:
        return Outcome.ASSERT_FAILED, f"{unit}'s assertion failed when last checked"
    if unit.endswith(".mount") and not found.fragment_path:
        # mount.c mount_enter_mounting(): without a fragment there are no mount
        # parameters (get_mount_parameters_fragment() is NULL), so the start is
        # -ENOENT and the unit enters failed (MOUNT_FAILURE_RESOURCES). A mount
        # that only /proc/self/mountinfo knows (one nspawn or a script made) is
        # never mounted again by systemd once it is unmounted.
        return Outcome.FAILS, (
            f"{unit} has no unit file (systemd knows it only from "
            f"{found.source_path or '/proc/self/mountinfo'}), so systemd cannot mount it: "
            "its start fails")
    results = [d.result for d in (found.service, found.socket, found.timer, found.path,
                                  found.automount) if d is not None]
    if "start-limit-hit" in results:
        return Outcome.START_LIMIT_HIT, (
            f"{unit} hit its start limit (Result=start-limit-hit); systemd refuses to start it "
            "until the interval passes or someone runs systemctl reset-failed"
        )
    return Outcome.STARTS, ""


# Commands whose exit status is known before they run: false(1) always fails.
ALWAYS_FAILS = ("false",)


def run_fails(states: UnitStates, unit: str) -> bool:
    """Whether a oneshot's run is known to fail: its ExecStart= is ``false``.

    A Type=oneshot service's start job completes only when its command exits
    (service.c: the job waits in SERVICE_START); a non-zero exit ends it in
    service_enter_dead() with a failure result, the unit becomes failed and
    the start job ends "failed". Any other command is taken to succeed: the
    model cannot know what a script returns.
    """
    found = states.unit(unit)
    service = found.service if found is not None else None
    if service is None or service.type != "oneshot":
        return False
    return any(c.setting == "ExecStart" and c.path.rpartition("/")[2] in ALWAYS_FAILS
               and not c.ignore_failure for c in service.exec_commands)


# Commands known never to accept() a connection on a socket they are handed.
NEVER_ACCEPTS = ("true", "false")


def leaves_connection_queued(states: UnitStates, unit: str) -> bool:
    """Whether a socket's oneshot service ends without taking the connection.

    Such a service (Type=oneshot without RemainAfterExit=, whose every
    ExecStart= is ``true`` or ``false``) goes inactive or failed with the
    connection still in the listening socket's queue: socket.c
    socket_trigger_notify() puts the socket back to listening, the queued
    connection triggers it again, and the loop ends when service.c
    service_start() finds the start limit hit (unit_test_start_limit(); the
    default StartLimitBurst=5 in 10 s) and fails the service with
    start-limit-hit, which starts its OnFailure= (unit.c unit_notify()). Any
    other command is taken to serve the connection: the model cannot know.
    """
    found = states.unit(unit)
    service = found.service if found is not None else None
    if service is None or service.type != "oneshot" or service.remain_after_exit:
        return False
    starts = [c for c in service.exec_commands if c.setting == "ExecStart"]
    return bool(starts) and all(c.path.rpartition("/")[2] in NEVER_ACCEPTS for c in starts)


# enum UnitType of src/basic/unit-def.h (v252), for the run queue's order.
UNIT_TYPE_ORDER = ("service", "mount", "swap", "socket", "target", "device", "automount",
                   "timer", "path", "slice", "scope")


def _runs_first(first: str, second: str) -> bool:
    """Whether systemd dispatches first's job before second's when neither waits.

    cgroup.c compare_job_priority(): the higher unit type first, then the higher
    CPUWeight=, then the lower Nice=, then the unit name. CPUWeight= and Nice=
    are not in the snapshot; they are taken as equal (the defaults).
    """
    def rank(name: str) -> int:
        kind = name.rpartition(".")[2]
        return UNIT_TYPE_ORDER.index(kind) if kind in UNIT_TYPE_ORDER else -1

    if rank(first) != rank(second):
        return rank(first) > rank(second)
    return first < second


def _run(builder: _Builder, states: UnitStates) -> dict[str, PlannedJob]:
    """The outcome of every kept job, with job.c's failure propagation."""
    planned: dict[str, PlannedJob] = {}
    anchor = builder.anchor
    for job in builder.all_jobs():
        path = builder.path_to(job)
        if job.type == JobType.STOP:
            planned[job.unit] = PlannedJob(job.unit, job.type, path, Outcome.STOPS)
        elif job.type == JobType.VERIFY_ACTIVE:
            # job_run_and_invalidate(): verify-active on a unit that is not active
            # is JOB_SKIPPED, which fails the jobs that need it.
            ok = states.is_active(job.unit) or states.state(job.unit) == "activating"
            planned[job.unit] = PlannedJob(
                job.unit, job.type, path, Outcome.VERIFY_OK if ok else Outcome.VERIFY_FAILED,
                "" if ok else f"{job.unit} is not active, so the Requisite= check fails")
        else:
            outcome, reason = _start_outcome(states, job.unit, job is anchor)
            planned[job.unit] = PlannedJob(job.unit, job.type, path, outcome, reason)
    # job_fail_dependencies(): a failed start fails the start jobs of units that
    # Require/Requisite/BindsTo it, when those are still waiting for it (After=).
    # Read from the puller's side: a unit loaded later misses from the other's
    # reverse lists in a snapshot, while systemd links both once both are loaded.
    hard_failures = (Outcome.ASSERT_FAILED, Outcome.START_LIMIT_HIT, Outcome.FAILS,
                     Outcome.VERIFY_FAILED,
                     Outcome.DEPENDENCY_FAILED)
    # Failures that come only once a process has run (a oneshot whose command
    # fails, and what they fail in turn) reach only jobs still waiting for them,
    # i.e. ordered After= them: every unordered job was dispatched long before.
    delayed: set[str] = set()
    # An immediate failure cascades inside one dispatch: job_finish_and_invalidate()
    # calls job_fail_dependencies() recursively, so every job failed in turn fails
    # when the first failing job is dispatched, not when its own turn would come.
    cascade_root: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for other, waiting in list(planned.items()):
            if waiting.type != JobType.START or waiting.outcome != Outcome.STARTS:
                continue
            for written in FAILS_WITH:
                for failed_unit in states.related(other, written):
                    failed = planned.get(failed_unit)
                    if failed is None:
                        continue
                    # PROPAGATE_INACTIVE_START_AS_FAILURE: a start that leaves the unit
                    # inactive (its condition failed) fails Requisite= too; BindsTo=
                    # fails in unit_start()'s unit_verify_deps().
                    # A oneshot whose command fails ends its start job "failed".
                    exec_failed = failed.outcome == Outcome.STARTS and failed.type == \
                        JobType.START and run_fails(states, failed_unit)
                    if failed.outcome not in hard_failures and not exec_failed and not (
                            failed.outcome == Outcome.CONDITION_FAILED
                            and written in ("Requisite", "BindsTo")):
                        continue
                    ordered = failed_unit in states.related(other, "After") or \
                        other in states.related(failed_unit, "Before")
                    late = exec_failed or failed_unit in delayed
                    root = cascade_root.get(failed_unit, failed_unit)
                    if not ordered and (late or not _runs_first(root, other)):
                        builder.notes.append(
                            f"{other} has {written}={failed_unit} without After=; its job "
                            f"runs before {failed_unit}'s fails (systemd's run queue order) "
                            "and is not failed by it")
                        continue
                    order = (f"After={failed_unit}" if ordered else
                             f"no After=, but {failed_unit}'s job runs first in systemd's run "
                             "queue" if root == failed_unit else
                             f"no After=, but {root}'s job runs first in systemd's run queue, "
                             f"and its failure fails {failed_unit}'s at once")
                    planned[other] = PlannedJob(
                        other, waiting.type, waiting.path, Outcome.DEPENDENCY_FAILED,
                        f"{other} has {written}={failed_unit} ({order}), and "
                        f"{failed_unit} did not become active")
                    if late:
                        delayed.add(other)
                    else:
                        cascade_root[other] = root
                    changed = True
                    break
                if planned[other].outcome != Outcome.STARTS:
                    break
    return planned


def start_transaction(states: UnitStates, anchor: str, *, manual: bool = False) -> Transaction:
    """The jobs systemd runs for a start job anchored at ``anchor``, in these states.

    ``manual`` is True for a start asked over the bus (systemctl start, D-Bus
    activation): only those honour RefuseManualStart= (dbus-unit.c bus_unit_queue_job).
    """
    anchor = states.name(anchor)
    found = states.unit(anchor)
    if manual and found is not None and found.refuse_manual_start:
        return Transaction(anchor, JobType.START,
                           failed=f"{anchor} has RefuseManualStart=yes: it can only be started "
                           "as a dependency of another unit")
    builder = _Builder(states)
    refusal = builder.add(JobType.START, anchor, None, True, "anchor", ())
    if refusal is not None:
        why = refusal.reason if refusal.unit == anchor else (
            f"{refusal.reason}, and a chain of Requires=/BindsTo=/Requisite= leads there "
            f"from {anchor}")
        return Transaction(anchor, JobType.START, failed=f"the start is refused: {why}",
                           notes=tuple(builder.notes))
    return _finish(builder, states, anchor, JobType.START)


def stop_transaction(states: UnitStates, unit: str) -> Transaction:
    """The jobs systemd runs for ``systemctl stop unit`` (job mode replace)."""
    unit = states.name(unit)
    builder = _Builder(states)
    builder.add(JobType.STOP, unit, None, True, "anchor", ())
    return _finish(builder, states, unit, JobType.STOP)


def _finish(builder: _Builder, states: UnitStates, anchor: str, type_: JobType) -> Transaction:
    # transaction_activate(): drop redundant, collect garbage, merge, drop redundant again.
    builder.mark_matters()
    before = len(builder.dropped)
    builder.drop_redundant()
    causes = ", ".join(sorted({d.unit for d in builder.dropped[before:]}))
    builder.collect_garbage(f"after the redundant jobs of {causes} were dropped" if causes
                            else "after the redundant jobs were dropped")
    cyclic = builder.verify_order()
    if cyclic:
        return Transaction(anchor, type_, failed=f"the start is refused: {cyclic}",
                           dropped=tuple(builder.dropped),
                           notes=tuple(dict.fromkeys(builder.notes)))
    builder.merge()
    builder.drop_redundant()
    return Transaction(
        anchor=anchor,
        anchor_type=type_,
        jobs=_run(builder, states),
        dropped=tuple(builder.dropped),
        notes=tuple(dict.fromkeys(builder.notes)),
    )
