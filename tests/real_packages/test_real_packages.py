"""Issue 10's and 11's measurements on real Debian 12 packages, as named regression cases.

Each case boots a fresh lab from the bookworm-server tree (their own units,
enabled by their own postinsts), does what the issue describes with real
systemctl commands and real clients, and checks what systemd did. The seeded
sample at the end replays part of the recorded full sweep
(bookworm-server-sweep.json) and requires the same outcomes.
"""

from __future__ import annotations

import json
import os
import random
import socket
from typing import Any

import pytest

from tests.real_packages import sweep
from tests.real_packages.labs import os_lab
from wizard.lab.nspawn import Lab

pytestmark = pytest.mark.lab

TREE = "bookworm-server"


def state(lab: Lab, unit: str) -> tuple[str, int]:
    """ActiveState and InactiveExitTimestampMonotonic, which moves on every start."""
    return sweep.unit_state(lab, unit)


def settle(lab: Lab) -> None:
    sweep.wait_for_jobs(lab)


def docker_ping(lab: Lab) -> str:
    """GET /_ping on docker.sock, from the host through the lab's root; the status line."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(30)
    client.connect(f"/proc/{lab.leader_pid}/root/run/docker.sock")
    client.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
    answer = b""
    while chunk := client.recv(4096):
        answer += chunk
    client.close()
    return answer.decode(errors="replace").splitlines()[0]


def test_apt_daily_timer_does_not_revive_lvm2_monitor_through_sysinit_target() -> None:
    # apt-daily.timer -> apt-daily.service -> sysinit.target -> lvm2-monitor.service:
    # sysinit.target is active, so its start job is redundant and dropped with
    # every job only it pulled in (transaction.c, transaction_drop_redundant).
    with os_lab(TREE) as lab:
        assert "sysinit.target" in lab.systemctl("show", "-p", "WantedBy", "lvm2-monitor.service")
        lab.systemctl("stop", "lvm2-monitor.service")
        assert state(lab, "lvm2-monitor.service")[0] == "inactive"
        ran_before = state(lab, "apt-daily.service")[1]
        # What the timer's elapse does: a start job for its unit.
        lab.systemctl("start", "apt-daily.service")
        settle(lab)
        assert state(lab, "apt-daily.service")[1] != ran_before, "apt-daily.service never ran"
        assert state(lab, "sysinit.target")[0] == "active"
        assert state(lab, "lvm2-monitor.service")[0] == "inactive"


def test_docker_socket_does_not_revive_containerd_while_docker_runs() -> None:
    with os_lab(TREE) as lab:
        lab.systemctl("stop", "containerd.service")
        assert state(lab, "docker.service")[0] == "active"
        assert state(lab, "containerd.service")[0] == "inactive"
        assert docker_ping(lab).split()[1] == "200"
        settle(lab)
        # docker.socket's service is running: the connection goes to it and
        # nothing is started, so docker.service's Wants=containerd is not pulled in.
        assert state(lab, "containerd.service")[0] == "inactive"


def test_cups_socket_and_path_are_stopped_with_cups_part_of() -> None:
    with os_lab(TREE) as lab:
        for unit in ("cups.socket", "cups.path"):
            assert "cups.service" in lab.systemctl("show", "-p", "PartOf", unit)
            assert state(lab, unit)[0] == "active"
        lab.systemctl("stop", "cups.service")
        settle(lab)
        assert state(lab, "cups.socket")[0] == "inactive"
        assert state(lab, "cups.path")[0] == "inactive"
        # Neither can fire now: the socket file is gone, the path is not watched.
        assert not os.path.exists(f"/proc/{lab.leader_pid}/root/run/cups/cups.sock")
        lab.exec(["touch", "/var/cache/cups/org.cups.cupsd"], check=True)
        settle(lab)
        assert state(lab, "cups.service")[0] == "inactive"


@pytest.mark.parametrize(
    ("stopped", "requirer"),
    [("docker.socket", "docker.service"), ("dm-event.socket", "lvm2-monitor.service")],
)
def test_stopping_a_socket_takes_down_the_service_that_requires_it(
    stopped: str, requirer: str
) -> None:
    # Issue 11: the plans stop these sockets; the undo must know that starting
    # the socket again does not bring the service it took down back.
    with os_lab(TREE) as lab:
        assert stopped in lab.systemctl("show", "-p", "Requires", requirer)
        assert state(lab, requirer)[0] == "active"
        lab.systemctl("stop", stopped)
        settle(lab)
        assert state(lab, requirer)[0] == "inactive"
        lab.systemctl("start", stopped)
        settle(lab)
        assert state(lab, stopped)[0] == "active"
        assert state(lab, requirer)[0] == "inactive"


def test_stopping_the_bus_socket_takes_dbus_down_with_it() -> None:
    # Issue 11's timesyncd plan stopped dbus.socket; dbus.service Requires= it.
    with os_lab(TREE) as lab:
        lab.systemctl("stop", "dbus.socket")
        settle(lab)
        assert state(lab, "dbus.service")[0] == "inactive"


def test_starting_an_active_target_pulls_in_its_own_wants_only() -> None:
    # The anchor job is never dropped as redundant, so graphical.target's own
    # Wants= (udisks2) start again; multi-user.target is active and not the
    # anchor, so its Wants= (containerd) do not.
    with os_lab(TREE) as lab:
        lab.systemctl("stop", "udisks2.service", "containerd.service")
        lab.systemctl("start", "graphical.target")
        settle(lab)
        assert state(lab, "udisks2.service")[0] == "active"
        assert state(lab, "containerd.service")[0] == "inactive"


def _recorded() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(sweep.RESULTS.read_text())
    return document


# Units whose outcomes differed between two full sweeps (2026-12-02): with
# dbus.service stopped, a bus call either activates it through dbus.socket or
# meets "Failed to connect to bus: Broken pipe", depending on timing. The
# seeded sample leaves them out; the full replay reports them like any other.
RACY_UNITS = frozenset({"dbus.service"})


def sample_units(recorded: dict[str, Any], seed: int) -> list[str]:
    """Two units something revived and two nothing did, drawn with the seed."""
    rng = random.Random(seed)
    candidates = set(recorded["units"]) - RACY_UNITS
    revived = sorted(u for u in candidates
                     if any(s["revived"] for s in recorded["units"][u]["sources"]))
    others = sorted(candidates - set(revived))
    return sorted(rng.sample(revived, 2) + rng.sample(others, 2))


def differences(unit: str, want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Where a fresh sweep of one unit disagrees with the record."""
    found = []
    keys = ["state_before", "back_by_itself", "also_stopped"]
    # A unit that comes back by itself may be caught either side of its return.
    keys += [] if want["back_by_itself"] else ["state_after_stop"]
    for key in keys:
        if want[key] != got[key]:
            found.append(f"{unit} {key}: recorded {want[key]}, now {got[key]}")
    now = {s["source"]: s["revived"] for s in got["sources"]}
    for source in want["sources"]:
        name = source["source"]
        if name not in now:
            found.append(f"{unit}: {name} is no longer a candidate source")
        elif source["revived"] is not None and now[name] is not None \
                and source["revived"] != now[name]:
            found.append(f"{unit} <- {name}: recorded revived={source['revived']}, "
                         f"now {now[name]}")
    extra = set(now) - {s["source"] for s in want["sources"]}
    if extra:
        found.append(f"{unit}: new candidate sources {sorted(extra)}")
    return found


def test_a_seeded_sample_of_the_sweep_matches_the_recorded_ground_truth() -> None:
    """make test replays four units; STAYDOWN_FULL_SWEEP=1 replays all of them (~40 min)."""
    recorded = _recorded()
    seed = int(os.environ.get("STAYDOWN_SWEEP_SEED", "1"))
    if os.environ.get("STAYDOWN_FULL_SWEEP"):
        units = sorted(recorded["units"])
    else:
        units = sample_units(recorded, seed)
    from tests.real_packages.labs import require_lab

    require_lab()
    document = sweep.run_sweep(f"sweep{os.getpid()}", None, seed, None, units, log=lambda _: None)
    mismatches = [line for unit in units
                  for line in differences(unit, recorded["units"][unit], document["units"][unit])]
    assert not mismatches, f"units {units} (seed {seed}):\n" + "\n".join(mismatches)
    # Not vacuous: the sample holds revivals, and they were seen again.
    assert any(s["revived"] for unit in units for s in document["units"][unit]["sources"])
