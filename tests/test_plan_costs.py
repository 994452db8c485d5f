"""The cheaper method when acting on a source costs more than the target (issue 11).

On the recorded snapshot of the real-package lab (tests/real_packages/,
bookworm-server-booted.json): chains as staydown's analysis builds them,
the options the plan and the wizard offer for them.
"""

from __future__ import annotations

from functools import cache

from tests.real_packages.sweep import SNAPSHOT
from tests.test_plan_render import load
from wizard.analysis import diagnose
from wizard.analysis.findings import Finding, FindingKind
from wizard.model.snapshots import SystemSnapshot, snapshot_from_json
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
