"""Ground truth on real packages: stop each unit, provoke every candidate source, see what returns.

    .venv/bin/python -m tests.real_packages.sweep            # the full sweep (make sweep-real)
    .venv/bin/python -m tests.real_packages.sweep --sample 6 --seed 1 --output /tmp/s.json

This is independent of staydown's analysis: the candidates come from systemd's
own reverse relations (`systemctl show -p TriggeredBy,WantedBy,...`), the D-Bus
activation files and the cron tables, and the outcome of each is what systemd
did when the source was fired for real in a lab booted from the bookworm-server
tree (wizard/lab/os_trees.py).

For every loaded service, socket, timer, path and mount unit, in a fresh lab:
record its state, `systemctl stop` it, record what else stopped, check it stays
down on its own for a moment, then for each candidate source: fire it, wait
for the job queue to drain, and record whether the unit was started again
(its InactiveExitTimestampMonotonic moved, so a oneshot that ran and exited
counts). Between sources the lab is put back into its post-stop state (units
the provocation started are stopped, files it created are removed); when that
fails the lab is rebooted and the unit stopped again.

How each kind of source is fired:
- socket: connect to each listen address (stream, seqpacket), send one byte
  (datagram) or write one byte into a FIFO; netlink and special sockets cannot be
  provoked from user space and are recorded as such.
- path: create the watched path (PathExists, PathExistsGlob, PathChanged,
  PathModified, DirectoryNotEmpty get a file in the right place).
- timer: `systemctl start` of the timer's unit. That is what the timer's elapse
  does (timer.c: timer_enter_running queues a start job of UNIT_TRIGGER with
  JOB_REPLACE), except that a unit with RefuseManualStart=yes refuses ours
  (then recorded as not provokable).
- a D-Bus name with an activation file: `busctl call NAME / org.freedesktop.DBus.Peer
  Ping`, which makes the bus daemon ask systemd to start the activation unit.
- a cron line that runs systemctl: its command, run with /bin/sh inside the lab.
- any other root (a unit nothing above it pulls in: a target, a service):
  `systemctl start`, which is what an operator or a boot does. Roots whose start
  would change the system's state (an inactive target with AllowIsolate=yes such
  as rescue.target or initrd.target, or a unit that Conflicts= with a running
  one) are recorded as not provoked.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from wizard.lab import nspawn as lab_module
from wizard.model.snapshots import snapshot_to_json
from wizard.system.host_files import HostFiles
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import systemd_client
from wizard.system.transaction_inputs import file_facts

HERE = Path(__file__).parent
RESULTS = HERE / "bookworm-server-sweep.json"
SNAPSHOT = HERE / "bookworm-server-booted.json"
TREE = "bookworm-server"
TYPES_OF_INTEREST = ("service", "socket", "timer", "path", "mount")
# The reverse relations along which something can start a unit (issue 10's list).
REVERSE = ("TriggeredBy", "WantedBy", "RequiredBy", "BoundBy", "UpheldBy", "OnFailureOf",
           "OnSuccessOf")
SHOW_PROPERTIES = ("Id", "Names", "LoadState", "ActiveState", "SubState", "Listen", "Paths",
                   "Unit", "RefuseManualStart", "BusName", "AllowIsolate", "Conflicts", "Triggers",
                   *REVERSE)
ACTIVE_STATES = "active,activating,reloading,deactivating"
JOB_TIMEOUT = 20.0
# Socket and path events reach systemd's event loop within milliseconds; a job
# queue that has drained after this grace period has done all it will do.
GRACE = 0.3


@dataclass
class Source:
    """One candidate revival source of a unit and how to fire it."""

    source: str
    kind: str  # socket, path, timer, dbus, cron, start
    via: list[str]  # a chain of reverse relations from the source down to the unit
    provoke: str = ""  # what was done, in words a reader can repeat by hand
    provoked: bool = True
    detail: str = ""
    # True: the unit was down and this provocation started it; False: it stayed
    # down; None: undetermined, because the unit was already back before the
    # source was fired (it does not stay down, see UnitResult.back_by_itself).
    revived: bool | None = False
    active_after: bool = False
    # Whether the unit the provocation starts first (the timer's or socket's
    # unit, the activated service, the root itself) was started by it: false
    # when that unit was running already and the provocation was a no-op.
    fired_unit: str = ""
    fired_unit_started: bool = False
    restore: str = ""


@dataclass
class UnitResult:
    """Everything observed for one unit."""

    unit: str
    state_before: str
    stop_status: int = 0
    state_after_stop: str = ""
    also_stopped: list[str] = field(default_factory=list)
    also_started: list[str] = field(default_factory=list)
    back_by_itself: bool = False
    # For a unit that comes back by itself: its triggers that are active (a
    # socket that receives messages all the time, such as journald's).
    active_triggers: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    seconds: float = 0.0


# The issues' measurements, by name: a (unit, source) pair that must not revive,
# or a unit that a stop takes down with it. regression_cases() reads them out of
# a sweep document; test_real_packages.py provokes each again in a lab.
REGRESSION_CASES: tuple[dict[str, Any], ...] = (
    {"name": "apt-daily-timer-does-not-revive-lvm2-monitor", "issue": 10,
     "unit": "lvm2-monitor.service", "source": "apt-daily.timer", "revived": False,
     "why": "apt-daily.timer -> apt-daily.service -> sysinit.target: sysinit.target is active, "
            "so its start job is redundant and dropped with the jobs only it pulled in"},
    {"name": "docker-socket-does-not-revive-containerd-while-docker-runs", "issue": 10,
     "unit": "containerd.service", "source": "docker.socket", "revived": False,
     "why": "a socket whose service runs starts nothing; docker answers the connection"},
    {"name": "cups-socket-stops-with-cups", "issue": 10, "unit": "cups.service",
     "also_stopped": "cups.socket", "why": "cups.socket has PartOf=cups.service"},
    {"name": "cups-path-stops-with-cups", "issue": 10, "unit": "cups.service",
     "also_stopped": "cups.path", "why": "cups.path has PartOf=cups.service"},
    {"name": "docker-service-stops-with-docker-socket", "issue": 11, "unit": "docker.socket",
     "also_stopped": "docker.service", "why": "docker.service has Requires=docker.socket"},
    {"name": "lvm2-monitor-stops-with-dm-event-socket", "issue": 11, "unit": "dm-event.socket",
     "also_stopped": "lvm2-monitor.service",
     "why": "lvm2-monitor.service has Requires=dm-event.socket"},
    {"name": "dbus-stops-with-dbus-socket", "issue": 11, "unit": "dbus.socket",
     "also_stopped": "dbus.service", "why": "dbus.service has Requires=dbus.socket"},
    {"name": "apt-daily-timer-does-revive-apt-daily", "issue": 10, "unit": "apt-daily.service",
     "source": "apt-daily.timer", "revived": True,
     "why": "the control case: a timer does start its own unit"},
)


def regression_cases(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each named case with what the sweep in ``document`` observed for it."""
    cases = []
    for case in REGRESSION_CASES:
        unit = document["units"].get(case["unit"])
        observed: Any = None
        if unit is not None and "source" in case:
            observed = next((s["revived"] for s in unit["sources"]
                             if s["source"] == case["source"]), None)
            expected: Any = case["revived"]
        elif unit is not None:
            observed = case["also_stopped"] in unit["also_stopped"]
            expected = True
        else:
            expected = case.get("revived", True)
        cases.append({**case, "observed": observed, "as_expected": observed == expected})
    return cases


