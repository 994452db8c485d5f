"""What a diagnosis says: findings, their evidence and remedies, the timeline, what a watch saw."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from wizard.model.frozen import frozen


class FindingKind(StrEnum):
    """Every way a stopped unit can come back; the order is the article's."""

    RESTART_POLICY = "restart-policy"
    SOCKET = "socket"
    PATH = "path"
    TIMER = "timer"
    AUTOMOUNT = "automount"
    BUS_ACTIVATION = "bus-activation"
    DEPENDENCY = "dependency"
    UPHOLDS = "upholds"
    ON_FAILURE = "on-failure"
    ON_SUCCESS = "on-success"
    EXTERNAL = "external"
    BOOT = "boot"


# The readable report walks the kinds in these steps, as the article did.
REPORT_STEPS: tuple[tuple[str, tuple[FindingKind, ...]], ...] = (
    ("Status and restart policy", (FindingKind.RESTART_POLICY,)),
    (
        "Sockets and other triggers",
        (
            FindingKind.SOCKET,
            FindingKind.PATH,
            FindingKind.TIMER,
            FindingKind.AUTOMOUNT,
            FindingKind.BUS_ACTIVATION,
        ),
    ),
    ("Reverse dependencies", (FindingKind.DEPENDENCY,)),
    (
        "Everything else that can start it",
        (
            FindingKind.UPHOLDS,
            FindingKind.ON_FAILURE,
            FindingKind.ON_SUCCESS,
            FindingKind.EXTERNAL,
            FindingKind.BOOT,
        ),
    ),
)


@frozen
class Evidence:
    """One fact a finding rests on: a property, a file line, a journal entry."""

    subject: str
    fact: str
    source: str = "property"


@frozen
class Remedy:
    """One way to neutralise a source; plan turns these into commands."""

    action: str
    units: tuple[str, ...]
    summary: str
    lasts: str = "until-reboot"


@frozen
class Finding:
    """One mechanism that can start the unit again after a stop."""

    kind: FindingKind
    source: str
    chain: tuple[str, ...]
    live: bool
    evidence: tuple[Evidence, ...]
    explanation: str
    remedies: tuple[Remedy, ...] = ()
    dormant: str = ""
    """Why a finding that is not live does not start the unit now, in plain words."""
    wakes: str = ""
    """What would make a dormant finding start the unit."""
    armed: bool = False
    """A restart policy in force while the unit runs: a crash or a kill would bring it
    back, though no restart has been seen (so it is not live)."""


@frozen
class TargetState:
    """The target's own state, the first thing the article looked at."""

    load_state: str
    active_state: str
    sub_state: str
    unit_file_state: str
    fragment_path: str
    drop_in_paths: tuple[str, ...]
    description: str
    last_result: str
    summary: str


@frozen
class ExaminedUnit:
    """A unit related to the target that was looked at and why it is no source."""

    unit: str
    relation: str
    reason: str


class StartCause(StrEnum):
    """Why a start happened."""

    RESTART_POLICY = "restart-policy"
    TRIGGERED = "triggered"
    PULLED_IN = "pulled-in"
    UPHOLDS = "upholds"
    ON_FAILURE = "on-failure"
    ON_SUCCESS = "on-success"
    BUS_ACTIVATION = "bus-activation"
    EXTERNAL = "external"
    """A unit whose command line runs `systemctl start` on it was running then."""
    MANUAL = "manual"
    UNEXPLAINED = "unexplained"
    """The graph offers starters (a listening trigger, a bus name), but no record says one
    fired; never guessed as one of them."""


class StopCause(StrEnum):
    """How a run ended."""

    CLEAN = "clean"
    FAILURE = "failure"
    KILLED = "killed"


class Certainty(StrEnum):
    """Whether the journal or the bus says so, or only the graph allows it."""

    RECORDED = "recorded"
    INFERRED = "inferred"


@frozen
class TimelineEvent:
    """One start or stop of the unit, with its cause."""

    at_usec: int
    unit: str
    event: str
    """"start" or "stop"."""
    cause: str
    """A StartCause for starts, a StopCause for stops."""
    source: str
    """The root of the chain, as in findings; empty when nothing is known."""
    chain: tuple[str, ...]
    certainty: str
    summary: str
    evidence: tuple[Evidence, ...] = ()
    job_id: int = 0
    invocation_id: str = ""
    result: str = ""
    """JOB_RESULT= of a start (done, failed, ...), UNIT_RESULT= of a stop."""


@frozen
class Timeline:
    """The unit's lifecycle over a span of time, oldest event first."""

    unit: str
    since_usec: int
    until_usec: int
    events: tuple[TimelineEvent, ...] = ()
    omitted: int = 0
    """Older events left out to keep the timeline short."""
    notes: tuple[str, ...] = ()


@frozen
class SeenEvent:
    """An event as the watch reported it: when, and how long after it happened."""

    event: TimelineEvent
    reported_usec: int

    @property
    def latency_usec(self) -> int:
        """From the moment systemd logged or announced it to our report."""
        return max(0, self.reported_usec - self.event.at_usec)


@dataclass
class WatchOutcome:
    """What one watch saw, and why it ended."""

    unit: str
    started_usec: int
    ended_usec: int = 0
    seen: list[SeenEvent] = field(default_factory=list)
    ended_by: str = "time"
    """time, interrupt (Ctrl-C) or terminate (SIGTERM/SIGHUP)."""
    notes: list[str] = field(default_factory=list)

    @property
    def revivals(self) -> list[SeenEvent]:
        """The starts seen."""
        return [s for s in self.seen if s.event.event == "start"]


@frozen
class Diagnosis:
    """Everything diagnose concluded about one unit."""

    unit: str
    state: TargetState
    findings: tuple[Finding, ...]
    examined: tuple[ExaminedUnit, ...] = ()
    notes: tuple[str, ...] = field(default=())
    timeline: Timeline | None = None
    """The unit's recent starts and stops from the journal, when it was read."""

    @property
    def live_findings(self) -> tuple[Finding, ...]:
        """The findings that can bring the unit back right now."""
        return tuple(f for f in self.findings if f.live)
