"""The access seam without a lab: destinations, the bus address, where commands are placed."""

from __future__ import annotations

import subprocess
import time

import pytest

from wizard.errors import UsageError
from wizard.model.connection import (
    address_connection,
    host_connection,
    machine_connection,
    system_connection,
    user_connection,
)
from wizard.system.access import (
    COMMAND_NOT_FOUND,
    LocalAccess,
    SshAccess,
    SshDestination,
    _placed,
    file_reader,
    parse_destination,
    run_readonly,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("db2", SshDestination("db2")),
    ("ops@db2", SshDestination("db2", "ops")),
    ("ops@db2:2222", SshDestination("db2", "ops", 2222)),
    ("db2.example.org:22", SshDestination("db2.example.org", "", 22)),
    ("[::1]:2200", SshDestination("::1", "", 2200)),
    ("ops@fe80::1", SshDestination("fe80::1", "ops")),
])
def test_destinations_split_as_ssh_takes_them(text, expected):
    assert parse_destination(text) == expected


@pytest.mark.parametrize("text", ["", "ops@", "-oProxyCommand=x", "db2:0", "db2:70000",
                                  "a b"])
def test_a_bad_destination_is_a_usage_error(text):
    with pytest.raises(UsageError):
        parse_destination(text)


def test_the_bus_address_escapes_every_argument_for_sd_bus():
    access = SshAccess(host_connection("ops@db2:2222", ("IdentityFile=/k y",)))
    access._started = True  # no master: only the address is looked at
    try:
        address = access.bus_address()
    finally:
        access._started = False
        access.close()
    assert address.startswith("unixexec:path=ssh,argv0=ssh,argv1=-xT,")
    assert "IdentityFile%3d/k%20y" in address
    assert "ops%40db2" in address
    assert address.endswith("systemd-stdio-bridge")
    assert " " not in address
    assert "@" not in address


def test_commands_are_placed_where_the_connection_points():
    assert _placed(system_connection(), ["systemctl", "status", "a"]) == [
        "systemctl", "status", "a"]
    assert _placed(user_connection(), ["systemctl", "status", "a"]) == [
        "systemctl", "--user", "status", "a"]
    assert _placed(machine_connection("web1", "/proc/42/root"), ["journalctl"]) == [
        "nsenter", "--target", "42", "--all", "--", "journalctl"]


def test_a_bare_bus_address_has_nowhere_to_run_or_read():
    bare = address_connection("unix:path=/x")
    assert run_readonly(bare, ["true"]).returncode == 127
    assert file_reader(bare) is None


def test_a_launched_command_is_collected_whole_after_it_ends() -> None:
    # More than a pipe holds (64 KiB): with a pipe it would wait for a reader.
    launched = LocalAccess().launch(["sh", "-c", "head -c 200000 /dev/zero; echo oops >&2; exit 3"])
    time.sleep(0.2)
    done = launched.output()
    assert (done.returncode, len(done.stdout), done.stderr) == (3, 200000, "oops\n")
    assert launched.output() is done


def test_a_launched_program_that_is_missing_is_status_127() -> None:
    done = LocalAccess().launch(["staydown-no-such-program"]).output()
    assert done.returncode == COMMAND_NOT_FOUND
    assert "staydown-no-such-program" in done.stderr


def test_a_launched_command_that_takes_too_long_is_ended() -> None:
    launched = LocalAccess().launch(["sleep", "30"])
    process = launched._process
    assert process is not None
    with pytest.raises(subprocess.TimeoutExpired):
        launched.output(timeout=0.1)
    assert process.returncode is not None  # ended and reaped by end_child
