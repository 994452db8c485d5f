"""The environment failing around staydown: no systemd on the bus, odd arguments."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from tests.conftest import run_cli
from wizard.cli.parser import dash_units_last
from wizard.errors import ExitCode


@pytest.fixture
def bus_without_systemd(tmp_path):
    """A real dbus-daemon with nothing on it, like a container that runs no systemd."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        pytest.fail("dbus-daemon is not installed; make test installs the dbus package")
    address = f"unix:path={tmp_path}/bus"
    process = subprocess.Popen(
        [daemon, "--session", "--nofork", "--nopidfile", f"--address={address}",
         "--print-address"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()  # printed once it listens
        yield address
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


@pytest.mark.parametrize("command", [("diagnose",), ("plan",), ("wizard", "--yes")])
def test_a_bus_without_systemd_is_systemd_unreachable(bus_without_systemd, command):
    result = run_cli(*command, "--bus", bus_without_systemd, "widget-daemon")
    assert result.code == ExitCode.SYSTEMD_UNREACHABLE, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("staydown: error: ")


def test_plan_on_an_unreachable_bus_writes_nothing(tmp_path):
    output = tmp_path / "fix.sh"
    result = run_cli("plan", "--bus", f"unix:path={tmp_path}/none", "-o", str(output), "x")
    assert result.code == ExitCode.SYSTEMD_UNREACHABLE
    assert list(tmp_path.iterdir()) == []


def test_wizard_without_a_terminal_asks_for_yes_or_answers():
    result = run_cli("widget-daemon")
    assert result.code == ExitCode.USAGE
    assert "--yes" in result.stderr


@pytest.mark.parametrize(("argv", "expected"), [
    (["diagnose", "-.mount", "--json"], ["diagnose", "--json", "--", "-.mount"]),
    (["-.slice"], ["--", "-.slice"]),
    (["diagnose", "--", "-.mount"], ["diagnose", "--", "-.mount"]),
    (["diagnose", "--json", "foo.mount"], ["diagnose", "--json", "foo.mount"]),
    (["diagnose", "-H", "db.example"], ["diagnose", "-H", "db.example"]),
])
def test_root_mount_and_slice_names_are_units_not_options(argv, expected):
    assert dash_units_last(argv) == expected
