"""Collects the snapshot of a unit's neighbourhood: the target and everything above it.

Only the units that can reach the target are loaded over D-Bus (a walk up the
reverse relations), plus the few whose unit files call systemctl with a word
naming a unit of the walk (or a word that expands), so the cost follows the
size of the neighbourhood, not the number of units on the host.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable

from wizard.analysis import Diagnosis, diagnose
from wizard.analysis.systemctl_calls import unit_callers, unit_file_call_names
from wizard.analysis.unit_graph import REVERSE_PROPERTIES
from wizard.errors import StaydownError
from wizard.model.snapshots import CronEntry, DBusServiceFile, SystemSnapshot, UnitSnapshot
from wizard.model.unit_names import is_valid_unit_name
from wizard.system.access import ssh_access
from wizard.system.host_files import SystemFiles, system_files
from wizard.system.systemd import SystemdClient
from wizard.system.transaction_inputs import complete_for_model, file_facts, remote_path_check

CRON_DAEMONS = ("cron.service", "crond.service", "cronie.service")
MAX_UNITS = 2000


def diagnose_unit(
    client: SystemdClient, target: str, *, on_walked: WalkedHook | None = None,
) -> tuple[SystemSnapshot, Diagnosis]:
    """The target's neighbourhood and its diagnosis: where every command starts from."""
    snapshot = collect_neighbourhood(client, target, on_walked=on_walked)
    return snapshot, diagnose(snapshot)


WalkedHook = Callable[[tuple[str, ...]], object]
"""Called with the walk's units (the snapshot's ``walked``) as soon as they are known."""


def collect_neighbourhood(
    client: SystemdClient, target: str, *, on_walked: WalkedHook | None = None,
) -> SystemSnapshot:
    """Snapshot the target and every unit, cron job or bus name that can start it.

    ``on_walked`` lets a caller start what needs only the walk's units (the
    journal read of the timeline) while the units below them are still read.
    """
    notes: list[str] = []
    first = client.require_unit(target)
    units: dict[str, UnitSnapshot] = {first.name: first}
    cron_entries: tuple[CronEntry, ...] = ()
    dbus_services: tuple[DBusServiceFile, ...] = ()
    # Units whose files call systemctl with words naming these units: loaded only
    # when the walk reaches a unit of that name (a few of the host's units call
    # systemctl, mostly about units nowhere near the target).
    candidates: dict[str, list[str]] = {}
    files = system_files(client.connection)
    if files is None:
        notes.append(
            f"files of {client.connection.label} cannot be read from here: cron jobs, "
            "D-Bus activation files and units calling systemctl were not checked"
        )
    else:
        for name, paths in sorted(files.unit_files_mentioning("systemctl").items()):
            if name in units or not is_valid_unit_name(name) or "@." in name:
                continue
            called = _call_names(files, paths)
            if called is None:
                units[name] = _load(client, name, notes)
            else:
                for called_name in called:
                    candidates.setdefault(called_name, []).append(name)
        cron_entries = files.cron_entries()
        dbus_services = files.dbus_service_files()
        notes.extend(files.notes)
    cron_active = False
    if cron_entries:
        for daemon in CRON_DAEMONS:
            snapshot = _load(client, daemon, notes)
            if snapshot.load_state == "loaded":
                units[daemon] = snapshot
                cron_active = cron_active or snapshot.is_active
    partial = SystemSnapshot(
        target=first.name,
        manager=client.manager(),
        units=units,
        cron_entries=cron_entries,
        dbus_services=dbus_services,
        cron_daemon_active=cron_active,
    )
    caller_units = dict(units)
    callers = unit_callers(partial)
    queue: deque[str] = deque([first.name])
    done: set[str] = set()
    while queue:
        name = queue.popleft()
        if name in done:
            continue
        done.add(name)
        unit = units.get(name)
        if unit is None:
            if len(units) >= MAX_UNITS:
                notes.append(f"stopped loading at {MAX_UNITS} units; the result may be partial")
                break
            unit = units[name] = _load(client, name, notes)
        reached = [c for alias in unit.names for c in candidates.pop(alias, ())]
        if reached:
            for caller in reached:
                if caller not in units:
                    units[caller] = _load(client, caller, notes)
                caller_units[caller] = units[caller]
            callers = unit_callers(dataclasses.replace(partial, units=caller_units))
        related: list[str] = [r for prop in REVERSE_PROPERTIES for r in unit.related(prop)]
        for alias in unit.names:
            related.extend(c.caller for c in callers.get(alias, ()))
        queue.extend(r for r in related if r not in done)
    walked = SystemSnapshot(
        target=first.name,
        manager=partial.manager,
        units=units,
        cron_entries=cron_entries,
        dbus_services=dbus_services,
        cron_daemon_active=cron_active,
        notes=tuple(dict.fromkeys(notes)),
    )
    if on_walked is not None:
        on_walked(tuple(units))
    # The walk goes up; systemd's transactions also go down (the pull-ins of
    # every unit a start job reaches), and conditions are judged on the files.
    completed = dataclasses.replace(complete_for_model(client, walked), walked=tuple(units))
    connection = client.connection
    if connection.transport == "host":
        check = remote_path_check(ssh_access(connection), completed)
        return dataclasses.replace(completed, files=file_facts("/", completed, check=check))
    if connection.files_root is None:
        return completed
    return dataclasses.replace(completed, files=file_facts(connection.files_root, completed))


def _call_names(files: SystemFiles, paths: list[str]) -> frozenset[str] | None:
    """What a unit's files could start with systemctl; None: anything (or unreadable)."""
    names: set[str] = set()
    for path in paths:
        text = files.read_text(path)
        called = None if text is None else unit_file_call_names(text)
        if called is None:
            return None
        names.update(called)
    return frozenset(names)


def _load(client: SystemdClient, name: str, notes: list[str]) -> UnitSnapshot:
    try:
        return client.load_unit(name)
    except StaydownError as error:
        # One unreadable neighbour must not stop the diagnosis; say what is missing.
        notes.append(f"could not read {name}: {error.message}")
        return UnitSnapshot(name=name, load_state="error")
