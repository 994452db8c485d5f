"""Record the snapshots the engine unit tests run on, from a real systemd in the lab.

    make snapshots        # or: .venv/bin/python -m tests.record_snapshots

Each recording boots its scenario, brings the lab into the described state
with real systemctl commands, and stores what collect_neighbourhood saw as
tests/snapshots/NAME.json. tests/test_snapshots_fresh.py re-records them in a
lab and checks the stored ones still produce the same diagnosis.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from wizard.lab import nspawn as lab_module
from wizard.model.snapshots import SystemSnapshot, snapshot_to_json
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import systemd_client

SNAPSHOT_DIR = Path(__file__).parent / "snapshots"


@dataclass(frozen=True)
class Recording:
    """One scenario brought into one state."""

    name: str
    scenario: str
    target: str
    commands: tuple[tuple[str, ...], ...] = ()
    settle_seconds: float = 0.0


# One freshly booted lab per revival-kind scenario, for engine tests of every kind
# (tests/test_analysis_kinds.py checks them against the scenarios' catalogue).
KIND_SCENARIOS = {
    "article-vendor": "widget-daemon.service",
    "path": "inbox-worker.service",
    "timer": "beacon.service",
    "automount": "srv-archive.mount",
    "upholds": "upheld-worker.service",
    "on-failure": "alert-pager.service",
    "on-success": "backup-report.service",
    "bus-activation": "echo-bus.service",
    "external": "legacy-app.service",
    "dependency": "fleet-agent.service",
}

RECORDINGS = (
    Recording("article-booted", "article", "widget-daemon.service"),
    Recording(
        "article-socket-stopped",
        "article",
        "widget-daemon.service",
        (("systemctl", "stop", "widget-daemon.socket", "widget-daemon.service"),),
    ),
    # `mask --runtime` links /run/systemd/system/UNIT to /dev/null, but a unit
    # file in /etc/systemd/system has higher priority and wins: nothing is masked.
    Recording(
        "article-runtime-mask-shadowed",
        "article",
        "widget-daemon.service",
        (
            ("systemctl", "stop", "widget-reconcile.timer", "widget-daemon.socket"),
            ("systemctl", "mask", "--runtime", "widget-daemon.socket"),
            ("systemctl", "stop", "widget-daemon.service"),
        ),
    ),
    Recording("control-booted", "control", "quiet.service"),
    Recording(
        "control-stopped", "control", "quiet.service", (("systemctl", "stop", "quiet.service"),)
    ),
    # Restart=always: live while it runs (a kill brings it back), not after a stop.
    Recording("restart-always-running", "restart-always", "respawn-daemon.service"),
    Recording(
        "restart-always-stopped",
        "restart-always",
        "respawn-daemon.service",
        (("systemctl", "stop", "respawn-daemon.service"),),
    ),
    Recording(
        "restart-always-killed",
        "restart-always",
        "respawn-daemon.service",
        (("systemctl", "kill", "--signal=SIGKILL", "respawn-daemon.service"),),
        settle_seconds=2.5,
    ),
    *(Recording(f"{name}-booted", name, target) for name, target in KIND_SCENARIOS.items()),
    # The path unit's condition holding: the worker is started again right after a stop.
    Recording(
        "path-holding",
        "path",
        "inbox-worker.service",
        (("bash", "-c", "mkdir -p /run/inbox && touch /run/inbox/order.job"),),
        settle_seconds=0.5,
    ),
    # Shell syntax in an instance name and a description (docs/safety.md).
    Recording("hostile-booted", "hostile", r"evil@x\x24\x28touch\x20-tmp-pwned\x2dname\x29.service",
              settle_seconds=1.5),
    # A vendor daemon activated over D-Bus through an alias: the host's hostnamed,
    # whose activation file says SystemdService=dbus-org.freedesktop.hostname1.service.
    Recording("hostnamed-idle", "control", "systemd-hostnamed.service"),
)


def record(recording: Recording, lab_name: str) -> SystemSnapshot:
    """Boot, prepare and snapshot one recording; the lab is always torn down."""
    lab = lab_module.up(recording.scenario, lab_name)
    try:
        for command in recording.commands:
            lab.exec(list(command), check=True)
        time.sleep(recording.settle_seconds)
        with systemd_client(lab.connection) as client:
            return collect_neighbourhood(client, recording.target)
    finally:
        lab_module.down(lab_name)


def main() -> int:
    """Record every snapshot (or the ones named on the command line)."""
    wanted = set(sys.argv[1:])
    SNAPSHOT_DIR.mkdir(exist_ok=True)
    for recording in RECORDINGS:
        if wanted and recording.name not in wanted:
            continue
        snapshot = record(recording, "record")
        (SNAPSHOT_DIR / f"{recording.name}.json").write_text(snapshot_to_json(snapshot) + "\n")
        print(f"recorded {recording.name}: {len(snapshot.units)} units")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
