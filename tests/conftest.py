"""Shared fixtures: labs on a real systemd, and running the CLI in-process."""

from __future__ import annotations

import io
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.ssh_lab import SshNetwork
from wizard.cli.main import main
from wizard.environment import Environment
from wizard.lab import nspawn as lab_module

_counter = itertools.count()


def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the lab needs root to boot systemd-nspawn"
    if shutil.which("systemd-nspawn") is None:
        return "systemd-nspawn is not installed (apt-get install systemd-container)"
    return None


@pytest.fixture
def lab_factory() -> Iterator[Callable[[str | lab_module.Scenario], lab_module.Lab]]:
    """Boot labs with a scenario each; every one is torn down after the test."""
    reason = lab_unavailable_reason()
    if reason is not None:
        # make test sets STAYDOWN_REQUIRE_LAB: there a missing lab is a failure.
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)
    booted: list[lab_module.Lab] = []

    def boot(scenario: str | lab_module.Scenario) -> lab_module.Lab:
        name = f"t{os.getpid()}-{next(_counter)}"
        booted.append(lab_module.up(scenario, name))
        return booted[-1]

    try:
        yield boot
    finally:
        for each in booted:
            lab_module.down(each.name)


@pytest.fixture
def ssh_network() -> Iterator[SshNetwork]:
    """Labs with an sshd, reachable only from a network namespace of the test's (ssh_lab.py)."""
    skip_without_ssh_lab()
    with SshNetwork() as network:
        yield network


def skip_without_ssh_lab() -> None:
    """Skip (or, under make test, fail) when labs with an sshd cannot run here."""
    reason = lab_unavailable_reason() or next(
        (f"{tool} is not installed (make debs)" for tool in ("ip", "ssh", "ssh-keygen")
         if shutil.which(tool) is None), None) or (
        None if os.path.exists("/usr/sbin/sshd") else "openssh-server is not installed")
    if reason is not None:
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)


@dataclass
class CliResult:
    """What a CLI run printed and returned."""

    code: int
    stdout: str
    stderr: str


def run_cli(*argv: str, tty: bool = False, euid: int = 0) -> CliResult:
    """Run staydown in-process with captured streams."""
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=io.StringIO(), stdout=out, stderr=err, stdin_isatty=tty, stdout_isatty=tty,
        euid=euid, color=False,
    )
    code = main(list(argv), env)
    return CliResult(code, out.getvalue(), err.getvalue())
