"""Every revival kind on snapshots recorded from its lab scenario (no lab needed).

The scenarios' catalogue (scenario.json "sources") says what diagnose must find;
tests/test_lab_kinds.py proves each source really revives the unit on systemd,
and these tests pin the engine's answer, its evidence and its words offline.
"""

from __future__ import annotations

import pytest

from tests.record_snapshots import KIND_SCENARIOS
from tests.test_analysis_recorded import load
from wizard.analysis import Finding, FindingKind, diagnose
from wizard.lab.nspawn import load_scenario


def by_kind(name: str, kind: FindingKind) -> list[Finding]:
    return [f for f in diagnose(load(f"{name}-booted")).findings if f.kind == kind]


@pytest.mark.parametrize("name", sorted(KIND_SCENARIOS))
def test_live_findings_are_exactly_the_catalogue(name):
    scenario = load_scenario(name)
    diagnosis = diagnose(load(f"{name}-booted"))
    assert diagnosis.unit == scenario.target
    found = {(f.kind.value, f.source, f.chain): f.live for f in diagnosis.findings}
    for source in scenario.sources:
        assert found.get((source.kind, source.source, source.chain)) is source.live
    assert {k for k, live in found.items() if live} == {
        (s.kind, s.source, s.chain) for s in scenario.sources if s.live
    }


def test_vendor_units_diagnose_like_admin_units():
    (vendor,) = [f for f in diagnose(load("article-vendor-booted")).findings
                 if f.kind == FindingKind.SOCKET]
    (admin,) = [f for f in diagnose(load("article-booted")).findings
                if f.kind == FindingKind.SOCKET]
    assert (vendor.source, vendor.chain, vendor.live) == (admin.source, admin.chain, admin.live)
    target = load("article-vendor-booted").units["widget-daemon.service"]
    # Debian lists /lib/systemd/system before /usr/lib/systemd/system (same directory).
    assert target.fragment_path == "/lib/systemd/system/widget-daemon.service"


def test_path_unit_names_the_watched_condition():
    (path,) = by_kind("path", FindingKind.PATH)
    assert "PathExistsGlob=/run/inbox/*.job" in path.explanation
    assert ("inbox.path", "Paths: PathExistsGlob=/run/inbox/*.job") in {
        (e.subject, e.fact) for e in path.evidence
    }
    assert [r.action for r in path.remedies] == ["stop", "mask", "disable"]


def test_timer_that_starts_the_unit_directly_says_when():
    (timer,) = by_kind("timer", FindingKind.TIMER)
    assert "OnCalendar=*-*-* *:*:00/3" in timer.explanation
    assert any(e.fact.startswith("next elapse ") for e in timer.evidence)


def test_automount_names_the_directory():
    (automount,) = by_kind("automount", FindingKind.AUTOMOUNT)
    assert "/srv/archive" in automount.explanation
    assert automount.remedies[0].units == ("srv-archive.automount", "srv-archive.mount")


def test_upholds_says_it_comes_back_at_once():
    (upholds,) = by_kind("upholds", FindingKind.UPHOLDS)
    assert "immediately every time it stops" in upholds.explanation
    assert upholds.remedies[0].units == ("guardian.service",)


@pytest.mark.parametrize(
    ("name", "kind", "setting"),
    [
        ("on-failure", FindingKind.ON_FAILURE, "OnFailure=alert-pager.service"),
        ("on-success", FindingKind.ON_SUCCESS, "OnSuccess=backup-report.service"),
    ],
)
def test_failure_and_success_hooks_name_the_timer_behind_them(name, kind, setting):
    (hook,) = by_kind(name, kind)
    assert setting in {e.fact for e in hook.evidence}
    assert f"Here that is: {hook.source} triggers" in hook.explanation


def test_bus_activation_rests_on_the_activation_file():
    (bus,) = by_kind("bus-activation", FindingKind.BUS_ACTIVATION)
    file = "/usr/share/dbus-1/system-services/org.staydown.Echo.service"
    assert [(e.subject, e.fact, e.source) for e in bus.evidence] == [
        (file, "Name=org.staydown.Echo", "file"),
        (file, "SystemdService=echo-bus.service", "file"),
    ]
    assert "its activation file says SystemdService=echo-bus.service, so" in bus.explanation
    assert [r.action for r in bus.remedies] == ["mask"]


def test_bus_activation_through_an_alias_quotes_the_file():
    # Debian's hostnamed: the activation file names the unit's alias.
    diagnosis = diagnose(load("hostnamed-idle"))
    (bus,) = diagnosis.findings
    assert (bus.kind, bus.source, bus.live) == (
        FindingKind.BUS_ACTIVATION, "org.freedesktop.hostname1", True
    )
    assert "SystemdService=dbus-org.freedesktop.hostname1.service" in {
        e.fact for e in bus.evidence
    }
    assert (
        "(dbus-org.freedesktop.hostname1.service is another name of systemd-hostnamed.service)"
        in bus.explanation
    )


def test_external_callers_say_what_runs_the_command():
    cron, unit_caller = sorted(by_kind("external", FindingKind.EXTERNAL), key=lambda f: f.source)
    assert cron.source == "/etc/cron.d/legacy-app:3"
    assert cron.live is False
    assert ("/etc/cron.d/legacy-app:3", "no cron daemon is running") in {
        (e.subject, e.fact) for e in cron.evidence
    }
    assert [r.action for r in cron.remedies] == ["comment-out", "mask"]
    assert unit_caller.source == "legacy-app-nudge.timer"
    assert "What runs the command: legacy-app-nudge.timer triggers" in unit_caller.explanation


def test_dependency_chain_through_a_custom_target():
    (dependency,) = by_kind("dependency", FindingKind.DEPENDENCY)
    assert dependency.explanation.startswith(
        "fleet.timer triggers fleet.target, which requires (Requires=) fleet-sync.service, "
        "which is bound to (BindsTo=) fleet-agent.service."
    )
    assert [r.units for r in dependency.remedies][:2] == [("fleet.timer",), ("fleet.timer",)]
