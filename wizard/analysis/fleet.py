"""A fleet's diagnoses side by side: hosts grouped by the unit's state and by identical sources.

Pure: the per-host documents ``staydown fleet-host`` printed (docs/fleet.md)
in, a :class:`FleetReport` out. Two hosts share a group when they have the
same revival sources, by kind, chain (a cron line by file and line) and
whether each is live now: the same remedy will do on both. Dormant sources
count too (a cron line on a host whose cron daemon is stopped today is
still a difference an operator must see).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wizard.analysis.findings import Diagnosis

OUTCOMES = ("diagnosed", "absent", "unreachable", "error")
"""A host's outcome: diagnosed; the unit does not exist there; ssh failed; anything else."""


@dataclass(frozen=True)
class SourceKey:
    """One live revival source as two hosts compare it."""

    kind: str
    chain: tuple[str, ...]
    live: bool = True

    @property
    def text(self) -> str:
        """``timer.timer → x.service → unit.service`` (a cron line reads as itself)."""
        return " → ".join(self.chain)


def source_keys(diagnosis: Diagnosis) -> tuple[SourceKey, ...]:
    """The diagnosis's sources, each once: the live ones first, each part in a stable order."""
    keys = {SourceKey(f.kind.value, tuple(f.chain), f.live) for f in diagnosis.findings}
    return tuple(sorted(keys, key=lambda k: (not k.live, k.kind, k.chain)))


@dataclass(frozen=True)
class HostResult:
    """One host of the fleet, reduced to what the fleet report compares."""

    host: str
    outcome: str
    connection: str = ""
    error: str = ""
    hint: str = ""
    active_state: str = ""
    sub_state: str = ""
    unit_file_state: str = ""
    sources: tuple[SourceKey, ...] = ()

    @property
    def state(self) -> str:
        """``active (running), enabled`` as the report counts states."""
        if self.outcome != "diagnosed":
            return self.outcome
        return f"{self.active_state} ({self.sub_state}), {self.unit_file_state or 'no file'}"


def host_result(document: Mapping[str, Any]) -> HostResult:
    """A host's document (``fleet-host`` output) as a :class:`HostResult`."""
    outcome = str(document.get("outcome", "error"))
    if outcome not in OUTCOMES:
        outcome = "error"
    summary = document.get("summary") or {}
    return HostResult(
        host=str(document.get("host", "?")),
        outcome=outcome,
        connection=str(document.get("connection", "")),
        error=str(document.get("error", "")),
        hint=str(document.get("hint", "") or ""),
        active_state=str(summary.get("active_state", "")),
        sub_state=str(summary.get("sub_state", "")),
        unit_file_state=str(summary.get("unit_file_state", "")),
        sources=tuple(SourceKey(str(s["kind"]), tuple(str(u) for u in s["chain"]),
                                bool(s.get("live", True)))
                      for s in summary.get("sources", ())),
    )


@dataclass(frozen=True)
class SourceGroup:
    """Hosts with exactly the same sources, live and dormant."""

    sources: tuple[SourceKey, ...]
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class FleetReport:
    """The whole fleet: how many hosts have the unit, in which state, grouped by sources."""

    unit: str
    hosts: tuple[HostResult, ...]
    states: tuple[tuple[str, tuple[str, ...]], ...]
    """Each state the unit is in (``active (running), enabled``), with its hosts."""
    groups: tuple[SourceGroup, ...]
    """Diagnosed hosts by identical sources, the largest group first."""

    def with_outcome(self, outcome: str) -> tuple[HostResult, ...]:
        """The hosts with that outcome, in inventory order."""
        return tuple(h for h in self.hosts if h.outcome == outcome)

    @property
    def live(self) -> bool:
        """Whether a live source can start the unit on at least one host."""
        return any(s.live for h in self.hosts for s in h.sources)


def _grouped(pairs: Sequence[tuple[Any, str]]) -> list[tuple[Any, tuple[str, ...]]]:
    groups: dict[Any, list[str]] = {}
    for key, host in pairs:
        groups.setdefault(key, []).append(host)
    # Largest first; ties in first-seen order (dicts keep insertion order).
    return sorted(((k, tuple(v)) for k, v in groups.items()), key=lambda kv: -len(kv[1]))


def fleet_report(unit: str, hosts: Sequence[HostResult]) -> FleetReport:
    """Count the states and group the diagnosed hosts by their live sources."""
    diagnosed = [h for h in hosts if h.outcome == "diagnosed"]
    states = _grouped([(h.state, h.host) for h in diagnosed])
    groups = _grouped([(h.sources, h.host) for h in diagnosed])
    return FleetReport(
        unit=unit,
        hosts=tuple(hosts),
        states=tuple(states),
        groups=tuple(SourceGroup(sources, names) for sources, names in groups),
    )
