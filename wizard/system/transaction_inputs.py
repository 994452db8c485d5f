"""Completes a neighbourhood snapshot with what the transaction model reads below it.

It also reads the files the model needs (file_facts): Condition*= paths and the
paths path units watch, under the system's root.

The neighbourhood walks *up* from the target; systemd's transactions also go
*down*: a start job pulls in the Requires=/Wants=/... of every unit it reaches.
analysis.units_to_read says which of those the model's answers can depend on;
this loads them, and asks again, to a fixed point.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Callable, Sequence

from wizard.analysis.units_to_read import read_below
from wizard.errors import StaydownError
from wizard.model.snapshots import STATE_PATH_SPECS, FileFacts, SystemSnapshot, UnitSnapshot
from wizard.system.access import LocalAccess
from wizard.system.systemd import SystemdClient

MAX_UNITS = 3000


def complete_for_model(
    client: SystemdClient, snapshot: SystemSnapshot, also: Sequence[str] = (),
    max_units: int = MAX_UNITS,
) -> SystemSnapshot:
    """The snapshot (the walk's units) plus the units its transactions can reach below it.

    ``also`` names sources to load with their own pull-ins: a unit nothing
    loaded yet (a service only cron starts) has no reverse dependencies in
    systemd, so the walk up from the target cannot find it. At ``max_units``
    it stops and says so in the snapshot's notes.
    """

    def load(name: str) -> UnitSnapshot:
        try:
            # An active service here only gets a redundant start job: the model
            # reads its state and relations, never its Service details (how it
            # restarts, what it runs), which are most of what a unit costs to read.
            return client.load_unit(name, service_if_active=name in also)
        except StaydownError:
            # An unreadable unit below the chains is unknown, as systemd's
            # transaction would find it: the model treats it as not loaded.
            return UnitSnapshot(name=name, load_state="error")

    completed, cut_short = read_below(snapshot, load, also=also, max_units=max_units)
    notes = snapshot.notes
    if cut_short:
        # Stopping short is better than reading a whole large host, but an answer
        # built on a partial neighbourhood must say so.
        notes = (*notes, f"the transaction model read {max_units} units and stopped: units "
                         "further below were not read, so a chain through them is judged "
                         "without them")
    return dataclasses.replace(completed, notes=notes)


# Condition*=/Assert*= that only look at files, as src/shared/condition.c tests them.
def _under(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _path_check(kind: str, root: str, param: str) -> bool | None:
    path = _under(root, param)
    match kind.removeprefix("Condition").removeprefix("Assert"):
        case "PathExists":
            return os.path.lexists(path)
        case "PathExistsGlob":
            return bool(glob.glob(path))
        case "PathIsDirectory":
            return os.path.isdir(path)
        case "PathIsSymbolicLink":
            return os.path.islink(path)
        case "DirectoryNotEmpty":
            try:
                return any(not e.startswith(".") for e in os.listdir(path))
            except OSError:
                return False
        case "FileNotEmpty":
            return os.path.isfile(path) and os.path.getsize(path) > 0
        case "FileIsExecutable":
            return os.path.isfile(path) and os.access(path, os.X_OK)
        case "Capability":
            return _has_capability(root, param)
        case "ACPower":
            return _ac_power_matches(root, param)
    return None


# include/uapi/linux/capability.h, for ConditionCapability=.
_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
    "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",
    "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
    "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)


def _has_capability(root: str, name: str) -> bool | None:
    """condition.c condition_test_capability(): the bit in PID 1's CapBnd (None: unknown)."""
    bare = name.upper().removeprefix("CAP_")
    if bare not in _CAPABILITIES:
        return None
    try:
        with open(_under(root, "/proc/1/status")) as status:
            for line in status:
                if line.startswith("CapBnd:"):
                    return bool(int(line.split()[1], 16) >> _CAPABILITIES.index(bare) & 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _ac_power_matches(root: str, param: str) -> bool | None:
    """ConditionACPower=: on_ac_power() is true when there is no power supply at all.

    With power supplies present the answer needs their types and states; the
    model does not read those (None: unknown).
    """
    wanted = param.strip().lower() in ("1", "yes", "y", "true", "t", "on")
    try:
        supplies = os.listdir(_under(root, "/sys/class/power_supply"))
    except FileNotFoundError:
        supplies = []
    except OSError:
        return None
    return wanted if not supplies else None


PathCheck = Callable[[str, str], "bool | None"]
"""(Condition kind, path) -> whether it holds on the target system; None: cannot tell."""


def _evaluate(
    check: PathCheck, checks: tuple[tuple[str, bool, bool, str, int], ...]
) -> tuple[bool, str] | None:
    """condition.c condition_test_list(): all plain checks, and one trigger (|) if any."""
    plain_failed: list[str] = []
    triggers: list[tuple[bool, str]] = []
    for kind, trigger, negate, param, _last in checks:
        result = check(kind, param)
        if result is None:
            return None  # one check we cannot evaluate here makes the whole list unknown
        passes = result != negate
        words = f"{kind}={'|' if trigger else ''}{'!' if negate else ''}{param}"
        if trigger:
            triggers.append((passes, words))
        elif not passes:
            plain_failed.append(words)
    if plain_failed:
        return False, ", ".join(plain_failed)
    if triggers and not any(passes for passes, _ in triggers):
        return False, ", ".join(words for _, words in triggers)
    return True, ""




def file_facts(
    root: str, snapshot: SystemSnapshot, check: PathCheck | None = None
) -> FileFacts:
    """Evaluate the snapshot's file conditions and path-unit specs under ``root``.

    ``check`` replaces the local test under ``root`` (over ssh: the answers of
    one script run on the host, :func:`remote_path_check`).
    """
    if check is None:
        def check(kind: str, param: str) -> bool | None:
            return _path_check(kind, root, param)
    conditions: dict[str, tuple[bool, str]] = {}
    asserts: dict[str, tuple[bool, str]] = {}
    holding: set[str] = set()
    for unit in snapshot.units.values():
        if unit.conditions:
            result = _evaluate(check, unit.conditions)
            if result is not None:
                conditions[unit.name] = result
        if unit.asserts:
            result = _evaluate(check, unit.asserts)
            if result is not None:
                asserts[unit.name] = result
        if unit.path is not None:
            for kind, param in unit.path.paths:
                if kind in STATE_PATH_SPECS and check(kind, param):
                    holding.add(param)
    return FileFacts(tuple(sorted(holding)), conditions, asserts)


# The same tests as _path_check, in sh, for a host over ssh: one line of 1/0 per pair.
_REMOTE_TESTS = {
    "PathExists": '[ -e "$p" ] || [ -L "$p" ]',
    "PathExistsGlob": 'set -- $p; [ -e "$1" ] || [ -L "$1" ]',
    "PathIsDirectory": '[ -d "$p" ]',
    "PathIsSymbolicLink": '[ -L "$p" ]',
    "DirectoryNotEmpty": '[ -d "$p" ] && [ -n "$(ls "$p" 2>/dev/null)" ]',
    "FileNotEmpty": '[ -f "$p" ] && [ -s "$p" ]',
    "FileIsExecutable": '[ -f "$p" ] && [ -x "$p" ]',
}
_REMOTE_CHECK = "\n".join([
    'while [ $# -ge 2 ]; do',
    '  k=$1; p=$2; shift 2',
    '  case $k in',
    *(f'    {kind}) if {test}; then echo 1; else echo 0; fi ;;'
      for kind, test in _REMOTE_TESTS.items()),
    '    *) echo - ;;',
    '  esac',
    'done',
])


def remote_path_check(access: LocalAccess, snapshot: SystemSnapshot) -> PathCheck:
    """Every path test the snapshot needs, answered by one script run where ``access`` runs."""
    pairs: list[tuple[str, str]] = []
    for unit in snapshot.units.values():
        for kind, _trigger, _negate, param, _last in (*unit.conditions, *unit.asserts):
            pairs.append((kind.removeprefix("Condition").removeprefix("Assert"), param))
        if unit.path is not None:
            pairs.extend((kind, param) for kind, param in unit.path.paths
                         if kind in STATE_PATH_SPECS)
    wanted = sorted({p for p in pairs if p[0] in _REMOTE_TESTS})
    answers: dict[tuple[str, str], bool] = {}
    if wanted:
        done = access.run(["sh", "-c", _REMOTE_CHECK, "staydown-paths",
                           *(word for pair in wanted for word in pair)])
        lines = done.text.splitlines()
        if done.returncode == 0 and len(lines) == len(wanted):
            answers = {pair: line == "1" for pair, line in zip(wanted, lines, strict=True)}

    def check(kind: str, param: str) -> bool | None:
        return answers.get((kind.removeprefix("Condition").removeprefix("Assert"), param))

    return check
