"""The question flow driven in-process through prompt_toolkit's pipe input.

This is the middle level of prompt testing (questionary's own tests do the
same): real questionary prompts, real key presses, no terminal.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from wizard.cli.flow import (
    AnswerMode,
    Asker,
    GoBack,
    Option,
    Question,
    SourceChoice,
    load_answers,
    pause_question,
    remediation_questions,
    review_question,
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


# -- going back (Esc) and the walk's questions --------------------------------------

ESC = "\x1b"


def type_in_bursts(pipe, *bursts: str) -> threading.Thread:
    """Send the keys as an operator would: Esc alone is a key only after a pause.

    prompt_toolkit reads Esc followed at once by more input as the start of an
    escape sequence (Alt-key); a real terminal delivers a lone Esc by itself.
    """
    def send() -> None:
        for burst in bursts:
            pipe.send_text(burst)
            time.sleep(0.8 if burst == ESC else 0.2)
        pipe.close()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_esc_goes_back_one_question_and_offers_the_earlier_answer(keyboard):
    env, pipe = keyboard
    type_in_bursts(
        pipe,
        "n",  # persistent: no
        DOWN + SPACE + ENTER,  # untick the timer: only the socket
        DOWN + ENTER,  # socket: the second method
        ESC,  # at the format question: back to the socket's method
        ESC,  # back to the sources, which show the earlier choice
        DOWN + SPACE + ENTER,  # tick the timer again
        ENTER,  # socket: Enter keeps the method chosen before going back
        ENTER,  # timer: recommended
        ENTER + ENTER + ENTER,  # format, output, apply: no
    )
    answers = Asker(env).ask(questions(), can_go_back=True)
    assert answers["sources"] == ["widget-daemon.socket", "widget-reconcile.timer"]
    assert answers["method:widget-daemon.socket"] == "stop-and-mask-until-reboot"
    assert answers["method:widget-reconcile.timer"] == "stop"
    assert answers["format"] == "script"


def test_a_source_dropped_after_going_back_loses_its_method(keyboard):
    env, pipe = keyboard
    # Both methods answered, then back from the format question to the sources,
    # where SPACE unticks the socket (the cursor starts on the first row).
    type_in_bursts(pipe, "n", ENTER, ENTER, ENTER, ESC, ESC, ESC, SPACE + ENTER,
                   ENTER, ENTER, ENTER, ENTER)
    answers = Asker(env).ask(questions(), can_go_back=True)
    assert answers["sources"] == ["widget-reconcile.timer"]
    assert [k for k in answers if k.startswith("method:")] == ["method:widget-reconcile.timer"]


def test_esc_at_the_first_question_is_the_callers_to_handle(keyboard):
    env, pipe = keyboard
    type_in_bursts(pipe, ESC)
    with pytest.raises(GoBack):
        Asker(env).ask(questions(), can_go_back=True)


def test_resume_starts_at_the_last_question_with_the_answers_as_defaults(keyboard):
    env, pipe = keyboard
    earlier = {"persistent": False, "sources": ["widget-reconcile.timer"],
               "method:widget-reconcile.timer": "stop", "format": "script",
               "output": "fix.sh", "apply": True, "watch_seconds": "12"}
    type_in_bursts(pipe, ESC, ENTER, ENTER)  # back from watch_seconds to apply: keep both
    answers = Asker(env).ask(questions(), earlier, can_go_back=True, resume=True)
    assert answers == earlier


def test_without_go_back_esc_does_not_leave_a_question(keyboard):
    env, pipe = keyboard
    type_in_bursts(pipe, "n", ESC, ENTER, ENTER, ENTER, ENTER, ENTER, ENTER)
    answers = Asker(env).ask(questions())
    assert answers["sources"] == ["widget-daemon.socket", "widget-reconcile.timer"]


def test_a_pause_continues_on_enter_and_offers_explain_only_with_findings(keyboard):
    env, pipe = keyboard
    type_keys(pipe, ENTER + DOWN + DOWN + ENTER)
    asker = Asker(env)
    assert asker.ask([pause_question(1, "Sockets", can_explain=True)])["pause:1"] == "continue"
    # Without a finding there is nothing to explain: the third row is quit.
    assert asker.ask([pause_question(2, "Deps", can_explain=False)])["pause:2"] == "quit"


def test_the_review_writes_on_enter():
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      stdin_isatty=False, stdout_isatty=False, euid=0)
    question = review_question(will_apply=False)
    assert Asker(env, AnswerMode.DEFAULTS).ask([question])["review"] == "write"
    assert [o.value for o in question.options({})] == ["write", "pager", "back", "quit"]


# -- the separate confirmation for the host's own machinery (issue 11) ----------------

PROTECTED_SOURCES = [
    SourceChoice("dbus.socket", "socket dbus.socket", True,
                 lambda _p: [Option("hold-unit", "hold the unit itself"), Option("stop", "stop")],
                 {"dbus.socket": "the system bus"}),
]


def protected_questions() -> list[Question]:
    return remediation_questions("x.service", PROTECTED_SOURCES, default_output="fix.sh",
                                 can_apply=False)


def test_a_protected_source_is_confirmed_separately_and_no_is_the_default():
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stdin_isatty=False,
                      stdout_isatty=False)
    # --yes: the recommended method spares the source; nothing to confirm.
    answers = Asker(env, AnswerMode.DEFAULTS).ask(protected_questions())
    assert answers["method:dbus.socket"] == "hold-unit"
    assert "allow:dbus.socket" not in answers
    # A method that would stop it asks; the file answers yes only when it names the unit.
    chosen = {"sources": ["dbus.socket"], "methods": {"dbus.socket": "stop"}}
    answers = Asker(env, AnswerMode.FILE, chosen).ask(protected_questions())
    assert answers["allow:dbus.socket"] is False
    answers = Asker(env, AnswerMode.FILE, {**chosen, "allow_protected": ["dbus.socket"]}).ask(
        protected_questions())
    assert answers["allow:dbus.socket"] is True


def test_the_protected_confirmation_names_the_unit_and_the_reason(keyboard):
    env, pipe = keyboard
    # persistent [Enter]; sources [Enter]; method: down to stop [Enter]; confirm [Enter=no];
    # format [Enter]; output [Enter]
    type_keys(pipe, ENTER + ENTER + DOWN + ENTER + ENTER + ENTER + ENTER)
    questions = protected_questions()
    confirm = next(q for q in questions if q.name == "allow:dbus.socket")
    assert "dbus.socket is part of the host's own machinery: the system bus" in confirm.message
    answers = Asker(env).ask(questions)
    assert answers["method:dbus.socket"] == "stop"
    assert answers["allow:dbus.socket"] is False