# -- reading the lab ---------------------------------------------------------------------------


def show_all(lab: lab_module.Lab, units: list[str]) -> dict[str, dict[str, list[str]]]:
    """`systemctl show` of many units at once, as {unit: {property: [values]}}."""
    out = lab.exec(["systemctl", "show", "-p", ",".join(SHOW_PROPERTIES), "--", *units],
                   check=True).stdout
    found: dict[str, dict[str, list[str]]] = {}
    block: dict[str, list[str]] = {}
    for line in [*out.splitlines(), ""]:
        if not line.strip():
            if block.get("Id"):
                found[block["Id"][0]] = block
            block = {}
            continue
        key, _, value = line.partition("=")
        block.setdefault(key, []).append(value)
    return found


def words(props: dict[str, list[str]], key: str) -> list[str]:
    return [word for value in props.get(key, ()) for word in value.split()]


def loaded_units(lab: lab_module.Lab) -> list[str]:
    out = lab.systemctl("list-units", "--all", "--plain", "--no-legend")
    return sorted(line.split()[0] for line in out.splitlines() if line.split())


def active_set(lab: lab_module.Lab) -> set[str]:
    out = lab.systemctl("list-units", "--all", "--plain", "--no-legend", f"--state={ACTIVE_STATES}")
    return {line.split()[0] for line in out.splitlines() if line.split()}


