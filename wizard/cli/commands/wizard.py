"""The wizard from start to finish: diagnose in the article's order, ask, plan, write, apply.

Every prompt comes before anything is written, so Ctrl-C at any question
leaves the disk as it was. Applying is a separate, explicit answer (default
no) and needs root; verification afterwards only reads.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from wizard.analysis import Diagnosis
from wizard.analysis.findings import REPORT_STEPS, Finding
from wizard.cli.arguments import connection_from, console_for
from wizard.cli.flow import (
    AnswerMode,
    Asker,
    Option,
    SourceChoice,
    load_answers,
    remediation_questions,
    unit_question,
)
from wizard.environment import Environment
from wizard.errors import ExitCode, PermissionDeniedError, UsageError
from wizard.lab import nspawn as lab_module
from wizard.model.connection import Connection
from wizard.model.snapshots import SystemSnapshot
from wizard.model.unit_names import normalise_unit_name
from wizard.output.files import write_outputs
from wizard.output.formats import default_output
from wizard.output.render import render_outputs
from wizard.output.report_terminal import render_step, render_verdict
from wizard.output.terminal_text import printable
from wizard.plan.assembly import assemble_plan
from wizard.plan.build import PlanChoices, plannable_findings
from wizard.plan.options import Method, method_options
from wizard.system.neighbourhood import diagnose_unit
from wizard.system.systemd import systemd_client
from wizard.system.unit_history import DEFAULT_SINCE_USEC, collect_timeline, with_timeline

WATCH_INTERVAL = 0.5


@dataclass(frozen=True)
class WizardOptions:
    """What the command line decided before the first question."""

    unit: str | None
    teach: bool
    force: bool
    lab_name: str | None


def _source_choices(diagnosis: Diagnosis, snapshot: SystemSnapshot) -> list[SourceChoice]:
    choices = []
    for finding in plannable_findings(diagnosis):

        def methods(persistent: bool, f: Finding = finding) -> list[Option]:
            return [
                Option(o.method.value, o.label, o.explanation)
                for o in method_options(f, snapshot, persistent)
            ]

        choices.append(
            SourceChoice(finding.source, f"{finding.kind.value}: {finding.source}", finding.live,
                         methods)
        )
    return choices


def _can_apply(connection: Connection, options: WizardOptions, env: Environment) -> bool:
    # Applying runs the script here (or inside the lab): never on a remote host,
    # a container or a bus whose machine this process cannot run commands on.
    return env.is_root and (connection.transport == "system" or options.lab_name is not None)


def run_wizard(
    connection: Connection, options: WizardOptions, asker: Asker, console: Console,
    env: Environment,
) -> int:
    """Walk the article's steps for one unit and end with a reviewed (maybe applied) fix."""
    with systemd_client(connection) as client:
        unit = options.unit
        if unit is None:
            unit = asker.ask([unit_question(client.unit_names())])["unit"]
        unit = normalise_unit_name(str(unit))
        snapshot, diagnosis = diagnose_unit(client, unit)
    # The status step's timeline: how it last stopped and started, and through what.
    since = time.time_ns() // 1000 - DEFAULT_SINCE_USEC
    diagnosis = with_timeline(diagnosis, collect_timeline(connection, snapshot, since))

    console.print(Text(f"staydown: who keeps bringing {printable(unit)} back?", style="bold"))
    console.print()
    for number in range(1, len(REPORT_STEPS) + 1):
        render_step(console, diagnosis, number, teach=options.teach)
    render_verdict(console, diagnosis)
    console.print()

    sources = _source_choices(diagnosis, snapshot)
    if not sources:
        console.print(Text("There is nothing to neutralise; no plan is needed."))
        return ExitCode.OK
    console.rule(Text("5. What to neutralise, and how", style="bold cyan"), align="left")
    answers = asker.ask(
        remediation_questions(
            unit, sources, default_output=str(default_output(unit, "script")),
            can_apply=_can_apply(connection, options, env),
        )
    )
    chosen = tuple(answers.get("sources") or ())
    if not chosen:
        console.print(Text("No source chosen; nothing was written."))
        return ExitCode.LIVE_SOURCES if diagnosis.live_findings else ExitCode.OK
    choices = PlanChoices(
        sources=chosen,
        methods={s: Method(answers[f"method:{s}"]) for s in chosen},
        persistent=bool(answers.get("persistent")),
    )
    output_format = str(answers["format"])
    plan, notes = assemble_plan(diagnosis, snapshot, choices, output_format,
                                connection.files_root)
    output = Path(str(answers["output"]))
    outputs = render_outputs(plan, output_format, output)

    console.rule(Text("6. The plan", style="bold cyan"), align="left")
    for path, rendered in outputs.items():
        if ".undo." in path.name:
            continue  # its path is printed below; the plan itself is what to review
        console.print(Text(f"{path}:", style="bold"))
        if not env.stdout_isatty:
            # Into a file or a pipe: the text as written, no highlighting, no wrapping.
            console.print(Text(rendered.text), soft_wrap=True)
            continue
        lexer = {".sh": "bash", ".yml": "yaml"}.get(path.suffix, "ini")
        console.print(Syntax(rendered.text, lexer, word_wrap=True,
                             background_color="default"))
    for result in write_outputs(outputs, force=options.force):
        console.print(Text(f"{result.status.value} {printable(str(result.path))}", style="green"))
    for note in notes:
        console.print(Text(f"note: {printable(note)}"))

    if not answers.get("apply"):
        console.print(
            Text("Nothing was changed on the system. Review the script, then run it as root.")
        )
        return ExitCode.LIVE_SOURCES if diagnosis.live_findings else ExitCode.OK
    script = next(p for p in outputs if p.suffix == ".sh" and ".undo." not in p.name)
    status = _apply(script, options, env, console)
    if status != 0:
        console.print(Text(
            f"The script ended with status {status} (see docs/remediation.md); nothing was "
            "verified. What it changed is in its record; the undo script reverses it.",
            style="bold red"))
        return ExitCode.LIVE_SOURCES
    return _verify(connection, unit, int(answers["watch_seconds"]), console)


