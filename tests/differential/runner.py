"""Provokes generated cases in a real lab and records what systemd did.

    .venv/bin/python -m tests.differential.runner --count 1000   # the dataset
    .venv/bin/python -m tests.differential.runner --first 5 --count 3 --out /tmp/x.jsonl.gz
    .venv/bin/python -m tests.differential.runner --merge RUN.jsonl.gz REPEAT.jsonl.gz

One lab is booted per batch of cases with all their unit files in place (so no
daemon-reload at all), plus an anchor service ordered after every case unit:
its references keep systemd from garbage-collecting an inactive case unit, which
would lose the timestamps the runner compares. Cases share the lab and run on
threads side by side: their unit names never overlap and no case unit depends on
anything outside its case, so they cannot interact.

For every source of a case: reset the case, start its ``start`` list in order,
settle, ``systemctl stop TARGET``, settle, fire the source, settle. "Settle"
means no job of the case's units for two polls QUIET seconds apart. The target
*started* when its InvocationID or InactiveExitTimestampMonotonic changed since
just before the stop: a oneshot target that ran and exited counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.differential.dataset import DATASET, FORMAT, read_lines, write_dataset
from tests.differential.generate import (
    DTEST_DIR,
    MASKED,
    UNNEEDED,
    Case,
    Source,
    case_to_dict,
    generate_case,
    unit_files,
)
from wizard.errors import StaydownError
from wizard.lab import nspawn as lab_module
from wizard.model.snapshots import DEPENDENCY_PROPERTIES
from wizard.system.systemd import SystemdClient, systemd_client

ANCHOR = "dtest-anchor.service"
UNIT_INTERFACE = "org.freedesktop.systemd1.Unit"
QUIET = 0.3
SETTLE_TIMEOUT = 15.0
TIMER_TIMEOUT = 6.0
STATE_PROPS = ("LoadState", "ActiveState", "SubState", "InvocationID",
               "InactiveExitTimestampMonotonic", "LastTriggerUSecMonotonic")

State = dict[str, dict[str, str]]


def _anchor_file(cases: list[Case]) -> str:
    names = [name for case in cases for name in case.names]
    lines = ["[Unit]", "Description=keeps the differential cases' units loaded"]
    # After= adds a reference (References=/ReferencedBy=) from a unit that stays
    # active; garbage collection never unloads a unit referenced by a live one.
    lines += [f"After={' '.join(names[i:i + 40])}" for i in range(0, len(names), 40)]
    lines += ["", "[Service]", f"ExecStartPre=/bin/mkdir -p {DTEST_DIR}",
              "ExecStart=/bin/sleep infinity"]
    return "\n".join(lines) + "\n"


def write_scenario(directory: Path, cases: list[Case]) -> lab_module.Scenario:
    """Lay the cases' units out as a lab scenario in ``directory``."""
    units = directory / "units"
    units.mkdir(parents=True)
    for case in cases:
        for name, text in unit_files(case).items():
            if text is None:
                (units / name).symlink_to("/dev/null")
            else:
                (units / name).write_text(text)
    (units / ANCHOR).write_text(_anchor_file(cases))
    (directory / "scenario.json").write_text(json.dumps({
        "description": f"{len(cases)} differential cases",
        "target": ANCHOR,
        "enable": {"multi-user.target": [ANCHOR]},
    }))
    return lab_module.scenario_from_directory(directory)


def boot_batch(cases: list[Case], boot: Callable[[lab_module.Scenario], lab_module.Lab]
               ) -> lab_module.Lab:
    """Boot a lab with these cases' units through ``boot`` (lab.up or a test's lab_factory)."""
    with tempfile.TemporaryDirectory(prefix="dtest-") as tmp:
        # The lab copies the units at boot: the directory may go right after.
        return boot(write_scenario(Path(tmp), cases))


@contextmanager
def batch_lab(cases: list[Case], name: str) -> Iterator[lab_module.Lab]:
    """A lab booted with these cases' units, torn down afterwards."""
    lab = boot_batch(cases, lambda scenario: lab_module.up(scenario, name))
    try:
        yield lab
    finally:
        lab_module.down(name)