def unit_state(lab: lab_module.Lab, unit: str) -> tuple[str, int]:
    """ActiveState and InactiveExitTimestampMonotonic (moves on every start)."""
    out = lab.exec(["systemctl", "show", "-p", "ActiveState,InactiveExitTimestampMonotonic",
                    "--", unit], check=True).stdout
    values = dict(line.partition("=")[::2] for line in out.splitlines())
    return values.get("ActiveState", ""), int(values.get("InactiveExitTimestampMonotonic") or 0)


def wait_for_jobs(lab: lab_module.Lab) -> None:
    time.sleep(GRACE)
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        if not lab.systemctl("list-jobs", "--no-legend", check=False).strip():
            break
        time.sleep(0.1)
    time.sleep(GRACE)


# -- candidate sources --------------------------------------------------------------------------


@dataclass(frozen=True)
class LabFacts:
    """What the sweep reads once per lab: the unit graph, bus names and cron lines."""

    graph: dict[str, dict[str, list[str]]]
    alias: dict[str, str]  # every name and alias -> the unit's Id
    bus_names: dict[str, list[str]]  # unit Id -> bus names whose activation file starts it
    cron: list[tuple[str, str]]  # (file:line, command) of crontab lines running systemctl


def read_facts(lab: lab_module.Lab) -> LabFacts:
    graph = show_all(lab, loaded_units(lab))
    alias = {name: unit for unit, props in graph.items() for name in words(props, "Names")}
    alias.update({unit: unit for unit in graph})
    files = HostFiles(f"/proc/{lab.leader_pid}/root")
    bus_names: dict[str, list[str]] = {}
    for service in files.dbus_service_files():
        unit = alias.get(service.systemd_service)
        if unit is not None:
            bus_names.setdefault(unit, []).append(service.bus_name)
    cron = [(f"{entry.file}:{entry.line_number}", entry.command)
            for entry in files.cron_entries()]
    return LabFacts(graph, alias, bus_names, cron)


def reverse_closure(facts: LabFacts, unit: str) -> dict[str, list[str]]:
    """Every unit that can reach ``unit`` by reverse relations, with one chain down to it."""
    chains: dict[str, list[str]] = {unit: [unit]}
    queue = deque([unit])
    while queue:
        name = queue.popleft()
        for prop in REVERSE:
            for above in words(facts.graph.get(name, {}), prop):
                above = facts.alias.get(above, above)
                if above not in chains and above in facts.graph:
                    chains[above] = [above, *chains[name]]
                    queue.append(above)
    return chains


