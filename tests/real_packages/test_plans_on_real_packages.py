"""Issue 11's measured plans on real Debian 12 packages, and a seeded sample of the plan sweep.

One bookworm-server lab is shared by the module: every test that changes it
runs the undo and requires every unit's ActiveState and is-enabled to be
what they were before, so the next test starts from the same host (and a
test that breaks that promise fails where it broke it). The sample at the
end replays units of the committed plan sweep (bookworm-server-plan-sweep.json,
make sweep-plans) with plan_sweep.sweep_plan itself.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.real_packages import plan_sweep, sweep
from tests.real_packages.labs import os_lab
from wizard.lab.nspawn import Lab
from wizard.plan.protected_units import protection

pytestmark = pytest.mark.lab

# What the timesyncd plan of issue 11 stopped, and the services that were down afterwards.
FLOODED = ("dbus.socket", "docker.socket", "containerd.service", "syslog.socket",
           "systemd-logind.service", "console-getty.service", "avahi-daemon.socket",
           "avahi-daemon.service", "cups.socket", "cups.path", "cups.service")
CORE = ("dbus.service", "systemd-logind.service", "polkit.service", "udisks2.service",
        "docker.service", "containerd.service", "rsyslog.service", "avahi-daemon.service",
        "cups.service", "console-getty.service", "systemd-journald.service")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with os_lab(sweep.TREE) as booted:
        sweep.wait_for_jobs(booted)
        yield booted


def plan_json(lab: Lab, unit: str, output: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli("plan", "--lab", lab.name, "--json", "-o", str(output), *extra, unit)
    return result.code, (json.loads(result.stdout) if result.code == 0 else {}), result.stderr


def acted_on(document: dict[str, Any]) -> set[str]:
    return {a["unit"] for step in document["steps"] for a in step["actions"] if a["unit"]}


def run(lab: Lab, path: Path) -> tuple[int, str]:
    result = lab.exec(["bash", "-s"], input_text=path.read_text(), timeout=300)
    return result.returncode, result.stdout + result.stderr


def summary_of(script: str) -> str:
    """The comments a reviewer reads before the first line of code."""
    return script.split("\nset -euo pipefail", 1)[0]


def states(lab: Lab) -> dict[str, tuple[str, str]]:
    return plan_sweep.unit_states(lab)


def undo_and_compare(lab: Lab, undo: Path, before: dict[str, tuple[str, str]]) -> str:
    code, out = run(lab, undo)
    assert code == 0, out
    sweep.wait_for_jobs(lab)
    assert plan_sweep.state_differences(before, plan_sweep.unit_states(lab, set(before))) == []
    return out


@pytest.mark.parametrize("unit", ["systemd-timesyncd.service", "lvm2-monitor.service",
                                  "systemd-journald.service"])
def test_a_plan_acts_on_its_unit_not_on_the_host_around_it(lab: Lab, tmp_path: Path,
                                                           unit: str) -> None:
    # Issue 11: these plans stopped dbus.socket, docker.socket, containerd, logind,
    # the console getty, avahi, cups and every timer (journald's, named, still may
    # only act on journald and its own sockets).
    extra = ("--allow-protected", unit) if unit == "systemd-journald.service" else ()
    code, document, stderr = plan_json(lab, unit, tmp_path / "fix.sh", *extra)
    assert code == 0, stderr
    touched = acted_on(document)
    assert unit in touched
    assert not any(name.endswith(".timer") or name in FLOODED for name in touched), touched
    assert all(name == unit or name.startswith("systemd-journald") for name in touched), touched


def test_the_timesyncd_plan_runs_and_the_host_keeps_its_services(lab: Lab,
                                                                 tmp_path: Path) -> None:
    before = states(lab)
    # Not vacuous: the host's core services are up to be taken down.
    assert all(before[u][0] == "active" for u in ("dbus.service", "docker.service",
                                                  "systemd-logind.service", "cups.service"))
    code, _, stderr = plan_json(lab, "systemd-timesyncd.service", tmp_path / "fix.sh")
    assert code == 0, stderr
    code, out = run(lab, tmp_path / "fix.sh")
    assert code == 0, out
    sweep.wait_for_jobs(lab)
    assert sweep.unit_state(lab, "systemd-timesyncd.service")[0] == "inactive"
    now = states(lab)
    assert {u: now[u][0] for u in CORE} == {u: before[u][0] for u in CORE}
    assert all(now[u][0] == before[u][0] for u in now if u.endswith(".timer"))
    undo_and_compare(lab, tmp_path / "fix.undo.sh", before)


@pytest.mark.parametrize("unit", ["dbus.service", "systemd-journald.service",
                                  "systemd-logind.service"])
def test_a_plan_for_the_hosts_own_machinery_is_refused_plainly(lab: Lab, tmp_path: Path,
                                                                unit: str) -> None:
    output = tmp_path / "fix.sh"
    code, _, stderr = plan_json(lab, unit, output)
    assert code == 2
    assert f"{unit} is part of the host's own machinery" in stderr
    assert f"--allow-protected {unit}" in stderr
    assert not output.exists()


@pytest.mark.parametrize(("unit", "why"), [
    ("etc-systemd-system.mount", "it has no unit file"),
    ("systemd-tmpfiles-setup.service", "RefuseManualStop=yes"),
])
def test_a_plan_the_script_could_not_carry_out_or_undo_is_refused(lab: Lab, tmp_path: Path,
                                                                   unit: str, why: str) -> None:
    # Found by the plan sweep: nspawn's bind mount unmounted for good, and a stop
    # systemd refuses.
    output = tmp_path / "fix.sh"
    code, _, stderr = plan_json(lab, unit, output)
    assert code == 2
    assert f"staydown writes no plan for {unit}" in stderr
    assert why in stderr
    assert not output.exists()


def test_the_polkit_plan_leaves_the_bus_alone_and_says_what_it_does(lab: Lab,
                                                                     tmp_path: Path) -> None:
    # polkit is bus-activated: its source is dbus, which the plan must not touch.
    before = states(lab)
    code, document, stderr = plan_json(lab, "polkit.service", tmp_path / "fix.sh")
    assert code == 0, stderr
    assert acted_on(document) == {"polkit.service"}
    assert not any(protection(u, None) for u in acted_on(document))
    script = (tmp_path / "fix.sh").read_text()
    assert "polkit.service" in summary_of(script)
    code, out = run(lab, tmp_path / "fix.sh")
    assert code == 0, out
    sweep.wait_for_jobs(lab)
    assert sweep.unit_state(lab, "polkit.service")[0] == "inactive"
    assert sweep.unit_state(lab, "dbus.service")[0] == "active"
    # The bus asks systemd for polkit on the next call: the plan's hold refuses it.
    lab.exec(["busctl", "--system", "--timeout=5", "call", "org.freedesktop.PolicyKit1", "/",
              "org.freedesktop.DBus.Peer", "Ping"], timeout=30)
    sweep.wait_for_jobs(lab)
    assert sweep.unit_state(lab, "polkit.service")[0] == "inactive"
    undo_and_compare(lab, tmp_path / "fix.undo.sh", before)


def test_the_containerd_plan_leaves_docker_up_and_its_undo_leaves_the_host_as_it_was(
    lab: Lab, tmp_path: Path
) -> None:
    # Issue 11: the plan stopped docker.socket, which docker.service Requires=, and
    # the undo left docker down.
    assert "docker.socket" in lab.systemctl("show", "-p", "Requires", "docker.service")
    before = states(lab)
    assert before["docker.service"][0] == before["containerd.service"][0] == "active"
    code, document, stderr = plan_json(lab, "containerd.service", tmp_path / "fix.sh")
    assert code == 0, stderr
    assert "docker.socket" not in acted_on(document)
    code, out = run(lab, tmp_path / "fix.sh")
    assert code == 0, out
    sweep.wait_for_jobs(lab)
    assert sweep.unit_state(lab, "containerd.service")[0] == "inactive"
    assert sweep.unit_state(lab, "docker.service")[0] == "active"
    undo_and_compare(lab, tmp_path / "fix.undo.sh", before)
    assert sweep.unit_state(lab, "containerd.service")[0] == "active"


def test_the_dm_event_plan_predicts_lvm2_monitor_going_down_and_its_undo_brings_it_back(
    lab: Lab, tmp_path: Path
) -> None:
    assert "dm-event.socket" in lab.systemctl("show", "-p", "Requires", "lvm2-monitor.service")
    before = states(lab)
    assert before["lvm2-monitor.service"][0] == "active"
    code, document, stderr = plan_json(lab, "dm-event.service", tmp_path / "fix.sh")
    assert code == 0, stderr
    assert "dm-event.socket" in acted_on(document)
    predicted = {(e["unit"], e["reason"]) for e in document["side_effects"]}
    assert ("lvm2-monitor.service", "Requires=dm-event.socket") in predicted
    script = (tmp_path / "fix.sh").read_text()
    assert "also stops lvm2-monitor.service (Requires=dm-event.socket)" in summary_of(script)
    code, out = run(lab, tmp_path / "fix.sh")
    assert code == 0, out
    sweep.wait_for_jobs(lab)
    assert sweep.unit_state(lab, "lvm2-monitor.service")[0] == "inactive"  # as predicted
    out = undo_and_compare(lab, tmp_path / "fix.undo.sh", before)
    assert "starting lvm2-monitor.service" in out
    assert sweep.unit_state(lab, "lvm2-monitor.service")[0] == "active"


def test_plan_output_for_a_unit_with_no_live_source_writes_the_script(lab: Lab,
                                                                      tmp_path: Path) -> None:
    output = tmp_path / "out" / "timesyncd.sh"
    output.parent.mkdir()
    result = run_cli("plan", "--lab", lab.name, "--output", str(output),
                     "systemd-timesyncd.service")
    assert result.code == 0, result.stderr
    assert "has no live revival source: nothing else needs neutralising" in result.stdout
    assert output.exists()
    assert output.with_name("timesyncd.undo.sh").exists()
    assert "systemd-timesyncd.service" in output.read_text()


def _recorded() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(plan_sweep.RESULTS.read_text())
    return document


def test_a_seeded_sample_of_the_plan_sweep_gives_the_recorded_verdicts(lab: Lab,
                                                                      tmp_path: Path) -> None:
    """One unit whose script ran in the committed sweep, with a 5 s window (make test's
    budget); STAYDOWN_PLAN_SWEEP_UNITS=N replays N of them with the full 25 s."""
    recorded = _recorded()
    ran = sorted(u for u, r in recorded["units"].items() if r["script_exit"] is not None)
    seed = int(os.environ.get("STAYDOWN_SWEEP_SEED", "1"))
    count = int(os.environ.get("STAYDOWN_PLAN_SWEEP_UNITS", "0"))
    units = sorted(random.Random(seed).sample(ran, count or 1))
    window = plan_sweep.WINDOW if count else 5.0
    facts = sweep.read_facts(lab)
    protected = plan_sweep.protected_units(sorted(facts.graph))
    runs = [plan_sweep.sweep_plan(lab, facts, unit, tmp_path, window, protected)
            for unit in units]
    differ = [f"{r.unit}: recorded {recorded['units'][r.unit]['verdict']}, now {r.verdict} "
              f"{r.differences or r.revived_by or r.script_tail}"
              for r in runs if r.verdict != recorded["units"][r.unit]["verdict"]]
    assert not differ, f"seed {seed}:\n" + "\n".join(differ)
    # Not vacuous: scripts ran, sources were fired, undos ran.
    assert all(r.script_exit is not None and r.undo_exit is not None for r in runs)
    assert any(s["provoked"] for r in runs for s in r.sources)
