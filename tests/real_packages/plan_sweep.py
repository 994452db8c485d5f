"""Every plan on real packages: plan each unit, run the script, provoke its sources, undo.

    .venv/bin/python -m tests.real_packages.plan_sweep   # the full sweep (make sweep-plans)
    .venv/bin/python -m tests.real_packages.plan_sweep --sample 3 --seed 1 --output /tmp/p.json

For every loaded unit of a lab booted from the bookworm-server tree (issue 11's proof):

1. record every loaded unit's ActiveState and `systemctl is-enabled`;
2. `staydown plan --lab LAB --json -o FILE UNIT` (the defaults: what `plan` recommends);
   a plan refused because the unit is protected is recorded as refused, not run;
3. check what the plan acts on: no protected unit (wizard/plan/protected_units.py) that the
   plan was not told about;
4. run the script in the lab; the unit must be down and no protected unit that was active
   may be down;
5. for at least WINDOW seconds (25), fire every candidate source of the unit for real, the
   way tests/real_packages/sweep.py does (sockets connected to, paths created, timers'
   units started, bus names pinged, roots started): the unit must not start (its
   InactiveExitTimestampMonotonic must not move), by a source or by itself;
6. put back what the provocations changed (sweep.restore), run the undo, and compare every
   unit's ActiveState and is-enabled with step 1.

Verdicts, the first promise broken: refused-protected and refused-unplannable (the plan
wrote nothing, as docs/safety.md says it must), touches-protected, script-failed, not-down,
revived (by a source, or by itself), not-restored, root-start (only a `systemctl start` of
a root started it: an operator's or a boot's start, which staydown does not count as a
revival source), pass.

Units run on a few labs in parallel (--labs, at most 4: each unit's run is mostly waiting).
A lab is reused for the next unit when the undo left it exactly as it was, and rebooted
otherwise, so one unit's leftovers never count against another.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.real_packages import sweep
from wizard.errors import LabError
from wizard.lab import nspawn as lab_module
from wizard.plan.protected_units import protection

HERE = Path(__file__).parent
RESULTS = HERE / "bookworm-server-plan-sweep.json"
WORKTREE = HERE.parents[1]
STAYDOWN = [sys.executable, "-m", "wizard"]
WINDOW = 25.0
UP = ("active", "activating", "reloading")
# A unit whose state, after the undo, differs from before only because time
# passed gets a few seconds to settle before it counts as a difference (a
# timer's oneshot that happened to be activating at one of the two readings).
SETTLE_RETRY = 3.0


@dataclass
class PlanRun:
    """What happened to one unit's plan, from plan to undo."""

    unit: str
    state_before: str
    enabled_before: str
    plan_exit: int = 0
    refused: str = ""  # the plan's error, when it wrote nothing
    actions: list[str] = field(default_factory=list)  # "stop dm-event.socket"
    side_effects: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    acts_on_protected: list[str] = field(default_factory=list)
    script_exit: int | None = None
    script_tail: str = ""
    state_after_script: str = ""
    protected_taken_down: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    revived_by: list[str] = field(default_factory=list)
    back_by_itself: bool = False
    provoke_seconds: float = 0.0
    restore: str = ""
    undo_exit: int | None = None
    undo_tail: str = ""
    differences: list[str] = field(default_factory=list)
    verdict: str = ""
    seconds: float = 0.0


# -- reading the lab ---------------------------------------------------------------------------


