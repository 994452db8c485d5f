"""The timeline on journals recorded from systemd 252 with dbus-daemon and 257 with dbus-broker.

The recordings (tests/record_journals.py, VERSION_RECORDINGS) ran the versions
scenario in OS-tree labs: a failing unit with OnFailure=, hostnamectl calling a
stopped systemd-hostnamed, and a unit running `systemctl start`. Where systemd
257 renamed the code functions, or dbus-broker logs nothing, the classification
must still be what really happened, or say it cannot tell; never a guess.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.record_journals import HOSTNAMED, Recorded, load
from tests.test_timeline_recorded import first_after
from wizard.analysis.findings import TimelineEvent
from wizard.analysis.timeline import build_timeline
from wizard.model.journal_vocabulary import ON_FAILURE_FUNCTIONS
from wizard.model.snapshots import JournalEntry, Record

BUS_NAME = "org.freedesktop.hostname1"


def start_after(name: str, step: str, keep: str = "journal", *,
                peers: bool = True, drop_code_funcs: frozenset[str] = frozenset()
                ) -> TimelineEvent:
    recorded: Recorded = load(name)
    (mark,) = [m for m in recorded.marks if m["label"].split(":")[0] == step]
    records: list[Record] = [
        r for r in recorded.records if keep == "all" or isinstance(r, JournalEntry)]
    if drop_code_funcs:
        records = [dataclasses.replace(r, code_func="") if isinstance(r, JournalEntry)
                   and r.code_func in drop_code_funcs else r for r in records]
    timeline = build_timeline(mark["unit"], records, recorded.snapshot,
                              since_usec=recorded.since_usec, until_usec=recorded.until_usec,
                              bus_peers=recorded.bus_peers if peers else None)
    return first_after(recorded, timeline, step)


def told(event: TimelineEvent) -> tuple[str, str, str]:
    return event.cause, event.source, event.certainty


@pytest.mark.parametrize("name", ["versions-252-daemon-info", "versions-257-broker-info",
                                  "versions-257-broker-debug"])
@pytest.mark.parametrize("keep", ["journal", "all"])
def test_an_on_failure_start_is_recorded_on_252_and_257_alike(name: str, keep: str) -> None:
    # 252 logs "Triggering OnFailure= dependencies." from unit_start_on_failure,
    # 257 from unit_start_on_termination_deps; both at info level.
    assert told(start_after(name, "on-failure", keep)) == (
        "on-failure", "flaky.service", "recorded")


def test_without_the_257_spelling_the_on_failure_start_would_only_be_inferred() -> None:
    # The regression issue 12 reported: the line is there, only its CODE_FUNC is new.
    event = start_after("versions-257-broker-info", "on-failure",
                        drop_code_funcs=frozenset({"unit_start_on_termination_deps"}))
    assert told(event) == ("on-failure", "flaky.service", "inferred")
    assert "unit_start_on_termination_deps" in ON_FAILURE_FUNCTIONS


@pytest.mark.parametrize("keep", ["journal", "all"])
def test_dbus_daemon_names_hostnamed_by_its_alias_and_the_activation_is_recorded(
    keep: str,
) -> None:
    event = start_after("versions-252-daemon-info", "bus", keep)
    assert told(event) == ("bus-activation", BUS_NAME, "recorded"), event.summary
    assert "hostnamectl" in event.summary
    assert any("dbus-org.freedesktop.hostname1.service" in e.fact for e in event.evidence)


@pytest.mark.parametrize("keep", ["journal", "all"])
def test_under_dbus_broker_at_info_level_the_start_is_unexplained_not_the_varlink_socket(
    keep: str,
) -> None:
    event = start_after("versions-257-broker-info", "bus", keep)
    assert (event.cause, event.source, event.chain) == ("unexplained", "", ()), event.summary
    assert BUS_NAME in event.summary
    assert "systemd-hostnamed.socket" in event.summary
    if keep == "all":
        # The watch saw every unit's changes: the socket did not fire.
        assert "did not fire" in event.summary


@pytest.mark.parametrize("keep", ["journal", "all"])
def test_under_dbus_broker_at_debug_level_the_launchers_start_unit_is_a_bus_activation(
    keep: str,
) -> None:
    recorded = load("versions-257-broker-debug")
    assert "dbus-broker.service" in recorded.bus_peers.values()
    event = start_after("versions-257-broker-debug", "bus", keep)
    assert told(event) == ("bus-activation", BUS_NAME, "recorded"), event.summary
    assert any("dbus-broker.service" in e.fact for e in event.evidence)
    assert any("manager_add_job_full" in e.fact for e in event.evidence)


def test_an_unresolved_sender_stays_a_call_over_the_bus() -> None:
    # Without knowing who :1.x is, a StartUnit is just a request over D-Bus.
    event = start_after("versions-257-broker-debug", "bus", peers=False)
    assert (event.cause, event.certainty) == ("manual", "recorded"), event.summary
    assert "StartUnit" in event.summary


@pytest.mark.parametrize(("name", "certainty"), [
    ("versions-252-daemon-info", "inferred"), ("versions-257-broker-info", "inferred"),
    ("versions-257-broker-debug", "recorded")])
def test_a_systemctl_start_from_a_unit_is_external_on_both_versions(
    name: str, certainty: str,
) -> None:
    # At debug level the bus call and 257's manager_add_job_full enqueue line
    # make it recorded.
    assert told(start_after(name, "external")) == ("external", "caller.service", certainty)


def test_the_recordings_are_of_the_versions_they_claim() -> None:
    assert load("versions-252-daemon-info").snapshot.manager.version.startswith("252")
    assert load("versions-257-broker-debug").snapshot.manager.version.startswith("257")
    assert HOSTNAMED in load("versions-257-broker-info").snapshot.units
