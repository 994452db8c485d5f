"""restart-policy: what Restart= means for the unit now (often the red herring)."""

from __future__ import annotations

from wizard.analysis.findings import Evidence, Finding, FindingKind, Remedy
from wizard.analysis.kinds.base import quoted
from wizard.analysis.liveness import restart_verdict
from wizard.analysis.unit_graph import RESTARTS_AFTER, Chain, UnitGraph
from wizard.model.snapshots import UnitSnapshot

KINDS = (FindingKind.RESTART_POLICY,)


def find(target: UnitSnapshot, graph: UnitGraph) -> tuple[Finding, ...]:
    """The unit's own restart policy: the first thing the article looked at."""
    finding = restart_policy_finding(target)
    return (finding,) if finding is not None else ()


def claim(chain: Chain, graph: UnitGraph) -> FindingKind | None:
    """Never: Restart= is the unit's own, no chain of starters shows it."""
    return None


def explain(kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
    """Not called: this kind claims no chain (its finding carries its own words)."""
    raise ValueError("restart-policy claims no chain")


def remedies(kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Not called: this kind claims no chain (its finding carries its own remedies)."""
    raise ValueError("restart-policy claims no chain")


def check_commands(kind: FindingKind, unit: str) -> tuple[str, ...]:
    """The policy and its counters, and the journal with exact times."""
    name, _stem = quoted(unit)
    return (
        f"systemctl show -p Restart,RestartUSec,NRestarts,Result {name}",
        f"journalctl -u {name} -o short-precise --since -10min",
    )


def restart_policy_finding(unit: UnitSnapshot) -> Finding | None:
    """The restart-policy finding for a service, or None when it has no policy."""
    service = unit.service
    if service is None:
        return None
    armed = unit.sub_state == "auto-restart"
    if service.restart == "no" and not armed and service.n_restarts == 0:
        return None
    evidence = [
        Evidence(unit.name, f"Restart={service.restart}"),
        Evidence(unit.name, f"RestartUSec={service.restart_usec // 1000}ms"),
        Evidence(unit.name, f"NRestarts={service.n_restarts}"),
        Evidence(unit.name, f"Result={service.result}"),
        Evidence(unit.name, f"ActiveState={unit.active_state} ({unit.sub_state})"),
    ]
    prevent = service.restart_prevent_exit_status
    force = service.restart_force_exit_status
    if prevent.statuses or prevent.signals:
        evidence.append(Evidence(unit.name, f"RestartPreventExitStatus={_codes(prevent)}"))
    if force.statuses or force.signals:
        evidence.append(Evidence(unit.name, f"RestartForceExitStatus={_codes(force)}"))
    when = RESTARTS_AFTER.get(service.restart, f"according to Restart={service.restart}")
    verdict = restart_verdict(unit)
    live = verdict.live
    text = (
        f"Restart={service.restart}: systemd restarts {unit.name} {when}. "
        "A clean `systemctl stop` is always respected, even with Restart=always, so the "
        "restart policy alone never undoes a stop"
        + ("." if live else "; the article calls it a red herring.")
        + " It does act when the process dies on its own: a crash, a kill, the OOM "
        "killer, or the daemon simply exiting."
    )
    if armed:
        text += (
            f" Right now a restart is scheduled (SubState=auto-restart): in "
            f"{_seconds(service.restart_usec)} systemd starts it again "
            "unless it is stopped first."
        )
    elif service.n_restarts:
        text += (
            f" It has been restarted {service.n_restarts} time(s) since it was last started "
            f"by hand (last result: {service.result}): it is crashing, so look at why."
        )
    elif verdict.armed and unit.is_active:
        text += (
            f" It is armed: it runs now, so if its process is killed or exits it is back "
            f"within {_seconds(service.restart_usec)}; only a clean stop keeps it down. "
            "No restart has been seen, so nothing is reviving it."
        )
    remedies = [
        Remedy("stop", (unit.name,), f"stop {unit.name}; a clean stop cancels any restart"),
        Remedy(
            "drop-in",
            (unit.name,),
            f"add a drop-in with Restart=no to {unit.name}",
            "persistent",
        ),
    ]
    return Finding(
        kind=FindingKind.RESTART_POLICY,
        source=unit.name,
        chain=(unit.name,),
        live=live,
        evidence=tuple(evidence),
        explanation=text,
        remedies=tuple(remedies),
        dormant="" if live else verdict.reason,
        armed=verdict.armed and not live and unit.is_active,
        wakes="" if live or not verdict.armed else (
            f"{unit.name}'s process crashes, exits or is killed while it runs"),
    )


def _seconds(usec: int) -> str:
    return f"{usec // 1_000_000} s" if usec >= 1_000_000 else "under 1 s"


def _codes(values: object) -> str:
    statuses = getattr(values, "statuses", ())
    signals = getattr(values, "signals", ())
    return " ".join([*map(str, statuses), *(f"signal:{s}" for s in signals)])
