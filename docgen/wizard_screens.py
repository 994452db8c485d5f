"""Text captures of the wizard's walk at 80x24, for docs/wizard-screens/ (``make docs``).

Boots the article's lab, runs ``staydown`` in a tmux terminal of 80 columns and
24 rows (tmux is the terminal emulator: what is captured is what an operator
sees, wrapped lines included), walks it as an operator would, and captures
each step from its heading to the prompt after it. Times, PIDs, plan ids,
invocation ids and the lab's name differ on every run and are normalised;
``--check`` compares a fresh walk with the committed captures, word by word
(a second's difference may move a line break), and fails on any line wider
than the terminal. Needs root, like every lab.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.lab import nspawn as lab
from wizard.system.systemd import systemd_client

SCREENS = Path("docs/wizard-screens")
COLUMNS, ROWS = 80, 24
LAB_NAME = "screens"
UNIT = "widget-daemon.service"
TIMER = "widget-reconcile.timer"


@dataclass(frozen=True)
class Capture:
    """One text capture: press ``keys``, wait for ``until``, keep from ``start`` to the end."""

    name: str
    keys: tuple[str, ...]
    until: str
    start: str
    caption: str
    quiet: bool = False
    """Press the keys only when the reconcile timer is seconds away from firing."""


# The walk, as an operator at the article's lab would take it (tmux key names).
WALK: tuple[Capture, ...] = (
    Capture("step-1.txt", (), r"Step 1 of 4 done", r"^1\. Status and restart policy",
            "Step 1, the status and restart policy, and its pause."),
    Capture("step-1-by-hand.txt", ("Down", "Enter"), r"What staydown concluded[\s\S]*"
            r"Step 1 of 4 done", r"^1\. Status and restart policy, by hand",
            "Step 1 by hand: the article's commands, their real output, and what "
            "staydown concluded."),
    Capture("step-2.txt", ("Enter",), r"Step 2 of 4 done", r"^2\. Sockets and other triggers",
            "Step 2, sockets and other triggers."),
    Capture("step-2-by-hand.txt", ("Down", "Enter"), r"What staydown concluded[\s\S]*"
            r"Step 2 of 4 done", r"^2\. Sockets and other triggers, by hand",
            "Step 2 by hand: the article's list-units --type=socket (its grep done on the "
            "lines), the timers, the socket's status.", quiet=True),
    Capture("step-3.txt", ("Enter",), r"Step 3 of 4 done", r"^3\. Reverse dependencies",
            "Step 3, reverse dependencies, walked up to the timer."),
    Capture("step-3-by-hand.txt", ("Down", "Enter"), r"What staydown concluded[\s\S]*"
            r"Step 3 of 4 done", r"^3\. Reverse dependencies, by hand",
            "Step 3 by hand: list-dependencies --reverse, the reconcile service's status, "
            "the timers.", quiet=True),
    Capture("step-4.txt", ("Enter",), r"Step 4 of 4 done", r"^4\. Everything else",
            "Step 4, everything else, and the verdict."),
    Capture("step-5-6.txt", ("Enter", "n", "Enter", "Enter", "Enter", "Enter", "Enter",
                             "Enter"),
            r"What now\?[\s\S]*quit without writing", r"^5\. What to neutralise",
            "Step 5's questions answered with Enter, and step 6: the plan summarised "
            "before anything is written."),
    Capture("step-6-written.txt", ("Enter",), r"Nothing was changed on the system",
            r"^\? What now\?", "Step 6: written, not applied."),
)

_NORMALISE: tuple[tuple[str, str], ...] = (
    (r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\b", "<date>"),
    (r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\+00:00| UTC)?", "<date>"),
    (r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d \d\d:\d\d:\d\d(?:\.\d+)?",
     "<time>"),
    (r"\b(?:\d+(?:min|ms|s|h)\s?)+ (ago|left)\b", r"<span> \1"),
    (r"\(\d+m?s(?=\s+from\s+the\s+snapshot)", "(<n>s"),
    # A timer caught between firing and re-arming lists NEXT and LEFT as "-".
    (r"(?m)^(\s+)-\s+-(\s+<date> <span> ago)", r"\1<date> <span> left\2"),
    (r"\b(PID|Process|process): \d+", r"\1: <pid>"),
    # systemctl status draws the cgroup's processes as a tree: "└─36 /usr/bin/sleep".
    (r"([└├]─)\d+ ", r"\1<pid> "),
    (r"\bwidget-daemon\.service-[0-9a-f]{8}\b", "<plan-id>"),
    (r"\b[0-9a-f]{32}\b", "<invocation-id>"),
)


def normalised(text: str, lab_name: str) -> str:
    """A capture with what differs between runs replaced, trailing spaces gone."""
    text = text.replace(f"staydown-{lab_name}", f"staydown-{LAB_NAME}")
    text = re.sub(rf"\blab {re.escape(lab_name)}\b", f"lab {LAB_NAME}", text)
    for pattern, replacement in _NORMALISE:
        text = re.sub(pattern, replacement, text)
    lines = []
    for line in text.splitlines():
        if line.startswith("Pane is dead"):
            continue  # tmux's own note once the wizard has ended
        rule = re.match(r"^(.*\S) ─+$", line)
        if rule:  # a heading's rule, drawn to the width around the name replaced above
            line = f"{rule.group(1)} " + "─" * max(COLUMNS - len(rule.group(1)) - 1, 3)
        lines.append(line.rstrip())
    return "\n".join(lines).strip("\n") + "\n"


def words(text: str) -> list[str]:
    """The capture as words: line breaks and column padding do not count."""
    return text.split()


class Terminal:
    """A tmux server of our own with one 80x24 window running one command."""

    def __init__(self, command: Sequence[str], cwd: Path) -> None:
        self.socket = f"staydown-screens-{os.getpid()}"
        self._tmux("new-session", "-d", "-x", str(COLUMNS), "-y", str(ROWS), "-s", "walk",
                   "-c", str(cwd), shlex.join(command))
        self._tmux("set-option", "-t", "walk", "remain-on-exit", "on")
        self._tmux("set-option", "-t", "walk", "history-limit", "20000")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True,
                              capture_output=True, text=True).stdout

    def send(self, key: str) -> None:
        """One key, by tmux's name for it (Enter, Down) or as text."""
        self._tmux("send-keys", "-t", "walk", key)

    def text(self) -> str:
        """Everything the terminal shows and has scrolled past; -J joins lines it wrapped."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "walk")

    def wait_for(self, pattern: str, since: int, timeout: float = 60.0) -> str:
        """The text once ``pattern`` appears after character ``since``."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if re.search(pattern, text[since:], re.MULTILINE):
                time.sleep(0.3)  # let the prompt finish drawing
                return self.text()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pattern!r} did not appear; the terminal shows:\n"
                                   + text[-2000:])
            time.sleep(0.2)

    def close(self) -> None:
        """End our tmux server (and the wizard, if it still runs)."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False,
                       capture_output=True)


def _settle(booted: lab.Lab, timeout: float = 60.0) -> None:
    """Wait until the reconcile timer has fired twice.

    Then every walk sees the same kind of output: the reconcile service's status
    with a last run, list-timers with a LAST column.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fired = booted.exec(["journalctl", "-u", "widget-reconcile.service", "-o", "cat",
                             "--no-pager"]).stdout.count("Finished")
        if fired >= 2:
            return
        time.sleep(0.5)
    raise TimeoutError("the reconcile timer did not fire twice within a minute")


