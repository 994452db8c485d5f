"""Grading a challenge: the unit must stay down while every source keeps firing.

``grade_attempt`` watches the running challenge lab: every second it runs each
source's provoke command (a connection, a file, a D-Bus call, a kill; timers
fire by themselves), and it samples the target four times a second. A pass needs
the target down the whole time and no unrelated unit broken compared with the
baseline taken at boot. On a revival it runs the diagnosis on the lab to name
the catalogue's sources that are still live, with their evidence and the
article's step that finds them. The judgement itself (``broken_units``,
``source_statuses``) and the report (``render_grade``) are pure.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from wizard.analysis.findings import REPORT_STEPS, Diagnosis, Finding
from wizard.analysis.kinds.all_kinds import check_commands
from wizard.errors import LabError, StaydownError
from wizard.lab.catalogue import RevivalSource
from wizard.lab.nspawn import Lab
from wizard.output.terminal_text import printable
from wizard.practice.generator import Challenge
from wizard.practice.hints import STEP_OF_KIND
from wizard.practice.lab import RunningChallenge, UnitState, hints_given, unit_states
from wizard.system.neighbourhood import diagnose_unit
from wizard.system.systemd import systemd_client

PROVOKE_EVERY = 1.0
SAMPLE_EVERY = 0.25
PROVOKE_TIMEOUT = 10.0
DOWN = frozenset({"inactive", "failed"})
MASKED = frozenset({"masked", "masked-runtime"})


@dataclass(frozen=True)
class BrokenUnit:
    """A unit the challenge did not involve, worse off than at boot."""

    unit: str
    change: str
    """``failed``, ``masked``, ``disabled``, ``stopped`` or ``removed``."""
    was: UnitState
    now: UnitState | None

    @property
    def undo(self) -> str:
        """The command that puts it back."""
        return {
            "masked": f"systemctl unmask {self.unit}",
            "disabled": f"systemctl enable {self.unit}",
            "failed": f"systemctl reset-failed {self.unit}; systemctl start {self.unit}",
        }.get(self.change, f"systemctl start {self.unit}")


@dataclass(frozen=True)
class Revival:
    """The target was up during the check (or already before it)."""

    after_seconds: float
    state: str
    before_check: bool = False


@dataclass(frozen=True)
class SourceStatus:
    """One catalogued source and the live findings of the diagnosis that are it."""

    source: RevivalSource
    live: tuple[Finding, ...]


@dataclass(frozen=True)
class Grade:
    """The outcome of one ``staydown lab check``."""

    challenge: Challenge
    lab_name: str
    seconds: float
    revival: Revival | None
    broken: tuple[BrokenUnit, ...]
    compared: int
    provoked: int
    hints_used: int
    sources: tuple[SourceStatus, ...] = ()
    other_live: tuple[Finding, ...] = ()
    diagnose_error: str = ""
    journal: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Down the whole time, and nothing unrelated broken."""
        return self.revival is None and not self.broken

    @property
    def still_live(self) -> tuple[SourceStatus, ...]:
        """The catalogued sources the diagnosis sees live."""
        return tuple(s for s in self.sources if s.live)

    @property
    def could_revive(self) -> tuple[SourceStatus, ...]:
        """The live sources that can have started the unit while it was down.

        The restart policy never undoes a clean stop: it is live only because
        the unit runs again, so it is named apart unless the unit was never
        stopped at all.
        """
        before = self.revival is not None and self.revival.before_check
        return tuple(s for s in self.still_live
                     if before or s.source.kind != "restart-policy")


def broken_units(baseline: Mapping[str, UnitState], now: Mapping[str, UnitState],
                 involved: frozenset[str]) -> tuple[BrokenUnit, ...]:
    """Units outside the challenge that are failed, masked, disabled or stopped since boot.

    Only a change for the worse counts, and only from a settled state: a unit
    that was merely activating at boot (a oneshot run by a timer) and is
    inactive now ended by itself.
    """
    broken = []
    for unit, was in sorted(baseline.items()):
        if unit in involved or was.file_state == "alias":
            continue  # an alias changes with the unit it names, which is listed itself
        after = now.get(unit)
        if after is None:
            if was.active == "active" or was.file_state.startswith("enabled"):
                broken.append(BrokenUnit(unit, "removed", was, None))
            continue
        if after.active == "failed" and was.active != "failed":
            change = "failed"
        elif after.file_state in MASKED and was.file_state not in MASKED:
            change = "masked"
        elif was.file_state.startswith("enabled") and after.file_state == "disabled":
            change = "disabled"
        elif was.active == "active" and after.active in DOWN:
            change = "stopped"
        else:
            continue
        broken.append(BrokenUnit(unit, change, was, after))
    return tuple(broken)


