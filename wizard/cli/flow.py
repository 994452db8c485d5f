"""The wizard's questions, declared as data, and the one place that calls questionary.

Each question is a :class:`Question` value with its default, its condition and
its validation (copier's ``Question`` pattern), so the same declarations serve
an operator at a terminal, ``--yes`` (every recommended answer) and
``--answers FILE`` (answers from a JSON file). Prompts always use
``unsafe_ask()``: questionary's ``ask()`` swallows Ctrl-C and returns None,
which would let a half-answered wizard carry on.

At a terminal, Esc goes back one question (step 5 only): the asker keeps a
history of what was asked and offers the earlier answer as the default, so
going back and pressing Enter changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from wizard.environment import Environment
from wizard.errors import InterruptedByUserError, UsageError
from wizard.output.formats import output_for_format

if TYPE_CHECKING:
    from prompt_toolkit.key_binding import KeyBindings

Answers = dict[str, Any]
QuestionKind = Literal["select", "checkbox", "confirm", "text", "autocomplete"]


class GoBack(Exception):
    """The operator pressed Esc: go back to the question before this one."""


class AnswerMode(StrEnum):
    """Where answers come from."""

    INTERACTIVE = "interactive"
    DEFAULTS = "defaults"
    FILE = "file"


@dataclass(frozen=True)
class Option:
    """One choice of a select or checkbox question."""

    value: str
    title: str
    description: str = ""


def _always(_answers: Answers) -> bool:
    return True


def _no_default(_answers: Answers) -> Any:
    return None


def _no_options(_answers: Answers) -> Sequence[Option]:
    return ()


def _accept(_value: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Question:
    """One question: what to ask, what to suggest, when to ask, how to check."""

    name: str
    kind: QuestionKind
    message: str
    options: Callable[[Answers], Sequence[Option]] = _no_options
    default: Callable[[Answers], Any] = _no_default
    when: Callable[[Answers], bool] = _always
    validate: Callable[[Any], str | None] = _accept
    help: str = ""
    file_key: str = ""
    """Where --answers FILE keeps it when not under its own name: "methods.SOURCE"."""


@dataclass
class Asker:
    """Turns questions into answers: questionary, defaults or a file."""

    env: Environment
    mode: AnswerMode = AnswerMode.INTERACTIVE
    preset: Mapping[str, Any] = field(default_factory=dict)
    monochrome: bool = False
    """--no-color: prompts without colour too (NO_COLOR is honoured by prompt_toolkit)."""

    def ask(
        self, questions: Sequence[Question], answers: Answers | None = None, *,
        can_go_back: bool = False, resume: bool = False,
    ) -> Answers:
        """Ask each question whose ``when`` holds, in order, and collect the answers.

        ``can_go_back``: Esc at a terminal goes back one question; Esc at the first
        raises :class:`GoBack` for the caller. ``resume``: start at the last question
        that applies to ``answers`` (back from the plan to change a choice).
        """
        answers = dict(answers or {})
        asked: list[int] = []
        index = 0
        if resume:
            applicable = [i for i, q in enumerate(questions) if q.when(answers)]
            if applicable:
                asked, index = applicable[:-1], applicable[-1]
        while index < len(questions):
            question = questions[index]
            if not question.when(answers):
                answers.pop(question.name, None)  # a choice made before going back
                index += 1
                continue
            try:
                value = self._answer(question, answers, can_go_back)
            except GoBack:
                if not asked:
                    raise
                index = asked.pop()
                continue
            problem = self._check(question, answers, value)
            if problem is not None:
                raise UsageError(f"answer to {question.name!r}: {problem}")
            answers[question.name] = value
            asked.append(index)
            index += 1
        return answers

    def _answer(self, question: Question, answers: Answers, can_go_back: bool = False) -> Any:
        default = question.default(answers)
        if self.mode == AnswerMode.DEFAULTS:
            return default
        if self.mode == AnswerMode.FILE:
            found, value = _lookup(self.preset, question.file_key or question.name)
            return value if found else default
        if question.name in answers:
            # Back at a question: what was chosen before is the default.
            default = answers[question.name]
        return _prompt(question, default, answers, self.env, can_go_back, self.monochrome)

    @staticmethod
    def _check(question: Question, answers: Answers, value: Any) -> str | None:
        options = {o.value for o in question.options(answers)}
        if question.kind == "select" and options and value not in options:
            return f"{value!r} is not one of {', '.join(sorted(options))}"
        if question.kind == "checkbox":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return "expected a list of names"
            unknown = [v for v in value if v not in options]
            if unknown:
                return f"{', '.join(unknown)} not among {', '.join(sorted(options))}"
        if question.kind == "confirm" and not isinstance(value, bool):
            return "expected true or false"
        return question.validate(value)


def _lookup(preset: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    if key.startswith("allow_protected."):
        # A list in the file: the units named in it are answered yes, the rest no.
        named = preset.get("allow_protected")
        return True, isinstance(named, list) and key.split(".", 1)[1] in named
    current: Any = preset
    for part in key.split(".", 1) if key.startswith("methods.") else [key]:
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def load_answers(path: str) -> dict[str, Any]:
    """Read an --answers file (JSON object), or raise a UsageError saying why not."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise UsageError(f"cannot read answers file {path}: {error.strerror}") from error
    except ValueError as error:
        raise UsageError(f"answers file {path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise UsageError(f"answers file {path} must hold one JSON object")
    return data


_CHECKBOX_KEYS = "(Use arrow keys to move, <space> to select, <a> to toggle, <i> to invert"


def _escape_keys(can_go_back: bool) -> KeyBindings:
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys

    bindings = KeyBindings()

    # eager: fire at once, not after waiting to see whether Esc starts a longer
    # binding (Esc-b in a text prompt); arrow keys arrive as one escape sequence
    # and never reach this binding. Without it a lone Esc ends questionary's
    # checkbox with "" instead of a list, so it is bound even where it goes nowhere.
    @bindings.add(Keys.Escape, eager=True)
    def _back(event: Any) -> None:
        if can_go_back:
            event.app.exit(exception=GoBack())

    return bindings


def _prompt(
    question: Question, default: Any, answers: Answers, env: Environment,
    can_go_back: bool = False, monochrome: bool = False,
) -> Any:
    # questionary and prompt_toolkit are imported at the first question: they cost
    # more than the rest of the wizard's start-up, and its first screen needs neither.
    import questionary
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.output import ColorDepth

    io: dict[str, Any] = {}
    if env.prompt_input is not None:
        io["input"] = env.prompt_input
    if env.prompt_output is not None:
        io["output"] = env.prompt_output
    if monochrome:
        io["color_depth"] = ColorDepth.MONOCHROME
    message = question.message
    options = list(question.options(answers))
    back = ", Esc goes back" if can_go_back else ""

    def validator(value: Any) -> bool | str:
        problem = question.validate(value)
        return True if problem is None else problem

    prompt: questionary.Question
    match question.kind:
        case "select":
            choices = [
                questionary.Choice(o.title, value=o.value, description=o.description or None)
                for o in options
            ]
            if default not in {o.value for o in options}:
                default = question.default(answers)
            help_text = question.help + back if question.help else back.lstrip(", ")
            prompt = questionary.select(
                message, choices=choices, default=default, instruction=help_text or None,
                **io,
            )
        case "checkbox":
            chosen = set(default or ())
            choices = [
                questionary.Choice(o.title, value=o.value, checked=o.value in chosen,
                                   description=o.description or None)
                for o in options
            ]
            prompt = questionary.checkbox(
                message, choices=choices,
                instruction=f"{_CHECKBOX_KEYS}{back})" if can_go_back else None, **io,
            )
        case "confirm":
            yes_no = "(Y/n" if default else "(y/N"
            prompt = questionary.confirm(
                message, default=bool(default),
                instruction=f"{yes_no}{back}) " if can_go_back else None, **io,
            )
        case "autocomplete":
            prompt = questionary.autocomplete(
                message, choices=[o.value for o in options], default=str(default or ""),
                validate=validator, **io,
            )
        case _:
            prompt = questionary.text(
                message, default=str(default or ""), validate=validator,
                instruction=f"({back.lstrip(', ')})" if can_go_back else None, **io,
            )
    application = prompt.application
    application.key_bindings = merge_key_bindings(
        [application.key_bindings or KeyBindings(), _escape_keys(can_go_back)]
    )
    try:
        return prompt.unsafe_ask()
    except (KeyboardInterrupt, EOFError) as stop:
        raise InterruptedByUserError("interrupted; nothing was written") from stop


# -- the wizard's questions --------------------------------------------------------


def unit_question(unit_names: Sequence[str]) -> Question:
    """Which unit, when none was named on the command line (completion over units)."""
    names = [n for n in unit_names if "@." not in n]

    def check(value: Any) -> str | None:
        return None if isinstance(value, str) and value.strip() else "name a unit"

    return Question(
        name="unit",
        kind="autocomplete",
        message="Which unit keeps coming back?",
        options=lambda _a: [Option(n, n) for n in names],
        validate=check,
        help="Tab completes over the units systemd knows",
    )


def _check_seconds(value: Any) -> str | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return "a whole number of seconds"
    return None if 1 <= seconds <= 3600 else "between 1 and 3600 seconds"


def _check_path(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "a file name"
    if "\n" in value or "\x00" in value:
        return "a file name without newlines"
    return None


@dataclass(frozen=True)
class SourceChoice:
    """One revival source the operator may neutralise, with its ways to do it."""

    source: str
    title: str
    live: bool
    methods: Callable[[bool], Sequence[Option]]
    """Options for the method question, recommended first, given persistence."""
    protected: Mapping[str, str] = field(default_factory=dict)
    """Units the source is neutralised through that are the host's own machinery, and why."""


SPARING_METHODS = ("hold-unit", "comment-out")
"""Methods that act on the target (or a cron line), never on the source's units."""


def protected_question(unit: str, reason: str, *, target: bool = False) -> Question:
    """The separate confirmation a protected unit needs; no by default, even with --yes."""
    return Question(
        name=f"allow:{unit}",
        kind="confirm",
        message=(f"{unit} is part of the host's own machinery: {reason}. "
                 + ("Write a plan that stops it anyway?" if target
                    else "Let the plan stop, mask or disable it anyway?")),
        default=lambda _a: False,
        help="No (the default) leaves it alone"
        + ("." if target else "; hold the unit itself instead (hold-unit)."),
        file_key=f"allow_protected.{unit}",
    )


def _protected_questions(sources: Sequence[SourceChoice]) -> list[Question]:
    reasons: dict[str, str] = {}
    for choice in sources:
        for unit, reason in choice.protected.items():
            reasons.setdefault(unit, reason)
    questions = []
    for unit, reason in reasons.items():

        def touches(answers: Answers, unit: str = unit) -> bool:
            return any(
                unit in c.protected and c.source in (answers.get("sources") or ())
                and answers.get(f"method:{c.source}") not in SPARING_METHODS
                for c in sources
            )

        question = protected_question(unit, reason)
        questions.append(Question(
            name=question.name, kind=question.kind, message=question.message,
            default=question.default, when=touches, help=question.help,
            file_key=question.file_key,
        ))
    return questions


def _method_question(choice: SourceChoice) -> Question:
    def options(answers: Answers) -> Sequence[Option]:
        return choice.methods(bool(answers.get("persistent")))

    def default(answers: Answers) -> Any:
        return next((o.value for o in options(answers)), None)

    def when(answers: Answers) -> bool:
        return choice.source in (answers.get("sources") or ())

    return Question(
        name=f"method:{choice.source}",
        kind="select",
        message=f"How should {choice.source} be neutralised?",
        options=options,
        default=default,
        when=when,
        help="the recommended way comes first",
        file_key=f"methods.{choice.source}",
    )


def remediation_questions(
    unit: str,
    sources: Sequence[SourceChoice],
    *,
    default_output: str,
    can_apply: bool,
) -> list[Question]:
    """Step 5 and 6: what to neutralise, how, into which file, and whether to apply."""
    questions: list[Question] = [
        Question(
            name="persistent",
            kind="confirm",
            message="Should the fix survive a reboot?",
            default=lambda _a: False,
            help="No: until the next reboot (stop, runtime masks). Yes: disable and mask for "
            "good.",
        ),
        Question(
            name="sources",
            kind="checkbox",
            message=f"Which sources of {unit} should be neutralised?",
            options=lambda _a: [
                Option(s.source, f"{s.title}{'' if s.live else '  (not live)'}") for s in sources
            ],
            default=lambda _a: [s.source for s in sources if s.live],
            when=lambda _a: bool(sources),
            help="live sources are preselected",
        ),
    ]
    questions.extend(_method_question(choice) for choice in sources)
    questions.extend(_protected_questions(sources))
    questions += [
        Question(
            name="format",
            kind="select",
            message="What should staydown write?",
            options=lambda _a: [
                Option("script", "a bash script, with an undo script beside it"),
                Option("dropin", "drop-in files, with the commands to install them"),
                Option("ansible", "an Ansible playbook"),
            ],
            default=lambda _a: "script",
        ),
        Question(
            name="output",
            kind="text",
            message="Write it to which file?",
            default=lambda a: output_for_format(default_output, a.get("format") or "script"),
            validate=_check_path,
        ),
        Question(
            name="apply",
            kind="confirm",
            message="Apply it now? (it is written either way; review first if unsure)",
            default=lambda _a: False,
            when=lambda a: can_apply and a.get("format") == "script",
        ),
        Question(
            name="watch_seconds",
            kind="text",
            message="Watch for how many seconds that it stays down?",
            default=lambda _a: "30",
            when=lambda a: bool(a.get("apply")),
            validate=_check_seconds,
        ),
    ]
    return questions


# -- the walk: pauses after steps 1 to 4, and the plan's review in step 6 -------------


def pause_question(number: int, next_title: str, *, can_explain: bool) -> Question:
    """After step ``number`` (1 to 4) on a terminal: go on, see it by hand, read more, quit."""
    onward = f"continue to step {number + 1}: {next_title}"
    options = [
        Option("continue", onward),
        Option("commands", "run this step's commands by hand and show their output",
               "The read-only commands the article used, run for real against the same "
               "manager, beside what staydown concluded."),
    ]
    if can_explain:
        options.append(Option("explain", "explain a finding of this step in more depth",
                              "How the mechanism works, its evidence and how to neutralise "
                              "it (the page in docs/kinds/)."))
    options.append(Option("quit", "quit (nothing has been written)"))
    return Question(
        name=f"pause:{number}",
        kind="select",
        message=f"Step {number} of 4 done.",
        options=lambda _a: options,
        default=lambda _a: "continue",
        help="Enter continues",
    )


def finding_question(number: int, findings: Sequence[Option]) -> Question:
    """Which finding of step ``number`` to explain, when it has more than one."""
    return Question(
        name=f"explain:{number}",
        kind="select",
        message="Explain which finding?",
        options=lambda _a: findings,
        default=lambda _a: findings[0].value if findings else None,
    )


def review_question(*, will_apply: bool, what: str = "script") -> Question:
    """Step 6, after the summary: write it, read it all first, change a choice, or quit."""
    write = "write it, then apply it now" if will_apply else "write it"
    options = [
        Option("write", write),
        Option("pager", f"read the full {what} first (in a pager)"),
        Option("back", "go back and change a choice"),
        Option("quit", "quit without writing anything"),
    ]
    return Question(
        name="review",
        kind="select",
        message="What now?",
        options=lambda _a: options,
        default=lambda _a: "write",
        help="Enter writes",
    )