def _quiet_timer(booted: lab.Lab, seconds: float = 2.5, timeout: float = 30.0) -> None:
    """Return when the reconcile timer will not fire for ``seconds``, and its run is over.

    Its service's status reads differently while it runs (activating, a CGroup);
    the article's timer fires every 5 s, so a capture waits for a quiet moment.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with systemd_client(booted.connection) as client:
            timer = client.load_unit(TIMER).timer
            service = client.load_unit(TIMER.replace(".timer", ".service"))
        if timer is None:
            raise RuntimeError(f"{TIMER} is not a timer")
        left = (timer.next_elapse_realtime_usec - time.time_ns() // 1000) / 1e6
        if left >= seconds and service.active_state == "inactive":
            return
        time.sleep(0.1)
    raise TimeoutError(f"{TIMER} had no quiet moment of {seconds} s")


def walk(lab_name: str) -> dict[str, str]:
    """Boot the lab, walk the wizard, return the raw captures by file name."""
    staydown = str(Path(sys.executable).with_name("staydown"))
    booted = lab.up("article", lab_name)
    captures: dict[str, str] = {}
    try:
        _settle(booted)
        with tempfile.TemporaryDirectory() as directory:
            command = ["env", "NO_COLOR=1", "PAGER=cat", "LANG=C.UTF-8", staydown,
                       "--lab", booted.name, UNIT]
            terminal = Terminal(command, Path(directory))
            try:
                since = 0
                for capture in WALK:
                    if capture.quiet:
                        _quiet_timer(booted)
                    for key in capture.keys:
                        terminal.send(key)
                        time.sleep(0.4)  # a lone Esc or y/n must not merge with the next
                    text = terminal.wait_for(capture.until, since)
                    starts = [m.start() for m in re.finditer(capture.start, text,
                                                             re.MULTILINE)]
                    if not starts:
                        raise RuntimeError(f"{capture.name}: {capture.start!r} not on screen")
                    captures[capture.name] = text[starts[-1]:]
                    since = len(text.rstrip())
            finally:
                terminal.close()
    finally:
        lab.down(booted.name)
    return captures


def index_text() -> str:
    """docs/wizard-screens/README.md: what the captures are, and one line for each."""
    lines = ["# The wizard's walk at 80x24", "",
             "Text captures of `staydown --lab screens widget-daemon.service` on the article's",
             "lab in an 80x24 terminal (tmux), with `NO_COLOR=1`. `make docs` regenerates them;",
             "tests/test_lab_wizard_screens.py fails when they drift. Times, PIDs, plan ids and",
             "invocation ids are normalised (`<time>`, `<pid>`, ...). Each capture runs from the",
             "step's heading to the prompt after it; the screen shows its last 24 lines.", ""]
    lines += [f"- [{c.name}]({c.name}): {c.caption}" for c in WALK]
    return "\n".join(lines) + "\n"


def generated(lab_name: str = LAB_NAME) -> dict[str, str]:
    """File name under docs/wizard-screens/ to contents, from a fresh walk."""
    raw = walk(lab_name)
    wide = too_wide(raw)
    if wide:
        raise RuntimeError("lines wider than the terminal:\n" + "\n".join(wide))
    files = {name: normalised(text, lab_name) for name, text in raw.items()}
    files["README.md"] = index_text()
    return files


def too_wide(files: dict[str, str]) -> list[str]:
    """Lines wider than the terminal (tmux -J joined what the terminal had to wrap)."""
    return [f"{name}: {line}" for name, text in files.items() if name.endswith(".txt")
            for line in text.splitlines() if len(line) > COLUMNS]


def drift(committed: Path, files: dict[str, str]) -> list[str]:
    """The captures whose words differ from the committed ones."""
    stale = []
    for name, text in files.items():
        path = committed / name
        if not path.is_file() or words(path.read_text()) != words(text):
            stale.append(name)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """Write the captures (default docs/wizard-screens), or --check them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", nargs="?", default=str(SCREENS))
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--lab-name", default=LAB_NAME)
    args = parser.parse_args(argv)
    files = generated(args.lab_name)
    wide = too_wide(files)
    if wide:
        print("lines wider than the terminal:\n" + "\n".join(wide), file=sys.stderr)
        return 1
    directory = Path(args.directory)
    if args.check:
        stale = drift(directory, files)
        if stale:
            print(f"stale: {', '.join(stale)}; run make docs", file=sys.stderr)
            return 1
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
