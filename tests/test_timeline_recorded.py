"""The timeline's classification on journals and bus signals recorded from a real systemd.

The recordings (tests/record_journals.py) provoke each revival of the article's
scenario once, after a mark; each test finds the first start after a mark and
checks its cause, the unit it names and how sure it is.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
from collections.abc import Iterable

import pytest
from rich.console import Console

from tests.record_journals import RECORDINGS, Recorded, load
from wizard.analysis.findings import Timeline, TimelineEvent
from wizard.analysis.timeline import build_timeline
from wizard.model.snapshots import (
    JobSignal,
    JournalEntry,
    Record,
    UnitChange,
    records_from_json,
    records_to_json,
)
from wizard.output.report_json import timeline_document
from wizard.output.report_terminal import render_timeline

DAEMON = "widget-daemon.service"
SOCKET_CHAIN = ("widget-daemon.socket", DAEMON)
TIMER_CHAIN = ("widget-reconcile.timer", "widget-reconcile.service", DAEMON)


def timeline_of(recorded: Recorded, keep: str = "all", unit: str = DAEMON) -> Timeline:
    records: dict[str, list[Record]] = {
        "all": recorded.records,
        "journal": [r for r in recorded.records if isinstance(r, JournalEntry)],
        "bus": [r for r in recorded.records if not isinstance(r, JournalEntry)],
    }
    return build_timeline(unit, records[keep], recorded.snapshot, since_usec=recorded.since_usec,
                          until_usec=recorded.until_usec)


def step_unit(recorded: Recorded, step: str) -> str:
    (mark,) = [m for m in recorded.marks if m["label"].split(":")[0] == step]
    return str(mark["unit"])


def first_after(recorded: Recorded, timeline: Timeline, step: str, event: str = "start"
                ) -> TimelineEvent:
    (mark,) = [m for m in recorded.marks if m["label"].split(":")[0] == step]
    later = [m["at_usec"] for m in recorded.marks if m["at_usec"] > mark["at_usec"]]
    end = min(later, default=recorded.until_usec)
    found = [e for e in timeline.events
             if e.event == event and mark["at_usec"] <= e.at_usec < end]
    assert found, f"no {event} after {step!r}"
    return found[0]


def classified(event: TimelineEvent) -> tuple[str, str, tuple[str, ...], str]:
    return event.cause, event.source, event.chain, event.certainty


# What systemd 252 lets us know, per log level and per source of evidence.
EXPECTED = {
    ("article-info", "journal"): {
        "socket": ("triggered", "widget-daemon.socket", SOCKET_CHAIN, "inferred"),
        "timer": ("pulled-in", "widget-reconcile.timer", TIMER_CHAIN, "recorded"),
        "restart": ("restart-policy", DAEMON, (DAEMON,), "recorded"),
        "manual": ("manual", "", (), "inferred"),
        "manual-restart": ("manual", "", (), "recorded"),
    },
    ("article-info", "all"): {
        # The bus shows the socket entering "running" before the start job.
        "socket": ("triggered", "widget-daemon.socket", SOCKET_CHAIN, "recorded"),
        "timer": ("pulled-in", "widget-reconcile.timer", TIMER_CHAIN, "recorded"),
        "restart": ("restart-policy", DAEMON, (DAEMON,), "recorded"),
        "manual": ("manual", "", (), "inferred"),
        "manual-restart": ("manual", "", (), "recorded"),
    },
    ("article-info", "bus"): {
        "socket": ("triggered", "widget-daemon.socket", SOCKET_CHAIN, "recorded"),
        "timer": ("pulled-in", "widget-reconcile.timer", TIMER_CHAIN, "recorded"),
        "restart": ("restart-policy", DAEMON, (DAEMON,), "recorded"),
        "manual": ("manual", "", (), "inferred"),
    },
    ("article-debug", "journal"): {
        # Debug level: "Incoming traffic", "Timer elapsed" and the bus call.
        "socket": ("triggered", "widget-daemon.socket", SOCKET_CHAIN, "recorded"),
        "timer": ("pulled-in", "widget-reconcile.timer", TIMER_CHAIN, "recorded"),
        "restart": ("restart-policy", DAEMON, (DAEMON,), "recorded"),
        "manual": ("manual", "", (), "recorded"),
        "manual-restart": ("manual", "", (), "recorded"),
    },
}


PATH_CHAIN = ("kick.path", "kick.service")
TICK_CHAIN = ("tick.timer", "tick.service")
FAILURE_CHAIN = ("flaky.service", "rescue.service")
SUCCESS_CHAIN = ("flaky.service", "afterwards.service")
UPHOLDS_CHAIN = ("keeper.service", "kept.service")
CALLER_CHAIN = ("caller.service", "called.service")
AUTOMOUNT_CHAIN = ("mnt-auto.automount", "mnt-auto.mount")
EXPECTED |= {
    ("revivals-info", "journal"): {
        # "Got automount request for /mnt/auto, triggered by PID (ls)" is info level.
        "automount": ("triggered", "mnt-auto.automount", AUTOMOUNT_CHAIN, "recorded"),
        "path": ("triggered", "kick.path", PATH_CHAIN, "inferred"),
        "direct-timer": ("triggered", "tick.timer", TICK_CHAIN, "inferred"),
        # "Triggering OnFailure= dependencies." is logged at info level.
        "on-failure": ("on-failure", "flaky.service", FAILURE_CHAIN, "recorded"),
        "on-success": ("on-success", "flaky.service", SUCCESS_CHAIN, "recorded"),
        "upholds": ("upholds", "keeper.service", UPHOLDS_CHAIN, "inferred"),
        "external": ("external", "caller.service", CALLER_CHAIN, "inferred"),
    },
    ("revivals-info", "all"): {
        "automount": ("triggered", "mnt-auto.automount", AUTOMOUNT_CHAIN, "recorded"),
        "path": ("triggered", "kick.path", PATH_CHAIN, "recorded"),
        "direct-timer": ("triggered", "tick.timer", TICK_CHAIN, "recorded"),
        "on-failure": ("on-failure", "flaky.service", FAILURE_CHAIN, "recorded"),
        "on-success": ("on-success", "flaky.service", SUCCESS_CHAIN, "recorded"),
        "upholds": ("upholds", "keeper.service", UPHOLDS_CHAIN, "inferred"),
        "external": ("external", "caller.service", CALLER_CHAIN, "inferred"),
    },
    ("revivals-info", "bus"): {
        "automount": ("triggered", "mnt-auto.automount", AUTOMOUNT_CHAIN, "recorded"),
        "path": ("triggered", "kick.path", PATH_CHAIN, "recorded"),
        "direct-timer": ("triggered", "tick.timer", TICK_CHAIN, "recorded"),
        "on-failure": ("on-failure", "flaky.service", FAILURE_CHAIN, "inferred"),
        "on-success": ("on-success", "flaky.service", SUCCESS_CHAIN, "inferred"),
        "upholds": ("upholds", "keeper.service", UPHOLDS_CHAIN, "inferred"),
        "external": ("external", "caller.service", CALLER_CHAIN, "inferred"),
    },
    ("revivals-debug", "journal"): {
        # "Got triggered by", "Timer elapsed", "Unit is started because upheld by".
        "automount": ("triggered", "mnt-auto.automount", AUTOMOUNT_CHAIN, "recorded"),
        "path": ("triggered", "kick.path", PATH_CHAIN, "recorded"),
        "direct-timer": ("triggered", "tick.timer", TICK_CHAIN, "recorded"),
        "on-failure": ("on-failure", "flaky.service", FAILURE_CHAIN, "recorded"),
        "on-success": ("on-success", "flaky.service", SUCCESS_CHAIN, "recorded"),
        "upholds": ("upholds", "keeper.service", UPHOLDS_CHAIN, "recorded"),
        # The StartUnit call through the private socket, while caller.service ran.
        "external": ("external", "caller.service", CALLER_CHAIN, "recorded"),
    },
}


EXPECTED |= {
    ("busact-info", key): {
        "bus": ("bus-activation", "org.staydown.Echo", ("org.staydown.Echo", "echo.service"),
                "recorded"),
    }
    for key in ("journal", "all")
}


def test_automount_names_the_process_that_touched_the_directory():
    recorded = load("revivals-info")
    event = first_after(recorded, timeline_of(recorded, "journal", "mnt-auto.mount"), "automount")
    assert any(e.fact.startswith("mnt-auto.automount: Got automount request for /mnt/auto, "
                                 "triggered by ") and "(ls)" in e.fact for e in event.evidence)


def test_bus_activation_names_the_requesting_process():
    recorded = load("busact-info")
    event = first_after(recorded, timeline_of(recorded, "journal", "echo.service"), "bus")
    assert "requested by :1." in event.summary
    assert 'comm="busctl call' in event.summary


def classify_steps(recorded: Recorded, keep: str, steps: Iterable[str]
                   ) -> dict[str, tuple[str, str, tuple[str, ...], str]]:
    return {
        step: classified(first_after(
            recorded, timeline_of(recorded, keep, step_unit(recorded, step)), step))
        for step in steps
    }


@pytest.mark.parametrize(("name", "keep"), sorted(EXPECTED), ids=lambda v: str(v))
def test_each_provoked_start_is_classified(name, keep):
    recorded = load(name)
    assert classify_steps(recorded, keep, EXPECTED[name, keep]) == EXPECTED[name, keep]


ARTICLE = [r.name for r in RECORDINGS if r.scenario == "article"]


@pytest.mark.parametrize("name", ARTICLE)
def test_the_boot_start_is_pulled_in_by_multi_user_target(name):
    recorded = load(name)
    boot = timeline_of(recorded, "journal").events[0]
    assert (boot.event, boot.cause, boot.chain[-2:]) == (
        "start", "pulled-in", ("multi-user.target", DAEMON))


@pytest.mark.parametrize("name", ARTICLE)
def test_stops_say_how_the_run_ended(name):
    recorded = load(name)
    timeline = timeline_of(recorded)
    killed = first_after(recorded, timeline, "restart", "stop")
    assert (killed.cause, killed.result) == ("killed", "signal")
    assert "SIGKILL" in killed.summary
    stopped = first_after(recorded, timeline, "manual", "stop")
    assert (stopped.cause, stopped.result) == ("clean", "success")
    assert stopped.summary.startswith("stopped by a stop job")
    restarted = first_after(recorded, timeline, "manual-restart", "stop")
    assert restarted.summary == "stopped by a restart job"


def test_a_failed_start_is_a_start_attempt_and_a_failure():
    recorded = load("revivals-info")
    timeline = timeline_of(recorded, "journal", "flaky.service")
    attempt = first_after(recorded, timeline, "on-failure")
    assert attempt.result == "failed"
    assert attempt.summary.startswith("start attempt that ended failed")
    failure = first_after(recorded, timeline, "on-failure", "stop")
    assert (failure.cause, failure.result) == ("failure", "exit-code")
    assert "exit status 1" in failure.summary


def test_events_alternate_and_are_time_ordered():
    timeline = timeline_of(load("article-info"), "journal")
    times = [e.at_usec for e in timeline.events]
    assert times == sorted(times)
    kinds = [e.event for e in timeline.events]
    assert all(a != b for a, b in itertools.pairwise(kinds)), kinds


def test_pulled_in_evidence_names_both_jobs_and_the_wants():
    recorded = load("article-info")
    event = first_after(recorded, timeline_of(recorded, "journal"), "timer")
    facts = [(e.subject, e.fact) for e in event.evidence]
    assert ("widget-reconcile.service", f"Wants={DAEMON}") in facts
    assert any("came in one transaction" in fact for _, fact in facts)
    assert "widget-reconcile.service itself was started by widget-reconcile.timer" in \
        event.summary


def test_inferred_socket_start_says_how_to_be_sure():
    recorded = load("article-info")
    event = first_after(recorded, timeline_of(recorded, "journal"), "socket")
    assert "watch --debug-log" in event.summary


def test_message_text_plays_no_part_at_info_level():
    # StatusUnitFormat= and translations change MESSAGE=; blanking it must not
    # change a single classification (at debug level the bus-call lines are the
    # documented exception, so this is the info recording).
    recorded = load("article-info")
    blanked = dataclasses.replace(recorded, records=[
        dataclasses.replace(r, message="") if isinstance(r, JournalEntry) else r
        for r in recorded.records
    ])
    def summary(timeline: Timeline) -> list[tuple[object, ...]]:
        return [(e.event, e.cause, e.chain, e.certainty) for e in timeline.events]
    assert summary(timeline_of(blanked, "journal")) == summary(timeline_of(recorded, "journal"))


def test_bus_jobs_whose_type_could_not_be_read_are_inferred_from_state():
    # A job that finished before the watch could read its JobType.
    recorded = load("article-info")
    untyped = dataclasses.replace(recorded, records=[
        dataclasses.replace(r, job_type="") if isinstance(r, JobSignal) else r
        for r in recorded.records
    ])
    timeline = timeline_of(untyped, "bus")
    assert classified(first_after(untyped, timeline, "socket"))[:2] == (
        "triggered", "widget-daemon.socket")
    assert classified(first_after(untyped, timeline, "timer"))[:3] == (
        "pulled-in", "widget-reconcile.timer", TIMER_CHAIN)


def test_the_cap_keeps_the_newest_events():
    recorded = load("article-info")
    full = timeline_of(recorded, "journal")
    capped = build_timeline(DAEMON, recorded.records, recorded.snapshot,
                            since_usec=recorded.since_usec, until_usec=recorded.until_usec,
                            limit=3)
    assert capped.omitted == len(full.events) - 3
    assert [e.at_usec for e in capped.events] == [e.at_usec for e in full.events[-3:]]


def test_since_bounds_the_timeline():
    recorded = load("article-info")
    (timer_mark,) = [m for m in recorded.marks if m["label"].startswith("timer")]
    later = build_timeline(DAEMON, recorded.records, recorded.snapshot,
                           since_usec=timer_mark["at_usec"], until_usec=recorded.until_usec)
    assert later.events
    assert all(e.at_usec >= timer_mark["at_usec"] for e in later.events)


@pytest.mark.parametrize("path_name", [r.name for r in RECORDINGS])
def test_records_round_trip_through_json(path_name):
    records = load(path_name).records
    assert records_from_json(records_to_json(records)) == records
    assert {type(r) for r in records} == {JournalEntry, JobSignal, UnitChange}


def test_json_document_of_the_timeline():
    recorded = load("article-info")
    document = json.loads(json.dumps(timeline_document(timeline_of(recorded, "journal"))))
    assert document["omitted"] == 0
    timer = [e for e in document["events"] if e["cause"] == "pulled-in"][-1]
    assert timer["chain"] == list(TIMER_CHAIN)
    assert timer["source"] == "widget-reconcile.timer"
    assert timer["at"].endswith("+00:00")
    assert set(timer) >= {"at", "at_usec", "event", "cause", "source", "chain", "certainty",
                          "summary", "evidence", "job_id", "invocation_id", "result"}


def test_terminal_table_is_time_ordered_with_one_row_per_event():
    recorded = load("article-info")
    timeline = timeline_of(recorded, "journal")
    out = io.StringIO()
    render_timeline(Console(file=out, width=120, no_color=True), timeline)
    rows = [line for line in out.getvalue().splitlines() if line.strip()[:3].isalpha()
            and line.strip()[3:4] == " " and ":" in line]
    assert len(rows) == len(timeline.events)
    assert "widget-reconcile.timer → widget-reconcile.service" in out.getvalue()
    assert "triggered (inferred)" in out.getvalue()
