"""Small helpers for tests that drive a lab."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from wizard.lab import nspawn as lab_module
from wizard.lab.nspawn import Lab, Scenario
from wizard.system.systemd import systemd_client


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.2) -> bool:
    """Poll until the predicate holds; False when the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def is_active(lab: Lab, unit: str) -> bool:
    """systemctl is-active inside the lab."""
    return lab.exec(["systemctl", "is-active", "--quiet", unit]).returncode == 0


def connect_tcp(lab: Lab, port: int, host: str = "127.0.0.1") -> None:
    """Open (and close) one TCP connection inside the lab, like a health check."""
    lab.exec(["bash", "-c", f"exec 3<>/dev/tcp/{host}/{port}"])


def diagnose_json(lab: Lab, unit: str) -> tuple[int, dict[str, Any]]:
    """Run diagnose --json against the lab; exit code and parsed document."""
    result = run_cli("diagnose", "--lab", lab.name, "--json", unit)
    assert result.stderr == "", result.stderr
    return result.code, json.loads(result.stdout)


def findings_by(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The findings of one kind."""
    return [f for f in document["findings"] if f["kind"] == kind]


def quiet_timer_window(lab: Lab, timer: str, seconds: float) -> None:
    """Return when the timer will not fire for at least ``seconds`` (waiting it out if needed).

    The article's reconcile timer fires every 5 s; a test that must see another
    cause first starts right after it fired.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with systemd_client(lab.connection) as client:
            details = client.load_unit(timer).timer
        assert details is not None, timer
        left = (details.next_elapse_realtime_usec - time.time_ns() // 1000) / 1e6
        if left >= seconds:
            return
        time.sleep(max(0.05, left + 0.3))
    raise AssertionError(f"{timer} never left a quiet window of {seconds} s")


def unit_states(lab: Lab, *units: str) -> dict[str, tuple[str, str]]:
    """Each unit's (is-enabled, is-active) inside the lab, as systemctl prints them."""
    found = {}
    for unit in units:
        enabled = lab.exec(["systemctl", "is-enabled", "--", unit]).stdout.strip()
        active = lab.exec(["systemctl", "is-active", "--", unit]).stdout.strip()
        found[unit] = (enabled, active)
    return found


WORKTREE = Path(__file__).resolve().parents[1]


def staydown_binds() -> list[str]:
    """Read-only binds that let staydown run inside a lab (``lab_module.up(read_only_binds=)``).

    The worktree holds the venv; its interpreter lives under sys.base_prefix,
    which the lab already has when it is under /usr (pyenv puts it under /root;
    make the lab's /root traversable then, see :func:`open_root_for_users`).
    """
    base = os.path.realpath(sys.base_prefix)
    return [str(WORKTREE)] + ([] if base.startswith("/usr") else [base])


def open_root_for_users(lab: Lab) -> None:
    """Let a non-root user reach an interpreter bound under the lab's /root."""
    lab.exec(["chmod", "0755", "/root"], check=True)


def staydown_argv(*argv: str) -> list[str]:
    """The command line that runs this worktree's staydown inside a lab booted with the binds."""
    return [sys.executable, "-m", "wizard", *argv]


def skip_unless_the_kernel_runs(scenario: Scenario | str) -> None:
    """Skip a scenario whose units this host's kernel cannot run (automounts without autofs).

    This is the host's kernel, not the lab: no container on it can start an
    automount, so the test could only measure the missing feature. The reason
    is printed with the skip (pytest -rs) and docs/lab.md names the requirement.
    """
    if isinstance(scenario, str):
        scenario = lab_module.load_scenario(scenario)
    reason = lab_module.automount_unavailable()
    if scenario.uses_automount and reason is not None:
        pytest.skip(reason)

