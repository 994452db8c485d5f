"""Benchmark: `staydown diagnose --json` against the manual route, on labs of many units.

For each size it generates a scenario directory (the article's units plus filler:
services, sockets, timers and targets with Wants= chains, all loaded), boots it in a
lab, checks that diagnose finds what the article says it must, and then times, as
child processes, alternately:

- ``.venv/bin/staydown diagnose --lab NAME --json widget-daemon.service`` on the host;
- the manual route, the four commands an operator types, each inside the lab with
  ``nsenter --target LEADER --all`` (the way wizard.lab.nspawn.Lab.exec runs them).

Wall time is measured around each child; peak RSS and CPU come from GNU time's
wait4 rusage, which covers the child and the children it reaped (nsenter forks
the command, so its figures are the command's).
It also times the diagnosis in-process (collect_neighbourhood and its unit-file scan),
so the cost of Python start-up and imports can be told apart from the work.

Run as root: ``make bench`` or ``.venv/bin/python bench/diagnose_bench.py``.
Not a test: nothing here asserts a time; it only refuses to time a wrong answer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from wizard.analysis import diagnose
from wizard.lab import nspawn as lab
from wizard.system.host_files import HostFiles
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import systemd_client

REPO = Path(__file__).resolve().parent.parent
STAYDOWN = REPO / ".venv" / "bin" / "staydown"
ARTICLE = Path(str(lab.load_scenario("article").directory))
TARGET = "widget-daemon.service"
MANUAL_ROUTE: tuple[tuple[str, ...], ...] = (
    ("systemctl", "status", TARGET),
    ("systemctl", "list-units", "--type=socket", "--all"),
    ("systemctl", "list-dependencies", "--reverse", TARGET),
    ("journalctl", "-u", TARGET, "-u", "widget-daemon.socket", "--since", "-10min"),
)
T = TypeVar("T")
# What Lab.exec passes to commands in the lab; the manual route runs with the same.
GNU_TIME = "/usr/bin/time"  # Debian package "time"
LAB_ENV = {"PATH": lab.LAB_PATH, "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "TERM": "dumb"}


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


def write_scenario(directory: Path, size: int) -> dict[str, int]:
    """Lay out a scenario with the article's units and ``size`` filler units."""
    plan = FillerPlan.for_size(size)
    units = directory / "units"
    shutil.copytree(ARTICLE / "units", units)
    article = json.loads((ARTICLE / "scenario.json").read_text())
    enable: dict[str, list[str]] = {k: list(v) for k, v in article["enable"].items()}
    multi_user = enable.setdefault("multi-user.target", [])
    sockets = enable.setdefault("sockets.target", [])
    timers = enable.setdefault("timers.target", [])

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
    return {
        "generated": plan.services + plan.targets + 2 * plan.sockets + 2 * plan.timers,
        "services": plan.services,
        "targets": plan.targets,
        "sockets": plan.sockets,
        "timers": plan.timers,
    }


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


def diagnose_argv(booted: lab.Lab) -> list[str]:
    """The staydown command measured."""
    return [str(STAYDOWN), "diagnose", "--lab", booted.name, "--json", TARGET]


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


# --- one lab size -----------------------------------------------------------------


@dataclass
class SizeResult:
    """Everything measured on one lab."""

    size: int
    mix: dict[str, int]
    loaded_units: int
    unit_files: int
    boot_seconds: float
    diagnose: list[Run] = field(default_factory=list)
    manual: list[list[Run]] = field(default_factory=list)
    nsenter_true: list[Run] = field(default_factory=list)
    inproc_collect: list[float] = field(default_factory=list)
    inproc_scan: list[float] = field(default_factory=list)
    inproc_analysis: list[float] = field(default_factory=list)
    neighbourhood_units: int = 0
    live_findings: int = 0


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _timed(action: Callable[..., T], *args: Any) -> tuple[float, T]:
    start = time.perf_counter()
    value = action(*args)
    return time.perf_counter() - start, value


