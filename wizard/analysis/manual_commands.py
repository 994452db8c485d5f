"""The article's read-only commands for each of the four steps, as argument lists.

Pure: a diagnosis in, the commands a trainee would type by hand out, each
with what to look for in its output. No shell is ever involved: where the
article pipes through ``grep``, the words to keep are data (``grep``) and
the caller filters the lines itself. The connection's flags (``--user``,
``--machine``) are added by ``wizard.system.manual_run``, which runs them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from wizard.analysis.findings import REPORT_STEPS, Diagnosis, Finding, FindingKind

JOURNAL_LINES = 40
"""At most this many journal lines are shown; the article's line has no limit."""


@dataclass(frozen=True)
class ManualCommand:
    """One command of the manual route, and what its output shows."""

    argv: tuple[str, ...]
    look_for: str
    grep: tuple[str, ...] = ()
    """Keep only lines with one of these words, as the article's ``| grep`` does."""
    tail: int = 0
    """Show only the last lines (0: all of them)."""
    exits: tuple[tuple[int, str], ...] = ()
    """What a non-zero exit status means here (systemctl(1), grep(1)): not an error."""

    def exit_meaning(self, status: int | None) -> str:
        """The meaning of ``status`` for this command, or empty when it has none."""
        return dict(self.exits).get(status or 0, "")


@dataclass(frozen=True)
class ManualRun:
    """What one command printed, or why it was not run."""

    shown: str
    """The command as the operator would type it against this connection."""
    output: str = ""
    status: int | None = None
    """Its exit status; None when it was not run."""
    not_run: str = ""
    """Why it was not run here (empty when it ran)."""


def _stem(unit: str) -> str:
    return unit.rpartition(".")[0] or unit


def step_findings(diagnosis: Diagnosis, number: int) -> list[Finding]:
    """The findings reported under step ``number`` (1 to 4)."""
    _title, kinds = REPORT_STEPS[number - 1]
    return [f for f in diagnosis.findings if f.kind in kinds]


def _status(unit: str, look_for: str) -> ManualCommand:
    return ManualCommand(("systemctl", "status", "--no-pager", "--lines=5", unit), look_for,
                         exits=((3, "the unit is not running"), (4, "no such unit")))


def _status_step(diagnosis: Diagnosis) -> list[ManualCommand]:
    unit = diagnosis.unit
    triggers = [f.source for f in diagnosis.findings
                if f.kind in REPORT_STEPS[1][1] and f.source.endswith((".socket", ".timer",
                                                                      ".path", ".automount"))]
    journal = ["journalctl", "-u", unit]
    for trigger in dict.fromkeys(triggers):
        journal += ["-u", trigger]
    journal += ["--since", "10 min ago", "-o", "short-precise", "--no-pager"]
    return [
        _status(unit, "Active: failed, or a clean start? TriggeredBy: names a trigger."),
        ManualCommand(
            ("systemctl", "show", "-p", "Restart,RestartUSec,NRestarts,Result", unit),
            "NRestarts=0 and Result=success: nothing failed, so Restart= restarted nothing.",
        ),
        ManualCommand(
            tuple(journal),
            "A failure logs code=exited or code=killed and a countdown (Scheduled restart "
            "job); a start by something else is a clean Started line with no failure before.",
            tail=JOURNAL_LINES,
        ),
    ]


