"""Practice challenges on a real systemd: generated scenarios revive, grade and pass.

Seeds are chosen so that every source template appears at least once (plus two
seeds each at levels 1 and 2). Each challenge is booted twice, in parallel
with the others (at most four labs at once: each holds about ten inotify
instances of the 128 a user may have):

- the *grading* lab, through the CLI as a trainee would: the catalogue is what
  diagnose finds live; hints come in order and are remembered; the check fails
  naming the sources when the trainee does nothing or only stops the unit;
  every source brings the stopped unit back on its own (the others quiet); and
  with every unit source stopped the check names exactly what is left.
- the *plan* lab: the plan ``staydown plan --lab`` writes, run inside, passes
  the check; masking logind and stopping a decoy then fails it as "broke
  unrelated units", with the target still down.

The check runs for STAYDOWN_PRACTICE_SECONDS (default 8 s: every timer fires at
least once; ``lab check`` defaults to 30).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import CliResult, lab_unavailable_reason, run_cli
from tests.lab_helpers import diagnose_json, is_active, wait_until
from wizard.analysis.kinds.all_kinds import check_commands
from wizard.errors import ExitCode
from wizard.lab import nspawn as lab_module
from wizard.lab.catalogue import RevivalSource
from wizard.practice import LEVELS
from wizard.practice.generator import (
    TEMPLATE_NAMES,
    Challenge,
    generate_challenge,
)
from wizard.practice.grading import Grade, grade_attempt, render_grade
from wizard.practice.hints import hint_sequence, render_hint
from wizard.practice.lab import hints_given, load_challenge, start_challenge

pytestmark = pytest.mark.lab

CHECK_SECONDS = float(os.environ.get("STAYDOWN_PRACTICE_SECONDS", "8"))
PARALLEL_LABS = 4
# Long enough for a 5 s timer with 100 ms accuracy to fire once, and the unit to start.
REVIVAL_TIMEOUT = 12.0
HINTS_ASKED = 3


def covering_seeds() -> list[tuple[int, int]]:
    """Two seeds at levels 1 and 2, then seeds until every template has appeared."""
    picked = [(1, 0), (1, 1), (2, 0), (2, 1)]
    missing = set(TEMPLATE_NAMES) - {t for c in picked for t in generate_challenge(*c).templates}
    candidates = [(level, seed) for seed in range(100) for level in reversed(LEVELS)]
    while missing:
        best = max(candidates,
                   key=lambda c: len(missing & set(generate_challenge(*c).templates)))
        missing -= set(generate_challenge(*best).templates)
        picked.append(best)
    return picked


SEEDS = covering_seeds()


def _ids(case: tuple[int, int]) -> str:
    return f"level{case[0]}-seed{case[1]}"


def _lab_name(role: str, level: int, seed: int) -> str:
    return f"q{os.getpid() % 100000}-{role}{level}-{seed}"


def _stop(lab: lab_module.Lab, *units: str) -> None:
    """systemctl stop; again when a start job from a source cancelled it.

    A timer or hook that starts the unit while the stop job waits replaces it
    ("Job for X canceled"), as it would for a trainee; the stop is then retried.
    """
    for _attempt in range(5):
        result = lab.exec(["systemctl", "stop", "--", *units])
        if result.returncode == 0:
            return
        assert "canceled" in result.stderr, result.stderr
        time.sleep(0.2)
    raise AssertionError(f"could not stop {units}: {result.stderr}")


def _show(lab: lab_module.Lab, unit: str, prop: str) -> str:
    return lab.systemctl("show", "-P", prop, "--", unit).strip()


def _source_names(grade: Grade, *, reviving: bool = True) -> set[str]:
    statuses = grade.could_revive if reviving else grade.still_live
    return {s.source.source for s in statuses}


@dataclass
class GradingOutcome:
    """What the grading lab saw, step by step."""

    challenge: Challenge
    briefing: CliResult | None = None
    live_at_boot: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)
    armed_at_boot: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)
    by_hand: dict[str, str] = field(default_factory=dict)
    hints: list[CliResult] = field(default_factory=list)
    hints_remembered: int = 0
    nothing_cli: CliResult | None = None
    nothing: Grade | None = None
    stop_only: Grade | None = None
    revived: dict[str, bool] = field(default_factory=dict)
    rest: Grade | None = None
    error: str = ""


def _revive_through(lab: lab_module.Lab, challenge: Challenge, source: RevivalSource) -> bool:
    """Only this source may act (the other unit sources are stopped): does it revive the unit?"""
    target = challenge.target
    root_is_unit = source.kind not in ("restart-policy", "bus-activation")
    if not source.stop_target:
        lab.systemctl("start", "--", target)
        assert wait_until(lambda: is_active(lab, target), timeout=REVIVAL_TIMEOUT)
        since = int(_show(lab, target, "ActiveEnterTimestampMonotonic"))
    else:
        _stop(lab, target)
        since = int(_show(lab, target, "InactiveEnterTimestampMonotonic"))
        if root_is_unit:
            lab.systemctl("start", "--", source.chain[0])
    if source.provoke is not None:
        lab.exec(list(source.provoke), timeout=30)
    came_back = wait_until(
        lambda: _show(lab, target, "ActiveState") == "active"
        and int(_show(lab, target, "ActiveEnterTimestampMonotonic")) > since,
        timeout=REVIVAL_TIMEOUT)
    if root_is_unit:
        _stop(lab, source.chain[0])
    return came_back


def run_grading(level: int, seed: int) -> GradingOutcome:
    challenge = generate_challenge(level, seed)
    outcome = GradingOutcome(challenge)
    name = _lab_name("g", level, seed)
    try:
        outcome.briefing = run_cli("lab", "challenge", "--level", str(level), "--seed",
                                   str(seed), "--name", name)
        if outcome.briefing.code != 0:
            return outcome
        running = load_challenge(name)
        lab, target = running.lab, challenge.target
        _code, document = diagnose_json(lab, target)
        outcome.live_at_boot = {(f["kind"], f["source"], tuple(f["chain"]))
                                for f in document["findings"] if f["live"]}
        outcome.armed_at_boot = {(f["kind"], f["source"], tuple(f["chain"]))
                                 for f in document["findings"] if f["armed"]}

        # The manual commands the hints and the report give, run inside as a trainee would.
        for source in challenge.sources:
            commands = " ; ".join(check_commands(source.kind, target))
            outcome.by_hand[source.source] = lab.exec(["bash", "-c", commands]).stdout

        outcome.hints = [run_cli("lab", "hint", "--name", name) for _ in range(HINTS_ASKED)]
        outcome.hints_remembered = hints_given(running)

        # The trainee does nothing: through the CLI (exit status, text), then the grade.
        outcome.nothing_cli = run_cli("lab", "check", "--name", name, "--seconds",
                                      str(CHECK_SECONDS))
        outcome.nothing = grade_attempt(running, CHECK_SECONDS)
        # The trainee only stops the unit.
        _stop(lab, target)
        outcome.stop_only = grade_attempt(running, CHECK_SECONDS)

        # Each source on its own: quiet every unit source, then wake them one at a time.
        roots = [s.chain[0] for s in challenge.sources
                 if s.kind not in ("restart-policy", "bus-activation")]
        if roots:
            _stop(lab, *roots)
        for source in challenge.sources:
            outcome.revived[source.source] = _revive_through(lab, challenge, source)

        # Every unit source stopped by hand: only D-Bus activation (if any) is left.
        _stop(lab, target)
        time.sleep(0.5)
        outcome.rest = grade_attempt(running, CHECK_SECONDS)
    except Exception as error:  # reported per case by the tests below
        outcome.error = repr(error)
    finally:
        lab_module.down(name)
    return outcome


@dataclass
class PlanOutcome:
    """What the plan lab saw."""

    challenge: Challenge
    plan: CliResult | None = None
    applied: tuple[int, str, str] = (0, "", "")
    check: CliResult | None = None
    decoy: str = ""
    broke: Grade | None = None
    error: str = ""


def run_plan(level: int, seed: int, workdir: Path) -> PlanOutcome:
    challenge = generate_challenge(level, seed)
    outcome = PlanOutcome(challenge)
    name = _lab_name("p", level, seed)
    try:
        running = start_challenge(level, seed, name)
        lab, target = running.lab, challenge.target
        output = workdir / name / "fix.sh"
        outcome.plan = run_cli("plan", "--lab", name, "-o", str(output), target)
        if outcome.plan.code != 0 or not output.exists():
            return outcome
        result = lab.exec(["bash", "-s", "--"], input_text=output.read_text(), timeout=300)
        outcome.applied = (result.returncode, result.stdout, result.stderr)
        outcome.check = run_cli("lab", "check", "--name", name, "--seconds", str(CHECK_SECONDS))

        # Now break what the challenge did not involve: the unit stays down, yet it fails.
        outcome.decoy = challenge.distractors[0]
        lab.systemctl("mask", "systemd-logind.service")
        _stop(lab, outcome.decoy)
        outcome.broke = grade_attempt(running, 2)
    except Exception as error:  # reported per case by the tests below
        outcome.error = repr(error)
    finally:
        lab_module.down(name)
    return outcome


@pytest.fixture(scope="module")
def outcomes() -> Iterator[tuple[dict[tuple[int, int], GradingOutcome],
                                 dict[tuple[int, int], PlanOutcome]]]:
    reason = lab_unavailable_reason()
    if reason is not None:
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(PARALLEL_LABS) as pool:
        grading = {case: pool.submit(run_grading, *case) for case in SEEDS}
        plans = {case: pool.submit(run_plan, *case, Path(workdir)) for case in SEEDS}
        yield ({case: f.result() for case, f in grading.items()},
               {case: f.result() for case, f in plans.items()})


def test_the_sampled_seeds_cover_every_template_and_level():
    seen = {t for case in SEEDS for t in generate_challenge(*case).templates}
    assert seen == set(TEMPLATE_NAMES)
    assert {level for level, _seed in SEEDS} == set(LEVELS)


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_the_briefing_names_only_the_target(outcomes, case):
    outcome = outcomes[0][case]
    assert outcome.error == ""
    assert outcome.briefing is not None
    assert outcome.briefing.code == ExitCode.OK
    text = outcome.briefing.stdout
    assert f"{outcome.challenge.target} keeps coming back" in text
    assert "staydown lab exec --name" in text
    assert "nsenter --target" in text
    assert "staydown lab hint" in text
    assert "staydown lab check" in text
    for source in outcome.challenge.sources:
        if source.source != outcome.challenge.target:
            assert source.source not in text


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_the_catalogue_is_what_diagnose_finds_live(outcomes, case):
    outcome = outcomes[0][case]
    assert outcome.error == ""
    # A restart policy that acts only on a running unit (after a kill) is armed
    # at boot, not live: nothing has restarted the unit yet (issue 10).
    assert outcome.live_at_boot == {(s.kind, s.source, s.chain)
                                    for s in outcome.challenge.sources if s.stop_target}
    # Armed: any restart policy of a running unit, catalogued or not (a challenge
    # may give its unit Restart=on-failure as a decoy).
    assert {(s.kind, s.source, s.chain) for s in outcome.challenge.sources
            if not s.stop_target} <= outcome.armed_at_boot
    assert {kind for kind, _, _ in outcome.armed_at_boot} <= {"restart-policy"}


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_the_manual_commands_for_each_kind_show_the_source(outcomes, case):
    outcome = outcomes[0][case]
    assert outcome.error == ""
    for source in outcome.challenge.sources:
        shown = outcome.by_hand[source.source]
        if source.kind == "restart-policy":
            assert "Restart=always" in shown
        else:
            assert any(node in shown for node in source.chain[:-1]), (source, shown)


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_hints_come_in_order_and_are_remembered(outcomes, case):
    outcome = outcomes[0][case]
    assert outcome.error == ""
    hints = hint_sequence(outcome.challenge)
    name = _lab_name("g", *case)
    assert [h.stdout for h in outcome.hints] == [
        render_hint(hints, number, name, outcome.challenge.target)
        for number in range(1, HINTS_ASKED + 1)]
    assert outcome.hints_remembered == HINTS_ASKED
    assert outcome.nothing is not None
    assert outcome.nothing.hints_used == HINTS_ASKED


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_the_check_fails_when_the_trainee_does_nothing(outcomes, case):
    outcome = outcomes[0][case]
    assert outcome.error == ""
    assert outcome.nothing_cli is not None
    assert outcome.nothing_cli.code == ExitCode.CHECK_FAILED
    assert int(ExitCode.CHECK_FAILED) == 1
    assert outcome.nothing_cli.stdout.startswith("FAIL")
    grade = outcome.nothing
    assert grade is not None
    assert not grade.passed
    assert grade.revival is not None
    assert grade.revival.before_check
    # Every source is live while the unit runs, and all are named.
    assert _source_names(grade) == {s.source for s in outcome.challenge.sources}
    assert grade.broken == ()


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_the_check_names_the_source_when_only_the_unit_is_stopped(outcomes, case):
    outcome = outcomes[0][case]
    assert outcome.error == ""
    grade = outcome.stop_only
    assert grade is not None
    assert not grade.passed
    assert grade.revival is not None
    reviving = {s.source for s in outcome.challenge.sources if s.kind != "restart-policy"}
    if grade.revival.before_check:
        # Back before the check's first look (Upholds= acts at once): then the
        # restart policy, live again, cannot be ruled out either.
        reviving |= {s.source for s in outcome.challenge.sources}
    named = _source_names(grade)
    assert named == reviving, "a stop neutralises none of them; all but Restart= revive it"
    if case[0] == 1:
        assert len(named) == 1
    assert grade.broken == ()


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_every_source_brings_the_stopped_unit_back_on_its_own(outcomes, case):
    outcome = outcomes[0][case]
    assert outcome.error == ""
    assert outcome.revived == {s.source: True for s in outcome.challenge.sources}


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_with_every_unit_source_stopped_the_check_names_exactly_what_is_left(outcomes, case):
    outcome = outcomes[0][case]
    assert outcome.error == ""
    grade = outcome.rest
    assert grade is not None
    bus = {s.source for s in outcome.challenge.sources if s.kind == "bus-activation"}
    assert grade.broken == (), "stopping a challenge's own units breaks nothing unrelated"
    if bus:
        assert not grade.passed
        assert _source_names(grade) == bus
        # Restart=always is live again once the unit runs, but it did not start it.
        restart = {s.source for s in outcome.challenge.sources if s.kind == "restart-policy"}
        neutralised = {s.source.source for s in grade.sources if not s.live}
        assert neutralised == {s.source for s in outcome.challenge.sources} - bus - restart
        assert "Already neutralised:" in render_grade(grade)
    else:
        assert grade.passed, render_grade(grade)


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_the_wizards_plan_passes_the_check(outcomes, case):
    outcome = outcomes[1][case]
    assert outcome.error == ""
    assert outcome.plan is not None
    assert outcome.plan.code == ExitCode.OK, outcome.plan
    code, stdout, stderr = outcome.applied
    assert code == 0, (stdout, stderr)
    assert outcome.check is not None
    assert (outcome.check.code, outcome.check.stderr) == (ExitCode.OK, ""), outcome.check.stdout
    assert outcome.check.stdout.startswith(f"PASS  {outcome.challenge.target} stayed down")


@pytest.mark.parametrize("case", SEEDS, ids=_ids)
def test_breaking_an_unrelated_unit_fails_the_check(outcomes, case):
    outcome = outcomes[1][case]
    assert outcome.error == ""
    grade = outcome.broke
    assert grade is not None
    assert not grade.passed
    assert grade.revival is None, "the unit itself stayed down"
    assert {(b.unit, b.change) for b in grade.broken} == {
        ("systemd-logind.service", "masked"), (outcome.decoy, "stopped")}
    assert "You broke units the challenge did not involve" in render_grade(grade)


def test_check_and_hint_refuse_a_lab_that_is_no_challenge(lab_factory):
    lab = lab_factory("control")
    for action in ("check", "hint"):
        result = run_cli("lab", action, "--name", lab.name)
        assert result.code == ExitCode.LAB_FAILED
        assert f"lab {lab.name!r} is not a practice challenge" in result.stderr
