"""Benchmark: `staydown diagnose --json` against the manual route, and the issue's targets.

Each lab is generated (the article's units, optionally a neighbourhood of about
seventy units around the target, plus filler units: services, sockets, timers and
targets with Wants= chains, all loaded), booted with this worktree bound read-only
inside, checked (diagnose must find what the article says it must), and timed,
as child processes inside the lab (``nsenter --target LEADER --all``, the way
wizard.lab.nspawn.Lab.exec runs commands), alternately:

- ``staydown diagnose --json widget-daemon.service``, run in the lab as root (so
  on systemd's private socket, like systemctl);
- the manual route, the four commands an operator types.

Wall time is measured around each child; peak RSS and CPU come from GNU time's
wait4 rusage, which covers the child and the children it reaped (nsenter forks
the command, so its figures are the command's). In-process figures come from
bench/inlab_phases.py run in the lab. It also times the wizard's first screen (in
a pseudo-terminal) and ``watch``'s latency over provoked starts, and prints every
target of issue 13 with its measured value and whether it is met.

Run as root: ``make bench`` or ``.venv/bin/python bench/diagnose_bench.py``.
Not a test: nothing here asserts a time; it only refuses to time a wrong answer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import queue
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from wizard.lab import nspawn as lab

REPO = Path(__file__).resolve().parent.parent
# Where the tool is used rather than developed: `make install` (a regular,
# non-editable install). The development venv is the fallback.
APP_STAYDOWN = REPO / ".venv-app" / "bin" / "staydown"
DEV_STAYDOWN = REPO / ".venv" / "bin" / "staydown"
ARTICLE = Path(str(lab.load_scenario("article").directory))
TARGET = "widget-daemon.service"
MANUAL_ROUTE: tuple[tuple[str, ...], ...] = (
    ("systemctl", "status", TARGET),
    ("systemctl", "list-units", "--type=socket", "--all"),
    ("systemctl", "list-dependencies", "--reverse", TARGET),
    ("journalctl", "-u", TARGET, "-u", "widget-daemon.socket", "--since", "-10min"),
)
T = TypeVar("T")
# What Lab.exec passes to commands in the lab; both sides run with the same.
GNU_TIME = "/usr/bin/time"  # Debian package "time"
LAB_ENV = {"PATH": lab.LAB_PATH, "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "TERM": "dumb"}
# How many services, and timers with their service, make the neighbourhood of
# the "near" labs: with the article's units and what the transaction model loads
# below them, about seventy units.
NEAR_SERVICES = 12
# The labs' name prefix; --lab-prefix changes it so that two benchmarks (two
# engineers' worktrees) can run side by side without meeting each other's labs.
LAB_PREFIX = "bench"
NEAR_TIMERS = 8


@dataclass(frozen=True)
class LabSpec:
    """One lab the benchmark boots: filler units, and whether it has the near neighbourhood."""

    key: str
    filler: int
    near: bool

    @property
    def name(self) -> str:
        """The lab's name (prefixed, so it never meets a lab of the tests)."""
        return f"{LAB_PREFIX}-{self.key}"


LABS = {
    "article": LabSpec("article", 0, near=False),
    "near1100": LabSpec("near1100", 1100, near=True),
    "near500": LabSpec("near500", 500, near=True),
    "near5000": LabSpec("near5000", 5000, near=True),
}


# --- the generated scenario -------------------------------------------------------


