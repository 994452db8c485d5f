"""The engine on snapshots recorded from a real systemd (tests/record_snapshots.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.analysis import FindingKind, diagnose
from wizard.analysis.findings import Diagnosis
from wizard.model.snapshots import SystemSnapshot, snapshot_from_json, snapshot_to_json

SNAPSHOTS = Path(__file__).parent / "snapshots"


def load(name: str) -> SystemSnapshot:
    return snapshot_from_json((SNAPSHOTS / f"{name}.json").read_text())


def summary(diagnosis: Diagnosis) -> list[tuple[str, str, tuple[str, ...], bool]]:
    return [(f.kind.value, f.source, f.chain, f.live) for f in diagnosis.findings]


@pytest.mark.parametrize("path", sorted(SNAPSHOTS.glob("*.json")), ids=lambda p: p.stem)
def test_snapshots_round_trip_through_json(path):
    snapshot = snapshot_from_json(path.read_text())
    assert snapshot_from_json(snapshot_to_json(snapshot)) == snapshot


def test_article_running_finds_the_socket_and_the_reconcile_timer():
    diagnosis = diagnose(load("article-booted"))
    assert summary(diagnosis) == [
        ("restart-policy", "widget-daemon.service", ("widget-daemon.service",), False),
        ("socket", "widget-daemon.socket", ("widget-daemon.socket", "widget-daemon.service"),
         True),
        (
            "dependency",
            "widget-reconcile.timer",
            ("widget-reconcile.timer", "widget-reconcile.service", "widget-daemon.service"),
            True,
        ),
        ("boot", "multi-user.target", ("multi-user.target", "widget-daemon.service"), False),
    ]
    assert [f.source for f in diagnosis.live_findings] == [
        "widget-daemon.socket",
        "widget-reconcile.timer",
    ]


def test_stopped_socket_is_reported_but_not_live():
    diagnosis = diagnose(load("article-socket-stopped"))
    (socket,) = [f for f in diagnosis.findings if f.kind == FindingKind.SOCKET]
    assert socket.live is False
    assert socket.chain == ("sockets.target", "widget-daemon.socket", "widget-daemon.service")
    assert "next boot" in socket.explanation
    assert [f.source for f in diagnosis.live_findings] == ["widget-reconcile.timer"]


def test_runtime_mask_shadowed_by_etc_leaves_everything_enabled():
    snapshot = load("article-runtime-mask-shadowed")
    socket = snapshot.units["widget-daemon.socket"]
    # The trap the plan must avoid: the /etc unit file wins over /run's mask.
    assert (socket.load_state, socket.unit_file_state) == ("loaded", "enabled")
    diagnosis = diagnose(snapshot)
    assert diagnosis.live_findings == ()
    kinds = sorted((f.kind.value, f.source) for f in diagnosis.findings)
    assert kinds == [
        ("boot", "multi-user.target"),
        ("boot", "timers.target"),
        ("restart-policy", "widget-daemon.service"),
        ("socket", "sockets.target"),
    ]


def test_restart_policy_is_a_red_herring_with_evidence():
    diagnosis = diagnose(load("article-booted"))
    restart = diagnosis.findings[0]
    assert restart.kind == FindingKind.RESTART_POLICY
    facts = {e.fact for e in restart.evidence}
    assert {"Restart=on-failure", "RestartUSec=2000ms", "NRestarts=0"} <= facts
    assert "red herring" in restart.explanation
    assert [r.action for r in restart.remedies] == ["stop", "drop-in"]


def test_reconcile_timer_chain_carries_its_evidence_and_remedies():
    diagnosis = diagnose(load("article-booted"))
    (timer,) = [f for f in diagnosis.findings if f.source == "widget-reconcile.timer"]
    facts = [(e.subject, e.fact) for e in timer.evidence]
    assert ("widget-reconcile.service", "Wants=widget-daemon.service") in facts
    assert ("widget-reconcile.timer", "Triggers=widget-reconcile.service") in facts
    assert ("widget-reconcile.timer", "ActiveState=active (waiting)") in facts
    assert [(r.action, r.units) for r in timer.remedies] == [
        ("stop", ("widget-reconcile.timer",)),
        ("disable", ("widget-reconcile.timer",)),
        ("mask", ("widget-daemon.service",)),
    ]
    assert "list-dependencies --reverse" in timer.explanation


@pytest.mark.parametrize("name", ["control-booted", "control-stopped"])
def test_control_unit_has_no_live_finding(name):
    diagnosis = diagnose(load(name))
    assert diagnosis.live_findings == ()
    assert summary(diagnosis) == [
        ("boot", "multi-user.target", ("multi-user.target", "quiet.service"), False)
    ]
    (boot,) = diagnosis.findings
    assert [(r.action, r.units) for r in boot.remedies] == [
        ("disable", ("quiet.service",)),
        ("mask", ("quiet.service",)),
    ]


def test_examined_units_explain_why_they_are_no_source():
    diagnosis = diagnose(load("article-booted"))
    examined = {(e.unit, e.relation) for e in diagnosis.examined}
    assert ("graphical.target", "Requires multi-user.target") in examined
    assert ("timers.target", "Wants widget-reconcile.timer") in examined
    in_chains = {n for f in diagnosis.findings for n in f.chain}
    assert not in_chains & {e.unit for e in diagnosis.examined}