def unit_states(lab: lab_module.Lab,
                extra: set[str] | frozenset[str] = frozenset()) -> dict[str, tuple[str, str]]:
    """Every loaded unit (and ``extra``): (ActiveState, `systemctl is-enabled`)."""
    out = lab.systemctl("list-units", "--all", "--plain", "--no-legend")
    active: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not parts[0].startswith("●"):
            active[parts[0]] = parts[2]
    names = sorted(set(active) | set(extra))
    # One systemctl per unit: is-enabled prints nothing for some units (not-found
    # ones), so a single call with every name cannot be lined up with them.
    script = ('for u in "$@"; do printf "%s\\t%s\\n" "$u" '
              '"$(systemctl is-enabled -- "$u" 2>/dev/null | head -n1)"; done')
    listed = lab.exec(["bash", "-c", script, "_", *names], check=True, timeout=300).stdout
    enabled = dict(line.split("\t", 1) for line in listed.splitlines() if "\t" in line)
    # A unit systemd unloaded (garbage-collected) is inactive.
    return {n: (active.get(n, "inactive"), enabled.get(n, "")) for n in names}


def state_differences(before: dict[str, tuple[str, str]],
                      after: dict[str, tuple[str, str]]) -> list[str]:
    found = []
    for name in sorted(set(before) | set(after)):
        was = before.get(name, ("inactive", ""))
        now = after.get(name, ("inactive", ""))
        if was[0] != now[0]:
            found.append(f"{name}: ActiveState {was[0]} -> {now[0]}")
        if was[1] != now[1] and name in before and name in after:
            found.append(f"{name}: is-enabled {was[1] or '-'} -> {now[1] or '-'}")
    return found


def failed_set(lab: lab_module.Lab) -> set[str]:
    out = lab.systemctl("list-units", "--all", "--plain", "--no-legend", "--state=failed")
    return {parts[0] for line in out.splitlines() if (parts := line.split())}


def protected_units(names: list[str]) -> dict[str, str]:
    """The lab's loaded units that are the host's own machinery, with why."""
    found = {}
    for name in names:
        reason = protection(name, None)
        if reason is not None:
            found[name] = reason
    return found


# -- one unit ----------------------------------------------------------------------------------


def run_plan(lab: lab_module.Lab, unit: str, workdir: Path) -> tuple[int, dict[str, Any], str]:
    """`staydown plan --json` against the lab; its exit status, document and stderr."""
    script = workdir / f"plan-{abs(hash(unit))}.sh"
    for old in (script, script.with_name(script.stem + ".undo.sh")):
        old.unlink(missing_ok=True)
    result = subprocess.run(
        [*STAYDOWN, "plan", "--lab", lab.name, "--json", "-o", str(script), "--", unit],
        capture_output=True, text=True, timeout=300, cwd=WORKTREE, check=False)
    document: dict[str, Any] = {}
    if result.returncode == 0 and result.stdout.strip():
        document = json.loads(result.stdout)
    return result.returncode, document, result.stderr.strip()


def run_in_lab(lab: lab_module.Lab, path: Path) -> tuple[int, str]:
    result = lab.exec(["bash", "-s"], input_text=path.read_text(), timeout=600)
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-6:])
    return result.returncode, tail