def _trigger_step(diagnosis: Diagnosis) -> list[ManualCommand]:
    unit = diagnosis.unit
    found = step_findings(diagnosis, 2)
    words = tuple(dict.fromkeys([_stem(unit), *(_stem(f.source) for f in found)]))
    commands = [
        ManualCommand(("systemctl", "show", "-p", "TriggeredBy", unit),
                      "The units that start it when they fire; empty when nothing does."),
        ManualCommand(("systemctl", "list-units", "--type=socket", "--all", "--no-pager"),
                      "A socket of the same name, active and listening, holds the door open.",
                      grep=words),
        ManualCommand(("systemctl", "list-timers", "--all", "--no-pager"),
                      "A timer that ACTIVATES it, or a unit that wants it, fires on its own."),
    ]
    kinds = {f.kind for f in found}
    if FindingKind.PATH in kinds:
        commands.append(ManualCommand(
            ("systemctl", "list-units", "--type=path", "--all", "--no-pager"),
            "An active path unit starts it when its file appears or changes.", grep=words))
    if FindingKind.AUTOMOUNT in kinds:
        commands.append(ManualCommand(
            ("systemctl", "list-units", "--type=automount", "--all", "--no-pager"),
            "An active automount mounts it the moment the directory is touched."))
    if FindingKind.BUS_ACTIVATION in kinds:
        commands.append(ManualCommand(
            ("busctl", "list", "--activatable", "--no-pager"),
            "Bus names that dbus starts a service for when they are called."))
    for finding in found:
        if finding.source != unit:
            commands.append(_status(finding.source,
                                    "Active: is the trigger running (listening, waiting)?"))
    return commands


def _dependency_step(diagnosis: Diagnosis) -> list[ManualCommand]:
    unit = diagnosis.unit
    commands = [ManualCommand(
        ("systemctl", "list-dependencies", "--reverse", "--no-pager", unit),
        "Every unit that wants, requires or is bound to it: follow each one up to what "
        "keeps firing.",
    )]
    found = step_findings(diagnosis, 3)
    for finding in found:
        if len(finding.chain) >= 3:
            # The unit that wants it is often idle; its status names what starts it.
            commands.append(_status(finding.chain[-2],
                                    "TriggeredBy: names the timer or socket behind it."))
    if any(f.chain[0].endswith(".timer") for f in found):
        commands.append(ManualCommand(("systemctl", "list-timers", "--all", "--no-pager"),
                                      "NEXT and LEFT: when the timer fires again."))
    return commands


def _rest_step(diagnosis: Diagnosis) -> list[ManualCommand]:
    unit = diagnosis.unit
    return [
        ManualCommand(("systemctl", "show", "-p", "UpheldBy,OnFailureOf,OnSuccessOf", unit),
                      "Units that restart it after a stop (UpheldBy=) or start it when "
                      "another unit ends (OnFailureOf=, OnSuccessOf=)."),
        ManualCommand(("systemctl", "is-enabled", unit),
                      "enabled: a target starts it again at the next boot.",
                      exits=((1, "not enabled"),)),
        ManualCommand(
            ("grep", "-rns", "--", _stem(unit), "/etc/systemd/system", "/etc/crontab",
             "/etc/cron.d", "/var/spool/cron/crontabs"),
            "Unit files and cron jobs that name it, such as `systemctl start` lines, which "
            "no dependency shows.",
            exits=((1, "no file names it"),),
        ),
    ]


def step_commands(diagnosis: Diagnosis, number: int) -> tuple[ManualCommand, ...]:
    """The read-only commands that show step ``number`` (1 to 4) by hand."""
    builders = (_status_step, _trigger_step, _dependency_step, _rest_step)
    return tuple(builders[number - 1](diagnosis))


def shown_output(command: ManualCommand, run: ManualRun) -> tuple[list[str], str]:
    """The lines of a run worth showing (the article's grep, the tail) and a note on the rest."""
    lines = run.output.rstrip("\n").splitlines() if run.output.strip() else []
    note = ""
    if command.grep:
        kept = [line for line in lines if any(word in line for word in command.grep)]
        note = f"{len(kept)} of {len(lines)} lines mention {' or '.join(command.grep)}"
        lines = kept
    if command.tail and len(lines) > command.tail:
        note = f"the last {command.tail} of {len(lines)} lines"
        lines = lines[-command.tail:]
    return lines, note


def grep_shown(command: ManualCommand) -> str:
    """The article's ``| grep`` as it would be typed after the command (empty without one)."""
    if not command.grep:
        return ""
    words = " ".join(f"-e {shlex.quote(word)}" for word in command.grep)
    return f" | grep {words}"
