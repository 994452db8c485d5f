"""--machine on a real machined: a container registered inside a lab.

The lab runs systemd-machined (from the host's /usr) and a nested
``systemd-nspawn --register=yes`` container, web1, with the article's units.
staydown runs in the lab as root, from this worktree bound read-only, so
``--machine web1`` goes through machined exactly as on a host: the bus through
sd_bus_open_system_machine, the files through the leader's /proc/PID/root,
the journal through ``journalctl -M``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import lab_unavailable_reason
from tests.lab_helpers import staydown_argv, staydown_binds, wait_until
from wizard.errors import ExitCode
from wizard.lab import nspawn as lab_module
from wizard.lab.nspawn import Lab

pytestmark = pytest.mark.lab

MACHINE = "web1"
DAEMON = "widget-daemon.service"
UNITS = ("widget-daemon.service", "widget-daemon.socket", "widget-reconcile.timer")
# systemd-firstboot would wait at the console for a first boot's answers: a
# machine ID of its own makes it not a first boot.
MACHINE_ID = "5eb15eb15eb15eb15eb15eb15eb15eb1"


@dataclass(frozen=True)
class MachineLab:
    """A lab and the machine registered inside it."""

    lab: Lab

    def leader(self) -> int:
        """The machine's PID 1, as the lab sees it (machinectl show -p Leader)."""
        shown = self.lab.exec(["machinectl", "show", "-p", "Leader", "--value", MACHINE],
                              check=True)
        return int(shown.stdout.strip())

    def inside(self, *argv: str, input_text: str | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command inside the machine, as its root."""
        return self.lab.exec(["nsenter", "--target", str(self.leader()), "--all", "--", *argv],
                             input_text=input_text, timeout=timeout)

    def is_active(self, unit: str) -> bool:
        """Whether the machine's unit is active."""
        return self.inside("systemctl", "is-active", "--quiet", unit).returncode == 0

    def staydown(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """staydown COMMAND --machine web1 ARGS... run in the lab, in /root."""
        command, *rest = argv
        return self.lab.exec(["sh", "-c", 'cd /root && exec "$@"', "sh",
                              *staydown_argv(command, "--machine", MACHINE, *rest)],
                             timeout=timeout)


@pytest.fixture
def machine_lab() -> Iterator[MachineLab]:
    reason = lab_unavailable_reason()
    if reason is not None:
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)
    name = f"m{os.getpid()}-{time.monotonic_ns() % 100000}"
    lab = lab_module.up("article", name, read_only_binds=staydown_binds())
    try:
        # The machine's units: a copy of the lab's (the article's, enabled), so
        # what a plan writes in the machine stays in the machine.
        lab.exec(["sh", "-c", "cp -a /etc/systemd/system /run/web1-units && "
                  f"echo {MACHINE_ID} > /run/web1-machine-id"], check=True)
        lab.exec(["systemd-run", "--unit=web1-container", "--property=Delegate=yes",
                  "systemd-nspawn", "--quiet", "--volatile=yes", "--directory=/", "--boot",
                  "--private-network", "--register=yes", "--keep-unit",
                  f"--machine={MACHINE}", "--console=read-only",
                  "--bind-ro=/run/web1-machine-id:/etc/machine-id",
                  "--bind=/run/web1-units:/etc/systemd/system"], check=True)
        setup = MachineLab(lab)

        def running() -> bool:
            state = lab.exec(["systemctl", "-M", MACHINE, "is-system-running"]).stdout.strip()
            return state in ("running", "degraded")

        assert wait_until(running, timeout=30), lab.exec(
            ["journalctl", "-u", "web1-container", "--no-pager"]).stdout[-2000:]
        yield setup
    finally:
        lab_module.down(name)


def findings(document: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {(f["kind"], f["source"], tuple(f["chain"]), f["live"]) for f in document["findings"]}


ARTICLE = {
    ("socket", "widget-daemon.socket", ("widget-daemon.socket", DAEMON), True),
    ("dependency", "widget-reconcile.timer",
     ("widget-reconcile.timer", "widget-reconcile.service", DAEMON), True),
    ("restart-policy", DAEMON, (DAEMON,), False),
    ("boot", "multi-user.target", ("multi-user.target", DAEMON), False),
}


def test_diagnose_machine_reads_its_bus_files_and_journal(machine_lab: MachineLab):
    machine_lab.inside("systemctl", "stop", DAEMON)
    machine_lab.inside("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080")
    assert wait_until(lambda: machine_lab.is_active(DAEMON), timeout=5)
    machine_lab.inside("sh", "-c", "mkdir -p /etc/cron.d && echo '*/1 * * * * root "
                       f"systemctl start {DAEMON}' > /etc/cron.d/kick")

    done = machine_lab.staydown("diagnose", "--json", DAEMON)

    assert done.returncode == ExitCode.LIVE_SOURCES, done.stderr
    document = json.loads(done.stdout)
    assert document["connection"] == f"machine {MACHINE}"
    assert findings(document) >= ARTICLE, findings(document)
    # The cron line is the machine's: read through its root, not the lab's.
    assert [f["source"] for f in document["findings"] if f["kind"] == "external"] == [
        "/etc/cron.d/kick:1"]
    assert document["notes"] == []
    starts = [(e["cause"], e["source"]) for e in document["timeline"]["events"]
              if e["event"] == "start"]
    assert ("triggered", "widget-daemon.socket") in starts, document["timeline"]


def test_plan_machine_fingerprints_its_files_and_keeps_the_unit_down(machine_lab: MachineLab):
    before = {u: machine_lab.inside("systemctl", "is-active", u).stdout.strip() for u in UNITS}

    planned = machine_lab.staydown("plan", DAEMON)

    assert planned.returncode == 0, planned.stderr
    script = machine_lab.lab.exec(["cat", f"/root/staydown-{DAEMON}.sh"], check=True).stdout
    undo = machine_lab.lab.exec(["cat", f"/root/staydown-{DAEMON}.undo.sh"], check=True).stdout
    for unit in UNITS:
        path = f"/etc/systemd/system/{unit}"
        text = machine_lab.inside("cat", path).stdout
        assert f"check_file {path} {hashlib.sha256(text.encode()).hexdigest()}" in script

    # As plan says: copied in with machinectl, run there through systemd-run.
    advice = " ".join(planned.stdout.split())
    copy = (f"machinectl copy-to {MACHINE} staydown-{DAEMON}.sh /root/staydown-{DAEMON}.sh && "
            f"systemd-run -M {MACHINE} --wait --pipe --quiet /bin/bash /root/staydown-{DAEMON}.sh")
    assert copy in advice, advice
    applied = machine_lab.lab.exec(["sh", "-c", f"cd /root && {copy}"], timeout=120)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "done:" in applied.stdout
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        machine_lab.inside("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080")
        assert not machine_lab.is_active(DAEMON)
        time.sleep(0.5)

    undone = machine_lab.inside("bash", "-s", input_text=undo)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert wait_until(lambda: {u: machine_lab.inside("systemctl", "is-active", u).stdout.strip()
                               for u in UNITS} == before, timeout=10)


def test_watch_machine_stops_the_unit_and_names_the_timer(machine_lab: MachineLab):
    machine_lab.inside("systemctl", "stop", "widget-daemon.socket")

    done = machine_lab.staydown("watch", "--json", "--stop", "--seconds", "8", DAEMON)

    assert done.returncode == ExitCode.LIVE_SOURCES, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    starts = {(d["cause"], d["source"]) for d in lines
              if d.get("type") == "event" and d["event"] == "start"}
    assert starts == {("pulled-in", "widget-reconcile.timer")}, lines
    assert [d for d in lines if d.get("type") == "event" and d["event"] == "stop"], lines
    assert not [d for d in lines if d.get("type") == "note" and "journal" in json.dumps(d)]