def _is_this_source(finding: Finding, source: RevivalSource) -> bool:
    if finding.kind.value != source.kind:
        return False
    if finding.source == source.source:
        return True
    # A chain's root moves when part of it is stopped (an upholder pulled in by a
    # timer); any shared link above the target still makes it the same source.
    return bool(set(finding.chain[:-1]) & set(source.chain[:-1]))


def source_statuses(challenge: Challenge, diagnosis: Diagnosis
                    ) -> tuple[tuple[SourceStatus, ...], tuple[Finding, ...]]:
    """Each catalogued source with its live findings; and live findings outside the catalogue.

    An armed restart policy counts here: while the unit runs, a kill or a crash
    brings it back, which is what a check that provokes sources must name.
    """
    candidates = tuple(f for f in diagnosis.findings if f.live or f.armed)
    statuses = tuple(
        SourceStatus(source, tuple(f for f in candidates if _is_this_source(f, source)))
        for source in challenge.sources
    )
    matched = {id(f) for status in statuses for f in status.live}
    return statuses, tuple(f for f in diagnosis.live_findings if id(f) not in matched)


def _target_state(booted: Lab, target: str) -> dict[str, str]:
    result = booted.exec(["systemctl", "show", "-p", "ActiveState", "-p", "SubState",
                          "-p", "InactiveExitTimestampMonotonic", "--", target], timeout=30)
    state = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    if result.returncode != 0 or "ActiveState" not in state:
        raise LabError(f"cannot read {target} in lab {booted.name}: {result.stderr.strip()}",
                       "is the lab still running? staydown lab status")
    return state


def _provoke(booted: Lab, sources: tuple[RevivalSource, ...]) -> int:
    fired = 0
    for source in sources:
        if source.provoke is None:
            continue
        # A provocation that hangs (a D-Bus call to a held unit) still counts as tried.
        with contextlib.suppress(subprocess.TimeoutExpired):
            booted.exec(list(source.provoke), timeout=PROVOKE_TIMEOUT)
        fired += 1
    return fired


