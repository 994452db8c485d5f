"""The wizard's questions, declared as data, and the one place that calls questionary.

Each question is a :class:`Question` value with its default, its condition and
its validation (copier's ``Question`` pattern), so the same declarations serve
an operator at a terminal, ``--yes`` (every recommended answer) and
``--answers FILE`` (answers from a JSON file). Prompts always use
``unsafe_ask()``: questionary's ``ask()`` swallows Ctrl-C and returns None,
which would let a half-answered wizard carry on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import questionary

from wizard.environment import Environment
from wizard.errors import InterruptedByUserError, UsageError
from wizard.output.formats import output_for_format

Answers = dict[str, Any]
QuestionKind = Literal["select", "checkbox", "confirm", "text", "autocomplete"]


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

    def ask(self, questions: Sequence[Question], answers: Answers | None = None) -> Answers:
        """Ask each question whose ``when`` holds, in order, and collect the answers."""
        answers = dict(answers or {})
        for question in questions:
            if not question.when(answers):
                continue
            value = self._answer(question, answers)
            problem = self._check(question, answers, value)
            if problem is not None:
                raise UsageError(f"answer to {question.name!r}: {problem}")
            answers[question.name] = value
        return answers

    def _answer(self, question: Question, answers: Answers) -> Any:
        default = question.default(answers)
        if self.mode == AnswerMode.DEFAULTS:
            return default
        if self.mode == AnswerMode.FILE:
            found, value = _lookup(self.preset, question.file_key or question.name)
            return value if found else default
        return _prompt(question, default, answers, self.env)

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


def _prompt(question: Question, default: Any, answers: Answers, env: Environment) -> Any:
    io: dict[str, Any] = {}
    if env.prompt_input is not None:
        io["input"] = env.prompt_input
    if env.prompt_output is not None:
        io["output"] = env.prompt_output
    message = question.message
    options = list(question.options(answers))

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
            prompt = questionary.select(
                message, choices=choices, default=default, instruction=question.help or None,
                **io,
            )
        case "checkbox":
            chosen = set(default or ())
            choices = [
                questionary.Choice(o.title, value=o.value, checked=o.value in chosen,
                                   description=o.description or None)
                for o in options
            ]
            prompt = questionary.checkbox(message, choices=choices, **io)
        case "confirm":
            prompt = questionary.confirm(message, default=bool(default), **io)
        case "autocomplete":
            prompt = questionary.autocomplete(
                message, choices=[o.value for o in options], default=str(default or ""),
                validate=validator, **io,
            )
        case _:
            prompt = questionary.text(message, default=str(default or ""), validate=validator,
                                      **io)
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
            help="live sources are preselected",
        ),
    ]
    questions.extend(_method_question(choice) for choice in sources)
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
            when=lambda a: can_apply and a.get("format") == "script" and bool(a.get("sources")),
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
