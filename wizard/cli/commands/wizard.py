"""The wizard from start to finish: diagnose in the article's order, ask, plan, write, apply.

Every prompt comes before anything is written, so Ctrl-C at any question
leaves the disk as it was. Applying is a separate, explicit answer (default
no) and needs root; verification afterwards only reads.

On a terminal the wizard walks with the operator: it pauses after each of
steps 1 to 4 (continue, the step's commands run by hand, a finding's page,
quit), Esc goes back through step 5's questions, and step 6 summarises the
plan before writing it (the full script only on request, in a pager).
``--yes``, ``--answers``, ``--brief`` (no pauses) and a pipe never stop.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text

from wizard.analysis import Diagnosis
from wizard.analysis.findings import REPORT_STEPS, Finding
from wizard.analysis.manual_commands import step_commands, step_findings
from wizard.cli.arguments import connection_from, console_for, plan_layout
from wizard.cli.flow import (
    AnswerMode,
    Answers,
    Asker,
    GoBack,
    Option,
    SourceChoice,
    finding_question,
    load_answers,
    pause_question,
    protected_question,
    remediation_questions,
    review_question,
    unit_question,
)
from wizard.environment import Environment
from wizard.errors import ExitCode, PermissionDeniedError, UsageError
from wizard.model.connection import Connection
from wizard.model.snapshots import SystemSnapshot
from wizard.model.unit_names import normalise_unit_name
from wizard.output.files import write_outputs
from wizard.output.formats import default_output
from wizard.output.pager import kind_page_path, page, render_markdown
from wizard.output.plan_summary import plan_summary
from wizard.output.render import Rendered, render_outputs
from wizard.output.report_terminal import (
    print_wrapped,
    render_manual_runs,
    render_step,
    render_verdict,
)
from wizard.output.terminal_text import printable
from wizard.plan.assembly import assemble_plan
from wizard.plan.build import Plan, PlanChoices, plannable_findings, side_effects
from wizard.plan.options import Method, method_options, protected_acting_units
from wizard.plan.protected_units import CallerContext, caller_context, protection
from wizard.system.access import file_reader
from wizard.system.manual_run import run_read_only
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
    pause: bool = False
    """Stop after each of steps 1 to 4 (a terminal, no --brief, --yes or --answers)."""
    review: bool = False
    """Esc goes back in step 5; step 6 is a summary and a choice (an interactive terminal)."""


def _source_choices(
    diagnosis: Diagnosis, snapshot: SystemSnapshot, context: CallerContext
) -> list[SourceChoice]:
    choices = []
    for finding in plannable_findings(diagnosis):

        def methods(persistent: bool, f: Finding = finding) -> list[Option]:
            return [
                Option(o.method.value, o.label, o.explanation)
                for o in method_options(f, snapshot, persistent, context)
            ]

        choices.append(
            SourceChoice(finding.source, f"{finding.kind.value}: {finding.source}", finding.live,
                         methods, protected_acting_units(finding, snapshot, context))
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
        if not _show_step(number, diagnosis, connection, options, asker, console, env):
            return _nothing_written(diagnosis, console, f"Stopped after step {number}")
    console.print()

    context = caller_context(connection.transport, env.cgroup, env.ssh_session)
    allowed: set[str] = set()
    target_reason = protection(unit, snapshot, context)
    if target_reason is not None:
        # A separate confirmation naming the unit and why, default no (even --yes).
        if not asker.ask([protected_question(unit, target_reason, target=True)])[f"allow:{unit}"]:
            console.print(Text(f"{unit} is left alone; nothing was written."))
            return ExitCode.LIVE_SOURCES if diagnosis.live_findings else ExitCode.OK
        allowed.add(unit)
    sources = _source_choices(diagnosis, snapshot, context)
    console.rule(Text("5. What to neutralise, and how", style="bold cyan"), align="left")
    if not sources:
        console.print(Text(f"{unit} has no revival source: nothing else needs neutralising; "
                           "the plan only stops it (and disables it, to survive a reboot)."))
    questions = remediation_questions(
        unit, sources, default_output=str(default_output(unit, "script")),
        can_apply=_can_apply(connection, options, env),
    )
    answers: Answers = {}
    resume = False
    while True:
        if options.review:
            console.print(Text("Esc goes back to the question before; Ctrl-C quits, writing "
                               "nothing.", style="dim"))
        try:
            answers = asker.ask(questions, answers, can_go_back=options.review, resume=resume)
        except GoBack:
            # Esc at the first question of step 5: back to step 4 and its pause.
            number = len(REPORT_STEPS)
            if not _show_step(number, diagnosis, connection, options, asker, console, env):
                return _nothing_written(diagnosis, console, f"Stopped after step {number}")
            console.rule(Text("5. What to neutralise, and how", style="bold cyan"),
                         align="left")
            resume = False
            continue
        chosen = tuple(answers.get("sources") or ())
        if sources and not chosen:
            console.print(Text(f"No source chosen: the plan only stops {unit}."))
        allowed_now = allowed | {key.removeprefix("allow:") for key, yes in answers.items()
                                 if key.startswith("allow:") and yes is True}
        choices = PlanChoices(
            sources=chosen,
            methods={s: Method(answers[f"method:{s}"]) for s in chosen},
            persistent=bool(answers.get("persistent")),
            allow_protected=frozenset(allowed_now),
        )
        output_format = str(answers["format"])
        plan, notes = assemble_plan(diagnosis, snapshot, choices, output_format,
                                    file_reader(connection), plan_layout(connection, env),
                                    context)
        output = Path(str(answers["output"]))
        outputs = render_outputs(plan, output_format, output)
        if not options.review:
            _show_plan(outputs, console, env)
            break
        decision = _review(plan, outputs, output_format, answers, connection, asker,
                           console, env)
        if decision == "write":
            break
        if decision == "quit":
            return _nothing_written(diagnosis, console, "Stopped before writing")
        console.rule(Text("5. What to neutralise, and how (again)", style="bold cyan"),
                     align="left")
        resume = True

    for result in write_outputs(outputs, force=options.force):
        console.print(Text(f"{result.status.value} {printable(str(result.path))}", style="green"))
    for note in notes:
        console.print(Text(f"note: {printable(note)}"))
    for left in plan.left_out:
        console.print(Text(f"left out: {printable(left.unit)} (source {printable(left.source)}) "
                           f"is {printable(left.reason)}; instead: {printable(left.instead)}",
                           style="yellow"))
    for use in plan.protected_named:
        console.print(Text(f"WARNING: the plan acts on {printable(use.unit)}: "
                           f"{printable(use.reason)}", style="bold red"))
    for action, effect in side_effects(plan):
        console.print(Text(
            f"side effect of \"{printable(action.why)}\": {effect.effect.value} "
            f"{printable(effect.unit)} ({printable(effect.reason)})", style="yellow"))

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


def _nothing_written(diagnosis: Diagnosis, console: Console, what: str) -> int:
    console.print(Text(f"{what}; nothing was written or changed."))
    return ExitCode.LIVE_SOURCES if diagnosis.live_findings else ExitCode.OK


def _show_step(
    number: int, diagnosis: Diagnosis, connection: Connection, options: WizardOptions,
    asker: Asker, console: Console, env: Environment,
) -> bool:
    """One of steps 1 to 4, then its pause on a terminal; False when the operator quits."""
    render_step(console, diagnosis, number, teach=options.teach)
    if number == len(REPORT_STEPS):
        render_verdict(console, diagnosis)
        if options.pause:
            console.print()
    if not options.pause:
        return True
    following = (REPORT_STEPS[number][0] if number < len(REPORT_STEPS)
                 else "What to neutralise, and how")
    found = step_findings(diagnosis, number)
    while True:
        question = pause_question(number, following, can_explain=bool(found))
        choice = asker.ask([question])[question.name]
        if choice == "continue":
            console.print()
            return True
        if choice == "quit":
            return False
        if choice == "commands":
            runs = [(command, run_read_only(connection, command.argv))
                    for command in step_commands(diagnosis, number)]
            render_manual_runs(console, diagnosis, number, runs, connection.label)
        elif choice == "explain":
            _explain(number, found, asker, console, env)


def _explain(
    number: int, found: list[Finding], asker: Asker, console: Console, env: Environment
) -> None:
    finding = found[0]
    if len(found) > 1:
        options = [Option(str(i), f"{f.kind.value}: {f.source}") for i, f in enumerate(found)]
        question = finding_question(number, options)
        finding = found[int(asker.ask([question])[question.name])]
    path = kind_page_path(finding.kind.value)
    if path is None:
        print_wrapped(console, f"The page docs/kinds/{finding.kind.value}.md is not installed "
                      "here; what staydown says about it:", 0, "yellow")
        print_wrapped(console, printable(finding.explanation), 0)
        return
    page(render_markdown(path.read_text(), console.width, color=False), env, console)


def _show_plan(outputs: dict[Path, Rendered], console: Console, env: Environment) -> None:
    """Step 6 as --yes and --answers print it: every file in full."""
    from rich.syntax import Syntax  # pygments: only once there is a plan to show

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


def _review(
    plan: Plan, outputs: dict[Path, Rendered], output_format: str, answers: Answers,
    connection: Connection, asker: Asker, console: Console, env: Environment,
) -> str:
    """Step 6 on a terminal: the summary, then write, read it all, go back or quit."""
    console.print()
    console.rule(Text("6. The plan", style="bold cyan"), align="left")
    written = [p for p in outputs if ".undo." not in p.name]
    undo = next((p for p in outputs if ".undo." in p.name), None)
    for line in plan_summary(plan, connection.label, written, undo):
        print_wrapped(console, printable(line.text), line.indent, line.style)
    what = {"script": "script", "ansible": "playbook"}.get(output_format, "drop-ins")
    question = review_question(will_apply=bool(answers.get("apply")), what=what)
    while True:
        console.print()
        choice = str(asker.ask([question])[question.name])
        if choice != "pager":
            return choice
        text = "\n".join(f"==> {path} <==\n{outputs[path].text}" if len(written) > 1
                         else outputs[path].text for path in written)
        page(text, env, console)


def _apply(script: Path, options: WizardOptions, env: Environment, console: Console) -> int:
    if not env.is_root:
        raise PermissionDeniedError("applying the plan needs root", "run staydown with sudo")
    console.rule(Text("7. Applying", style="bold cyan"), align="left")
    text = script.read_text()
    if options.lab_name is not None:
        from wizard.lab import nspawn as lab_module

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
    interactive = asker.mode == AnswerMode.INTERACTIVE and env.stdout_isatty
    asker.monochrome = bool(args.no_color)
    options = WizardOptions(
        unit=args.unit, teach=not args.brief, force=args.force, lab_name=args.lab,
        pause=interactive and not args.brief, review=interactive,
    )
    return run_wizard(connection_from(args), options, asker, console_for(env, args), env)