def provoke(lab: lab_module.Lab, facts: sweep.LabFacts, run: PlanRun, window: float,
            post_script: set[str]) -> list[str]:
    """Fire every candidate source, and keep watching until ``window`` has passed."""
    started = time.monotonic()
    _, exit_mark = sweep.unit_state(lab, run.unit)
    acted = {a.split(" ", 1)[1] for a in run.actions if " " in a}
    failed_after_script = failed_set(lab)
    created: list[str] = []
    for source in sweep.candidate_sources(facts, run.unit):
        if source.kind == "timer" and sweep.unit_state(lab, source.source)[0] not in UP:
            # sweep.fire starts the timer's unit, which is what an elapse does; a
            # stopped timer does not elapse (timer.c enters TIMER_RUNNING only from
            # TIMER_WAITING), so there is nothing to fire.
            run.sources.append({"source": source.source, "kind": source.kind,
                                "provoked": False, "started_unit": False,
                                "detail": "the timer is stopped: it does not elapse"})
            continue
        created += sweep.fire(lab, facts, source)
        sweep.wait_for_jobs(lab)
        state, mark = sweep.unit_state(lab, run.unit)
        started_it = state in UP or mark != exit_mark
        # A plan's stopped source that this provocation started again: not a revival
        # within the window, but what the plan's "until something starts it" means.
        restarted = sorted(acted & sweep.active_set(lab) - post_script)
        run.sources.append({"source": source.source, "kind": source.kind,
                            "provoked": source.provoked, "started_unit": started_it,
                            **({"restarted": restarted} if restarted else {})})
        if started_it:
            run.revived_by.append(source.source)
            # Stop it again, so the next source is judged on its own.
            lab.exec(["systemctl", "stop", "--", run.unit], timeout=120)
            sweep.wait_for_jobs(lab)
            _, exit_mark = sweep.unit_state(lab, run.unit)
        # Put back what this source changed, so the next one fires into the post-script state.
        for path in created:
            lab.exec(["rm", "-f", "--", path])
        created = []
        sweep.restore(lab, run.unit, post_script, [])
        # A oneshot the provocation ran may have failed (apt-daily.service has no
        # network in the lab): its failed state is the provocation's, not the plan's.
        newly_failed = sorted(failed_set(lab) - failed_after_script)
        if newly_failed:
            lab.exec(["systemctl", "reset-failed", "--", *newly_failed])
        _, exit_mark = sweep.unit_state(lab, run.unit)
    remaining = window - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    sweep.wait_for_jobs(lab)
    state, mark = sweep.unit_state(lab, run.unit)
    if state in UP or mark != exit_mark:
        run.back_by_itself = True
    run.provoke_seconds = round(time.monotonic() - started, 1)
    return created


def sweep_plan(lab: lab_module.Lab, facts: sweep.LabFacts, unit: str, workdir: Path,
               window: float, protected: dict[str, str]) -> PlanRun:
    started = time.monotonic()
    before = unit_states(lab, {unit})
    run = PlanRun(unit, *before.get(unit, ("inactive", "")))
    run.plan_exit, document, stderr = run_plan(lab, unit, workdir)
    if run.plan_exit != 0:
        run.refused = stderr.splitlines()[0] if stderr else f"exit {run.plan_exit}"
        run.verdict = refusal(run.refused)
        run.seconds = round(time.monotonic() - started, 1)
        return run
    for step in document["steps"]:
        for action in step["actions"]:
            run.actions.append(f"{action['kind']} {action['unit']}".strip())
            if action["unit"] and action["unit"] != unit and action["unit"] in protected:
                run.acts_on_protected.append(action["unit"])
    run.side_effects = [f"{e['effect']} {e['unit']} ({e['reason']})"
                        for e in document["side_effects"]]
    run.left_out = [f"{e['unit']}: {e['reason']}" for e in document["left_out"]]
    script = Path(document["files"][0])
    undo = next(Path(f) for f in document["files"] if ".undo." in f)
    run.script_exit, run.script_tail = run_in_lab(lab, script)
    sweep.wait_for_jobs(lab)
    post_script = sweep.active_set(lab)
    run.state_after_script = sweep.unit_state(lab, unit)[0]
    run.protected_taken_down = sorted(
        p for p in protected if p != unit and before.get(p, ("",))[0] in UP
        and p not in post_script)
    created = provoke(lab, facts, run, window, post_script)
    run.restore = sweep.restore(lab, unit, post_script, created) or "nothing to put back"
    run.undo_exit, run.undo_tail = run_in_lab(lab, undo)
    sweep.wait_for_jobs(lab)
    after = unit_states(lab, set(before))
    run.differences = state_differences(before, after)
    if run.differences:
        time.sleep(SETTLE_RETRY)
        sweep.wait_for_jobs(lab)
        run.differences = state_differences(before, unit_states(lab, set(before)))
    run.verdict = verdict(run)
    run.seconds = round(time.monotonic() - started, 1)
    return run