class CaseRun:
    """Runs every source of one case in a booted lab."""

    def __init__(self, lab: lab_module.Lab, case: Case, client: SystemdClient) -> None:
        self.lab = lab
        self.case = case
        self.client = client
        self.prefix = f"{case.id}-"
        self.startable = [u.name for u in case.units if u.kind != MASKED]

    def _run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.lab.exec(list(command), timeout=timeout)

    def jobs(self) -> list[str]:
        """Jobs queued for the case's units (read over D-Bus: polling forks nothing)."""
        return [unit for _, unit, _, _ in self.client.jobs() if unit.startswith(self.prefix)]

    def settle(self) -> bool:
        """Wait until no job of the case is queued for QUIET seconds; False on timeout."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self.jobs():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET:
                return True
            time.sleep(0.15)
        return False

    def states(self) -> State:
        """The properties the runner compares, of every case unit."""
        found: State = {}
        for name in self.case.names:
            # The Unit interface alone (a third of all properties), except for
            # timers, whose LastTriggerUSecMonotonic the runner waits on.
            interface = "" if name.endswith(".timer") else UNIT_INTERFACE
            props = self.client.unit_properties(name, interface)
            found[name] = {key: _state_value(key, props.get(key, "")) for key in STATE_PROPS}
        return found

    def reset(self) -> list[str]:
        """Stop every unit of the case and clear failures; problems found, if any."""
        problems = []
        for _ in range(4):
            self._run("systemctl", "stop", "--no-block", "--", *self.startable)
            if not self.settle():
                problems.append("jobs did not settle during reset")
            states = self.states()
            # Stopping an OnSuccess= owner starts its hook: stop again until all rest.
            if all(s["ActiveState"] in ("inactive", "failed") for s in states.values()):
                break
        else:
            problems.append("units kept starting during reset")
        self._run("systemctl", "reset-failed", "--", *self.startable)
        self._run("bash", "-c", f"rm -f {DTEST_DIR}/{self.case.id}-*")
        return problems

    def journal_notes(self) -> list[str]:
        """What systemd logged about the case that makes an outcome depend on timing.

        A start refused because a stop job is still queued ("is destructive"),
        and every rate limit: whether they happen can depend on which of two
        unordered units finished first, so they explain most racy outcomes.
        """
        out = self._run(
            "journalctl", "-q", "-o", "cat", "--no-pager", "_PID=1", "--grep",
            f"{self.case.id}-.*(is destructive|too often|too quickly|limit hit)",
        ).stdout
        return sorted({line.strip() for line in out.splitlines() if line.strip()})[:12]

    def snapshot(self) -> dict[str, Any]:
        """The raw properties of the case's units, as the adapter reads them (see dataset.py)."""
        manager = self.client.manager()
        units = {name: _storable(self.client.unit_properties(name)) for name in self.case.names}
        return {"target": self.case.target, "manager": dataclasses.asdict(manager),
                "units": units}

    def fire(self, source: Source) -> int:
        """Fire one source; the firing command's exit status."""
        action = source.action()
        if not action:
            return 0
        before = self.states()[source.unit].get("LastTriggerUSecMonotonic", "")
        status = self._run(*action).returncode
        if source.kind == "timer":
            self._wait_for_elapse(source.unit, before)
        return status

    def _wait_for_elapse(self, timer: str, before: str) -> None:
        started = time.monotonic()
        while time.monotonic() - started < TIMER_TIMEOUT:
            state = self.states()[timer]
            if state.get("LastTriggerUSecMonotonic", "") not in (before, "0", ""):
                return
            # A timer that could not start (its unit masked) never elapses.
            if (state["ActiveState"] in ("inactive", "failed") and not self.jobs()
                    and time.monotonic() - started > 0.5):
                return
            time.sleep(0.1)

    def run_source(self, source: Source, with_snapshots: bool) -> dict[str, Any]:
        """One provocation: initial state, stop, fire, reset; what changed."""
        problems: list[str] = []
        for unit in self.case.start:
            self._run("systemctl", "start", "--", unit)
        if not self.settle():
            problems.append("jobs did not settle after the initial start")
        initial = self.states()
        result: dict[str, Any] = {}
        if with_snapshots:
            result["pre"] = self.snapshot()
        stop = self._run("systemctl", "stop", "--", self.case.target)
        if not self.settle():
            problems.append("jobs did not settle after the stop")
        after_stop = self.states()
        if with_snapshots:
            result["post"] = self.snapshot()
        fired = self.fire(source)
        if not self.settle():
            problems.append("jobs did not settle after the fire")
        after_fire = self.states()
        problems += self.reset()
        target = self.case.target
        result.update(
            initial={n: _summary(s) for n, s in initial.items()},
            after_stop={n: _summary(s) for n, s in after_stop.items()},
            stop_status=stop.returncode,
            stop_error=stop.stderr.strip()[:200],
            before_fire=_started(initial[target], after_stop[target]),
            live=_started(initial[target], after_fire[target]),
            started_by_stop=sorted(n for n in self.case.names
                                   if _started(initial[n], after_stop[n])),
            started_by_fire=sorted(n for n in self.case.names
                                   if _started(after_stop[n], after_fire[n])),
            fired=fired,
            problems=problems,
        )
        return result


