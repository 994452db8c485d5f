"""Proof on real systemd: the plan keeps the unit down while every source keeps firing.

For each case: boot the scenario, stop the unit and watch it come back, run
``staydown plan``, run the script in the lab, then keep every source firing
(connections to sockets, timers elapsing on their own, the catalogue's
provoke commands) for PROOF_SECONDS while sampling the unit every half
second. Then run the script again (nothing may change) and the undo, and
compare unit-file and active states with how they were before the plan.

All cases run at once, each in its own lab, so the suite pays the 30 s
only once; each case is still its own test.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import lab_unavailable_reason, run_cli
from tests.lab_helpers import is_active, skip_unless_the_kernel_runs, unit_states, wait_until
from wizard.lab import nspawn as lab_module

pytestmark = pytest.mark.lab

PROOF_SECONDS = float(os.environ.get("STAYDOWN_PROOF_SECONDS", "30"))
SAMPLE_SECONDS = 0.5
PARALLEL_LABS = 6


@dataclass(frozen=True)
class Case:
    """One scenario, one way of planning.

    Without ``method`` the plan is ``staydown plan`` (every recommended
    answer); with it, the wizard writes the plan from an answers file with
    that method for every source (how the mask cases are made).
    """

    scenario: str
    persistent: bool = False
    output_format: str = "script"
    method: str = ""

    @property
    def id(self) -> str:
        how = self.method or self.output_format
        return f"{self.scenario}-{how}{'-persistent' if self.persistent else ''}"


@dataclass
class Outcome:
    """What happened to one case, for the assertions."""

    case: Case
    target: str = ""
    revived_before_plan: bool = False
    plan: tuple[int, str, str] = (0, "", "")
    applied: tuple[int, str, str] = (0, "", "")
    came_back: list[str] = field(default_factory=list)
    provoked: int = 0
    again: tuple[int, str, str] = (0, "", "")
    record_before_again: str = ""
    record_after_again: str = ""
    undo: tuple[int, str, str] = (0, "", "")
    undo_again: tuple[int, str, str] = (0, "", "")
    verified: dict[str, tuple[int, str]] = field(default_factory=dict)
    before: dict[str, tuple[str, str]] = field(default_factory=dict)
    after: dict[str, tuple[str, str]] = field(default_factory=dict)
    error: str = ""


def _scenario_meta(name: str) -> dict[str, Any]:
    scenario = lab_module.load_scenario(name)
    meta: dict[str, Any] = json.loads((scenario.directory / "scenario.json").read_text())
    return meta


def _provokers(name: str) -> list[list[str]]:
    """Commands that make each source fire now (sources that fire by themselves have none)."""
    meta = _scenario_meta(name)
    commands = []
    for source in meta.get("sources") or []:
        provoke = source.get("provoke")
        if provoke:
            commands.append(list(provoke))
    return commands


def _kinds(name: str) -> set[str]:
    return {source["kind"] for source in _scenario_meta(name).get("sources") or []}


def _sources(name: str) -> list[str]:
    return [source["source"] for source in _scenario_meta(name).get("sources") or []]


def _scenario_units(name: str) -> list[str]:
    units = lab_module.load_scenario(name).directory / "units"
    # Templates have no state of their own; the target (maybe an instance) is added.
    names = {p.name for p in units.iterdir() if p.is_file() and "@." not in p.name}
    return sorted(names | {str(_scenario_meta(name)["target"])})


def _states(lab: lab_module.Lab, units: list[str]) -> dict[str, tuple[str, str]]:
    return unit_states(lab, *units)


def _record(lab: lab_module.Lab) -> str:
    return lab.exec(["bash", "-c", "cat /var/lib/staydown/*.done 2>/dev/null"]).stdout


def _run(lab: lab_module.Lab, script: Path) -> tuple[int, str, str]:
    result = lab.exec(["bash", "-s", "--"], input_text=script.read_text(), timeout=300)
    return result.returncode, result.stdout, result.stderr


def _verify_drop_ins(lab: lab_module.Lab) -> dict[str, tuple[int, str]]:
    """systemd-analyze verify on every unit staydown wrote a drop-in for, as installed."""
    found = lab.exec(["find", "/run/systemd/system", "/etc/systemd/system", "-name",
                      "99-staydown-*.conf"]).stdout.split()
    results = {}
    for path in found:
        unit = path.rsplit("/", 2)[-2].removesuffix(".d")
        result = lab.exec(["systemd-analyze", "verify", "--", unit])
        results[path] = (result.returncode, result.stdout + result.stderr)
    return results


def prove(case: Case, workdir: Path) -> Outcome:
    outcome = Outcome(case)
    name = f"p{os.getpid()}-{case.id}"[:40].replace(".", "_")
    lab = lab_module.up(case.scenario, name)
    try:
        meta = _scenario_meta(case.scenario)
        target = str(meta["target"])
        outcome.target = target
        provokers = _provokers(case.scenario)
        units = _scenario_units(case.scenario)

        if "restart-policy" in _kinds(case.scenario):
            # Restart= never undoes a clean stop: it comes back after a kill.
            for command in provokers:
                lab.exec(command)
            outcome.revived_before_plan = wait_until(
                lambda: lab.systemctl("show", "-P", "NRestarts", "--", target).strip() != "0"
                and is_active(lab, target), timeout=20)
        else:
            lab.systemctl("stop", "--", target)
            for command in provokers:
                lab.exec(command)
            outcome.revived_before_plan = wait_until(lambda: is_active(lab, target), timeout=20)
        outcome.before = _states(lab, units)

        suffix = {"script": "fix.sh", "dropin": "fix.d", "ansible": "fix.yml"}[case.output_format]
        output = workdir / case.id / suffix
        if case.method:
            answers = workdir / case.id / "answers.json"
            answers.parent.mkdir(parents=True, exist_ok=True)
            answers.write_text(json.dumps({
                "persistent": case.persistent,
                "methods": {source: case.method for source in _sources(case.scenario)},
                "format": case.output_format, "output": str(output), "apply": False,
            }))
            result = run_cli("wizard", "--lab", name, "--answers", str(answers), "--brief",
                             target)
        else:
            argv = ["plan", "--lab", name, "-o", str(output), "--format", case.output_format]
            if case.persistent:
                argv.append("--persistent")
            result = run_cli(*argv, target)
        outcome.plan = (result.code, result.stdout, result.stderr)
        if result.code not in (0, 1) or not output.exists():
            return outcome
        script = output / "install.sh" if case.output_format == "dropin" else output
        undo = (output / "install.undo.sh" if case.output_format == "dropin"
                else output.with_name("fix.undo.sh"))

        outcome.applied = _run(lab, script)
        outcome.verified = _verify_drop_ins(lab)
        deadline = time.monotonic() + PROOF_SECONDS
        next_provoke = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_provoke:
                for command in provokers:
                    lab.exec(command)
                    outcome.provoked += 1
                next_provoke = time.monotonic() + 1.0
            state = lab.exec(["systemctl", "is-active", "--", target]).stdout.strip()
            if state in ("active", "activating", "reloading"):
                outcome.came_back.append(f"{PROOF_SECONDS - (deadline - time.monotonic()):.1f}s "
                                         f"{state}")
            time.sleep(SAMPLE_SECONDS)

        outcome.record_before_again = _record(lab)
        outcome.again = _run(lab, script)
        outcome.record_after_again = _record(lab)
        outcome.undo = _run(lab, undo)
        # Restarted units may still be activating: wait (up to 10 s) for the states
        # to match; whatever they are then is what the test compares.
        wait_until(lambda: _states(lab, units) == outcome.before, timeout=10, step=0.5)
        outcome.after = _states(lab, units)
        outcome.undo_again = _run(lab, undo)
    except Exception as error:  # reported per case by the tests below
        outcome.error = repr(error)
    finally:
        lab_module.down(name)
    return outcome


def _kind_scenarios() -> list[str]:
    return [s.name for s in lab_module.list_scenarios() if _sources(s.name)]


CASES = [
    *(Case(name) for name in _kind_scenarios()),
    Case("article", persistent=True),
    Case("article", output_format="dropin"),
    Case("article", persistent=True, output_format="dropin"),
    # The article's units live in /etc (mask fails, mask --runtime is shadowed:
    # the plan holds them with drop-ins); article-vendor's in /usr/lib (real masks).
    Case("article", method="mask-runtime"),
    Case("article", persistent=True, method="mask"),
    Case("article-vendor", method="mask-runtime"),
    Case("article-vendor", persistent=True, method="mask"),
    Case("article-vendor", persistent=True),
    # The source left firing, the unit itself refused (a hold: beacon.service is in /etc).
    Case("timer", method="hold-unit"),
    Case("upholds", persistent=True, method="hold-unit"),
]


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[str, Outcome]]:
    reason = lab_unavailable_reason()
    if reason is not None:
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)
    # Labs idle through most of the watch, so several run at once on two cores.
    # Not more: each booted systemd holds about ten inotify instances, and the
    # kernel's default is 128 per user (fs.inotify.max_user_instances).
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(PARALLEL_LABS) as pool:
        # A case the host's kernel cannot run is skipped by its tests, not proved.
        runnable = [c for c in CASES if not (lab_module.load_scenario(c.scenario).uses_automount
                                             and lab_module.automount_unavailable())]
        results = pool.map(lambda c: prove(c, Path(workdir)), runnable)
        yield {o.case.id: o for o in results}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_plan_keeps_the_unit_down_while_its_sources_fire(outcomes, case):
    skip_unless_the_kernel_runs(case.scenario)
    outcome = outcomes[case.id]
    assert outcome.error == ""
    assert outcome.revived_before_plan, "the scenario did not bring the unit back by itself"
    assert outcome.plan[0] in (0, 1), outcome.plan
    code, stdout, stderr = outcome.applied
    assert code == 0, (stdout, stderr)
    assert "done:" in stdout
    assert outcome.came_back == [], f"{outcome.target} came back: {outcome.came_back}"
    assert outcome.provoked >= PROOF_SECONDS * 0.5 * len(_provokers(case.scenario))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_running_the_plan_twice_changes_nothing(outcomes, case):
    skip_unless_the_kernel_runs(case.scenario)
    outcome = outcomes[case.id]
    code, stdout, stderr = outcome.again
    assert code == 0, (stdout, stderr)
    assert outcome.record_after_again == outcome.record_before_again
    for change in ("stopping", "disabling", "masking", "wrote"):
        assert change not in stdout


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_undo_restores_the_states_before_the_plan(outcomes, case):
    skip_unless_the_kernel_runs(case.scenario)
    outcome = outcomes[case.id]
    code, stdout, stderr = outcome.undo
    assert code == 0, (stdout, stderr)
    enabled_before = {u: s[0] for u, s in outcome.before.items()}
    enabled_after = {u: s[0] for u, s in outcome.after.items()}
    assert enabled_after == enabled_before
    # Oneshot services started by timers flicker; the units the plan stopped,
    # and the unit itself, must be exactly as they were.
    stable = {u for u in outcome.before if not u.endswith(".service")} | {outcome.target}
    assert {u: outcome.after[u][1] for u in stable} == {u: outcome.before[u][1] for u in stable}
    # Units a stop took down with it (Requires= on a socket the plan stopped) are
    # started again too: the scenario names them ("restored").
    restored = _scenario_meta(case.scenario).get("restored") or []
    assert {u: outcome.before[u][1] for u in restored} == dict.fromkeys(restored, "active")
    assert {u: outcome.after[u][1] for u in restored} == dict.fromkeys(restored, "active")
    assert "back as it was" in stdout
    code, stdout, _ = outcome.undo_again
    assert code == 0
    assert "nothing to undo" in stdout


DROP_IN_CASES = [c for c in CASES if c.output_format == "dropin" or c.method in ("mask-runtime",
                                                                                 "mask")]


@pytest.mark.parametrize("case", DROP_IN_CASES, ids=lambda c: c.id)
def test_installed_drop_ins_pass_systemd_analyze_verify(outcomes, case):
    skip_unless_the_kernel_runs(case.scenario)
    outcome = outcomes[case.id]
    if case.scenario == "article-vendor":
        # Vendor units can really be masked: no drop-in is needed there.
        assert outcome.verified == {}
        return
    assert outcome.verified, "the plan should have installed drop-ins"
    for path, (code, output) in outcome.verified.items():
        assert code == 0, (path, output)
        assert "staydown" not in output, (path, output)
