"""Grading without a lab: the judgement of broken units, matching findings to the
catalogue, the watch loop on a pretend lab, and the report's wording.

The same grading on a real systemd is tests/test_lab_practice.py.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from typing import cast

from wizard.analysis.findings import Diagnosis, Evidence, Finding, FindingKind, Remedy, TargetState
from wizard.lab.catalogue import RevivalSource
from wizard.lab.nspawn import Lab
from wizard.practice.generator import Challenge, generate_challenge
from wizard.practice.grading import (
    Grade,
    Revival,
    broken_units,
    render_grade,
    source_statuses,
    watch_target,
)
from wizard.practice.lab import UnitState

ACTIVE = UnitState("loaded", "active", "running", "enabled")
STATIC = UnitState("loaded", "active", "running", "static")


def test_nothing_changed_is_nothing_broken():
    baseline = {"a.service": ACTIVE, "b.timer": STATIC}
    assert broken_units(baseline, dict(baseline), frozenset()) == ()


def test_each_way_of_breaking_a_unit_is_named():
    baseline = {
        "failed.service": ACTIVE,
        "masked.service": STATIC,
        "disabled.service": ACTIVE,
        "stopped.timer": UnitState("loaded", "active", "waiting", "enabled"),
        "removed.service": ACTIVE,
    }
    now = {
        "failed.service": UnitState("loaded", "failed", "failed", "enabled"),
        "masked.service": UnitState("masked", "active", "running", "masked-runtime"),
        "disabled.service": UnitState("loaded", "active", "running", "disabled"),
        "stopped.timer": UnitState("loaded", "inactive", "dead", "enabled"),
    }
    broken = {b.unit: b.change for b in broken_units(baseline, now, frozenset())}
    assert broken == {"failed.service": "failed", "masked.service": "masked",
                      "disabled.service": "disabled", "stopped.timer": "stopped",
                      "removed.service": "removed"}
    undo = {b.unit: b.undo for b in broken_units(baseline, now, frozenset())}
    assert undo["masked.service"] == "systemctl unmask masked.service"
    assert undo["stopped.timer"] == "systemctl start stopped.timer"


def test_involved_units_aliases_and_units_that_end_by_themselves_are_not_broken():
    baseline = {
        "target.service": ACTIVE,
        "alias.service": UnitState("loaded", "active", "running", "alias"),
        "job.service": UnitState("loaded", "activating", "start", "static"),
        "was-failed.service": UnitState("loaded", "failed", "failed", "static"),
        "idle.service": UnitState("loaded", "inactive", "dead", "static"),
    }
    now = {
        "target.service": UnitState("masked", "inactive", "dead", "masked"),
        "alias.service": UnitState("masked", "inactive", "dead", "masked"),
        "job.service": UnitState("loaded", "inactive", "dead", "static"),
        "was-failed.service": UnitState("loaded", "failed", "failed", "static"),
        "idle.service": UnitState("loaded", "inactive", "dead", "static"),
    }
    assert broken_units(baseline, now, frozenset({"target.service"})) == ()


def _finding(kind: FindingKind, chain: tuple[str, ...], live: bool = True) -> Finding:
    return Finding(kind, chain[0], chain, live, (Evidence(chain[0], "ActiveState=active"),),
                   f"{chain[0]} starts it", (Remedy("stop", (chain[0],), f"stop {chain[0]}"),))


def _diagnosis(unit: str, *findings: Finding) -> Diagnosis:
    state = TargetState("loaded", "active", "running", "enabled", "", (), "", "success", "")
    return Diagnosis(unit, state, findings)


def _article_like() -> tuple[RevivalSource, RevivalSource, RevivalSource]:
    target = "w.service"
    return (
        RevivalSource("socket", "socket-own", "w.socket", ("w.socket", target), "listens"),
        RevivalSource("dependency", "dependency-wants", "r.timer",
                      ("r.timer", "r.service", target), "fires"),
        RevivalSource("restart-policy", "restart-always", target, (target,), "restarts",
                      ("systemctl", "kill", target), stop_target=False),
    )


def test_live_findings_are_matched_to_the_catalogue_by_kind_and_chain():
    challenge = replace(generate_challenge(2, 1), target="w.service", sources=_article_like())
    diagnosis = _diagnosis(
        "w.service",
        _finding(FindingKind.SOCKET, ("w.socket", "w.service")),
        # The chain's root moved up (a target started by the timer): still that source.
        _finding(FindingKind.DEPENDENCY, ("x.timer", "r.service", "w.service")),
        _finding(FindingKind.RESTART_POLICY, ("w.service",)),
        _finding(FindingKind.PATH, ("stray.path", "w.service")),
        _finding(FindingKind.BOOT, ("multi-user.target", "w.service"), live=False),
    )
    statuses, other = source_statuses(challenge, diagnosis)
    assert [len(s.live) for s in statuses] == [1, 1, 1]
    assert [f.source for f in other] == ["stray.path"]


def test_a_neutralised_source_has_no_live_finding():
    challenge = replace(generate_challenge(2, 1), target="w.service", sources=_article_like())
    diagnosis = _diagnosis("w.service",
                           _finding(FindingKind.SOCKET, ("w.socket", "w.service"), live=False),
                           _finding(FindingKind.DEPENDENCY, ("r.timer", "r.service", "w.service")))
    statuses, other = source_statuses(challenge, diagnosis)
    assert [bool(s.live) for s in statuses] == [False, True, False]
    assert other == ()


class PretendLab:
    """Answers systemctl show for the target; the target comes back after N provocations."""

    name = "pretend"

    def __init__(self, revive_after: int | None, running: bool = False) -> None:
        self.revive_after = revive_after
        self.running = running
        self.provoked: list[tuple[str, ...]] = []

    def exec(self, command, **_options):
        if command[:2] == ["systemctl", "show"]:
            up = self.running or (self.revive_after is not None
                                  and len(self.provoked) >= self.revive_after)
            text = ("ActiveState=active\nSubState=running\nInactiveExitTimestampMonotonic=9\n"
                    if up else
                    "ActiveState=inactive\nSubState=dead\nInactiveExitTimestampMonotonic=5\n")
            return subprocess.CompletedProcess(command, 0, text, "")
        self.provoked.append(tuple(command))
        return subprocess.CompletedProcess(command, 0, "", "")


class PretendClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _challenge_with_provokes() -> Challenge:
    challenge = generate_challenge(2, 1)
    sources = (
        RevivalSource("socket", "socket-own", "w.socket", ("w.socket", challenge.target),
                      "listens", ("bash", "-c", "connect")),
        RevivalSource("timer", "timer-own", "w.timer", ("w.timer", challenge.target), "fires"),
    )
    return replace(challenge, sources=sources)


def test_the_watch_provokes_every_source_each_second_and_passes_when_nothing_comes_back():
    challenge = _challenge_with_provokes()
    lab, clock = PretendLab(None), PretendClock()
    revival, provoked = watch_target(cast(Lab, lab), challenge, 10, clock=clock, sleep=clock.sleep)
    assert revival is None
    assert provoked == 10, "one provocation per second for the one source that has one"
    assert set(lab.provoked) == {("bash", "-c", "connect")}
    assert clock.now >= 10


def test_the_watch_stops_at_the_first_revival():
    challenge = _challenge_with_provokes()
    lab, clock = PretendLab(3), PretendClock()
    revival, provoked = watch_target(cast(Lab, lab), challenge, 30, clock=clock, sleep=clock.sleep)
    assert revival is not None
    assert not revival.before_check
    assert 2 <= revival.after_seconds < 3
    assert provoked == 3


def test_a_running_target_fails_before_the_watch_begins():
    challenge = _challenge_with_provokes()
    lab, clock = PretendLab(None, running=True), PretendClock()
    revival, provoked = watch_target(cast(Lab, lab), challenge, 30, clock=clock, sleep=clock.sleep)
    assert revival == Revival(0.0, "active (running)", True)
    assert provoked == 0
    assert lab.provoked == []


def _grade(**changes) -> Grade:
    challenge = replace(generate_challenge(2, 1), target="w.service", sources=_article_like())
    base = Grade(challenge, "lab1", 30.0, None, (), 250, 60, 2)
    return replace(base, **changes)


def test_a_pass_says_so_and_reveals_the_sources_with_their_steps():
    text = render_grade(_grade())
    assert text.startswith("PASS  w.service stayed down for 30 s")
    assert "250 units compared" in text
    assert "socket  w.socket listens (step 2, sockets and other triggers)" in text
    assert "dependency  r.timer fires (step 3, reverse dependencies)" in text
    assert "Hints used: 2." in text
    assert "FAIL" not in text


def test_a_fail_names_the_live_source_how_the_wizard_finds_it_and_what_is_done():
    challenge = replace(generate_challenge(2, 1), target="w.service", sources=_article_like())
    statuses, _ = source_statuses(challenge, _diagnosis(
        "w.service",
        _finding(FindingKind.DEPENDENCY, ("r.timer", "r.service", "w.service")),
        _finding(FindingKind.RESTART_POLICY, ("w.service",))))
    grade = _grade(revival=Revival(3.5, "active (running)"), sources=statuses,
                   journal=("Started w.service.",))
    text = render_grade(grade)
    assert text.startswith("FAIL")
    assert "w.service came back 3.5 s into the check (active (running))." in text
    live = text.split("Still live")[1]
    assert "dependency  r.timer → r.service → w.service" in live
    assert "how the wizard finds it: step 3, reverse dependencies:" in live
    assert "$ systemctl list-dependencies --reverse w.service" in live
    assert "to neutralise it: stop r.timer" in live
    # The restart policy never undoes a clean stop: named apart, not as the culprit.
    assert "restart-policy  w.service" not in live.split("Also live")[0]
    assert "Also live now that it runs again: restart-policy  w.service restarts" in text
    assert "Already neutralised: socket  w.socket listens" in text
    assert "Started w.service." in text
    assert "staydown lab check --name lab1" in text


def test_a_fail_for_broken_units_says_how_to_put_them_back():
    broken = broken_units({"systemd-logind.service": STATIC},
                          {"systemd-logind.service": UnitState("masked", "active", "running",
                                                               "masked")}, frozenset())
    text = render_grade(_grade(broken=broken))
    assert text.startswith("FAIL")
    assert "You broke units the challenge did not involve" in text
    assert "systemd-logind.service: masked" in text
    assert "Put it back: systemctl unmask systemd-logind.service" in text
    assert "came back" not in text


def test_names_from_the_lab_cannot_reach_the_terminal_raw():
    text = render_grade(_grade(revival=Revival(1.0, "active (running)"),
                               journal=("evil \x1b]0;title\x07 line",)))
    assert "\x1b" not in text
    assert "\\x1b" in text