# Properties that never decide whether a unit starts (resources, sandboxing,
# logging, accounting counters): left out to keep the dataset small.
_DROPPED_PREFIXES = (
    "Limit", "IO", "IP", "CPU", "Memory", "Startup", "Tasks", "Syslog", "Restrict", "Protect",
    "TTY", "Smack", "SELinux", "AppArmor", "SystemCall", "Managed", "Capability", "Device",
    "Kill", "SendSIG", "FinalKill", "RestartKill", "WatchdogSignal", "NUMA", "Standard",
    "LogLevel", "LogRate", "Keyring", "Coredump", "BlockIO", "Utmp", "ProcSubset", "TimerSlack",
    "IgnoreSIGPIPE", "CanFreeze", "FreezerState", "CleanResult", "UMask", "UID", "GID",
    "Personality", "Nice", "OOMScore", "Dynamic", "Private", "Lock", "Mount", "Namespace",
    "Secure", "Ambient", "NoNewPrivileges", "Remove", "BindPaths", "BindReadOnly", "Temporary",
    "Root", "Working",
    "Environment", "PassEnvironment", "UnsetEnvironment", "Supplementary", "User", "Group",
    "ReadWrite", "ReadOnly", "Inaccessible", "NoExec", "Runtime", "State", "Cache",
    "Logs", "Configuration", "Disable", "Default", "Effective", "Allowed", "Delegate",
    "Socket", "Timer", "Pam", "Set", "Load", "Import", "Extension", "Network", "Same",
)
_KEPT = {"ExecStart", "ExecStartPre", "ExecStartPost", "ExecCondition", "ExecStop",
         "ExecStopPost", "ExecReload", "RuntimeMaxUSec", "StateChangeTimestamp",
         "StateChangeTimestampMonotonic", "DefaultDependencies", "LoadState", "LoadError",
         "SocketProtocol", "TimersMonotonic", "TimersCalendar", "RemainAfterElapse",
         "TimeoutStartUSec", "TimeoutStopUSec", *DEPENDENCY_PROPERTIES}


def _storable_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list | tuple):
        return [_storable_value(v) for v in value]
    return value


def _storable(props: dict[str, Any]) -> dict[str, Any]:
    """Unit properties as JSON: bytes decoded, InvocationID as hex, the anchor left out."""
    kept: dict[str, Any] = {}
    for key, value in props.items():
        if key not in _KEPT and key.startswith(_DROPPED_PREFIXES):
            continue
        if key == "InvocationID":
            kept[key] = bytes(value).hex()
            continue
        try:
            converted = _storable_value(value)
        except UnicodeDecodeError:
            continue  # binary blobs (root hashes and the like)
        if converted in ("", []):
            continue
        if isinstance(converted, list) and ANCHOR in converted:
            converted = [v for v in converted if v != ANCHOR]
            if not converted:
                continue
        kept[key] = converted
    # A monotonic timer reports its next elapse on CLOCK_MONOTONIC only; record
    # it as wall-clock time now, so the snapshot means the same when read later.
    mono = int(kept.get("NextElapseUSecMonotonic") or 0)
    if mono and mono != (1 << 64) - 1 and not kept.get("NextElapseUSecRealtime"):
        now_real = time.clock_gettime_ns(time.CLOCK_REALTIME) // 1000
        now_mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        kept["NextElapseUSecRealtime"] = now_real + (mono - now_mono)
    return kept


def _difference(first: Any, other: Any) -> str:
    if isinstance(first, dict) and isinstance(other, dict):
        return ", ".join(f"{k} {first.get(k)} then {other.get(k)}"
                         for k in sorted(set(first) | set(other)) if first.get(k) != other.get(k))
    return f"{first} then {other}"


def _state_value(key: str, value: Any) -> str:
    if key == "InvocationID":
        return bytes(value).hex()  # 16 raw bytes
    return value.decode() if isinstance(value, bytes) else str(value)