def candidate_sources(facts: LabFacts, unit: str) -> list[Source]:
    """The sources to fire for ``unit``: triggers, bus names, cron lines and roots above it."""
    chains = reverse_closure(facts, unit)
    found: list[Source] = []
    for name, chain in sorted(chains.items()):
        kind = name.rpartition(".")[2]
        props = facts.graph[name]
        has_above = any(facts.alias.get(a, a) in facts.graph
                        for prop in REVERSE for a in words(props, prop))
        if name != unit and kind in ("socket", "path", "timer"):
            found.append(Source(name, kind, chain))
        elif name != unit and not has_above:
            found.append(Source(name, "start", chain))
        for bus_name in facts.bus_names.get(name, ()):
            found.append(Source(f"dbus:{bus_name}", "dbus", [f"dbus:{bus_name}", *chain]))
    names_in_closure = set(chains) | {a for a, u in facts.alias.items() if u in chains}
    for where, command in facts.cron:
        mentioned = sorted(n for n in names_in_closure if re.search(
            rf"(?<![\w@.-]){re.escape(n.removesuffix('.service'))}(\.service)?(?![\w@.-])",
            command))
        if mentioned:
            target = facts.alias[mentioned[0]]
            found.append(Source(f"cron:{where}", "cron", [f"cron:{where}", *chains[target]],
                                detail=command))
    return found


# -- firing them -------------------------------------------------------------------------------

_SOCKET_CLIENT = r"""
import os, socket, sys
kind, address = sys.argv[1], sys.argv[2]
root = sys.argv[3]
def unix_path(a):
    return ("\0" + a[1:]) if a.startswith("@") else root + a
if kind == "FIFO":
    fd = os.open(root + address, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"\n"); os.close(fd); print("wrote one byte into the FIFO"); sys.exit(0)
types = {"Stream": socket.SOCK_STREAM, "Datagram": socket.SOCK_DGRAM,
         "SequentialPacket": socket.SOCK_SEQPACKET}
if address.startswith("/") or address.startswith("@"):
    family, target = socket.AF_UNIX, unix_path(address)
else:
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in ("0.0.0.0", "*"): host = "127.0.0.1"
    if host == "::": host = "::1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    target = (host, int(port))
s = socket.socket(family, types[kind])
s.settimeout(5)
if kind == "Datagram":
    s.sendto(b"<13>staydown sweep\n", target); print("sent one datagram")
else:
    s.connect(target); print("connected")
s.close()
"""


