"""diagnose's journal timeline against a real systemd: provoke, then read it back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.lab_helpers import (
    connect_tcp,
    diagnose_json,
    is_active,
    quiet_timer_window,
    wait_until,
)

pytestmark = pytest.mark.lab

DAEMON = "widget-daemon.service"


def starts_after(document: dict[str, Any], usec: int) -> list[dict[str, Any]]:
    return [e for e in document["timeline"]["events"]
            if e["event"] == "start" and e["at_usec"] >= usec]


def test_timeline_in_json_names_the_socket_and_the_reconcile_timer(lab_factory):
    lab = lab_factory("article")
    quiet_timer_window(lab, "widget-reconcile.timer", 2.0)
    socket_mark = time.time_ns() // 1000
    lab.systemctl("stop", DAEMON)
    connect_tcp(lab, 8080)
    assert wait_until(lambda: is_active(lab, DAEMON), timeout=5)
    timer_mark = time.time_ns() // 1000
    lab.systemctl("stop", "widget-daemon.socket", DAEMON)
    assert wait_until(lambda: is_active(lab, DAEMON), timeout=10)

    _code, document = diagnose_json(lab, DAEMON)

    starts = starts_after(document, socket_mark)
    assert len(starts) == 2, starts  # seen once under heavy load: three; this shows which
    socket_start, timer_start = starts
    assert socket_start["at_usec"] < timer_mark <= timer_start["at_usec"]
    assert (socket_start["cause"], socket_start["source"], socket_start["chain"],
            socket_start["certainty"]) == (
        "triggered", "widget-daemon.socket", ["widget-daemon.socket", DAEMON], "inferred")
    assert (timer_start["cause"], timer_start["source"], timer_start["chain"],
            timer_start["certainty"]) == (
        "pulled-in", "widget-reconcile.timer",
        ["widget-reconcile.timer", "widget-reconcile.service", DAEMON], "recorded")
    stops = [e for e in document["timeline"]["events"]
             if e["event"] == "stop" and e["at_usec"] >= socket_mark]
    assert [(e["cause"], e["result"]) for e in stops] == [("clean", "success")] * 2
    # The boot start is in the 24 h default too.
    assert document["timeline"]["events"][0]["chain"][-2:] == ["multi-user.target", DAEMON]


def test_since_limits_the_timeline_and_the_table_shows_it(lab_factory):
    lab = lab_factory("article")
    quiet_timer_window(lab, "widget-reconcile.timer", 2.0)
    mark = time.time_ns() // 1000
    lab.systemctl("stop", DAEMON)
    connect_tcp(lab, 8080)
    assert wait_until(lambda: is_active(lab, DAEMON), timeout=5)

    result = run_cli("diagnose", "--lab", lab.name, "--json", "--since",
                     f"@{mark / 1e6:.6f}", DAEMON)
    events = json.loads(result.stdout)["timeline"]["events"]
    assert [(e["event"], e["cause"]) for e in events] == [("stop", "clean"),
                                                          ("start", "triggered")]

    readable = run_cli("diagnose", "--lab", lab.name, "--since", "10min", DAEMON).stdout
    table = readable[readable.index("journal since"):readable.index("2. Sockets")]
    assert "triggered (inferred)" in table
    assert "stopped by a stop job" in table
    assert "pulled-in" in table  # the boot start, by multi-user.target


def test_restart_policy_and_the_kill_in_the_timeline(lab_factory):
    lab = lab_factory("article")
    lab.systemctl("stop", "widget-reconcile.timer")
    mark = time.time_ns() // 1000
    lab.exec(["bash", "-c", f"kill -KILL $(systemctl show --property=MainPID --value {DAEMON})"],
             check=True)
    assert wait_until(lambda: lab.systemctl("show", "--property=NRestarts", "--value",
                                            DAEMON).strip() == "1", timeout=10)
    _code, document = diagnose_json(lab, DAEMON)
    after = [e for e in document["timeline"]["events"] if e["at_usec"] >= mark]
    assert [(e["event"], e["cause"]) for e in after] == [("stop", "killed"),
                                                         ("start", "restart-policy")]
    assert "SIGKILL" in after[0]["summary"]
    assert after[1]["chain"] == [DAEMON]


def test_unreadable_journal_is_a_note_not_a_crash(lab_factory):
    lab = lab_factory("control")
    # journalctl as nobody cannot open the lab's journal under /proc/PID/root.
    program = (
        "from wizard.system.journal import journal_source, read_journal\n"
        "from wizard.model.connection import address_connection\n"
        f"c = address_connection('unix:path=/x', files_root='/proc/{lab.leader_pid}/root')\n"
        "read = read_journal(journal_source(c), ['quiet.service'], 0)\n"
        "print(len(read.entries)); print(read.notes[0])\n"
    )
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
         program], capture_output=True, text=True, timeout=60, check=False,
        cwd=str(Path(__file__).parent.parent),
    )
    assert done.returncode == 0, done.stderr
    count, note = done.stdout.splitlines()
    assert count == "0"
    assert "could not be read (permission denied)" in note
    assert "systemd-journal group" in note