def _summary(state: dict[str, str]) -> str:
    return f"{state['ActiveState']}/{state['SubState']}"


def _started(before: dict[str, str], after: dict[str, str]) -> bool:
    """Whether the unit left the inactive state between two readings."""
    invocation = after.get("InvocationID", "")
    exited = after.get("InactiveExitTimestampMonotonic", "0")
    return (invocation not in ("", before.get("InvocationID", ""))
            or exited not in ("0", "", before.get("InactiveExitTimestampMonotonic", "")))


def _cooldown(case: Case) -> float:
    """Seconds to leave between two runs of the case, so each starts with fresh limits.

    Upholds=, BindsTo= and StopWhenUnneeded= act through a per-unit rate limit
    (auto_start_stop_ratelimit, 16 in 10 s, src/core/unit.c) that reset-failed
    does not reset; a run right after a loop that hit it would find it throttled.
    """
    loops = any(e.kind in ("Upholds", "BindsTo") for e in case.edges) or any(
        u.kind == UNNEEDED for u in case.units)
    return 10.5 if loops else 0.0


def run_case(lab: lab_module.Lab, case: Case) -> dict[str, Any]:
    """Every source of a case, provoked; the dataset line."""
    with systemd_client(lab.connection) as client:
        return _run_case(CaseRun(lab, case, client))


def _run_case(runner: CaseRun) -> dict[str, Any]:
    case = runner.case
    runs: list[dict[str, Any]] = []
    racy: list[str] = []
    snapshots: dict[str, Any] = {}
    first: dict[str, Any] | None = None
    idle: dict[str, Any] | None = None
    cooldown = _cooldown(case)
    runner.reset()
    last_end = 0.0
    for source in case.sources:
        if not source.action() and idle is not None:
            outcome = idle  # sources that fire by themselves all share one idle run
        else:
            time.sleep(max(0.0, last_end + cooldown - time.monotonic()))
            if first is not None and any("did not settle" in p for p in first["problems"]):
                # A case that never settles takes minutes per source and tells
                # nothing reproducible: its first run stands for all, marked racy.
                outcome = dict(first, live=False, before_fire=False, fired=-1,
                               started_by_fire=[],
                               problems=["not provoked: the case never settled"])
            else:
                outcome = runner.run_source(source, with_snapshots=first is None)
            last_end = time.monotonic()
            if not source.action():
                idle = outcome
        if first is None:
            first = outcome
            snapshots = {"pre": outcome.pop("pre"), "post": outcome.pop("post")}
        run: dict[str, Any] = {
            "source": source.unit, "kind": source.kind, "live": outcome["live"],
            "before_fire": outcome["before_fire"], "fired": outcome["fired"],
            "started_by_fire": outcome["started_by_fire"],
        }
        notes = list(outcome["problems"])
        for key in ("initial", "after_stop", "before_fire", "started_by_stop"):
            if outcome[key] != first[key]:
                change = _difference(first[key], outcome[key])
                notes.append(f"{key} differs from the first run: {change}")
        if notes:
            run["racy"] = "; ".join(notes)
            racy.append(f"{source.unit}: {run['racy']}")
        runs.append(run)
    if first is None:  # a case without sources: still record its stop
        first = runner.run_source(Source(case.target, "upholds"), with_snapshots=True)
        snapshots = {"pre": first.pop("pre"), "post": first.pop("post")}
    return {
        "case": case_to_dict(case),
        "journal": runner.journal_notes(),
        "initial": first["initial"],
        "after_stop": first["after_stop"],
        "stop_status": first["stop_status"],
        "stop_error": first["stop_error"],
        "revived_by_stop": first["before_fire"],
        "started_by_stop": first["started_by_stop"],
        "runs": runs,
        "racy": racy,
        "snapshots": snapshots,
    }


def _guarded(lab: lab_module.Lab, case: Case) -> dict[str, Any]:
    try:
        return run_case(lab, case)
    except (StaydownError, subprocess.TimeoutExpired) as error:
        # A lab whose systemd stopped answering loses the case, not the batch.
        return {"case": case_to_dict(case), "error": str(error)}


def run_in_lab(lab: lab_module.Lab, cases: list[Case], workers: int) -> list[dict[str, Any]]:
    """Run cases whose units the lab was booted with, on ``workers`` threads.

    A case the lab could not run comes back as ``{"case": ..., "error": ...}``.
    """
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda case: _guarded(lab, case), cases))