def fire(lab: lab_module.Lab, facts: LabFacts, source: Source) -> list[str]:
    """Fire the source for real; returns paths it created (removed again when restoring)."""
    created: list[str] = []
    props = facts.graph.get(source.source, {})
    if source.kind == "socket":
        notes = []
        provokable = False
        for listen in props.get("Listen", ()):
            match = re.fullmatch(r"(.*) \((\w+)\)", listen)
            if not match:
                continue
            address, kind = match.groups()
            if kind not in ("Stream", "Datagram", "SequentialPacket", "FIFO"):
                notes.append(f"{address} ({kind}): cannot be provoked from user space")
                continue
            provokable = True
            result = subprocess.run(
                ["nsenter", "--target", str(lab.leader_pid), "--net", "--", sys.executable,
                 "-c", _SOCKET_CLIENT, kind, address, f"/proc/{lab.leader_pid}/root"],
                capture_output=True, text=True, timeout=30, check=False)
            notes.append(f"{address} ({kind}): "
                         + (result.stdout.strip() or result.stderr.strip().splitlines()[-1]))
        source.provoke = "connect to / write into every listen address"
        source.provoked = provokable
        source.detail = "; ".join(notes)
    elif source.kind == "path":
        commands = []
        for spec in props.get("Paths", ()):
            match = re.fullmatch(r"(.*) \((\w+)\)", spec)
            if not match:
                continue
            path, condition = match.groups()
            if condition in ("DirectoryNotEmpty",):
                target = f"{path.rstrip('/')}/staydown-sweep"
            elif condition == "PathExistsGlob":
                target = re.sub(r"[*?]", "x", re.sub(r"\[[^]]*\]", "x", path))
            else:
                target = path
            existed = lab.exec(["test", "-e", target]).returncode == 0
            lab.exec(["bash", "-c", 'mkdir -p "$(dirname "$1")" && touch "$1"', "_", target],
                     check=True)
            if not existed:
                created.append(target)
            commands.append(f"touch {target} ({condition} {path})")
        source.provoke = "; ".join(commands)
        source.provoked = bool(commands)
    elif source.kind == "timer":
        unit = (props.get("Unit") or [""])[0]
        refuse = facts.graph.get(unit, {}).get("RefuseManualStart", ["no"])[0] == "yes"
        source.provoke = f"systemctl start {unit} (what the elapse does)"
        if refuse:
            source.provoked = False
            source.detail = f"{unit} has RefuseManualStart=yes"
        else:
            result = lab.exec(["systemctl", "start", "--no-block", "--", unit])
            source.detail = result.stderr.strip()
    elif source.kind == "dbus":
        name = source.source.removeprefix("dbus:")
        source.provoke = f"busctl call {name} / org.freedesktop.DBus.Peer Ping"
        result = lab.exec(["busctl", "--system", "--timeout=10", "call", name, "/",
                           "org.freedesktop.DBus.Peer", "Ping"], timeout=30)
        source.detail = f"status {result.returncode} {result.stderr.strip()}".strip()
    elif source.kind == "cron":
        source.provoke = f"sh -c {source.detail!r}"
        result = lab.exec(["sh", "-c", source.detail], timeout=60)
        source.detail = f"{source.detail} -> status {result.returncode}"
    else:
        refuse = props.get("RefuseManualStart", ["no"])[0] == "yes"
        source.provoke = f"systemctl start {source.source}"
        elsewhere = leaves_state(lab, props)
        if refuse:
            source.provoked = False
            source.detail = "RefuseManualStart=yes"
        elif elsewhere:
            # Starting initrd.target, rescue.target or poweroff.target in a running
            # system is not a revival source but a change of system state.
            source.provoked = False
            source.detail = f"not fired: would take the lab to another system state ({elsewhere})"
        else:
            result = lab.exec(["systemctl", "start", "--no-block", "--", source.source])
            source.detail = result.stderr.strip()
    return created


def leaves_state(lab: lab_module.Lab, props: dict[str, list[str]]) -> str:
    """Why starting this root would change the system's state, or "" when it would not."""
    state = (props.get("ActiveState") or [""])[0]
    if props.get("AllowIsolate") == ["yes"] and state != "active":
        return "an inactive target with AllowIsolate=yes"
    conflicts = words(props, "Conflicts")
    running = sorted(set(conflicts) & active_set(lab)) if conflicts else []
    if running:
        return f"Conflicts= with running {', '.join(running[:3])}"
    return ""


# -- the sweep ---------------------------------------------------------------------------------


class SweepLab:
    """A lab of the bookworm-server tree that can be put back into a unit's post-stop state."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lab: lab_module.Lab | None = None

    def boot(self) -> lab_module.Lab:
        lab_module.down(self.name)
        self.lab = lab_module.up(None, self.name, os_name=TREE)
        # The boot transaction is finished (up waits for it), but units that
        # started late may still settle; an empty job queue means they did.
        wait_for_jobs(self.lab)
        return self.lab

    def down(self) -> None:
        lab_module.down(self.name)


def stop_unit(lab: lab_module.Lab, unit: str) -> int:
    return lab.exec(["systemctl", "stop", "--", unit], timeout=120).returncode


def restore(lab: lab_module.Lab, unit: str, post_stop: set[str], created: list[str]) -> str:
    """Put the lab back into the unit's post-stop state; "" when nothing had changed."""
    for path in created:
        lab.exec(["rm", "-f", "--", path])
    now = active_set(lab)
    if now == post_stop:
        return ""
    started = sorted(now - post_stop)
    gone = sorted(post_stop - now)
    if started:
        lab.exec(["systemctl", "stop", "--", *started], timeout=120)
    if gone:
        lab.exec(["systemctl", "start", "--", *gone], timeout=120)
    wait_for_jobs(lab)
    return "restored" if active_set(lab) == post_stop else "failed"