@dataclass(frozen=True)
class FillerPlan:
    """How many filler units of each kind a lab of ``size`` generated units gets."""

    size: int
    targets: int
    sockets: int
    timers: int
    services: int

    @classmethod
    def for_size(cls, size: int) -> FillerPlan:
        # 4 % targets, 4 % sockets and 4 % timers (each with its own service, so
        # 8 % each), the rest plain services: roughly the mix of a busy server.
        share = max(1, size // 25)
        services = size - share - 2 * share - 2 * share
        if services < 1:
            raise ValueError(f"size {size} is too small for the filler mix (use 50 or more)")
        return cls(size, targets=share, sockets=share, timers=share, services=services)


def _oneshot(description: str, extra_unit: str = "") -> str:
    # Cheap to start: no process stays, the unit stays active (RemainAfterExit).
    return (
        f"[Unit]\nDescription={description}\n{extra_unit}"
        "\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/true\n"
        "\n[Install]\nWantedBy=multi-user.target\n"
    )


def write_scenario(directory: Path, size: int, near: bool = False) -> dict[str, int]:
    """Lay out the article's units, ``size`` filler units and, with ``near``, the near ones."""
    units = directory / "units"
    shutil.copytree(ARTICLE / "units", units)
    article = json.loads((ARTICLE / "scenario.json").read_text())
    enable: dict[str, list[str]] = {k: list(v) for k, v in article["enable"].items()}
    multi_user = enable.setdefault("multi-user.target", [])
    sockets = enable.setdefault("sockets.target", [])
    timers = enable.setdefault("timers.target", [])
    mix = {"generated": 0, "services": 0, "targets": 0, "sockets": 0, "timers": 0, "near": 0}

    if near:
        # Units that want the target: each is a chain diagnose must report, and
        # what they pull in below is what the transaction model loads.
        for i in range(NEAR_SERVICES):
            name = f"bench-near-{i:02d}.service"
            (units / name).write_text(_oneshot(
                f"Near service {i}", f"Wants={TARGET}\nAfter={TARGET}\n"))
            multi_user.append(name)
        for i in range(NEAR_TIMERS):
            stem = f"bench-near-tick-{i:02d}"
            (units / f"{stem}.timer").write_text(
                f"[Unit]\nDescription=Near timer {i}\n"
                f"\n[Timer]\nOnBootSec={6 + i}h\n"
                "\n[Install]\nWantedBy=timers.target\n"
            )
            (units / f"{stem}.service").write_text(
                f"[Unit]\nDescription=Near timer service {i}\nWants={TARGET}\n"
                "\n[Service]\nType=oneshot\nExecStart=/usr/bin/true\n"
            )
            timers.append(f"{stem}.timer")
        mix["near"] = NEAR_SERVICES + 2 * NEAR_TIMERS

    if size:
        plan = FillerPlan.for_size(size)
        # Targets chained by Wants= (each wants the next), the first one enabled; every
        # tenth service hangs off one of them instead of multi-user.target.
        target_names = [f"bench-group-{i:05d}.target" for i in range(plan.targets)]
        wanted_by_target: dict[str, list[str]] = {t: [] for t in target_names}
        for i in range(plan.services):
            name = f"bench-svc-{i:05d}.service"
            (units / name).write_text(_oneshot(f"Filler service {i}", "After=basic.target\n"))
            if i % 10 == 9:
                wanted_by_target[target_names[(i // 10) % plan.targets]].append(name)
            else:
                multi_user.append(name)
        for index, target in enumerate(target_names):
            wants = list(wanted_by_target[target])
            if index + 1 < len(target_names):
                wants.append(target_names[index + 1])
            wants_line = f"Wants={' '.join(wants)}\n" if wants else ""
            (units / target).write_text(f"[Unit]\nDescription=Filler group {index}\n{wants_line}")
        if target_names:
            multi_user.append(target_names[0])

        # Sockets listen on a unix socket each; their services stay loaded but inactive.
        for i in range(plan.sockets):
            stem = f"bench-sock-{i:05d}"
            (units / f"{stem}.socket").write_text(
                f"[Unit]\nDescription=Filler socket {i}\n"
                f"\n[Socket]\nListenStream=/run/{stem}.sock\n"
                "\n[Install]\nWantedBy=sockets.target\n"
            )
            (units / f"{stem}.service").write_text(_oneshot(f"Filler socket service {i}"))
            sockets.append(f"{stem}.socket")
        # Timers that will not fire during the run; their services stay loaded, inactive.
        for i in range(plan.timers):
            stem = f"bench-tick-{i:05d}"
            (units / f"{stem}.timer").write_text(
                f"[Unit]\nDescription=Filler timer {i}\n"
                f"\n[Timer]\nOnBootSec={6 + i % 18}h\nOnUnitActiveSec=1d\n"
                "\n[Install]\nWantedBy=timers.target\n"
            )
            (units / f"{stem}.service").write_text(_oneshot(f"Filler timer service {i}"))
            timers.append(f"{stem}.timer")
        mix.update({
            "generated": plan.services + plan.targets + 2 * plan.sockets + 2 * plan.timers,
            "services": plan.services, "targets": plan.targets, "sockets": plan.sockets,
            "timers": plan.timers,
        })

    (directory / "scenario.json").write_text(
        json.dumps(
            {
                "description": f"The article's units among {size} generated filler units.",
                "target": TARGET,
                "enable": enable,
            },
            indent=1,
        )
    )
    return mix


# --- measuring one child process --------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, CPU seconds (GNU time: 10 ms steps), peak RSS (KiB)."""

    wall: float
    cpu: float
    max_rss_kib: int
    status: int
    stdout: str


def measure(argv: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run argv to completion under GNU time, stdout to a file; time it, read its usage.

    The peak RSS cannot come from our own os.wait4: a child forked from this
    Python process inherits its resident pages, and exec() records them as the
    child's high-water mark, so every child would look at least as big as the
    benchmark. GNU time is a small process; what it forks starts small.
    """
    with tempfile.TemporaryFile(mode="w+b") as out, \
            tempfile.NamedTemporaryFile(mode="r", prefix="staydown-bench-") as usage:
        command = [GNU_TIME, "--format", "%M %U %S", "--output", usage.name, "--", *argv]
        start = time.perf_counter()
        status = subprocess.run(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL,
            env=env, check=False,
        ).returncode
        wall = time.perf_counter() - start
        # A non-zero status adds a "Command exited with..." line before ours.
        fields = usage.read().strip().splitlines()[-1].split()
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    return Run(wall, float(fields[1]) + float(fields[2]), int(fields[0]), status, text)


def in_lab(booted: lab.Lab, command: Sequence[str]) -> list[str]:
    """The argv Lab.exec would run for this command."""
    return ["nsenter", "--target", str(booted.leader_pid), "--all", "--", *command]


def lab_binds() -> list[str]:
    """This worktree (both venvs in it) and the interpreter under them, read-only in the lab."""
    base = os.path.realpath(sys.base_prefix)
    return [str(REPO)] + ([] if base.startswith("/usr") else [base])


# --- checking that the answer is right --------------------------------------------


def check_document(document: dict[str, Any], reverse_deps: str) -> list[str]:
    """What the diagnosis missed (empty when it found everything the article needs)."""
    problems = []
    findings = document.get("findings", [])

    def has(kind: str, source: str, chain: list[str] | None = None) -> bool:
        return any(
            f["kind"] == kind and f["source"] == source and f["live"]
            and (chain is None or f["chain"] == chain)
            for f in findings
        )

    if not has("socket", "widget-daemon.socket"):
        problems.append("no live socket finding for widget-daemon.socket")
    chain = ["widget-reconcile.timer", "widget-reconcile.service", TARGET]
    if not has("dependency", "widget-reconcile.timer", chain):
        problems.append("no live dependency finding timer -> reconcile -> daemon")
    if not any(f["kind"] == "restart-policy" for f in findings):
        problems.append("no restart-policy finding")
    # Everything `systemctl list-dependencies --reverse` shows must be accounted for.
    covered = {u for f in findings for u in f["chain"]}
    covered.update(e["unit"] for e in document.get("examined", []))
    for line in reverse_deps.splitlines()[1:]:
        name = line.strip().lstrip("●○×*└├│─ ").strip()
        if name and name not in covered:
            problems.append(f"{name} (from list-dependencies --reverse) is in no chain")
    return problems


# --- one lab ----------------------------------------------------------------------


@dataclass
class LabResult:
    """Everything measured on one lab."""

    spec: LabSpec
    mix: dict[str, int]
    loaded_units: int
    unit_files: int
    boot_seconds: float
    diagnose: list[Run] = field(default_factory=list)
    manual: list[list[Run]] = field(default_factory=list)
    nsenter_true: list[Run] = field(default_factory=list)
    phases: dict[str, Any] = field(default_factory=dict)
    first_screen: list[float] = field(default_factory=list)
    watch_latency_ms: list[float] = field(default_factory=list)
    watch_start_records: list[dict[str, Any]] = field(default_factory=list)
    floors: dict[str, list[float]] = field(default_factory=dict)
    live_findings: int = 0


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _p95(values: Sequence[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered) + 0.5) - 1)]


def _timed(action: Callable[..., T], *args: Any) -> tuple[float, T]:
    start = time.perf_counter()
    value = action(*args)
    return time.perf_counter() - start, value


@dataclass(frozen=True)
class Tool:
    """The staydown install measured, as paths valid inside the lab (the worktree is bound)."""

    staydown: Path

    @property
    def python(self) -> Path:
        """The interpreter of the same install."""
        return self.staydown.parent / "python"

    def argv(self, *args: str) -> list[str]:
        """A staydown command line."""
        return [str(self.staydown), *args]


def first_screen_seconds(booted: lab.Lab, tool: Tool) -> float:
    """From starting the wizard in an 80x24 terminal to its status step on the screen."""
    import pexpect  # dev dependency: only this measure drives a terminal

    env = {**LAB_ENV, "TERM": "xterm-256color"}
    start = time.perf_counter()
    command = in_lab(booted, tool.argv(TARGET))
    child = pexpect.spawn(command[0], command[1:], env=env, dimensions=(24, 80), timeout=60)
    try:
        child.expect("Status and restart policy")
        return time.perf_counter() - start
    finally:
        _end_in_lab_child(child.pid)
        child.close(force=True)


def _end_in_lab_child(nsenter_pid: int) -> None:
    """End the command nsenter forked (by its PID), then nsenter follows it."""
    try:
        children = Path(f"/proc/{nsenter_pid}/task/{nsenter_pid}/children").read_text().split()
    except OSError:
        return
    for pid in children:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid), signal.SIGTERM)


def _follow_lines(argv: list[str]) -> tuple[subprocess.Popen[bytes],
                                             queue.Queue[tuple[int, dict[str, Any]]]]:
    """Start a command and read its JSON lines, each with the moment it was read."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=LAB_ENV)
    lines: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            arrived = time.time_ns() // 1000  # the same CLOCK_REALTIME as the lab's systemd
            try:
                lines.put((arrived, json.loads(raw)))
            except ValueError:
                continue

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def _journal_arrival(lines: queue.Queue[tuple[int, dict[str, Any]]],
                     arrivals: dict[int, tuple[int, int]], job_id: int) -> tuple[int, int] | None:
    """When a bare journalctl --follow handed on the result line of a job, and its timestamp."""
    deadline = time.monotonic() + 2
    while job_id not in arrivals and time.monotonic() < deadline:
        try:
            arrived, entry = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if entry.get("JOB_RESULT") and entry.get("JOB_TYPE") == "start":
            arrivals[int(entry["JOB_ID"])] = (arrived, int(entry["__REALTIME_TIMESTAMP"]))
    return arrivals.get(job_id)


def watch_latencies(booted: lab.Lab, tool: Tool, starts: int, log: Callable[[str], None],
                    pause_ms: float = 0.0) -> list[dict[str, Any]]:
    """Each provoked start: milliseconds from systemd's timestamp to watch's line, and why.

    Every start's record keeps the lines watch wrote since the previous start
    (the stop's and the start's, with systemd's time and the time the benchmark
    read each) and when the benchmark's stop and start commands returned, so a
    slow line can be traced to the wait that held it. Beside watch, a bare
    ``journalctl --follow`` reads the same journal: how long after its timestamp
    it hands on the start's result line is journald's own delay, the floor
    under any answer that waits for the journal.

    ``pause_ms``: before each stop, a random pause of up to this long. Without it
    each stop comes right after watch's line, which comes right after a journald
    wake-up, so every start lands at the same point of journald's 250 ms grid.

    The reconcile timer is stopped first: its service Wants= the target, and its
    start job would cancel our stop job (or start the target for us) mid-measure.
    """
    booted.exec(["systemctl", "stop", "widget-reconcile.timer"], check=True)
    process, lines = _follow_lines(
        in_lab(booted, tool.argv("watch", "--json", "--seconds", str(30 + 3 * starts), TARGET)))
    journal, journal_lines = _follow_lines(in_lab(booted, [
        "journalctl", "--follow", "--lines=0", "--output=json",
        "--output-fields=JOB_ID,JOB_TYPE,JOB_RESULT", "_PID=1", f"UNIT={TARGET}"]))
    arrivals: dict[int, tuple[int, int]] = {}
    pauses = random.Random(13)
    latencies: list[dict[str, Any]] = []
    try:
        arrived, first = lines.get(timeout=60)
        if first.get("type") != "watch":
            raise SystemExit(f"watch began with {first!r}")
        for _ in range(starts):
            time.sleep(pauses.uniform(0, pause_ms) / 1000)
            # reset-failed clears the start rate limit (StartLimitBurst=, 5 in 10 s).
            booted.exec(["systemctl", "stop", TARGET], check=False)
            stopped_usec = time.time_ns() // 1000
            booted.exec(["systemctl", "reset-failed", TARGET], check=False)
            started = booted.exec(["systemctl", "start", TARGET], check=False)
            started_usec = time.time_ns() // 1000
            if started.returncode != 0:
                log(f"  watch: systemctl start failed: {started.stderr.strip()}")
                continue
            deadline = time.monotonic() + 15
            seen: list[dict[str, Any]] = []
            while True:
                arrived, line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                seen.append({"read_usec": arrived, **line})
                if line.get("type") == "event" and line.get("event") == "start":
                    bare = _journal_arrival(journal_lines, arrivals, int(line["job_id"]))
                    latencies.append({
                        "latency_ms": (arrived - int(line["at_usec"])) / 1000,
                        "journal_ms": (bare[0] - bare[1]) / 1000 if bare else None,
                        "stop_returned_usec": stopped_usec,
                        "start_returned_usec": started_usec,
                        "lines": seen,
                    })
                    break
    except queue.Empty:
        log(f"  watch: no start line after {len(latencies)} starts")
    finally:
        for follower in (process, journal):
            _end_in_lab_child(follower.pid)
            follower.wait(timeout=30)
    return latencies


def bench_lab(spec: LabSpec, tool: Tool, repeat: int, workdir: Path, watch_starts: int,
              log: Callable[[str], None], watch_pause_ms: float = 0.0) -> LabResult:
    """Generate, boot, verify, measure and tear down one lab."""
    scratch = Path(tempfile.mkdtemp(prefix=f"staydown-{spec.name}-", dir=workdir))
    booted: lab.Lab | None = None
    try:
        mix = write_scenario(scratch / spec.name, spec.filler, spec.near)
        scenario = lab.scenario_from_directory(scratch / spec.name)
        # Thousands of units take longer to boot than the lab's usual timeout allows.
        saved_timeout = lab.BOOT_TIMEOUT
        lab.BOOT_TIMEOUT = max(lab.BOOT_TIMEOUT, 30 + spec.filler / 25)
        try:
            boot_seconds, running = _timed(
                lambda: lab.up(scenario, spec.name, read_only_binds=lab_binds()))
        finally:
            lab.BOOT_TIMEOUT = saved_timeout
        booted = running
        loaded = len(running.systemctl("list-units", "--all", "--no-legend", "--plain")
                     .splitlines())
        unit_files = len(running.exec(
            ["find", "/etc/systemd/system", "/usr/lib/systemd/system", "-maxdepth", "1",
             "(", "-type", "f", "-o", "-type", "l", ")"]).stdout.splitlines())
        log(f"  {spec.name}: booted in {boot_seconds:.1f}s, {loaded} loaded units, "
            f"{unit_files} unit files")
        result = LabResult(spec, mix, loaded, unit_files, boot_seconds)

        # Right answer first; one warm-up of each side, not counted.
        diagnose = in_lab(running, tool.argv("diagnose", "--json", TARGET))
        first = measure(diagnose, LAB_ENV)
        reverse = running.systemctl("list-dependencies", "--reverse", "--plain", TARGET)
        problems = check_document(json.loads(first.stdout or "{}"), reverse)
        if problems:
            raise SystemExit(f"{spec.name}: diagnose missed: " + "; ".join(problems))
        for command in MANUAL_ROUTE:
            measure(in_lab(running, command), LAB_ENV)

        for _ in range(repeat):
            run = measure(diagnose, LAB_ENV)
            document = json.loads(run.stdout or "{}")
            problems = check_document(document, reverse)
            if problems:
                raise SystemExit(f"{spec.name}: diagnose missed: " + "; ".join(problems))
            result.diagnose.append(run)
            result.live_findings = sum(1 for f in document["findings"] if f["live"])
            result.manual.append([measure(in_lab(running, c), LAB_ENV) for c in MANUAL_ROUTE])
            result.nsenter_true.append(measure(in_lab(running, ["true"]), LAB_ENV))

        # In-process, in the lab: the same work without start-up and imports.
        phases = running.exec(
            [str(tool.python), str(REPO / "bench" / "inlab_phases.py"), "--repeat", str(repeat),
             TARGET], check=True, timeout=600)
        result.phases = json.loads(phases.stdout)

        if spec.key == "article":
            # The floor under diagnose: what a Python process costs before any work.
            floors = {
                "python": [str(tool.python), "-c", "pass"],
                "imports": [str(tool.python), "-c",
                            "import wizard.cli.main, wizard.cli.commands.diagnose"],
            }
            for _ in range(repeat):
                for key, argv in floors.items():
                    result.floors.setdefault(key, []).append(
                        measure(in_lab(running, argv), LAB_ENV).wall)
            result.first_screen = [first_screen_seconds(running, tool)
                                   for _ in range(repeat + 1)][1:]
            if watch_starts:
                result.watch_start_records = watch_latencies(running, tool, watch_starts, log,
                                                             watch_pause_ms)
                result.watch_latency_ms = [s["latency_ms"] for s in result.watch_start_records]
        return result
    finally:
        if booted is not None:
            lab.down(booted.name)
        shutil.rmtree(scratch, ignore_errors=True)


# --- the report -------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def machine_description() -> dict[str, str]:
    """What the figures were measured on."""
    memory = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    systemd = subprocess.run(
        ["systemctl", "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "systemd": systemd[0] if systemd else "?",
        "python": platform.python_version(),
        "load average at the end": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def summarise(result: LabResult) -> dict[str, Any]:
    """Medians and the ratio for one lab, as plain data."""
    manual_wall = [sum(r.wall for r in runs) for runs in result.manual]
    manual_rss = max((r.max_rss_kib for runs in result.manual for r in runs), default=0)
    per_command = [
        {
            "command": " ".join(command),
            "wall": _median([runs[i].wall for runs in result.manual]),
            "max_rss_kib": max(runs[i].max_rss_kib for runs in result.manual),
        }
        for i, command in enumerate(MANUAL_ROUTE)
    ]
    diagnose_wall = _median([r.wall for r in result.diagnose])
    diagnose_rss = max(r.max_rss_kib for r in result.diagnose)
    journal_ms = [r["journal_ms"] for r in result.watch_start_records
                  if r["journal_ms"] is not None]
    return {
        "lab": result.spec.key,
        "mix": result.mix,
        "loaded_units": result.loaded_units,
        "unit_files": result.unit_files,
        "boot_seconds": result.boot_seconds,
        "live_findings": result.live_findings,
        "diagnose_wall": diagnose_wall,
        "diagnose_wall_min": min(r.wall for r in result.diagnose),
        "diagnose_max_rss_kib": diagnose_rss,
        "manual_wall": _median(manual_wall),
        "manual_wall_min": min(manual_wall),
        "manual_max_rss_kib": manual_rss,
        "manual_commands": per_command,
        "nsenter_true_wall": _median([r.wall for r in result.nsenter_true]),
        "phases": result.phases,
        "time_ratio": diagnose_wall / _median(manual_wall),
        "rss_ratio": diagnose_rss / manual_rss if manual_rss else float("nan"),
        "first_screen": _median(result.first_screen),
        "first_screen_all": result.first_screen,
        "watch_p95_ms": _p95(result.watch_latency_ms),
        "watch_median_ms": _median(result.watch_latency_ms),
        "watch_max_ms": max(result.watch_latency_ms, default=float("nan")),
        "watch_starts": len(result.watch_latency_ms),
        "watch_latency_ms": result.watch_latency_ms,
        "watch_journal_ms": journal_ms,
        "watch_journal_p95_ms": _p95(journal_ms),
        "watch_journal_median_ms": _median(journal_ms),
        "watch_start_lines": result.watch_start_records,
        "floors": {k: _median(v) for k, v in result.floors.items()},
    }


def startup_costs(booted_tool: Tool, repeat: int) -> dict[str, float]:
    """Python start-up alone, and with the imports diagnose needs, as child processes here."""
    python = str(booted_tool.python)
    bare = [measure([python, "-c", "pass"]) for _ in range(repeat)]
    imports = [measure([python, "-c", "import wizard.cli.main, wizard.cli.commands.diagnose"])
               for _ in range(repeat)]
    nothing = [measure(["/usr/bin/true"]) for _ in range(repeat)]
    return {
        "launch_wall": _median([r.wall for r in nothing]),
        "python_wall": _median([r.wall for r in bare]),
        "python_rss_kib": max(r.max_rss_kib for r in bare),
        "import_wall": _median([r.wall for r in imports]),
        "import_rss_kib": max(r.max_rss_kib for r in imports),
    }


def targets(summaries: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, bool | None]]:
    """Issue 13's targets: (measure, target, measured value, met; None when not measured)."""
    rows: list[tuple[str, str, str, bool | None]] = []
    article = summaries.get("article")
    near = summaries.get("near1100")
    # What a ratio cannot go below: a process that only starts and imports
    # diagnose's path (measured in the article's lab, the same for every lab),
    # then that plus the neighbourhood's collection timed in-process.
    imports = (article or {}).get("floors", {}).get("imports")

    def floors(lab: dict[str, Any]) -> str:
        if not imports:
            return ""
        manual = lab["manual_wall"]
        collected = imports + lab["phases"]["collect"]
        return (f"; floors: start-up + imports alone {imports / manual:.2f}, "
                f"+ collecting the neighbourhood {collected / manual:.2f}")

    if article:
        rows.append(("article lab: diagnose / manual wall", "<= 2.0",
                     f"{article['time_ratio']:.2f} ({_ms(article['diagnose_wall'])} / "
                     f"{_ms(article['manual_wall'])}{floors(article)})",
                     article["time_ratio"] <= 2.0))
    else:
        rows.append(("article lab: diagnose / manual wall", "<= 2.0", "not measured", None))
    if near:
        rows.append(("1,100-unit lab, near neighbourhood: ratio", "<= 3.0",
                     f"{near['time_ratio']:.2f} ({_ms(near['diagnose_wall'])} / "
                     f"{_ms(near['manual_wall'])}; {near['phases'].get('units')} units loaded"
                     f"{floors(near)})", near["time_ratio"] <= 3.0))
    else:
        rows.append(("1,100-unit lab, near neighbourhood: ratio", "<= 3.0", "not measured", None))
    small, big = summaries.get("near500"), summaries.get("near5000")
    if small and big:
        a, b = small["phases"], big["phases"]
        growth = b["dbus_seconds"] / a["dbus_seconds"] if a["dbus_seconds"] else float("nan")
        # Flat: the same calls for the same neighbourhood, and their time within
        # this machine's noise (a quarter) of the small host's.
        flat = a["dbus_calls"] == b["dbus_calls"] and growth <= 1.25
        rows.append(("D-Bus cost 500 -> 5,000 units", "flat",
                     f"{a['dbus_calls']} -> {b['dbus_calls']} calls, "
                     f"{_ms(a['dbus_seconds'])} -> {_ms(b['dbus_seconds'])} (x{growth:.2f})",
                     flat))
    else:
        rows.append(("D-Bus cost 500 -> 5,000 units", "flat", "not measured", None))
    if article and article["first_screen_all"]:
        rows.append(("wizard's first screen, article lab", "<= 300 ms",
                     _ms(article["first_screen"]), article["first_screen"] <= 0.3))
    else:
        rows.append(("wizard's first screen, article lab", "<= 300 ms", "not measured", None))
    if article and article["watch_starts"]:
        rows.append((f"watch: systemd's timestamp -> line, p95 of {article['watch_starts']} "
                     "starts", "<= 500 ms",
                     f"{article['watch_p95_ms']:.0f} ms (median {article['watch_median_ms']:.0f}, "
                     f"max {article['watch_max_ms']:.0f})", article["watch_p95_ms"] <= 500))
    else:
        rows.append(("watch latency p95", "<= 500 ms", "not measured", None))
    peak = max((s["diagnose_max_rss_kib"] for s in summaries.values()), default=0)
    rows.append(("peak RSS of diagnose --json", "<= 25 MiB",
                 _mib(peak) if peak else "not measured", peak / 1024 <= 25 if peak else None))
    return rows


def print_report(summaries: dict[str, dict[str, Any]], startup: dict[str, float], repeat: int,
                 tool: Tool) -> None:
    """The figures, as Markdown tables ready for docs/performance.md, then the targets."""
    machine = machine_description()
    print("\n## Machine\n")
    for key, value in machine.items():
        print(f"- {key}: {value}")
    print(f"- staydown measured: {tool.staydown}")
    print(f"\nMedians of {repeat} runs each (after one warm-up); every process runs in the lab.\n")
    print("## diagnose against the manual route\n")
    print("| lab | generated + near units | loaded (list-units --all) | diagnose wall "
          "| manual wall (4 cmds) | ratio | diagnose peak RSS | manual peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in summaries.values():
        print(f"| {s['lab']} | {s['mix']['generated']} + {s['mix']['near']} | {s['loaded_units']} "
              f"| {_ms(s['diagnose_wall'])} | {_ms(s['manual_wall'])} | {s['time_ratio']:.2f} "
              f"| {_mib(s['diagnose_max_rss_kib'])} | {_mib(s['manual_max_rss_kib'])} |")
    print("\n## The manual route, command by command (median wall / peak RSS)\n")
    print("| lab | " + " | ".join(f"`{' '.join(c)}`" for c in MANUAL_ROUTE)
          + " | `nsenter … true` |")
    print("|---|" + "---:|" * (len(MANUAL_ROUTE) + 1))
    for s in summaries.values():
        cells = " | ".join(f"{_ms(c['wall'])} / {_mib(c['max_rss_kib'])}"
                           for c in s["manual_commands"])
        print(f"| {s['lab']} | {cells} | {_ms(s['nsenter_true_wall'])} |")
    print("\n## Where diagnose's time goes (in-process, in the lab)\n")
    print("| lab | unit files | units loaded (walked) | D-Bus calls | time in D-Bus calls "
          "| collect_neighbourhood | unit-file scan: full / cached | analysis | bus |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for s in summaries.values():
        p = s["phases"]
        print(f"| {s['lab']} | {s['unit_files']} | {p['units']} ({p['walked']}) "
              f"| {p['dbus_calls']} | {_ms(p['dbus_seconds'])} | {_ms(p['collect'])} "
              f"| {_ms(p['scan_full'])} / {_ms(p['scan_cached'])} | {_ms(p['analysis'])} "
              f"| {p['bus']} |")
    print(f"\nLaunching /usr/bin/true under GNU time: {_ms(startup['launch_wall'])}. "
          f"Python start-up alone: {_ms(startup['python_wall'])}, "
          f"{_mib(startup['python_rss_kib'])}; start-up + the imports of diagnose: "
          f"{_ms(startup['import_wall'])}, {_mib(startup['import_rss_kib'])}.")
    for s in summaries.values():
        if s["floors"]:
            print(f"\nFloors in the {s['lab']} lab (each a process through nsenter, like "
                  f"diagnose): Python start-up {_ms(s['floors']['python'])}; start-up and "
                  f"the imports of diagnose --json {_ms(s['floors']['imports'])}; "
                  f"nsenter … true {_ms(s['nsenter_true_wall'])}; diagnose --json "
                  f"{_ms(s['diagnose_wall'])}.")
    for s in summaries.values():
        if s["watch_starts"]:
            print(f"\nwatch in the {s['lab']} lab, {s['watch_starts']} starts: systemd's "
                  f"timestamp -> watch's line p95 {s['watch_p95_ms']:.0f} ms, median "
                  f"{s['watch_median_ms']:.0f}; the same result line through a bare "
                  f"journalctl --follow (journald's floor) p95 "
                  f"{s['watch_journal_p95_ms']:.0f} ms, median "
                  f"{s['watch_journal_median_ms']:.0f}.")
    print("\n## Targets (issue 13)\n")
    print("| measure | target | measured | met? |")
    print("|---|---|---|---|")
    for name, target, value, met in targets(summaries):
        verdict = "not measured" if met is None else ("yes" if met else "**no**")
        print(f"| {name} | {target} | {value} | {verdict} |")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Options: which labs, repeats, where the scenario directories go."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--labs", default=",".join(LABS),
                        help=f"comma-separated labs among {', '.join(LABS)} (default: all)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement")
    parser.add_argument("--watch-starts", type=int, default=50,
                        help="provoked starts for the watch latency (0: skip)")
    parser.add_argument("--watch-pause-ms", type=float, default=0.0,
                        help="a random pause of up to this long before each provoked start "
                             "(default 0: each start right after watch's previous line)")
    parser.add_argument("--staydown", type=Path, default=None,
                        help="the staydown to measure (default: .venv-app's, else .venv's)")
    parser.add_argument("--workdir", type=Path, default=Path("/var/tmp"),
                        help="where generated scenarios are written (default /var/tmp)")
    parser.add_argument("--json-out", type=Path, help="also write the raw summaries here")
    parser.add_argument("--lab-prefix", default=LAB_PREFIX,
                        help=f"prefix of the labs' names (default {LAB_PREFIX!r}; "
                             "give a branch's name to run beside another benchmark)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every lab, print the tables and the targets; exit 2 when diagnose was wrong."""
    global LAB_PREFIX
    args = parse_args(argv)
    LAB_PREFIX = args.lab_prefix
    wanted = [k.strip() for k in args.labs.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in LABS]
    if unknown:
        print(f"no such lab: {', '.join(unknown)}", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("the benchmark boots labs and needs root", file=sys.stderr)
        return 2
    if not Path(GNU_TIME).exists():
        print(f"{GNU_TIME} is missing: apt-get install time", file=sys.stderr)
        return 2
    staydown = args.staydown or (APP_STAYDOWN if APP_STAYDOWN.exists() else DEV_STAYDOWN)
    if not staydown.exists():
        print(f"{staydown} is missing: run make install (or make deps)", file=sys.stderr)
        return 2
    tool = Tool(Path(os.path.abspath(staydown)))
    if not str(tool.staydown).startswith(f"{REPO}/"):
        print(f"{staydown} must be inside {REPO} (the labs see only this tree)", file=sys.stderr)
        return 2
    # The tree is read-only in the lab: compile now, or every run compiles.
    subprocess.run([str(tool.python), "-m", "compileall", "-q", str(REPO / "wizard"),
                    str(REPO / "bench")], check=False, stdout=subprocess.DEVNULL)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    startup = startup_costs(tool, args.repeat)
    summaries: dict[str, dict[str, Any]] = {}
    for key in wanted:
        log(f"lab {key}:")
        result = bench_lab(LABS[key], tool, args.repeat, args.workdir, args.watch_starts, log,
                           args.watch_pause_ms)
        summaries[key] = summarise(result)
    if args.json_out:
        args.json_out.write_text(json.dumps(
            {"machine": machine_description(), "startup": startup, "labs": summaries},
            indent=1))
    print_report(summaries, startup, args.repeat, tool)
    return 0


if __name__ == "__main__":
    sys.exit(main())
