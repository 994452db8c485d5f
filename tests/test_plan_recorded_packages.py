"""Plans on the recorded real-package lab: the cheaper method, and stops no undo could reverse.

On the recorded snapshot of the real-package lab (tests/real_packages/,
bookworm-server-booted.json): chains as staydown's analysis builds them,
the options the plan and the wizard offer for them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache

import pytest

from tests.real_packages import plan_sweep
from tests.real_packages.sweep import SNAPSHOT
from tests.test_plan_render import load
from wizard.analysis import diagnose
from wizard.analysis.findings import Finding, FindingKind
from wizard.errors import ExitCode, UnplannableUnitError
from wizard.model.snapshots import SystemSnapshot, snapshot_from_json
from wizard.plan.build import build_plan, default_choices
from wizard.plan.options import Method, acting_costs, method_options, recommended_method


@cache
def real_packages() -> SystemSnapshot:
    return snapshot_from_json(SNAPSHOT.read_text())


def chain(kind: FindingKind, *units: str) -> Finding:
    return Finding(kind=kind, source=units[0], chain=units, live=True, evidence=(),
                   explanation="")


def test_a_shared_root_is_not_stopped_to_keep_one_unit_down() -> None:
    # Issue 10's lvm2-monitor plan stopped apt-daily.timer: the timer refreshes the
    # package lists, and reaches lvm2-monitor only through sysinit.target.
    finding = chain(FindingKind.DEPENDENCY, "apt-daily.timer", "apt-daily.service",
                    "sysinit.target", "lvm2-monitor.service")
    options = method_options(finding, real_packages(), persistent=False)
    assert options[0].method == Method.HOLD_UNIT
    assert "recommended" in options[0].label
    assert ("apt-daily.timer is shared: it reaches lvm2-monitor.service only through "
            "sysinit.target, which other units rely on") in options[0].explanation
    # The other methods stay on offer, and say what they cost.
    stop = next(o for o in options if o.method == Method.STOP)
    assert "Costs: apt-daily.timer is shared" in stop.explanation
    assert recommended_method(finding, real_packages(), persistent=True) == Method.HOLD_UNIT


def test_a_root_whose_stop_takes_another_service_down_is_not_recommended() -> None:
    # Issue 11's containerd plan stopped docker.socket, and docker.service
    # (Requires=docker.socket) went down with it.
    finding = chain(FindingKind.DEPENDENCY, "docker.socket", "docker.service",
                    "containerd.service")
    assert acting_costs(finding, real_packages()) == (
        "stopping docker.socket also stops docker.service (Requires=docker.socket)",)
    options = method_options(finding, real_packages(), persistent=False)
    assert options[0].method == Method.HOLD_UNIT
    assert "docker.service (Requires=docker.socket)" in options[0].explanation


def test_a_socket_in_front_of_its_service_is_still_stopped() -> None:
    # A held service behind a listening socket makes the socket re-trigger until
    # its trigger limit fails it, taking lvm2-monitor down anyway: holding saves nothing.
    finding = chain(FindingKind.SOCKET, "dm-event.socket", "dm-event.service")
    assert acting_costs(finding, real_packages()) == ()
    assert recommended_method(finding, real_packages(), persistent=False) == Method.STOP


def test_a_root_that_only_serves_the_target_is_stopped() -> None:
    # The article: the reconcile timer's service Wants= the daemon directly.
    snapshot = load("article-booted")
    finding = next(f for f in diagnose(snapshot).findings
                   if f.kind == FindingKind.DEPENDENCY and f.source == "widget-reconcile.timer")
    assert acting_costs(finding, snapshot) == ()
    assert recommended_method(finding, snapshot, persistent=False) == Method.STOP


def plan_for(unit: str) -> None:
    snapshot = replace(real_packages(), target=unit)
    diagnosis = diagnose(snapshot)
    build_plan(diagnosis, snapshot, default_choices(diagnosis, snapshot, False),
               created="2026-12-02T10:00:00Z")


@pytest.mark.parametrize("unit", ["etc-machine\\x2did.mount", "etc-systemd-system.mount",
                                  "tmp.mount", "proc-sys-net.mount"])
def test_a_mount_no_unit_file_describes_is_not_planned(unit: str) -> None:
    # The plan sweep unmounted nspawn's /etc/systemd/system and /etc/machine-id: the
    # units vanished, the undo met "Unit ... not found", and dbus.service's is-enabled
    # changed (static -> alias) with the directory that had been mounted over.
    with pytest.raises(UnplannableUnitError) as raised:
        plan_for(unit)
    assert "it could not be brought back once stopped" in str(raised.value)
    assert "/proc/self/mountinfo" in str(raised.value)
    assert raised.value.exit_code == ExitCode.USAGE


def test_a_mount_with_a_unit_file_is_planned() -> None:
    unit = real_packages().unit("sys-kernel-config.mount")
    assert unit is not None
    assert unit.fragment_path
    plan_for("sys-kernel-config.mount")


def test_a_unit_that_refuses_a_manual_stop_is_not_planned() -> None:
    # The plan sweep: the script's `systemctl stop systemd-tmpfiles-setup.service`
    # failed with "Operation refused ... may be requested by dependency only".
    unit = real_packages().unit("systemd-tmpfiles-setup.service")
    assert unit is not None
    assert unit.refuse_manual_stop
    with pytest.raises(UnplannableUnitError, match="RefuseManualStop=yes"):
        plan_for("systemd-tmpfiles-setup.service")


def test_the_committed_plan_sweep_is_whole_and_every_plan_kept_its_promises() -> None:
    # make sweep-plans: every loaded unit planned, run, provoked for 25 s and undone.
    document = json.loads(plan_sweep.RESULTS.read_text())
    assert document["summary"]["complete"]
    assert document["window_seconds"] >= 25
    assert len(document["units"]) == document["summary"]["units_loaded"] > 150
    kept = ("pass", "refused-protected", "refused-unplannable", "root-start")
    broken = {u: r["verdict"] for u, r in document["units"].items() if r["verdict"] not in kept}
    assert broken == {}
    # The verdicts are what the record says (not stored by hand).
    assert all(plan_sweep.verdict(r) == r["verdict"] for r in document["units"].values())
    assert sum(1 for r in document["units"].values() if r["verdict"] == "pass") > 100
