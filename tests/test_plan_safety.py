"""Plans that cannot hurt the host, on snapshots recorded from a real systemd.

The protected set (wizard/protected_units.py), the plan leaving protected
units alone unless named, side effects per action, and a plan for a unit with
no live source. What the scripts do with them on a real systemd is proven in
tests/test_lab_safety.py and tests/test_lab_remediation.py.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.test_plan_render import CREATED, SNAPSHOTS, load, require, steps
from wizard.analysis import diagnose
from wizard.analysis.stop_effects import (
    Effect,
    SideEffect,
    side_effects_of_mask,
    side_effects_of_stop,
)
from wizard.errors import ExitCode, ProtectedUnitError
from wizard.model.snapshots import snapshot_from_json
from wizard.output.render import case_patterns, render_outputs, render_script, render_undo
from wizard.output.report_json import plan_document
from wizard.plan.build import (
    ActionKind,
    Plan,
    PlanChoices,
    build_plan,
    default_choices,
    plannable_findings,
)
from wizard.plan.options import Method, method_options
from wizard.plan.protected_units import (
    OWN_REASON,
    SSH_REASON,
    CallerContext,
    caller_context,
    protection,
    units_of_cgroup,
)

# -- the protected set -------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "init.scope", "-.slice", "-.mount", "system.slice",
    "dbus.service", "dbus.socket", "dbus-broker.service",
    "systemd-journald.service", "systemd-journald.socket", "systemd-journald-dev-log.socket",
    "systemd-journald-audit.socket", "systemd-logind.service",
    "dbus-org.freedesktop.login1.service", "systemd-udevd.service", "udev.service",
    "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "console-getty.service", "getty@tty1.service", "serial-getty@ttyS0.service",
    "autovt@tty2.service", "container-getty@1.service",
    "sysinit.target", "basic.target", "sockets.target", "timers.target", "paths.target",
    "local-fs.target", "remote-fs.target", "multi-user.target", "graphical.target",
    "default.target", "emergency.target", "rescue.target", "shutdown.target",
])
def test_the_hosts_own_machinery_is_protected_by_name(name):
    assert protection(name, None) is not None


def test_aliases_are_recognised_through_the_snapshot():
    # runlevel3.target is only multi-user.target under another name (Names=).
    snapshot = load("logind-booted")
    assert protection("runlevel3.target", None) is not None  # the pattern
    logind = snapshot.unit("systemd-logind.service")
    assert logind is not None
    assert "dbus-org.freedesktop.login1.service" in logind.names
    renamed = dataclasses.replace(logind, name="logind-by-another-name.service",
                                  names=("logind-by-another-name.service", *logind.names))
    odd = dataclasses.replace(snapshot, units={**snapshot.units,
                                               "logind-by-another-name.service": renamed})
    assert protection("logind-by-another-name.service", odd) is not None
    assert protection("logind-by-another-name.service", None) is None


@pytest.mark.parametrize("name", ["widget-daemon.service", "evtd.socket", "ssh.service",
                                  "gettysburg.service", "dbus-user.service", "cron.service"])
def test_ordinary_units_are_not_protected(name):
    assert protection(name, None) is None


def test_sshd_is_protected_inside_an_ssh_session_only():
    inside = CallerContext(ssh_session=True)
    for name in ("ssh.service", "sshd.service", "ssh.socket", "ssh@3-10.0.0.1:22.service"):
        assert protection(name, None, inside) == SSH_REASON
        assert protection(name, None) is None


def test_the_unit_that_runs_staydown_is_protected():
    cgroup = "0::/system.slice/nightly-fix.service\n"
    context = caller_context("system", cgroup, False)
    assert context.own_units == ("nightly-fix.service",)
    assert protection("nightly-fix.service", None, context) == OWN_REASON
    session = units_of_cgroup("0::/user.slice/user-0.slice/session-4.scope\n")
    assert session == ("session-4.scope",)
    # Another machine (a lab, a container): the caller's own cgroup does not count there,
    # the script checks its own when it runs.
    assert caller_context("address", cgroup, True) == CallerContext()
    assert caller_context("host", cgroup, False).ssh_session


# -- a plan and the protected units ------------------------------------------------


def test_a_protected_target_needs_naming():
    snapshot = load("dbus-booted")
    diagnosis = diagnose(snapshot)
    choices = default_choices(diagnosis, snapshot, False)
    with pytest.raises(ProtectedUnitError) as raised:
        build_plan(diagnosis, snapshot, choices, created=CREATED)
    assert raised.value.exit_code == ExitCode.USAGE
    assert "--allow-protected dbus.service" in (raised.value.hint or "")


def test_a_protected_source_is_left_alone_and_the_target_held_instead():
    snapshot = load("dbus-booted")
    diagnosis = diagnose(snapshot)
    allowed = frozenset({"dbus.service"})
    choices = default_choices(diagnosis, snapshot, False, allowed=allowed)
    assert choices.methods == {"dbus.socket": Method.HOLD_UNIT}
    plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
    assert "dbus.socket" not in {a.unit for a in plan.actions}
    assert [(lo.source, lo.unit) for lo in plan.left_out] == [("dbus.socket", "dbus.socket")]
    assert [p.unit for p in plan.protected_named] == ["dbus.service"]
    script = render_script(plan)
    # The loud warning comes first, before anything else a reviewer reads.
    assert script.index("WARNING: THIS SCRIPT ACTS ON THE HOST'S OWN MACHINERY") < script.index(
        "# Plan ")
    assert "readonly -a ALLOWED=(dbus.service)\n" in script
    assert "LEFT OUT: dbus.socket (source dbus.socket)" in script


def test_a_method_that_would_stop_a_protected_source_is_left_out_and_said():
    snapshot = load("dbus-booted")
    diagnosis = diagnose(snapshot)
    finding = next(f for f in plannable_findings(diagnosis) if f.source == "dbus.socket")
    options = method_options(finding, snapshot, False)
    assert options[0].method == Method.HOLD_UNIT
    assert "needs explicit confirmation" in options[1].label
    choices = PlanChoices(("dbus.socket",), {"dbus.socket": Method.STOP},
                          allow_protected=frozenset({"dbus.service"}))
    plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
    assert steps(plan) == [(ActionKind.STOP, "dbus.service")]
    assert "LEFT OUT, protected: dbus.socket" in plan.steps[0].does
    assert plan.left_out[0].instead.startswith("hold dbus.service itself")


def test_a_named_protected_source_is_acted_on():
    snapshot = load("dbus-booted")
    diagnosis = diagnose(snapshot)
    allowed = frozenset({"dbus.service", "dbus.socket"})
    choices = default_choices(diagnosis, snapshot, False, allowed=allowed)
    assert choices.methods == {"dbus.socket": Method.STOP}
    plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
    assert steps(plan) == [(ActionKind.STOP, "dbus.socket"), (ActionKind.STOP, "dbus.service")]
    assert plan.left_out == ()
    assert sorted(p.unit for p in plan.protected_named) == ["dbus.service", "dbus.socket"]


def test_a_protected_unit_named_by_an_alias_counts():
    snapshot = load("logind-booted")
    diagnosis = diagnose(snapshot)
    allowed = frozenset({"dbus-org.freedesktop.login1.service"})
    plan = build_plan(diagnosis, snapshot,
                      default_choices(diagnosis, snapshot, False, allowed=allowed),
                      created=CREATED)
    assert (ActionKind.STOP, "systemd-logind.service") in steps(plan)
    assert "ALLOWED=(dbus-org.freedesktop.login1.service)" in render_script(plan)


@pytest.mark.parametrize("path", sorted(SNAPSHOTS.glob("*.json")), ids=lambda p: p.stem)
def test_no_plan_touches_a_protected_unit_nobody_named(path):
    snapshot = snapshot_from_json(path.read_text())
    diagnosis = diagnose(snapshot)
    if protection(diagnosis.unit, snapshot) is not None:
        return  # refused outright (test_a_protected_target_needs_naming)
    for finding in plannable_findings(diagnosis):
        for persistent in (False, True):
            for option in method_options(finding, snapshot, persistent):
                choices = PlanChoices((finding.source,), {finding.source: option.method},
                                      persistent)
                plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
                touched = [a.unit for a in plan.actions if a.unit]
                assert [u for u in touched if protection(u, snapshot)] == [], (
                    finding.source, option.method)


# -- the script's own guard --------------------------------------------------------


def test_the_script_checks_every_unit_before_its_first_change_and_before_each_change():
    snapshot = load("requires-socket-booted")
    diagnosis = diagnose(snapshot)
    plan = build_plan(diagnosis, snapshot, default_choices(diagnosis, snapshot, False),
                      created=CREATED)
    script = render_script(plan)
    guards = re.findall(r"^guard (\S+)$", script, re.MULTILINE)
    assert guards == ["evtd.socket", "evtd.service"]
    assert script.index("guard evtd.socket") < script.index('if [[ ! -f $ACTIVE ]]')
    for helper in ("stop_unit", "mask_unit", "disable_unit", "install_drop_in"):
        body = script.split(f"{helper}() {{", 1)[1].split("\n}\n", 1)[0]
        assert 'guard "$2"' in body, helper
    assert "readonly -a ALLOWED=()\n" in script
    assert "systemd-logind.service | dbus-org.freedesktop.login1.service)" in script


@pytest.mark.parametrize("pattern", ["a b", "x;rm", "$(x)", "a\nb", "'q'", ""])
def test_case_patterns_refuse_anything_but_unit_name_globs(pattern):
    with pytest.raises(ValueError, match="pattern"):
        case_patterns([pattern])


# -- side effects ----------------------------------------------------------------


def test_stopping_a_socket_names_the_unit_that_requires_it():
    snapshot = load("requires-socket-booted")
    assert side_effects_of_stop(snapshot, "evtd.socket") == (
        SideEffect("evtd-monitor.service", Effect.STOPS, "Requires=evtd.socket"),
    )
    # evtd.service also Requires= the socket but is not running: nothing to stop.
    # (RequiredBy= comes in systemd's order, which is no order: compare as sets.)
    assert set(side_effects_of_mask(snapshot, "evtd.socket")) == {
        SideEffect("evtd.service", Effect.KEEPS_FROM_STARTING,
                   "Requires=evtd.socket: its start fails while evtd.socket is masked"),
        SideEffect("evtd-monitor.service", Effect.KEEPS_FROM_STARTING,
                   "Requires=evtd.socket: its start fails while evtd.socket is masked"),
    }


def test_an_automount_stop_names_its_mount():
    snapshot = load("automount-booted")
    automount = next(u for u in snapshot.units.values() if u.type == "automount")
    mounts = automount.related("Triggers")
    assert mounts
    effects = side_effects_of_stop(snapshot, automount.name)
    active_mounts = [m for m in mounts if (u := snapshot.unit(m)) is None or u.is_active]
    assert [e.unit for e in effects if "mount behind" in e.reason] == active_mounts


def requires_socket_plan() -> Plan:
    snapshot = load("requires-socket-booted")
    diagnosis = diagnose(snapshot)
    return build_plan(diagnosis, snapshot, default_choices(diagnosis, snapshot, False),
                      created=CREATED)


def test_side_effects_show_in_the_script_summary_json_and_ansible():
    plan = requires_socket_plan()
    stop = next(a for a in plan.actions if a.unit == "evtd.socket")
    assert [e.unit for e in stop.side_effects] == ["evtd-monitor.service"]
    script = render_script(plan)
    summary = script.split("set -euo pipefail")[0]
    assert ("#   1. stop evtd.socket\n"
            "#        also stops evtd-monitor.service (Requires=evtd.socket)\n") in summary
    assert "# Predicted when the plan was made (the record decides, not this list):\n" \
        "#   evtd-monitor.service (Requires=evtd.socket)\nrestore_active\n" in render_undo(plan)
    document = plan_document(plan, "script", ["fix.sh", "fix.undo.sh"], (), "lab x")
    json.dumps(document)
    assert document["side_effects"] == [{
        "action": stop.id, "unit": "evtd-monitor.service", "effect": "stops",
        "reason": "Requires=evtd.socket",
    }]
    files = render_outputs(plan, "ansible", Path("fix.yml"))
    playbook, undo = files[Path("fix.yml")].text, files[Path("fix.undo.yml")].text
    assert "# Side effect: stops evtd-monitor.service (Requires=evtd.socket)" in playbook
    assert '- name: "Start evtd-monitor.service (predicted side effect of stopping ' in undo


def test_the_undo_starts_triggers_before_services_and_timers_last():
    undo = render_undo(requires_socket_plan())
    body = undo.split("restore_active() {", 1)[1].split("\n}\n", 1)[0]
    order = re.search(r'for unit in "\$\{triggers\[@\]\}" "\$\{mounts\[@\]\}" '
                      r'"\$\{services\[@\]\}" "\$\{last\[@\]\}"', body)
    assert order, body
    assert "NOT BACK" in body
    # The record of active units is read before the "back as it was" line can print.
    assert undo.index("\nrestore_active\n") < undo.index("back as it was")


# -- a unit with no live source ----------------------------------------------------


@pytest.mark.parametrize("persistent", [False, True])
def test_a_unit_with_no_source_still_gets_a_plan_that_stops_it(persistent, tmp_path):
    snapshot = load("requires-socket-booted")
    diagnosis = dataclasses.replace(diagnose(snapshot), findings=())
    choices = default_choices(diagnosis, snapshot, persistent)
    assert choices.sources == ()
    plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
    expected = [(ActionKind.STOP, "evtd.service")]
    if persistent:
        expected.insert(0, (ActionKind.DISABLE, "evtd.service"))
    assert steps(plan) == expected
    assert "nothing else needs neutralising" in plan.steps[-1].does
    for fmt, name in (("script", "fix.sh"), ("dropin", "fix.d"), ("ansible", "fix.yml")):
        files = render_outputs(plan, fmt, tmp_path / fmt / name)
        assert len(files) >= 2
        for path, rendered in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered.text)
            if path.suffix == ".sh":
                subprocess.run(["bash", "-n", str(path)], check=True)
                result = subprocess.run([require("shellcheck"), "--severity=style", str(path)],
                                        capture_output=True, text=True, check=False)
                assert result.returncode == 0, result.stdout
