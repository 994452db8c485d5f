"""The question flow driven in-process through prompt_toolkit's pipe input.

This is the middle level of prompt testing (questionary's own tests do the
same): real questionary prompts, real key presses, no terminal.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from wizard.cli.flow import (
    AnswerMode,
    Asker,
    Option,
    SourceChoice,
    load_answers,
    remediation_questions,
)
from wizard.environment import Environment
from wizard.errors import InterruptedByUserError, UsageError

DOWN = "\x1b[B"
ENTER = "\r"
SPACE = " "
CTRL_C = "\x03"


def methods(persistent: bool) -> list[Option]:
    if persistent:
        return [Option("mask", "mask for good"), Option("disable", "disable")]
    return [Option("stop", "stop"), Option("stop-and-mask-until-reboot", "stop and mask")]


SOURCES = [
    SourceChoice("widget-daemon.socket", "socket widget-daemon.socket", True, methods),
    SourceChoice("widget-reconcile.timer", "dependency widget-reconcile.timer", True, methods),
    SourceChoice("multi-user.target", "boot multi-user.target", False, methods),
]


def questions(can_apply: bool = True):
    return remediation_questions(
        "widget-daemon.service", SOURCES, default_output="fix.sh", can_apply=can_apply
    )


def type_keys(pipe, keys: str) -> None:
    """Queue the key presses, then end the input: a prompt left waiting gets EOF
    (and the test fails with an interruption) instead of hanging forever."""
    pipe.send_text(keys)
    pipe.close()


def test_running_out_of_keys_ends_in_an_interruption_not_a_hang(keyboard):
    env, pipe = keyboard
    type_keys(pipe, "n" + ENTER)
    with pytest.raises(InterruptedByUserError):
        Asker(env).ask(questions())


@pytest.fixture
def keyboard() -> Iterator[tuple[Environment, object]]:
    with create_pipe_input() as pipe:
        env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                          stdin_isatty=True, stdout_isatty=True, euid=0,
                          prompt_input=pipe, prompt_output=DummyOutput())
        yield env, pipe


def test_enter_everywhere_accepts_the_recommended_answers(keyboard):
    env, pipe = keyboard
    # persistent? [Enter=no]; sources [Enter keeps the preselected live ones];
    # two method selects [Enter]; format [Enter]; output [Enter]; apply [Enter=no]
    type_keys(pipe, "n" + ENTER * 6)
    answers = Asker(env).ask(questions())
    assert answers == {
        "persistent": False,
        "sources": ["widget-daemon.socket", "widget-reconcile.timer"],
        "method:widget-daemon.socket": "stop",
        "method:widget-reconcile.timer": "stop",
        "format": "script",
        "output": "fix.sh",
        "apply": False,
    }


def test_arrow_keys_pick_another_method_and_persistence_changes_the_options(keyboard):
    env, pipe = keyboard
    type_keys(
        pipe,
        "y"  # persistent
        + SPACE + ENTER  # untick the socket, keep the timer
        + DOWN + ENTER  # timer: second option (disable)
        + ENTER + ENTER  # format, output
        + "y"  # apply
        + ENTER  # watch seconds: 30
    )
    answers = Asker(env).ask(questions())
    assert answers["persistent"] is True
    assert answers["sources"] == ["widget-reconcile.timer"]
    assert "method:widget-daemon.socket" not in answers
    assert answers["method:widget-reconcile.timer"] == "disable"
    assert answers["apply"] is True
    assert answers["watch_seconds"] == "30"


def test_ctrl_c_at_a_prompt_is_an_interruption(keyboard):
    env, pipe = keyboard
    type_keys(pipe, CTRL_C)
    with pytest.raises(InterruptedByUserError):
        Asker(env).ask(questions())


def test_apply_is_never_asked_when_it_cannot_be_applied(keyboard):
    env, pipe = keyboard
    type_keys(pipe, "n" + ENTER * 5)
    answers = Asker(env).ask(questions(can_apply=False))
    assert "apply" not in answers


def test_yes_mode_takes_every_default_without_prompting():
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      stdin_isatty=False, stdout_isatty=False, euid=0)
    answers = Asker(env, AnswerMode.DEFAULTS).ask(questions())
    assert answers["sources"] == ["widget-daemon.socket", "widget-reconcile.timer"]
    assert answers["apply"] is False


def test_answers_file_supplies_methods_by_source(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({
        "persistent": True,
        "sources": ["widget-daemon.socket"],
        "methods": {"widget-daemon.socket": "disable"},
        "output": "out.sh",
    }))
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      stdin_isatty=False, stdout_isatty=False, euid=0)
    answers = Asker(env, AnswerMode.FILE, load_answers(str(path))).ask(questions())
    assert answers["method:widget-daemon.socket"] == "disable"
    assert answers["output"] == "out.sh"
    assert answers["format"] == "script"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"sources": ["nope.socket"]}, "nope.socket not among"),
        ({"persistent": "yes"}, "expected true or false"),
        ({"methods": {"widget-daemon.socket": "explode"}}, "'explode' is not one of"),
        ({"format": "pdf"}, "'pdf' is not one of"),
    ],
)
def test_bad_answers_in_a_file_are_usage_errors(tmp_path, content, message):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(content))
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      stdin_isatty=False, stdout_isatty=False, euid=0)
    with pytest.raises(UsageError, match=message):
        Asker(env, AnswerMode.FILE, load_answers(str(path))).ask(questions())


def test_unreadable_answers_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_answers(str(bad))
    with pytest.raises(UsageError, match="cannot read answers file"):
        load_answers(str(tmp_path / "missing.json"))