def refusal(message: str) -> str:
    """Why the plan wrote nothing, as a verdict."""
    if "host's own machinery" in message:
        return "refused-protected"
    if "writes no plan for" in message or "could not be brought back" in message:
        return "refused-unplannable"
    return "refused"


def verdict(run: PlanRun | dict[str, Any]) -> str:
    """"pass", or the first of the promises the run broke (a pure function of the record).

    A root started with `systemctl start` (a target, a service nothing pulls in) is
    what an operator or a boot does, not a revival source: staydown's model leaves it
    out (tests/real_packages/compare.py counts it apart), and a plan does not hold a
    unit against it. A run whose only starts came from such roots is "root-start".
    """
    record = asdict(run) if isinstance(run, PlanRun) else run
    if record["refused"]:
        return refusal(record["refused"])
    if record["verdict"].startswith("sweep-error"):
        return str(record["verdict"])
    if record["acts_on_protected"] or record["protected_taken_down"]:
        return "touches-protected"
    if record["script_exit"] != 0:
        return "script-failed"
    if record["state_after_script"] in UP:
        return "not-down"
    by_source = [s for s in record["sources"] if s["started_unit"] and s["kind"] != "start"]
    if by_source or record["back_by_itself"]:
        return "revived"
    if record["undo_exit"] != 0 or record["differences"]:
        return "not-restored"
    if record["revived_by"]:
        return "root-start"
    return "pass"


# -- the sweep ---------------------------------------------------------------------------------


class Worker(threading.Thread):
    """One lab, taking units off a shared queue until it is empty."""

    def __init__(self, name: str, units: queue.Queue[str],
                 checkpoint: Callable[[str, dict[str, Any]], None],
                 workdir: Path, window: float, log: Any, total: int) -> None:
        super().__init__(name=name, daemon=True)
        self.sweep_lab = sweep.SweepLab(name)
        self.units = units
        self.checkpoint = checkpoint
        self.swept = 0
        self.workdir = workdir
        self.window = window
        self.log = log
        self.total = total
        self.boots = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            lab = None
            facts = None
            while True:
                try:
                    unit = self.units.get_nowait()
                except queue.Empty:
                    return
                if lab is None or facts is None:
                    lab = self.sweep_lab.boot()
                    self.boots += 1
                    facts = sweep.read_facts(lab)
                protected = protected_units(sorted(facts.graph))
                try:
                    result = sweep_plan(lab, facts, unit, self.workdir, self.window, protected)
                except (subprocess.SubprocessError, LabError, OSError,
                        ValueError, KeyError) as error:
                    result = PlanRun(unit, "", "")
                    result.verdict = f"sweep-error: {error!r}"[:300]
                self.checkpoint(unit, asdict(result))
                self.swept += 1
                self.log(f"[{self.name} #{self.swept}, {self.total} in all] {unit}: "
                         f"{result.verdict} ({result.seconds} s)"
                         + (f" {result.differences[:3]}" if result.differences else "")
                         + (f" revived by {result.revived_by}" if result.revived_by else ""))
                if not result.verdict.startswith(("pass", "refused", "root-start")):
                    # Whatever it left behind must not count against the next unit.
                    lab = None
        except BaseException as error:
            self.error = error
        finally:
            self.sweep_lab.down()


def units_to_sweep(lab: lab_module.Lab) -> list[str]:
    """Every loaded unit (found or not, templates' instances included)."""
    out = lab.systemctl("list-units", "--all", "--plain", "--no-legend")
    return sorted(parts[0] for line in out.splitlines()
                  if (parts := line.split()) and parts[1] == "loaded")


