"""diagnose against a real systemd: readable output, JSON, not-found suggestions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.lab_helpers import wait_until
from wizard.errors import ExitCode

pytestmark = pytest.mark.lab


def test_readable_report_walks_the_article_steps_in_order(lab_factory):
    lab = lab_factory("article")
    result = run_cli("diagnose", "--lab", lab.name, "widget-daemon")
    assert result.code == ExitCode.LIVE_SOURCES
    out = result.stdout
    steps = [
        "1. Status and restart policy",
        "2. Sockets and other triggers",
        "3. Reverse dependencies",
        "4. Everything else that can start it",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    assert out.index("widget-daemon.socket") > positions[1]
    assert out.index("widget-reconcile.timer") > positions[2]
    assert "2 live source(s) can bring widget-daemon.service back: widget-daemon.socket, " \
        "widget-reconcile.timer" in out


def test_unit_not_found_suggests_close_names(lab_factory):
    lab = lab_factory("article")
    result = run_cli("diagnose", "--lab", lab.name, "widget-deamon")
    assert result.code == ExitCode.UNIT_NOT_FOUND
    assert "no unit named 'widget-deamon.service' is known to systemd" in result.stderr
    assert "did you mean: widget-daemon.service" in result.stderr


def test_no_suffix_means_service_and_aliases_resolve(lab_factory):
    lab = lab_factory("control")
    short = run_cli("diagnose", "--lab", lab.name, "--json", "quiet")
    full = run_cli("diagnose", "--lab", lab.name, "--json", "quiet.service")
    assert short.code == full.code == ExitCode.OK
    assert '"unit": "quiet.service"' in short.stdout


def test_diagnose_changes_nothing_on_the_host(lab_factory):
    lab = lab_factory("article")
    before = lab.systemctl("list-units", "--all", "--plain", "--no-legend")
    files_before = lab.systemctl("list-unit-files", "--plain", "--no-legend")
    for _ in range(2):
        run_cli("diagnose", "--lab", lab.name, "widget-daemon")
    files_after = lab.systemctl("list-unit-files", "--plain", "--no-legend")
    assert files_after == files_before

    # Timers may fire in between; compare which units exist and their load state.
    # Units diagnose read from disk stay loaded until systemd's next garbage
    # collection pass, so give that a moment.
    def loaded(listing: str) -> set[tuple[str, ...]]:
        return {tuple(line.split()[:2]) for line in listing.splitlines() if line.strip()}

    def same_units() -> bool:
        now = lab.systemctl("list-units", "--all", "--plain", "--no-legend")
        return loaded(now) == loaded(before)

    assert wait_until(same_units, timeout=5)


def test_non_root_gets_a_permission_error_not_a_traceback(lab_factory):
    lab = lab_factory("control")
    staydown = Path(sys.executable).with_name("staydown")
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         str(staydown), "diagnose", "--bus", lab.bus_address, "quiet"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == ExitCode.PERMISSION_DENIED
    assert result.stderr.startswith("staydown: error: permission denied connecting to the bus")
    assert "hint: run staydown as root (sudo)" in result.stderr
    assert "Traceback" not in result.stderr


def test_lab_up_exec_and_down_through_the_cli():
    # make demo and the tutorial boot labs through the CLI, not through lab_module.up:
    # the command's own argument wiring is what this proves.
    name = f"cli{os.getpid()}"
    try:
        up = run_cli("lab", "up", "--scenario", "article", "--name", name)
        assert up.code == ExitCode.OK, up.stderr
        assert f"lab {name} is up with scenario article" in up.stdout
        inside = run_cli("lab", "exec", "--name", name, "--",
                         "systemctl", "is-active", "widget-daemon.socket")
        assert inside.code == ExitCode.OK, inside.stderr
    finally:
        down = run_cli("lab", "down", "--name", name)
    assert down.code == ExitCode.OK, down.stderr
    assert run_cli("lab", "exec", "--name", name, "--", "true").code != ExitCode.OK