def watch_target(booted: Lab, challenge: Challenge, seconds: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> tuple[Revival | None, int]:
    """Keep every source firing for ``seconds``; the first revival seen, and provocations made.

    A revival is the target leaving inactive/failed at all (its
    InactiveExitTimestampMonotonic moves), so a start that failed at once
    still counts.
    """
    state = _target_state(booted, challenge.target)
    if state["ActiveState"] not in DOWN:
        return Revival(0.0, f"{state['ActiveState']} ({state['SubState']})", True), 0
    left_inactive = state.get("InactiveExitTimestampMonotonic", "")
    start = clock()
    next_provoke = start
    provoked = 0
    while (elapsed := clock() - start) < seconds:
        if clock() >= next_provoke:
            provoked += _provoke(booted, challenge.sources)
            next_provoke += PROVOKE_EVERY
        state = _target_state(booted, challenge.target)
        if (state["ActiveState"] not in DOWN
                or state.get("InactiveExitTimestampMonotonic", "") != left_inactive):
            return Revival(round(clock() - start, 1),
                           f"{state['ActiveState']} ({state['SubState']})"), provoked
        sleep(min(SAMPLE_EVERY, max(0.0, seconds - elapsed)))
    return None, provoked


def _diagnosis(booted: Lab, target: str) -> tuple[Diagnosis | None, str]:
    try:
        with systemd_client(booted.connection) as client:
            _snapshot, diagnosis = diagnose_unit(client, target)
    except StaydownError as error:
        return None, error.message
    return diagnosis, ""


def grade_attempt(running: RunningChallenge, seconds: float) -> Grade:
    """Run the check on a running challenge lab."""
    challenge, booted = running.challenge, running.lab
    revival, provoked = watch_target(booted, challenge, seconds)
    broken = broken_units(running.baseline, unit_states(booted), challenge.involved_units)
    grade = Grade(challenge, booted.name, seconds, revival, broken, len(running.baseline),
                  provoked, hints_given(running))
    if revival is None:
        return grade
    diagnosis, error = _diagnosis(booted, challenge.target)
    journal = booted.exec(["journalctl", "--no-pager", "-o", "short-precise", "-n", "8",
                           "-u", challenge.target]).stdout.splitlines()
    if diagnosis is None:
        return replace(grade, diagnose_error=error, journal=tuple(journal))
    statuses, other = source_statuses(challenge, diagnosis)
    return replace(grade, sources=statuses, other_live=other, journal=tuple(journal))


# --- the report --------------------------------------------------------------------


def _describe(source: RevivalSource, target: str) -> str:
    if source.kind == "restart-policy":
        return f"restart-policy  {target} {source.detail}"
    return f"{source.kind}  {source.source} {source.detail}"


def _how_found(kind: str, target: str) -> list[str]:
    step = STEP_OF_KIND.get(kind, 4)
    lines = [f"    how the wizard finds it: step {step}, {REPORT_STEPS[step - 1][0].lower()}:"]
    lines.extend(f"      $ {command}" for command in check_commands(kind, target))
    return lines


def _live_lines(finding: Finding, target: str) -> list[str]:
    lines = [f"  {finding.kind.value}  " + " → ".join(finding.chain),
             f"    {finding.explanation}"]
    lines.extend(f"    evidence: {e.subject}: {e.fact}" for e in finding.evidence)
    lines.extend(_how_found(finding.kind.value, target))
    if finding.remedies:
        lines.append("    to neutralise it: " + "; or ".join(r.summary for r in finding.remedies))
    return lines


def render_grade(grade: Grade) -> str:
    """The graded report, plain text; every name from the lab made printable."""
    challenge, target = grade.challenge, grade.challenge.target
    lines: list[str] = []
    if grade.passed:
        lines.append(f"PASS  {target} stayed down for {grade.seconds:g} s while every source "
                     f"kept firing ({grade.provoked} provocations; timers fire by themselves).")
        lines.append(f"No unrelated unit was broken ({grade.compared} units compared with their "
                     "state at boot).")
        lines.append("What kept bringing it back, and the step of the article that finds it:")
        for source in sorted(challenge.sources, key=lambda s: STEP_OF_KIND[s.kind]):
            step = STEP_OF_KIND[source.kind]
            lines.append(f"  - {_describe(source, target)} (step {step}, "
                         f"{REPORT_STEPS[step - 1][0].lower()})")
    else:
        lines.append(f"FAIL  level {challenge.level} challenge on {target}")
    revival = grade.revival
    if revival is not None:
        if revival.before_check:
            lines.append(f"{target} is {revival.state} before the check even starts: it must "
                         "be stopped, and stay stopped.")
        else:
            lines.append(f"{target} came back {revival.after_seconds:g} s into the check "
                         f"({revival.state}).")
        if grade.diagnose_error:
            lines.append(f"The diagnosis could not run on the lab: {grade.diagnose_error}")
        elif grade.could_revive:
            lines.append("Still live, so any of these can have brought it back:")
            for status in grade.could_revive:
                for finding in status.live:
                    lines.extend(_live_lines(finding, target))
        else:
            lines.append("No source of the challenge is live now: something else started it "
                         "(did you start it yourself, or run a command that does?).")
        for status in grade.still_live:
            if status not in grade.could_revive:
                lines.append("Also live now that it runs again: "
                             f"{_describe(status.source, target)} (a kill would be undone too; "
                             "a clean stop is respected).")
        for finding in grade.other_live:
            lines.append("Also live, though not part of the challenge:")
            lines.extend(_live_lines(finding, target))
        done = [s.source for s in grade.sources if not s.live]
        if done:
            lines.append("Already neutralised: "
                         + "; ".join(_describe(s, target) for s in done))
        if grade.journal:
            lines.append(f"The last lines of its journal (journalctl -u {target} "
                         "-o short-precise):")
            lines.extend(f"  {line}" for line in grade.journal)
    if grade.broken:
        lines.append("You broke units the challenge did not involve (a fix touches only what "
                     "brings the unit back):")
        for unit in grade.broken:
            now = (f"{unit.now.active} ({unit.now.sub}), {unit.now.file_state or 'no file'}"
                   if unit.now else "gone")
            was = f"{unit.was.active} ({unit.was.sub}), {unit.was.file_state or 'no file'}"
            lines.append(f"  {unit.unit}: {unit.change}; now {now}, at boot {was}. "
                         f"Put it back: {unit.undo}")
    lines.append(f"Hints used: {grade.hints_used}.")
    if not grade.passed:
        lines.append(f"Fix it inside the lab, then: staydown lab check --name {grade.lab_name}"
                     f"   (a hint: staydown lab hint --name {grade.lab_name})")
    return "\n".join(printable(line) for line in lines) + "\n"