def summarise(results: dict[str, dict[str, Any]], header: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of the runs so far (written after every unit: a cut-short sweep
    still leaves its figures)."""
    ordered = {u: results[u] for u in sorted(results)}
    verdicts: dict[str, int] = {}
    for run in ordered.values():
        run["verdict"] = verdict(run)
        key = run["verdict"].split(":")[0]
        verdicts[key] = verdicts.get(key, 0) + 1
    return {
        **header,
        "summary": {
            "units_loaded": header["units_loaded"],
            "units_to_sweep": header["units_to_sweep"],
            "units_swept": len(ordered),
            "complete": len(ordered) == header["units_to_sweep"],
            "verdicts": dict(sorted(verdicts.items())),
            "sources_fired": sum(1 for r in ordered.values() for s in r["sources"]
                                 if s["provoked"]),
            "scripts_run": sum(1 for r in ordered.values() if r["script_exit"] is not None),
        },
        "units": ordered,
    }


def run_sweep(labs: int, sample: int | None, seed: int, only: list[str] | None,
              window: float = WINDOW, log: Any = print, prefix: str = "plansweep",
              workdir: Path | None = None, output: Path | None = None) -> dict[str, Any]:
    started = time.monotonic()
    workdir = workdir or Path(f"/tmp/{prefix}-files")
    workdir.mkdir(parents=True, exist_ok=True)
    first = sweep.SweepLab(f"{prefix}-0")
    try:
        lab = first.boot()
        everything = units_to_sweep(lab)
        version = lab.exec(["systemctl", "--version"], check=True).stdout.splitlines()[0]
    finally:
        first.down()
    rng = random.Random(seed)
    units = only or (sorted(rng.sample(everything, sample)) if sample else everything)
    pending: queue.Queue[str] = queue.Queue()
    for unit in units:
        pending.put(unit)
    results: dict[str, dict[str, Any]] = {}
    count = max(1, min(labs, 4, len(units)))
    header: dict[str, Any] = {
        "tree": sweep.TREE, "systemd": version,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "labs": count, "window_seconds": window, "sample": sample,
        "seed": seed if sample else None, "units_loaded": len(everything),
        "units_to_sweep": len(units),
    }
    lock = threading.Lock()

    def checkpoint(unit: str, run: dict[str, Any]) -> None:
        with lock:
            results[unit] = run
            if output is not None:
                document = summarise(results, {**header, "seconds": round(
                    time.monotonic() - started, 1)})
                output.write_text(json.dumps(document, indent=1) + "\n")

    workers = [Worker(f"{prefix}-{n}", pending, checkpoint, workdir, window, log, len(units))
               for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    errors = [w.error for w in workers if w.error is not None]
    if errors:
        raise RuntimeError(f"a sweep lab failed: {errors[0]!r}") from errors[0]
    header["lab_boots"] = sum(w.boots for w in workers) + 1
    document = summarise(results, {**header, "seconds": round(time.monotonic() - started, 1)})
    if output is not None:
        output.write_text(json.dumps(document, indent=1) + "\n")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=3, help="labs in parallel (at most 4)")
    parser.add_argument("--sample", type=int, default=None, help="sweep N seeded units only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--unit", action="append", help="sweep only these units")
    parser.add_argument("--window", type=float, default=WINDOW,
                        help="seconds the unit must stay down while its sources are fired")
    parser.add_argument("--prefix", default="plansweep", help="name prefix of the labs")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--merge", action="store_true",
                        help="with --unit: replace those units' runs in --output, keep the rest")
    args = parser.parse_args(argv)
    kept: dict[str, Any] = {}
    if args.merge and args.output.exists():
        kept = json.loads(args.output.read_text())
    document = run_sweep(args.labs, args.sample, args.seed, args.unit, args.window,
                         prefix=args.prefix, output=None if kept else args.output)
    if kept:
        runs = {**kept["units"], **document["units"]}
        header = {k: v for k, v in kept.items() if k not in ("summary", "units")}
        header["rerun"] = sorted({*kept.get("rerun", []), *document["units"]})
        header["rerun_at"] = document["recorded_at"]
        document = summarise(runs, header)
        args.output.write_text(json.dumps(document, indent=1) + "\n")
    print(json.dumps(document["summary"]), f"in {document['seconds']} s -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
