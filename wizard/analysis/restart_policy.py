"""restart-policy: what Restart= means for the unit now (often the red herring)."""

from __future__ import annotations

from wizard.analysis.findings import Evidence, Finding, FindingKind, Remedy
from wizard.snapshots import UnitSnapshot

# systemd.service(5), table "Exit causes and the effect of the Restart= settings".
RESTARTS_AFTER: dict[str, str] = {
    "no": "never",
    "on-success": "only after a clean exit",
    "on-failure": "after a non-zero exit, a fatal signal, a timeout or the watchdog",
    "on-abnormal": "after a fatal signal, a timeout or the watchdog, not after an exit code",
    "on-watchdog": "only when the watchdog times out",
    "on-abort": "only after an uncaught signal",
    "always": "after every exit, clean or not, crash, kill or OOM",
}


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
    text = (
        f"Restart={service.restart}: systemd restarts {unit.name} {when}. "
        "A clean `systemctl stop` is always respected, even with Restart=always, so the "
        "restart policy alone never undoes a stop; the article calls it a red herring. "
        "It does act when the process dies on its own: a crash, a kill, the OOM killer, "
        "or the daemon simply exiting."
    )
    if armed:
        text += (
            f" Right now a restart is scheduled (SubState=auto-restart): in "
            f"{service.restart_usec // 1_000_000 or 'under 1'} s systemd starts it again "
            "unless it is stopped first."
        )
    elif service.n_restarts:
        text += (
            f" It has been restarted {service.n_restarts} time(s) since it was last started "
            f"by hand (last result: {service.result}): it is crashing, so look at why."
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
        live=armed,
        evidence=tuple(evidence),
        explanation=text,
        remedies=tuple(remedies),
    )


def _codes(values: object) -> str:
    statuses = getattr(values, "statuses", ())
    signals = getattr(values, "signals", ())
    return " ".join([*map(str, statuses), *(f"signal:{s}" for s in signals)])