def _apply(script: Path, options: WizardOptions, env: Environment, console: Console) -> int:
    if not env.is_root:
        raise PermissionDeniedError("applying the plan needs root", "run staydown with sudo")
    console.rule(Text("7. Applying", style="bold cyan"), align="left")
    text = script.read_text()
    if options.lab_name is not None:
        result = lab_module.require_lab(options.lab_name).exec(
            ["bash", "-s", "--"], input_text=text, timeout=600
        )
    else:
        result = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, check=False, timeout=600
        )
    console.print(Text(printable(result.stdout, keep_newlines=True)))
    if result.returncode != 0:
        console.print(Text(printable(result.stderr, keep_newlines=True), style="red"))
    return result.returncode


def _verify(connection: Connection, unit: str, seconds: int, console: Console) -> int:
    console.rule(Text(f"Watching {unit} for {seconds} s", style="bold cyan"), align="left")
    deadline = time.monotonic() + seconds
    with systemd_client(connection) as client:
        while time.monotonic() < deadline:
            snapshot = client.load_unit(unit)
            if snapshot.active_state in ("active", "activating", "reloading"):
                _snapshot, again = diagnose_unit(client, unit)
                sources = ", ".join(f.source for f in again.live_findings) or "a manual start"
                console.print(
                    Text(
                        f"{unit} came back ({snapshot.active_state}); live sources now: "
                        f"{printable(sources)}",
                        style="bold red",
                    )
                )
                return ExitCode.LIVE_SOURCES
            time.sleep(WATCH_INTERVAL)
    console.print(Text(f"{unit} stayed down for {seconds} s.", style="bold green"))
    return ExitCode.OK


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown [wizard] [UNIT]: the guided flow."""
    if args.answers:
        asker = Asker(env, AnswerMode.FILE, load_answers(args.answers))
    elif args.yes:
        asker = Asker(env, AnswerMode.DEFAULTS)
    else:
        if not env.stdin_isatty:
            raise UsageError(
                "the wizard asks questions but standard input is not a terminal",
                "use --yes for the recommended answers, --answers FILE, or staydown plan",
            )
        asker = Asker(env)
    options = WizardOptions(
        unit=args.unit, teach=not args.brief, force=args.force, lab_name=args.lab
    )
    return run_wizard(connection_from(args), options, asker, console_for(env, args), env)
