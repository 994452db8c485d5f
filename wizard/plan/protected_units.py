"""The host's own machinery: units a plan never stops, masks, holds or disables unless named.

Pure: the snapshot (for a unit's other names) and a :class:`CallerContext`
(whether the caller is inside an ssh session, which unit or scope runs it)
in, a reason or None out. The CLI reads the context from the Environment;
the generated script checks the same set again when it runs (render.py
renders :data:`PROTECTED` into its ``protected_why`` function).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from wizard.model.snapshots import SystemSnapshot


@dataclass(frozen=True)
class ProtectedSet:
    """Names (shell/fnmatch patterns) of one group of units, and why they are protected."""

    patterns: tuple[str, ...]
    reason: str


PROTECTED: tuple[ProtectedSet, ...] = (
    ProtectedSet(
        ("init.scope", "-.slice", "system.slice", "-.mount"),
        "PID 1's own unit (init.scope), the root slice and mount, or the slice every "
        "service runs in: stopping it stops the system",
    ),
    ProtectedSet(
        ("dbus.service", "dbus.socket", "dbus-broker.service", "messagebus.service"),
        "the system bus: systemctl, logind, polkit and every D-Bus service depend on it",
    ),
    ProtectedSet(
        ("systemd-journald.service", "systemd-journald*.socket", "systemd-journald@*.service"),
        "the journal and its sockets: every unit's logging goes through it",
    ),
    ProtectedSet(
        ("systemd-logind.service", "dbus-org.freedesktop.login1.service"),
        "the login manager: sessions, seats and logins",
    ),
    ProtectedSet(
        ("systemd-udevd.service", "udev.service", "systemd-udevd-*.socket"),
        "the device manager and its sockets: device units, module loading and hot-plug",
    ),
    ProtectedSet(
        ("console-getty.service", "getty@*.service", "serial-getty@*.service",
         "autovt@*.service", "container-getty@*.service", "getty-static.service"),
        "the console and the login prompts: the way back in when the network is gone",
    ),
    ProtectedSet(
        ("sysinit.target", "basic.target", "sockets.target", "timers.target", "paths.target",
         "local-fs.target", "local-fs-pre.target", "remote-fs.target", "remote-fs-pre.target",
         "multi-user.target", "graphical.target", "default.target", "emergency.target",
         "rescue.target", "shutdown.target", "reboot.target", "poweroff.target",
         "halt.target", "kexec.target", "final.target", "umount.target", "slices.target",
         "swap.target", "getty.target", "network.target", "network-online.target",
         "network-pre.target", "cryptsetup.target", "ctrl-alt-del.target",
         "initrd.target", "runlevel*.target"),
        "a basic target: the boot's synchronisation points, whose stop stops whatever is "
        "part of them",
    ),
)

SSH_PATTERNS = ("ssh.service", "sshd.service", "ssh.socket", "sshd.socket", "ssh@*.service",
                "sshd@*.service")
SSH_REASON = "the ssh server this session came in through: stopping it can lock you out"
OWN_REASON = "the unit or scope that runs staydown itself"


@dataclass(frozen=True)
class CallerContext:
    """Where staydown runs, as far as the protected set cares."""

    ssh_session: bool = False
    """Inside an ssh session (or reaching the host over ssh): sshd is protected too."""
    own_units: tuple[str, ...] = ()
    """The unit or scope (from /proc/self/cgroup) that runs staydown."""


NO_CONTEXT = CallerContext()
"""Nothing known about the caller: only the fixed set is protected."""


def units_of_cgroup(cgroup_text: str) -> tuple[str, ...]:
    """The units a /proc/self/cgroup names: each path component with a unit suffix.

    ``0::/user.slice/user-0.slice/session-3.scope`` gives the session scope
    and its slices; slices are left out (a user's slice is not the caller).
    """
    found: list[str] = []
    for line in cgroup_text.splitlines():
        path = line.split(":", 2)[-1]
        for part in path.split("/"):
            if part.endswith((".service", ".scope")) and part not in found:
                found.append(part)
    return tuple(found)


def names_of(snapshot: SystemSnapshot | None, name: str) -> tuple[str, ...]:
    """The unit's name and every alias systemd knows for it (``Names=``)."""
    unit = snapshot.unit(name) if snapshot is not None else None
    names = [name]
    for alias in (unit.name, *unit.names) if unit is not None else ():
        if alias not in names:
            names.append(alias)
    return tuple(names)


def protection(
    name: str, snapshot: SystemSnapshot | None, context: CallerContext = NO_CONTEXT
) -> str | None:
    """Why the unit is part of the host's own machinery, or None when it is not."""
    names = names_of(snapshot, name)
    for group in PROTECTED:
        if any(fnmatchcase(n, p) for n in names for p in group.patterns):
            return group.reason
    if context.ssh_session and any(fnmatchcase(n, p) for n in names for p in SSH_PATTERNS):
        return SSH_REASON
    if any(n in context.own_units for n in names):
        return OWN_REASON
    return None


def unplannable(name: str, snapshot: SystemSnapshot | None) -> str | None:
    """Why a plan cannot keep this running unit down and undo it, or None when it can.

    The script stops units with ``systemctl stop`` and the undo brings them
    back with ``systemctl start``. Either can be impossible: a unit with
    RefuseManualStop=yes refuses the stop (systemd-tmpfiles-setup.service); a
    scope cannot be started (only the program that made it can make it again);
    a mount or swap with no unit file exists because something outside systemd
    mounted it (mount.c makes it from /proc/self/mountinfo), and once unmounted
    the unit is gone and ``systemctl start`` answers "Unit ... not found"; a unit
    with RefuseManualStart=yes refuses the undo's start. The plan sweep
    (tests/real_packages/plan_sweep.py) met the first and the third.
    """
    unit = snapshot.unit(name) if snapshot is not None else None
    if unit is None or not unit.is_active:
        return None
    if unit.refuse_manual_stop:
        return ("systemd refuses to stop it on request (RefuseManualStop=yes): only the stop "
                "of a unit it depends on can take it down")
    if unit.type == "scope":
        return ("it could not be brought back once stopped: a scope is started only by the "
                "program that made it")
    if unit.type in ("mount", "swap") and not unit.fragment_path:
        return (f"it could not be brought back once stopped: it has no unit file, something "
                f"outside systemd set it up ({unit.source_path or 'it is in the kernel tables'}),"
                " and once it is undone systemd cannot set it up again")
    if unit.refuse_manual_start:
        return ("it could not be brought back once stopped: it has RefuseManualStart=yes, so "
                "the undo's start would be refused")
    return None


def is_allowed(name: str, snapshot: SystemSnapshot | None, allowed: frozenset[str]) -> bool:
    """Whether the operator named this unit (by any of its names) as one to act on."""
    return any(n in allowed for n in names_of(snapshot, name))


def caller_context(transport: str, cgroup_text: str, ssh_session: bool) -> CallerContext:
    """What the caller's environment adds to the set, for the connection it plans over.

    On the local system manager staydown's own ssh session and cgroup count.
    Over ``--host`` the script will run on the far side of ssh, so sshd
    counts there too. A lab, container or bus address is another machine:
    the script checks its own session and cgroup when it runs there.
    """
    if transport == "system":
        return CallerContext(ssh_session=ssh_session, own_units=units_of_cgroup(cgroup_text))
    if transport == "host":
        return CallerContext(ssh_session=True)
    return NO_CONTEXT