def bench_size(size: int, repeat: int, workdir: Path, log: Callable[[str], None]) -> SizeResult:
    """Generate, boot, verify, measure and tear down one lab."""
    name = f"bench-{size}"
    scratch = Path(tempfile.mkdtemp(prefix=f"staydown-bench-{size}-", dir=workdir))
    booted: lab.Lab | None = None
    try:
        mix = write_scenario(scratch / name, size)
        scenario = lab.scenario_from_directory(scratch / name)
        # Thousands of units take longer to boot than the lab's usual timeout allows.
        saved_timeout, lab.BOOT_TIMEOUT = lab.BOOT_TIMEOUT, max(lab.BOOT_TIMEOUT, 30 + size / 25)
        try:
            boot_seconds, running = _timed(lab.up, scenario, name)
        finally:
            lab.BOOT_TIMEOUT = saved_timeout
        booted = running
        loaded = len(running.systemctl("list-units", "--all", "--no-legend", "--plain")
                     .splitlines())
        unit_files = len(running.exec(
            ["find", "/etc/systemd/system", "/usr/lib/systemd/system", "-maxdepth", "1",
             "(", "-type", "f", "-o", "-type", "l", ")"]).stdout.splitlines())
        log(f"  {name}: booted in {boot_seconds:.1f}s, {loaded} loaded units, "
            f"{unit_files} unit files")
        result = SizeResult(size, mix, loaded, unit_files, boot_seconds)

        # Right answer first; one warm-up of each side, not counted.
        first = measure(diagnose_argv(running))
        reverse = running.systemctl("list-dependencies", "--reverse", "--plain", TARGET)
        problems = check_document(json.loads(first.stdout), reverse)
        if problems:
            raise SystemExit(f"{name}: diagnose missed: " + "; ".join(problems))
        for command in MANUAL_ROUTE:
            measure(in_lab(running, command), LAB_ENV)

        for _ in range(repeat):
            run = measure(diagnose_argv(running))
            document = json.loads(run.stdout)
            problems = check_document(document, reverse)
            if problems:
                raise SystemExit(f"{name}: diagnose missed: " + "; ".join(problems))
            result.diagnose.append(run)
            result.live_findings = sum(1 for f in document["findings"] if f["live"])
            result.manual.append([measure(in_lab(running, c), LAB_ENV) for c in MANUAL_ROUTE])
            result.nsenter_true.append(measure(in_lab(running, ["true"]), LAB_ENV))

        # In-process: the same work without interpreter start-up and imports.
        connection = running.connection
        files = HostFiles(connection.files_root or "/", scope=connection.scope)
        for _ in range(repeat):
            with systemd_client(connection) as client:
                seconds, snapshot = _timed(collect_neighbourhood, client, TARGET)
            result.inproc_collect.append(seconds)
            result.neighbourhood_units = len(snapshot.units)
            result.inproc_scan.append(_timed(files.unit_files_mentioning, "systemctl")[0])
            result.inproc_analysis.append(_timed(diagnose, snapshot)[0])
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
    }


def summarise(result: SizeResult) -> dict[str, Any]:
    """Medians and the ratio for one size, as plain data."""
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
    return {
        "size": result.size,
        "mix": result.mix,
        "loaded_units": result.loaded_units,
        "unit_files": result.unit_files,
        "boot_seconds": result.boot_seconds,
        "neighbourhood_units": result.neighbourhood_units,
        "live_findings": result.live_findings,
        "diagnose_wall": diagnose_wall,
        "diagnose_wall_min": min(r.wall for r in result.diagnose),
        "diagnose_max_rss_kib": diagnose_rss,
        "manual_wall": _median(manual_wall),
        "manual_wall_min": min(manual_wall),
        "manual_max_rss_kib": manual_rss,
        "manual_commands": per_command,
        "nsenter_true_wall": _median([r.wall for r in result.nsenter_true]),
        "inproc_collect": _median(result.inproc_collect),
        "inproc_scan": _median(result.inproc_scan),
        "inproc_analysis": _median(result.inproc_analysis),
        "time_ratio": diagnose_wall / _median(manual_wall),
        "rss_ratio": diagnose_rss / manual_rss if manual_rss else float("nan"),
    }


def startup_costs(repeat: int) -> dict[str, float]:
    """Python start-up alone, and start-up plus importing the CLI, as child processes."""
    python = str(REPO / ".venv" / "bin" / "python")
    bare = [measure([python, "-c", "pass"]) for _ in range(repeat)]
    imports = [measure([python, "-c", "import wizard.cli.main"]) for _ in range(repeat)]
    nothing = [measure(["/usr/bin/true"]) for _ in range(repeat)]
    return {
        "launch_wall": _median([r.wall for r in nothing]),
        "python_wall": _median([r.wall for r in bare]),
        "python_rss_kib": max(r.max_rss_kib for r in bare),
        "import_wall": _median([r.wall for r in imports]),
        "import_rss_kib": max(r.max_rss_kib for r in imports),
    }


