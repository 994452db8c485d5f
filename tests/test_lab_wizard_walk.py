"""The wizard walking with the operator, in a real 80x24 pseudo-terminal on the article's lab.

pexpect drives the installed ``staydown`` as an operator would: the four pauses
in the article's order, the manual commands' real output, Esc from the format
question back to the source selection, the summary before the script, and
Enter at every prompt writing the same script as ``staydown plan``.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lab_helpers import quiet_timer_window
from wizard.lab.nspawn import Lab

pytestmark = pytest.mark.lab
pexpect = pytest.importorskip("pexpect")

STAYDOWN = Path(sys.executable).with_name("staydown")
ENTER = "\r"
DOWN = "\x1b[B"
ESC = "\x1b"
SPACE = " "
STEP_TITLES = ("Status and restart policy", "Sockets and other triggers",
               "Reverse dependencies", "Everything else")


def spawn(lab: Lab, cwd: Path, *extra: str, pager: str = "cat") -> Any:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "80", "LINES": "24", "NO_COLOR": "1",
           "PAGER": pager}
    return pexpect.spawn(
        str(STAYDOWN), ["--lab", lab.name, *extra, "widget-daemon.service"], cwd=str(cwd),
        env=env, encoding="utf-8", timeout=60, dimensions=(24, 80),
    )


def pause(child: Any, number: int) -> None:
    """Wait for the pause after step ``number``, which offers the next step by default."""
    child.expect(f"Step {number} of 4 done")
    nxt = STEP_TITLES[number] if number < 4 else "What to neutralise"
    child.expect(f"continue to step {number + 1}: {nxt}")


def walk_to_step_5(child: Any) -> None:
    for number in range(1, 5):
        child.expect(f"{number}. {STEP_TITLES[number - 1]}")
        pause(child, number)
        child.send(ENTER)
    child.expect("Should the fix survive a reboot")


def normalised(script: str) -> str:
    """What differs between two plans made a few seconds apart of the same lab."""
    script = re.sub(r"widget-daemon\.service-[0-9a-f]{8}", "<plan-id>", script)
    script = re.sub(r"made \S+\+00:00", "made <created>", script)
    return re.sub(r"next elapse \S+ \S+ UTC \(\d+m?s", "next elapse <time> (<n>s", script)


def finish(child: Any) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


def test_four_pauses_in_order_and_each_steps_commands_run_for_real(lab_factory, tmp_path):
    lab = lab_factory("article")
    child = spawn(lab, tmp_path)
    try:
        child.expect("1. Status and restart policy")
        pause(child, 1)
        child.send(DOWN + ENTER)  # run this step's commands by hand
        child.expect(r"\$ systemctl status --no-pager --lines=5 widget-daemon.service")
        child.expect(r"Active: active \(running\) since")  # systemctl's own words
        # The article's journal line (wrapped at 80 columns, so matched in parts).
        child.expect(r"\$ journalctl -u widget-daemon.service -u widget-daemon.socket")
        child.expect("-o short-precise")
        child.expect(r"Started\s+widget-daemon\.service")
        child.expect("What staydown concluded from the same facts")
        child.expect("not live restart-policy: widget-daemon.service")
        pause(child, 1)  # back at the same pause: the commands do not move on
        child.send(ENTER)

        child.expect("2. Sockets and other triggers")
        pause(child, 2)
        child.send(DOWN + ENTER)
        child.expect(r"\$ systemctl list-units --type=socket --all --no-pager \| grep")
        child.expect(r"widget-daemon.socket\s+loaded\s+active")
        child.expect(r"\$ systemctl list-timers --all --no-pager")
        child.expect(r"widget-reconcile.timer\s+widget-reconcile.service")
        child.expect("LIVE socket: widget-daemon.socket")
        pause(child, 2)
        child.send(ENTER)

        child.expect("3. Reverse dependencies")
        pause(child, 3)
        child.send(DOWN + ENTER)
        child.expect(r"\$ systemctl list-dependencies --reverse --no-pager "
                     r"widget-daemon.service")
        child.expect("widget-reconcile.service")
        child.expect(r"\$ systemctl status --no-pager --lines=5 widget-reconcile.service")
        child.expect("TriggeredBy: . widget-reconcile.timer")
        child.expect("LIVE dependency: widget-reconcile.timer")
        pause(child, 3)
        child.send(ENTER)

        child.expect("4. Everything else")
        pause(child, 4)
        child.send(DOWN + DOWN + ENTER)  # explain the boot finding: its page
        child.expect("boot: ")
        child.expect("How it works")
        pause(child, 4)
        child.send(DOWN + DOWN + DOWN + ENTER)  # quit
        status = finish(child)
    finally:
        child.close()
    assert status == 1  # live sources, as diagnose says
    assert list(tmp_path.iterdir()) == []


def test_esc_from_the_format_question_goes_back_to_the_source_selection(lab_factory,
                                                                         tmp_path):
    lab = lab_factory("article")
    child = spawn(lab, tmp_path)
    try:
        walk_to_step_5(child)
        child.send("n")
        child.expect("Which sources")
        child.send(DOWN + SPACE + ENTER)  # untick the socket: only the timer
        child.expect("How should widget-reconcile.timer be neutralised")
        child.send(ENTER)
        child.expect("What should staydown write")
        child.send(ESC)
        child.expect("How should widget-reconcile.timer be neutralised")
        child.send(ESC)
        child.expect(r"Which sources of widget-daemon.service")
        child.expect(r"○ socket: widget-daemon.socket")  # the choice made before
        child.send(DOWN + SPACE + ENTER)  # tick it again
        child.expect("How should widget-daemon.socket be neutralised")
        child.send(ENTER)
        child.expect("How should widget-reconcile.timer be neutralised")
        child.send(ENTER)
        child.expect("What should staydown write")
        child.send(ENTER)
        child.expect("Write it to which file")
        child.send(ENTER)
        child.expect("Apply it now")
        child.send(ENTER)
        child.expect("6. The plan")
        child.expect("1. stop widget-daemon.socket")
        child.expect("2. stop widget-reconcile.timer")
        child.expect("What now")
        child.send(ENTER)
        child.expect("Nothing was changed on the system")
        status = finish(child)
    finally:
        child.close()
    assert status == 1
    script = (tmp_path / "staydown-widget-daemon.service.sh").read_text()
    assert "stop_unit a1 widget-daemon.socket" in script
    assert "stop_unit a2 widget-reconcile.timer" in script


def test_the_summary_comes_before_the_script_which_a_pager_shows(lab_factory, tmp_path):
    lab = lab_factory("article")
    child = spawn(lab, tmp_path, pager="cat")
    try:
        walk_to_step_5(child)
        child.send("n")
        for prompt in ("Which sources", "How should widget-daemon.socket",
                       "How should widget-reconcile.timer", "What should staydown write",
                       "Write it to which file"):
            child.expect(prompt)
            child.send(ENTER)
        child.expect("Apply it now")
        child.send(ENTER)
        child.expect("6. The plan")
        before = child.before
        child.expect(r"In this order, on lab \S+ \(the plan lasts until the next reboot\):")
        child.expect(r"3\. stop widget-daemon.service \(the unit itself, last\)\s+"
                     r"\[until reboot\]")
        child.expect(r"Undo:\s+staydown-widget-daemon.service.undo.sh")
        child.expect("What now")
        assert "#!/usr/bin/env bash" not in before + child.before  # not printed before it is asked
        child.send(DOWN + ENTER)  # read the full script first ($PAGER=cat)
        child.expect("#!/usr/bin/env bash")
        child.expect("stop_unit a1 widget-daemon.socket")
        child.expect("What now")
        child.send(DOWN + DOWN + ENTER)  # go back and change a choice
        child.expect("Apply it now")  # the last question of step 5
        child.send(ENTER)
        child.expect("What now")
        child.send(DOWN + DOWN + DOWN + ENTER)  # quit without writing
        child.expect("nothing was written")
        status = finish(child)
    finally:
        child.close()
    assert status == 1
    assert list(tmp_path.iterdir()) == []


def test_enter_at_every_prompt_writes_the_script_staydown_plan_writes(lab_factory, tmp_path):
    lab = lab_factory("article")
    walked, planned = tmp_path / "walked", tmp_path / "planned"
    walked.mkdir()
    planned.mkdir()
    # Both diagnose the lab as they start; the reconcile timer fires every 5 s, and a
    # diagnosis in the middle of its run reads (and comments) other states.
    quiet_timer_window(lab, "widget-reconcile.timer", 3)
    child = spawn(lab, walked)
    try:
        prompts = [f"Step {n} of 4 done" for n in range(1, 5)] + [
            "Should the fix survive a reboot", "Which sources",
            "How should widget-daemon.socket", "How should widget-reconcile.timer",
            "What should staydown write", "Write it to which file", "Apply it now",
            "What now"]
        for prompt in prompts:
            child.expect(prompt)
            child.send(ENTER)
        child.expect("created staydown-widget-daemon.service.undo.sh")
        status = finish(child)
    finally:
        child.close()
    assert status == 1
    quiet_timer_window(lab, "widget-reconcile.timer", 3)
    subprocess.run([str(STAYDOWN), "plan", "--lab", lab.name, "widget-daemon.service"],
                   cwd=planned, check=True, capture_output=True)
    for name in ("staydown-widget-daemon.service.sh",
                 "staydown-widget-daemon.service.undo.sh"):
        walked_text = normalised((walked / name).read_text())
        planned_text = normalised((planned / name).read_text())
        assert walked_text == planned_text, "\n".join(difflib.unified_diff(
            planned_text.splitlines(), walked_text.splitlines(), "plan", "wizard", lineterm=""))


def test_colour_follows_no_color_and_the_option(lab_factory, tmp_path):
    lab = lab_factory("article")
    colour = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|4[0-8]|9[0-7])(?:;[0-9]+)*m")
    seen = {}
    for name, extra, no_color in (("NO_COLOR", (), "1"), ("--no-color", ("--no-color",), None),
                                  ("default", (), None)):
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env.update({"TERM": "xterm", "PAGER": "cat"})
        if no_color:
            env["NO_COLOR"] = no_color
        child = pexpect.spawn(str(STAYDOWN), ["--lab", lab.name, *extra, "widget-daemon"],
                              cwd=str(tmp_path), env=env, encoding="utf-8", timeout=60,
                              dimensions=(24, 80))
        try:
            child.expect(r"quit \(nothing has been written\)")
            seen[name] = bool(colour.search(child.before))
            child.sendcontrol("c")
            finish(child)
        finally:
            child.close()
    assert seen == {"NO_COLOR": False, "--no-color": False, "default": True}
