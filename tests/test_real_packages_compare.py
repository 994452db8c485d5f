"""The transaction model against the real-package sweep, offline (docs/real-packages.md).

Every pair the model and the recorded sweep disagree on is named here with its
cause: a new disagreement, or one of these going away, fails the test and
has to be looked at.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tests.real_packages.compare import compare
from tests.real_packages.sweep import RESULTS, SNAPSHOT
from wizard.analysis.liveness import Source, SourceKind, liveness
from wizard.analysis.stop_model import after_stop
from wizard.model.snapshots import SystemSnapshot, snapshot_from_json

# None left: e2scrub_all.service <- e2scrub_all.timer was one until the file facts
# learnt ConditionCapability= and ConditionACPower= (nspawn does not grant
# CAP_SYS_RAWIO, so systemd skips it).
KNOWN_FALSE_LIVE: list[str] = []
# The provocation fires a source the model does call live as well.
SAME_EVENT = [
    "dbus.service <- dbus:org.freedesktop.Avahi",
    "dbus.service <- avahi-daemon.socket",
    "dbus.service <- dbus:org.freedesktop.login1",
    "dbus.service <- dbus:org.freedesktop.UDisks2",
    "systemd-ask-password-console.service <- systemd-ask-password-wall.path",
]


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    return compare(json.loads(RESULTS.read_text()), details=True)


@pytest.fixture(scope="module")
def snapshot() -> SystemSnapshot:
    return snapshot_from_json(SNAPSHOT.read_text())


def test_no_reviving_source_is_missed(figures):
    assert figures["missed"] == 0, figures["missed_pairs"]
    assert [p.split(" (")[0] for p in figures["same_event_pairs"]] == SAME_EVENT


def test_only_the_known_false_live_pair_is_left(figures):
    assert figures["false_live_pairs"] == KNOWN_FALSE_LIVE
    assert figures["pairs"] == (figures["agreed"] + figures["false_live"] + figures["missed"]
                                + figures["same_event"])


def _verdict(snapshot: SystemSnapshot, unit: str, source: Source):
    target = replace(snapshot, target=unit)
    return liveness(target, unit, source, outcome=after_stop(target, unit))


def test_a_condition_on_a_capability_nspawn_withholds_keeps_e2scrub_down(snapshot):
    verdict = _verdict(snapshot, "e2scrub_all.service", Source("e2scrub_all.timer",
                                                                SourceKind.TIMER))
    assert not verdict.live
    assert "ConditionCapability=CAP_SYS_RAWIO" in verdict.dormant


def test_a_mount_only_mountinfo_knows_is_never_mounted_again(snapshot):
    # tmp.mount comes from /proc/self/mountinfo (nspawn mounted /tmp): stopped, it
    # has no parameters to mount with; logrotate.service Wants= it and runs without.
    verdict = _verdict(snapshot, "tmp.mount",
                       Source("logrotate.service", SourceKind.UNIT))
    assert not verdict.live
    assert "cannot mount it" in verdict.dormant


def test_bus_activation_needs_the_bus(snapshot):
    # Stopping dbus.socket stops dbus.service (Requires=): no bus call can be made.
    verdict = _verdict(snapshot, "dbus.socket",
                       Source("org.freedesktop.Avahi", SourceKind.BUS,
                              starts="avahi-daemon.service"))
    assert not verdict.live
    assert "bus activation needs a running bus" in verdict.dormant
    # With only dbus.service stopped, its socket still listens: the call goes through.
    verdict = _verdict(snapshot, "avahi-daemon.socket",
                       Source("org.freedesktop.Avahi", SourceKind.BUS,
                              starts="avahi-daemon.service"))
    assert verdict.live
