"""The wizard against a real systemd: in-process with pipe input, and end to end in a pty."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.conftest import CliResult
from tests.lab_helpers import connect_tcp, is_active, wait_until
from wizard.cli.main import main
from wizard.environment import Environment

pytestmark = pytest.mark.lab

ENTER = "\r"
CTRL_C = "\x03"
STAYDOWN = Path(sys.executable).with_name("staydown")


def run_wizard_with_keys(keys: str, *argv: str) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        pipe.close()  # a prompt left waiting gets EOF instead of hanging the test
        env = Environment(stdin=io.StringIO(), stdout=out, stderr=err, stdin_isatty=True,
                          stdout_isatty=False, euid=0, color=False,
                          prompt_input=pipe, prompt_output=DummyOutput())
        code = main(list(argv), env)
    return CliResult(code, out.getvalue(), err.getvalue())


def test_wizard_walks_the_article_steps_in_order_and_writes_the_plan(lab_factory, tmp_path):
    lab = lab_factory("article")
    output = tmp_path / "fix.sh"
    # persistent? no; sources: as preselected; a method per source: recommended;
    # format: script; output: typed; apply: no (the default).
    keys = ENTER + ENTER + ENTER + ENTER + ENTER + "\x15" + str(output) + ENTER + ENTER
    result = run_wizard_with_keys(keys, "--lab", lab.name, "widget-daemon")
    assert result.code == 1, result.stderr
    text = result.stdout
    headings = ["1. Status", "2. Sockets and other triggers", "3. Reverse dependencies",
                "4. Everything else", "5. What to neutralise", "6. The plan"]
    positions = [text.find(h) for h in headings]
    assert -1 not in positions, text
    assert positions == sorted(positions)
    assert "Nothing was changed on the system" in text
    script = output.read_text()
    assert "stop_unit a1 widget-daemon.socket" in script
    assert "stop_unit a2 widget-reconcile.timer" in script
    assert output.with_name("fix.undo.sh").exists()
    assert is_active(lab, "widget-daemon.socket")


def test_ctrl_c_at_a_prompt_writes_nothing(lab_factory, tmp_path):
    lab = lab_factory("article")
    os.chdir(tmp_path)
    result = run_wizard_with_keys(ENTER + CTRL_C, "--lab", lab.name, "widget-daemon")
    assert result.code == 130
    assert "interrupted" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_answers_file_applies_and_verifies(lab_factory, tmp_path):
    lab = lab_factory("article")
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({
        "persistent": False,
        "sources": ["widget-daemon.socket", "widget-reconcile.timer"],
        "methods": {"widget-daemon.socket": "stop", "widget-reconcile.timer": "mask-runtime"},
        "format": "script",
        "output": str(tmp_path / "fix.sh"),
        "apply": True,
        "watch_seconds": "8",
    }))
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err, stdin_isatty=False,
                      stdout_isatty=False, euid=0, color=False)
    code = main(["--lab", lab.name, "--answers", str(answers), "widget-daemon"], env)
    assert code == 0, (out.getvalue(), err.getvalue())
    assert "stayed down for 8 s" in out.getvalue()
    # The timer's unit file is in /etc: mask --runtime would be shadowed, so it is held.
    shown = lab.systemctl("show", "-P", "DropInPaths", "widget-reconcile.timer")
    assert "/run/systemd/system/widget-reconcile.timer.d/99-staydown-hold.conf" in shown
    connect_tcp(lab, 8080)
    assert not wait_until(lambda: is_active(lab, "widget-daemon.service"), timeout=3)


def test_wizard_end_to_end_in_a_terminal(lab_factory, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    lab = lab_factory("article")
    lab.systemctl("stop", "widget-daemon.service")
    connect_tcp(lab, 8080)
    assert wait_until(lambda: is_active(lab, "widget-daemon.service"), timeout=5)
    child = pexpect.spawn(
        str(STAYDOWN), ["--lab", lab.name, "widget-daemon.service"], cwd=str(tmp_path),
        env={**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40"},
        encoding="utf-8", timeout=60, dimensions=(40, 120),
    )
    try:
        child.expect("1. Status")
        child.expect("listens on 127.0.0.1:8080")
        child.expect("3. Reverse dependencies")
        child.expect("widget-reconcile.timer")
        child.expect("Should the fix survive a reboot")
        child.send("n")  # a confirm takes the key itself; a newline would answer the next
        child.expect("Which sources")
        child.send(ENTER)
        child.expect("How should widget-daemon.socket be neutralised")
        child.send(ENTER)
        child.expect("How should widget-reconcile.timer be neutralised")
        child.send(ENTER)
        child.expect("What should staydown write")
        child.send(ENTER)
        child.expect("Write it to which file")
        child.send(ENTER)
        child.expect("Apply it now")
        child.send("y")
        child.expect("Watch for how many seconds")
        child.send("\x15" + "10" + ENTER)
        child.expect("stayed down for 10 s", timeout=90)
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert (tmp_path / "staydown-widget-daemon.service.sh").exists()
    assert not is_active(lab, "widget-daemon.service")
    assert not is_active(lab, "widget-reconcile.timer")
