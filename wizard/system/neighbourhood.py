"""Collects the snapshot of a unit's neighbourhood: the target and everything above it.

Only the units that can reach the target are loaded over D-Bus (a walk up the
reverse relations), plus the few whose unit files mention systemctl, so the
cost follows the size of the neighbourhood, not the number of units on the host.
"""

from __future__ import annotations

import dataclasses
from collections import deque

from wizard.analysis import Diagnosis, diagnose
from wizard.analysis.systemctl_calls import unit_callers
from wizard.analysis.unit_graph import REVERSE_PROPERTIES
from wizard.errors import StaydownError
from wizard.model.snapshots import CronEntry, DBusServiceFile, SystemSnapshot, UnitSnapshot
from wizard.model.unit_names import is_valid_unit_name
from wizard.system.host_files import HostFiles
from wizard.system.systemd import SystemdClient
from wizard.system.transaction_inputs import complete_for_model, file_facts

CRON_DAEMONS = ("cron.service", "crond.service", "cronie.service")
MAX_UNITS = 2000


def diagnose_unit(client: SystemdClient, target: str) -> tuple[SystemSnapshot, Diagnosis]:
    """The target's neighbourhood and its diagnosis: where every command starts from."""
    snapshot = collect_neighbourhood(client, target)
    return snapshot, diagnose(snapshot)


def collect_neighbourhood(client: SystemdClient, target: str) -> SystemSnapshot:
    """Snapshot the target and every unit, cron job or bus name that can start it."""
    notes: list[str] = []
    first = client.require_unit(target)
    units: dict[str, UnitSnapshot] = {first.name: first}
    root = client.connection.files_root
    cron_entries: tuple[CronEntry, ...] = ()
    dbus_services: tuple[DBusServiceFile, ...] = ()
    if root is None:
        notes.append(
            f"files of {client.connection.label} cannot be read from here: cron jobs, "
            "D-Bus activation files and units calling systemctl were not checked"
        )
    else:
        files = HostFiles(root, scope=client.connection.scope)
        for name in sorted(files.unit_files_mentioning("systemctl")):
            if name not in units and is_valid_unit_name(name) and "@." not in name:
                units[name] = _load(client, name, notes)
        cron_entries = files.cron_entries()
        dbus_services = files.dbus_service_files()
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
    # The walk goes up; systemd's transactions also go down (the pull-ins of
    # every unit a start job reaches), and conditions are judged on the files.
    completed = dataclasses.replace(complete_for_model(client, walked), walked=tuple(units))
    if root is None:
        return completed
    return dataclasses.replace(completed, files=file_facts(root, completed))


def _load(client: SystemdClient, name: str, notes: list[str]) -> UnitSnapshot:
    try:
        return client.load_unit(name)
    except StaydownError as error:
        # One unreadable neighbour must not stop the diagnosis; say what is missing.
        notes.append(f"could not read {name}: {error.message}")
        return UnitSnapshot(name=name, load_state="error")