def run_batch(cases: list[Case], lab_name: str, workers: int) -> list[dict[str, Any]]:
    """Boot one lab for the batch and run its cases on ``workers`` threads."""
    with batch_lab(cases, lab_name) as lab:
        return run_in_lab(lab, cases, workers)


def mark_repeats(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> int:
    """Mark racy every source whose outcome differs between two full runs; how many.

    Within a run every source of a case repeats the initial state and the stop,
    so those are checked already; the fire itself is repeated only by a second run.
    """
    again = {(line["case"]["id"], run["source"]): run for line in second for run in line["runs"]}
    marked = 0
    for line in first:
        for run in line["runs"]:
            other = again.get((line["case"]["id"], run["source"]))
            if other is None:
                continue  # the repeat run lost that case (its lab stopped answering)
            notes = [f"{key} {run[key]} in one full run, {other[key]} in another"
                     for key in ("live", "before_fire") if run[key] != other[key]]
            if other.get("racy"):
                notes.append(f"in another full run: {other['racy']}")
            if notes:
                note = "; ".join(notes)
                run["racy"] = f"{run['racy']}; {note}" if run.get("racy") else note
                line["racy"].append(f"{run['source']}: {note}")
                marked += 1
    return marked


def systemd_version() -> str:
    """The version of the systemd the labs boot (the host's own /usr)."""
    out = subprocess.run(["systemctl", "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else ""


def run_cases(cases: list[Case], *, labs: int, workers: int, batch: int,
              progress: bool = False) -> list[dict[str, Any]]:
    """Run cases in batches, ``labs`` labs at a time; lines in case order."""
    batches = [cases[i:i + batch] for i in range(0, len(cases), batch)]
    results: dict[int, list[dict[str, Any]]] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def one(index: int) -> None:
        lines = run_batch(batches[index], f"dtest{os.getpid()}-{index}", workers)
        with lock:
            results[index] = lines
            if progress:
                done = sum(len(v) for v in results.values())
                print(f"batch {index}: {len(lines)} cases; {done}/{len(cases)} done after "
                      f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    # Each lab holds about ten inotify instances; CI's default limit is 128.
    with ThreadPoolExecutor(min(labs, 6)) as pool:
        list(pool.map(one, range(len(batches))))
    return [line for index in range(len(batches)) for line in results[index]]


def main(argv: list[str] | None = None) -> int:
    """Run cases and write the dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--labs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--out", type=Path, default=DATASET)
    parser.add_argument("--merge", type=Path, nargs=2, metavar=("RUN", "REPEAT"),
                        help="write RUN to --out with the sources REPEAT disagrees on marked racy")
    args = parser.parse_args(argv)
    if args.merge:
        header, lines = read_lines(args.merge[0])
        repeat_header, repeat = read_lines(args.merge[1])
        marked = mark_repeats(lines, repeat)
        header["repeat_seconds"] = repeat_header["seconds"]
        header["racy_sources"] = sum(1 for line in lines for run in line["runs"]
                                     if run.get("racy"))
        write_dataset(args.out, header, lines)
        print(f"{marked} sources differ between the two runs; {header['racy_sources']} racy "
              f"in all; written to {args.out}", file=sys.stderr)
        return 0
    if shutil.which("systemd-nspawn") is None or os.geteuid() != 0:
        print("the runner boots labs: it needs root and systemd-nspawn", file=sys.stderr)
        return 2
    cases = [generate_case(i) for i in range(args.first, args.first + args.count)]
    started = time.monotonic()
    lines = run_cases(cases, labs=args.labs, workers=args.workers, batch=args.batch,
                      progress=True)
    seconds = round(time.monotonic() - started)
    errors = {line["case"]["id"]: line["error"] for line in lines if "error" in line}
    lines = [line for line in lines if "error" not in line]
    header = {
        "format": FORMAT,
        "systemd": systemd_version(),
        "first": args.first,
        "count": args.count,
        "sources": sum(len(line["runs"]) for line in lines),
        "seconds": seconds,
        "labs": args.labs,
        "workers": args.workers,
        "batch": args.batch,
        "cases": len(lines),
        "errors": errors,
    }
    write_dataset(args.out, header, lines)
    racy = sum(1 for line in lines if line["racy"])
    print(f"{len(lines)} cases ({len(errors)} lost), {header['sources']} sources in "
          f"{seconds} s; {racy} racy; "
          f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
