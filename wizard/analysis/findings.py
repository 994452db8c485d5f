"""What a diagnosis says: findings, their evidence and remedies."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wizard.analysis.timeline import Timeline


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


@dataclass(frozen=True)
class Evidence:
    """One fact a finding rests on: a property, a file line, a journal entry."""

    subject: str
    fact: str
    source: str = "property"


@dataclass(frozen=True)
class Remedy:
    """One way to neutralise a source; plan turns these into commands."""

    action: str
    units: tuple[str, ...]
    summary: str
    lasts: str = "until-reboot"


@dataclass(frozen=True)
class Finding:
    """One mechanism that can start the unit again after a stop."""

    kind: FindingKind
    source: str
    chain: tuple[str, ...]
    live: bool
    evidence: tuple[Evidence, ...]
    explanation: str
    remedies: tuple[Remedy, ...] = ()


@dataclass(frozen=True)
class UnitState:
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


@dataclass(frozen=True)
class ExaminedUnit:
    """A unit related to the target that was looked at and why it is no source."""

    unit: str
    relation: str
    reason: str


@dataclass(frozen=True)
class Diagnosis:
    """Everything diagnose concluded about one unit."""

    unit: str
    state: UnitState
    findings: tuple[Finding, ...]
    examined: tuple[ExaminedUnit, ...] = ()
    notes: tuple[str, ...] = field(default=())
    timeline: Timeline | None = None
    """The unit's recent starts and stops from the journal, when it was read."""

    @property
    def live_findings(self) -> tuple[Finding, ...]:
        """The findings that can bring the unit back right now."""
        return tuple(f for f in self.findings if f.live)
