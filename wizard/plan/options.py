"""How each kind of source is neutralised: the one place that says so.

The plan's methods (stop, mask, disable, a drop-in hold, commenting out a cron
line), which units each acts on for a finding, the options offered for it with
the recommended one first, and the same advice in words for someone doing it
by hand (the practice hints). The kinds' own ``remedies`` only list what the
report shows; the plan never reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wizard.analysis.findings import Finding, FindingKind
from wizard.analysis.kinds import boot
from wizard.analysis.kinds.triggers import varlink_interfaces
from wizard.analysis.stop_effects import side_effects_of_stop
from wizard.model.snapshots import CronEntry, SystemSnapshot
from wizard.model.unit_names import has_unit_suffix
from wizard.plan.protected_units import NO_CONTEXT, CallerContext, is_allowed, protection


class Method(StrEnum):
    """How one revival source is neutralised; the operator picks one per source."""

    STOP = "stop"
    MASK_RUNTIME = "mask-runtime"
    DISABLE = "disable"
    MASK = "mask"
    DROP_IN = "drop-in"
    COMMENT_OUT = "comment-out"
    HOLD_UNIT = "hold-unit"


@dataclass(frozen=True)
class MethodOption:
    """One answer to "how should this source be neutralised?"."""

    method: Method
    label: str
    explanation: str


# -- which units a source is neutralised through ------------------------------------


def _is_unit(name: str) -> bool:
    # Chains also start at bus names (org.example.Name) and cron lines (/etc/cron.d/x:3).
    return not name.startswith("/") and has_unit_suffix(name)


def acting_units(finding: Finding, snapshot: SystemSnapshot) -> tuple[str, ...]:
    """The units to stop, disable or mask to silence this source, root first.

    Targets are never acted on (disabling multi-user.target would take the
    system with it), nor the unit itself, except for its own restart policy.
    """
    target = finding.chain[-1]
    if finding.kind == FindingKind.RESTART_POLICY:
        return (target,)
    if finding.kind == FindingKind.BOOT:
        owner = boot.enabled_link_owner(finding.chain, snapshot)
        return (owner,) if owner is not None else ()
    candidates: list[str] = []
    nodes = finding.chain[:-1]
    if nodes and _is_unit(nodes[0]):
        candidates.append(nodes[0])
    if finding.kind in (
        FindingKind.SOCKET, FindingKind.PATH, FindingKind.TIMER, FindingKind.AUTOMOUNT,
        FindingKind.UPHOLDS,
    ) and nodes:
        # The unit right before the target does the starting: a listening
        # socket stays listening when only its root is stopped.
        candidates.append(nodes[-1])
    found: list[str] = []
    for name in candidates:
        unit = snapshot.unit(name)
        if name == target or name in found or (unit is not None and unit.type == "target"):
            continue
        if unit is None and not _is_unit(name):
            continue
        found.append(name)
    return tuple(found)


def cron_entry(finding: Finding, snapshot: SystemSnapshot) -> CronEntry | None:
    """The crontab line an external finding starts from, if it is one."""
    if finding.kind != FindingKind.EXTERNAL:
        return None
    for entry in snapshot.cron_entries:
        if f"{entry.file}:{entry.line_number}" == finding.source:
            return entry
    return None


def _cron_editable(entry: CronEntry) -> bool:
    # Only system-wide cron tables are edited; a user's crontab belongs to crontab(1).
    return entry.file == "/etc/crontab" or entry.file.startswith("/etc/cron.d/")


# -- what acting on the source costs beyond the target ------------------------------

# Sources that keep firing at a held unit: a socket whose service is refused stays
# readable and re-triggers until its trigger limit fails it (socket.c,
# socket_trigger_notify / TriggerLimitBurst=), a path unit likewise (path.c), and
# a failed socket or path takes its Requires= dependants down as a stop would.
# Holding the target does not spare what stopping them costs, it only defers it.
_KEEPS_FIRING = (FindingKind.SOCKET, FindingKind.PATH, FindingKind.AUTOMOUNT)


def shared_root(finding: Finding, snapshot: SystemSnapshot) -> str | None:
    """Why the chain's root serves more than the target, or None when it does not.

    A root is shared when the target is not what it exists to start: the chain
    passes through a target (``apt-daily.timer -> apt-daily.service ->
    sysinit.target -> lvm2-monitor.service``: sysinit.target is every service's
    dependency), so stopping the root takes away what it does for everything
    else (the daily package-list refresh) to keep one unit down.
    """
    nodes = finding.chain[:-1]
    if finding.kind in (FindingKind.RESTART_POLICY, FindingKind.BOOT, *_KEEPS_FIRING) \
            or len(nodes) < 2 or not _is_unit(nodes[0]):
        return None
    through = [n for n in nodes[1:] if (u := snapshot.unit(n)) is not None and u.type == "target"]
    if not through:
        return None
    return (f"{nodes[0]} is shared: it reaches {finding.chain[-1]} only through "
            f"{', '.join(through)}, which other units rely on; stopping {nodes[0]} stops "
            f"what it does for them too")


def acting_costs(finding: Finding, snapshot: SystemSnapshot) -> tuple[str, ...]:
    """What stopping the source's units costs beyond the target, in words; () when nothing.

    Another unit a stop takes down (the stop model's side effects, running units
    only) or a shared root (:func:`shared_root`). Sources that keep firing at a
    held unit (sockets, paths, automounts) are left out: holding the target
    does not avoid what stopping them costs.
    """
    if finding.kind in _KEEPS_FIRING or finding.kind == FindingKind.RESTART_POLICY:
        return ()
    target = finding.chain[-1]
    units = acting_units(finding, snapshot)
    costs: list[str] = []
    shared = shared_root(finding, snapshot)
    if shared is not None:
        costs.append(shared)
    for name in units:
        for effect in side_effects_of_stop(snapshot, name):
            other = snapshot.unit(effect.unit)
            if effect.unit == target or effect.unit in units or (
                    other is not None and not other.is_active):
                continue
            costs.append(f"stopping {name} also stops {effect.unit} ({effect.reason})")
    return tuple(costs)


# -- the options the operator chooses from ------------------------------------------


def protected_acting_units(
    finding: Finding, snapshot: SystemSnapshot, context: CallerContext = NO_CONTEXT,
    allowed: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """The source's units that are the host's own machinery (and not named), with why."""
    found = {}
    for name in acting_units(finding, snapshot):
        reason = protection(name, snapshot, context)
        if reason is not None and not is_allowed(name, snapshot, allowed):
            found[name] = reason
    return found


def method_options(
    finding: Finding, snapshot: SystemSnapshot, persistent: bool,
    context: CallerContext = NO_CONTEXT, allowed: frozenset[str] = frozenset(),
) -> list[MethodOption]:
    """Ways to neutralise one source, the recommended one first.

    When the source is a protected unit (dbus.socket, a getty...), holding
    the target itself comes first: it keeps the unit down without touching
    what the host needs.
    """
    target = finding.chain[-1]
    units = acting_units(finding, snapshot)
    protected = protected_acting_units(finding, snapshot, context, allowed)
    names = " and ".join(units) if units else target
    if finding.kind == FindingKind.RESTART_POLICY:
        stop = MethodOption(
            Method.STOP,
            f"stop {target} (recommended: a clean stop cancels any pending restart)",
            "systemctl stop ends the unit cleanly; Restart= never undoes a clean stop, and "
            "a restart that is already scheduled is cancelled.",
        )
        drop_in = MethodOption(
            Method.DROP_IN,
            f"drop-in with Restart=no for {target}, then stop it",
            "A drop-in override sets Restart=no"
            + (" for good (/etc)." if persistent else " until reboot (/run).")
            + " A restart already scheduled still fires after the drop-in, so the plan "
            "stops the unit afterwards.",
        )
        return [drop_in, stop] if persistent else [stop, drop_in]
    cron = cron_entry(finding, snapshot)
    if not units:
        # Bus activation or a cron line: nothing to stop; refuse the unit itself.
        hold = [
            MethodOption(
                Method.MASK if persistent else Method.MASK_RUNTIME,
                f"mask {target} {'for good' if persistent else 'until reboot'} "
                "(recommended: every start request then fails)",
                f"Nothing runs that could be stopped, so {target} itself is made "
                "unstartable. Where its unit file lives in /etc, masking does not "
                "work and staydown holds it with a drop-in instead (same effect).",
            ),
            MethodOption(
                Method.DROP_IN,
                f"drop-in that holds {target} (a condition that is never true)",
                f"Start requests for {target} complete without starting it; removing "
                "the drop-in lifts the hold.",
            ),
        ]
        if cron is not None and _cron_editable(cron):
            hold.insert(
                0 if persistent else 1,
                MethodOption(
                    Method.COMMENT_OUT,
                    f"comment out line {cron.line_number} of {cron.file}",
                    "The cron line is commented out (a backup of the file is kept beside "
                    "it); the undo puts the line back as it was.",
                ),
            )
        return hold
    stop = MethodOption(
        Method.STOP,
        f"stop {names}",
        "Stops it now. It stays stopped until something starts it again (a boot, "
        "an operator); its enablement is untouched.",
    )
    mask_runtime = MethodOption(
        Method.MASK_RUNTIME,
        f"stop and mask {names} until reboot",
        "Nothing can start it again until the next boot; a reboot undoes it. Where "
        "the unit file lives in /etc (which shadows runtime masks) staydown uses a "
        "runtime drop-in hold instead.",
    )
    disable = MethodOption(
        Method.DISABLE,
        f"stop and disable {names}",
        "Stops it and removes its enablement links, so it does not come back at boot. "
        "Other units can still start it.",
    )
    mask = MethodOption(
        Method.MASK,
        f"stop and mask {names} for good",
        "Nothing can start it, now or after a reboot, until it is unmasked. Where the "
        "unit file lives in /etc (systemctl mask fails there) staydown uses a "
        "drop-in hold in /etc instead.",
    )
    drop_in = MethodOption(
        Method.DROP_IN,
        f"stop {names} and hold it with a drop-in override",
        "A drop-in adds a condition that is never true: every start request completes "
        "without starting the unit. The unit file itself is not touched.",
    )
    hold_unit = MethodOption(
        Method.HOLD_UNIT,
        f"leave {names} alone and make {target} itself unstartable "
        f"{'for good' if persistent else 'until reboot'}",
        f"Whatever sends the start request, {target} does not start: a mask, or a drop-in "
        "hold where its unit file lives in /etc. The source keeps firing (and its own "
        "units keep failing or logging); only the unit is refused."
        + (" A socket in front of it keeps accepting connections and, past its trigger "
           "limit, fails; stop the socket instead if that matters."
           if finding.kind == FindingKind.SOCKET else ""),
    )
    if _held_anyway(finding, snapshot):
        # A Varlink socket (systemd 257+) of a bus-activatable unit: the bus
        # activation's mask or hold of the unit keeps it down against the
        # socket too, so the socket's clients are not cut off for nothing.
        hold_unit = MethodOption(
            Method.HOLD_UNIT,
            hold_unit.label + f" (recommended: {units[-1]} is its Varlink socket, and the "
            "unit is held anyway against its bus activation)",
            hold_unit.explanation,
        )
    if persistent:
        options = [disable, mask, drop_in, stop, mask_runtime, hold_unit]
    elif finding.kind == FindingKind.BOOT:
        options = [disable, mask, drop_in, hold_unit]
    else:
        options = [stop, mask_runtime, drop_in, disable, mask, hold_unit]
    costs = acting_costs(finding, snapshot) if finding.kind != FindingKind.BOOT else ()
    if _held_anyway(finding, snapshot):
        options = [hold_unit] + [o for o in options if o.method != Method.HOLD_UNIT]
    elif costs and not protected:
        # Holding the target refuses its start requests and nothing else: the
        # root keeps doing what it does for the other units.
        hold_unit = MethodOption(
            Method.HOLD_UNIT,
            hold_unit.label + f" (recommended: acting on {names} costs more than {target})",
            "; ".join(costs) + f". Holding {target} itself has no such cost. "
            + hold_unit.explanation,
        )
        also = "; ".join(costs)
        options = [hold_unit] + [
            MethodOption(o.method, o.label, f"{o.explanation} Costs: {also}.")
            for o in options if o.method != Method.HOLD_UNIT
        ]
    if protected:
        why = "; ".join(f"{u} is {r}" for u, r in protected.items())
        hold_unit = MethodOption(
            Method.HOLD_UNIT,
            hold_unit.label + " (recommended: the source is the host's own machinery)",
            f"{why}. A plan does not touch it unless you name it explicitly. "
            + hold_unit.explanation,
        )
        options = [hold_unit] + [
            MethodOption(o.method, f"{o.label} (touches protected "
                         f"{', '.join(protected)}: needs explicit confirmation)",
                         o.explanation)
            for o in options if o.method != Method.HOLD_UNIT
        ]
    return options


def _held_anyway(finding: Finding, snapshot: SystemSnapshot) -> bool:
    """A Varlink socket right before a unit whose bus activation the plan holds it against."""
    if finding.kind != FindingKind.SOCKET or len(finding.chain) != 2:
        return False
    target = snapshot.unit(finding.chain[-1])
    names = set(target.names) if target is not None else set()
    names.add(finding.chain[-1])
    return bool(varlink_interfaces(snapshot.unit(finding.chain[0]))) and any(
        service.systemd_service in names for service in snapshot.dbus_services)


def recommended_method(
    finding: Finding, snapshot: SystemSnapshot, persistent: bool,
    context: CallerContext = NO_CONTEXT, allowed: frozenset[str] = frozenset(),
) -> Method:
    """The first option: what ``--yes`` and ``staydown plan`` choose."""
    return method_options(finding, snapshot, persistent, context, allowed)[0].method


# -- the same advice for someone doing it by hand -----------------------------------


def by_hand(kind: str, chain: tuple[str, ...], target: str) -> str:
    """How to take one source away by hand (staydown plan writes the same, reviewed)."""
    if kind == "restart-policy":
        return (f"Take the policy away with a drop-in: `systemctl edit --runtime {target}` with "
                "[Service] Restart=no, then a clean `systemctl stop`.")
    root = chain[0]
    if kind == "bus-activation" or root.endswith(".target"):
        what = "a D-Bus name cannot be stopped" if kind == "bus-activation" else (
            "stopping a target takes more with it than you mean to")
        return (f"{what[0].upper()}{what[1:]}: make {target} itself unstartable until the next "
                "boot instead: a runtime drop-in with [Unit] ConditionPathExists=/dev/null/hold "
                f"(`systemctl edit --runtime {target}`), then stop it.")
    if kind == "socket":
        return f"Stop the socket before the service: `systemctl stop {root} {target}`."
    if kind == "dependency":
        return (f"Stop the root of the chain, which keeps firing: `systemctl stop {root}`, then "
                f"stop {target}. (A drop-in can add a dependency but never take one away.)")
    if len(chain) > 2:
        return (f"Stop the root of the chain, which keeps firing: `systemctl stop {root}`, "
                f"then stop {target}.")
    return f"Stop it: `systemctl stop {root}`, then stop {target}."