def print_report(
    summaries: list[dict[str, Any]], startup: dict[str, float], ratio_size: int, repeat: int,
) -> None:
    """The figures, as Markdown tables ready for docs/performance.md."""
    machine = machine_description()
    print("\n## Machine\n")
    for key, value in machine.items():
        print(f"- {key}: {value}")
    print(f"\nMedians of {repeat} runs each (after one warm-up).\n")
    print("## diagnose against the manual route\n")
    print("| generated units | loaded (list-units --all) | diagnose wall | manual wall (4 cmds) "
          "| ratio | diagnose peak RSS | manual peak RSS | RSS ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in summaries:
        print(f"| {s['mix']['generated']} | {s['loaded_units']} | {_ms(s['diagnose_wall'])} "
              f"| {_ms(s['manual_wall'])} | {s['time_ratio']:.2f} "
              f"| {_mib(s['diagnose_max_rss_kib'])} | {_mib(s['manual_max_rss_kib'])} "
              f"| {s['rss_ratio']:.2f} |")
    print("\n## The manual route, command by command\n")
    print("| generated units | " + " | ".join(f"`{' '.join(c)}`" for c in MANUAL_ROUTE)
          + " | `nsenter … true` |")
    print("|---:|" + "---:|" * (len(MANUAL_ROUTE) + 1))
    for s in summaries:
        cells = " | ".join(f"{_ms(c['wall'])} / {_mib(c['max_rss_kib'])}"
                           for c in s["manual_commands"])
        print(f"| {s['mix']['generated']} | {cells} | {_ms(s['nsenter_true_wall'])} |")
    print("\n## Where diagnose's time goes, and how it grows\n")
    print("| generated units | unit files scanned | neighbourhood units loaded "
          "| diagnose process | collect_neighbourhood in-process | of which unit-file scan "
          "| analysis | boot |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in summaries:
        print(f"| {s['mix']['generated']} | {s['unit_files']} | {s['neighbourhood_units']} "
              f"| {_ms(s['diagnose_wall'])} | {_ms(s['inproc_collect'])} "
              f"| {_ms(s['inproc_scan'])} | {_ms(s['inproc_analysis'])} "
              f"| {s['boot_seconds']:.1f} s |")
    print(f"\nLaunching /usr/bin/true under GNU time: {_ms(startup['launch_wall'])} "
          "(in every figure on both sides).")
    print(f"Python start-up alone: {_ms(startup['python_wall'])}, "
          f"{_mib(startup['python_rss_kib'])}; start-up + `import wizard.cli.main`: "
          f"{_ms(startup['import_wall'])}, {_mib(startup['import_rss_kib'])}.")
    chosen = next((s for s in summaries if s["size"] == ratio_size), summaries[-1])
    verdict = "met" if chosen["time_ratio"] <= 2.0 else "MISSED"
    print(f"\nRATIO at {chosen['mix']['generated']} generated units "
          f"({chosen['loaded_units']} loaded): diagnose/manual wall time = "
          f"{chosen['time_ratio']:.2f} (target <= 2.0: {verdict}); peak RSS ratio "
          f"{chosen['rss_ratio']:.2f}; diagnose found every live source "
          f"({chosen['live_findings']} live findings).")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Options: sizes, repeats, where the scenario directories go."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="500,1000,2000,5000",
                        help="comma-separated numbers of generated filler units")
    parser.add_argument("--ratio-size", type=int, default=2000,
                        help="the size whose ratio is the headline (default 2000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement")
    parser.add_argument("--workdir", type=Path, default=Path("/var/tmp"),
                        help="where generated scenarios are written (default /var/tmp)")
    parser.add_argument("--json-out", type=Path, help="also write the raw summaries here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every size, print the tables; exit 2 when diagnose got something wrong."""
    args = parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if args.ratio_size not in sizes:
        sizes = sorted({*sizes, args.ratio_size})
    if os.geteuid() != 0:
        print("the benchmark boots labs and needs root", file=sys.stderr)
        return 2
    if not Path(GNU_TIME).exists():
        print(f"{GNU_TIME} is missing: apt-get install time", file=sys.stderr)
        return 2
    if not STAYDOWN.exists():
        print(f"{STAYDOWN} is missing: run make deps", file=sys.stderr)
        return 2

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    startup = startup_costs(args.repeat)
    summaries = []
    for size in sizes:
        log(f"size {size}:")
        summaries.append(summarise(bench_size(size, args.repeat, args.workdir, log)))
    if args.json_out:
        args.json_out.write_text(json.dumps(
            {"machine": machine_description(), "startup": startup, "sizes": summaries},
            indent=1))
    print_report(summaries, startup, args.ratio_size, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
