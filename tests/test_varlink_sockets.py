"""Varlink sockets (systemd 257+): told apart from other sockets, and left alone by a plan
that holds their unit anyway. On the snapshot recorded from trixie's systemd 257."""

from __future__ import annotations

import dataclasses

from tests.record_journals import HOSTNAMED, load
from wizard.analysis.diagnosis import diagnose
from wizard.analysis.findings import FindingKind
from wizard.analysis.kinds.triggers import varlink_interfaces
from wizard.model.snapshots import SystemSnapshot
from wizard.plan.options import Method, method_options


def hostnamed_257() -> SystemSnapshot:
    snapshot = load("versions-257-broker-info").snapshot
    return dataclasses.replace(snapshot, target=HOSTNAMED)


def test_only_the_socket_named_after_a_varlink_interface_is_one() -> None:
    snapshot = hostnamed_257()
    assert varlink_interfaces(snapshot.unit("systemd-hostnamed.socket")) == (
        "io.systemd.Hostname",)
    for other in ("dbus.socket", "fifo.socket", "systemd-journald.socket"):
        assert varlink_interfaces(snapshot.unit(other)) == (), other
    assert varlink_interfaces(None) == ()


def test_diagnose_calls_hostnameds_socket_its_varlink_socket() -> None:
    diagnosis = diagnose(hostnamed_257())
    (socket,) = [f for f in diagnosis.findings if f.kind == FindingKind.SOCKET]
    assert socket.source == "systemd-hostnamed.socket"
    assert "Varlink socket" in socket.explanation
    assert "io.systemd.Hostname" in socket.explanation
    assert any(f.kind == FindingKind.BUS_ACTIVATION for f in diagnosis.findings)


def test_the_plan_holds_the_unit_instead_of_stopping_its_varlink_socket() -> None:
    snapshot = hostnamed_257()
    (socket,) = [f for f in diagnose(snapshot).findings if f.kind == FindingKind.SOCKET]
    for persistent in (False, True):
        options = method_options(socket, snapshot, persistent)
        assert options[0].method == Method.HOLD_UNIT, options[0]
        assert "Varlink" in options[0].label
        # The other ways stay on offer for an operator who wants the socket gone.
        assert Method.STOP in {o.method for o in options}


def test_the_same_socket_on_an_ordinary_path_is_stopped_first() -> None:
    snapshot = hostnamed_257()
    socket_unit = snapshot.units["systemd-hostnamed.socket"]
    assert socket_unit.socket is not None
    plain = dataclasses.replace(socket_unit, socket=dataclasses.replace(
        socket_unit.socket, listen=(("Stream", "/run/hostnamed.sock"),)))
    snapshot = dataclasses.replace(
        snapshot, units={**snapshot.units, "systemd-hostnamed.socket": plain})
    (socket,) = [f for f in diagnose(snapshot).findings if f.kind == FindingKind.SOCKET]
    assert "Varlink" not in socket.explanation
    assert method_options(socket, snapshot, False)[0].method == Method.STOP