def sweep_unit(sweep_lab: SweepLab, unit: str, limit: int | None = None,
               rng: random.Random | None = None) -> UnitResult:
    started_at = time.monotonic()
    lab = sweep_lab.boot()
    facts = read_facts(lab)
    sources = candidate_sources(facts, unit)
    if limit is not None and rng is not None and len(sources) > limit:
        sources = sorted(rng.sample(sources, limit), key=lambda s: s.source)
    before = active_set(lab)
    result = UnitResult(unit, unit_state(lab, unit)[0])
    result.stop_status = stop_unit(lab, unit)
    wait_for_jobs(lab)
    post_stop = active_set(lab)
    result.state_after_stop = unit_state(lab, unit)[0]
    result.also_stopped = sorted(before - post_stop - {unit})
    result.also_started = sorted(post_stop - before)
    # Nothing provoked yet: does it come back by itself (Upholds=, a restart)?
    time.sleep(1.0)
    wait_for_jobs(lab)
    result.back_by_itself = unit_state(lab, unit)[0] in ("active", "activating", "reloading")
    if result.back_by_itself:
        result.active_triggers = sorted(
            t for t in words(facts.graph.get(unit, {}), "TriggeredBy")
            if unit_state(lab, t)[0] == "active")
        stop_unit(lab, unit)
        wait_for_jobs(lab)
        post_stop = active_set(lab)
    for source in sources:
        state_before, exit_before = unit_state(lab, unit)
        source.fired_unit = first_started(facts, source)
        fired_before = unit_state(lab, source.fired_unit) if source.fired_unit else ("", 0)
        created = fire(lab, facts, source)
        wait_for_jobs(lab)
        state_now, exit_now = unit_state(lab, unit)
        if source.fired_unit:
            fired_now = unit_state(lab, source.fired_unit)
            source.fired_unit_started = fired_now[1] != fired_before[1]
        source.active_after = state_now in ("active", "activating", "reloading")
        if not source.provoked:
            source.revived = False
        elif state_before in ("active", "activating", "reloading"):
            source.revived = None
            source.detail = (f"{source.detail}; " if source.detail else "") + (
                f"undetermined: {unit} was {state_before} again before this source was fired")
        else:
            source.revived = source.active_after or exit_now != exit_before
        source.restore = restore(lab, unit, post_stop, created)
        if source.restore == "failed":
            lab = sweep_lab.boot()
            stop_unit(lab, unit)
            wait_for_jobs(lab)
            post_stop = active_set(lab)
            source.restore = "failed; lab rebooted and the unit stopped again"
        result.sources.append(source)
    if result.back_by_itself:
        # It returns on its own (journald: every log line reaches its sockets), so
        # whether a source started it cannot be told, even when it was down just
        # before that source was fired.
        for source in result.sources:
            if source.provoked and source.revived is not None:
                source.revived = None
                source.detail = (f"{source.detail}; " if source.detail else "") + (
                    f"undetermined: {unit} comes back by itself")
    result.seconds = round(time.monotonic() - started_at, 1)
    return result


def first_started(facts: LabFacts, source: Source) -> str:
    """The unit a provocation asks systemd to start first."""
    props = facts.graph.get(source.source, {})
    if source.kind == "timer":
        return (props.get("Unit") or [""])[0]
    if source.kind == "socket":
        return (words(props, "Triggers") or [""])[0]
    if source.kind in ("dbus", "cron"):
        return source.via[1] if len(source.via) > 1 else ""
    return source.source


def record_snapshot(lab: lab_module.Lab, path: Path) -> int:
    """Store staydown's snapshot of every loaded unit of the lab, for offline comparison."""
    with systemd_client(lab.connection) as client:
        base = collect_neighbourhood(client, "multi-user.target")
        units = dict(base.units)
        for name in loaded_units(lab):
            if name not in units:
                units[name] = client.load_unit(name)
    # Every unit is in it, so any of them can be the target offline: walked=()
    # means "all walked"; the file conditions are judged over all of them.
    whole = replace(base, units=units, walked=())
    whole = replace(whole, files=file_facts(f"/proc/{lab.leader_pid}/root", whole))
    path.write_text(snapshot_to_json(whole) + "\n")
    return len(units)


def units_to_sweep(facts: LabFacts) -> list[str]:
    return sorted(unit for unit, props in facts.graph.items()
                  if unit.rpartition(".")[2] in TYPES_OF_INTEREST
                  and props.get("LoadState") == ["loaded"] and "@." not in unit)


def run_sweep(lab_name: str, sample: int | None, seed: int, sources_per_unit: int | None,
              only: list[str] | None = None, log: Any = print,
              snapshot: Path | None = None) -> dict[str, Any]:
    """Sweep every unit (or a seeded sample of them) and return the JSON document."""
    started = time.monotonic()
    sweep_lab = SweepLab(lab_name)
    try:
        lab = sweep_lab.boot()
        facts = read_facts(lab)
        if snapshot is not None:
            log(f"snapshot of {record_snapshot(lab, snapshot)} units -> {snapshot}")
        version = lab.exec(["systemctl", "--version"], check=True).stdout.splitlines()[0]
        dpkg = lab.exec(["dpkg-query", "-W", "-f=${Version}", "systemd"]).stdout.strip()
        everything = units_to_sweep(facts)
        rng = random.Random(seed)
        units = only or (sorted(rng.sample(everything, sample)) if sample else everything)
        results = {}
        for number, unit in enumerate(units, 1):
            result = sweep_unit(sweep_lab, unit, sources_per_unit if sample else None, rng)
            revived = [s.source for s in result.sources if s.revived]
            log(f"[{number}/{len(units)}] {unit}: {result.state_before} -> "
                f"{result.state_after_stop}, also stopped {len(result.also_stopped)}, "
                f"{len(result.sources)} sources, revived by {revived or 'none'} "
                f"({result.seconds} s)")
            results[unit] = asdict(result)
    finally:
        sweep_lab.down()
    provoked = [s for r in results.values() for s in r["sources"]]
    return {
        "tree": TREE,
        "systemd": version,
        "systemd_package": dpkg,
        "bus": "dbus-daemon",
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.monotonic() - started, 1),
        "sample": sample,
        "seed": seed if sample else None,
        "summary": {
            "units_loaded": len(facts.graph),
            "units_of_interest": len(everything),
            "units_swept": len(results),
            "sources_provoked": sum(1 for s in provoked if s["provoked"]),
            "sources_not_provokable": sum(1 for s in provoked if not s["provoked"]),
            "revived": sum(1 for s in provoked if s["revived"]),
            "undetermined": sum(1 for s in provoked if s["revived"] is None),
            "units_back_by_themselves": sum(1 for r in results.values() if r["back_by_itself"]),
            "units_revived_by_something": sum(
                1 for r in results.values() if any(s["revived"] for s in r["sources"])),
            "restores_failed": sum(1 for s in provoked if s["restore"].startswith("failed")),
        },
        "units": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="sweep N seeded units only")
    parser.add_argument("--sources", type=int, default=None,
                        help="with --sample: at most this many sources per unit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--unit", action="append", help="sweep only these units")
    parser.add_argument("--lab-name", default="sweep")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--snapshot", type=Path, default=None,
                        help=f"also record staydown's snapshot of the booted lab (e.g. {SNAPSHOT})")
    args = parser.parse_args(argv)
    document = run_sweep(args.lab_name, args.sample, args.seed, args.sources, args.unit,
                         snapshot=args.snapshot)
    document["regression_cases"] = regression_cases(document)
    args.output.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    print(json.dumps(document["summary"]), f"in {document['seconds']} s -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
