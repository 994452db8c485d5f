"""watch reports an event once the journal has its job's result line: the answer is final then.

Checked on journals and bus signals recorded from a real systemd (tests/record_journals.py,
every recording and every unit it watched), replayed in time order: each start or
stop that ``journal_accounted`` would let watch report at some moment is, field for
field, the event the whole recording gives.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.record_journals import SNAPSHOT_DIR, Recorded, load
from wizard.analysis.findings import TimelineEvent
from wizard.analysis.timeline import build_timeline
from wizard.model.snapshots import JobSignal, JournalEntry, Record, record_time
from wizard.system.watch import bus_names, journal_accounted, journal_results

RECORDED = sorted(path.stem for path in SNAPSHOT_DIR.glob("*.json"))


def _targets(name: str) -> list[str]:
    return list(json.loads((SNAPSHOT_DIR / f"{name}.json").read_text())["targets"])


def _events(recorded: Recorded, unit: str, records: list[Record]) -> tuple[TimelineEvent, ...]:
    # As watch classifies (wizard/system/watch.py, _report).
    return build_timeline(
        unit, records, recorded.snapshot, since_usec=recorded.since_usec,
        until_usec=recorded.until_usec, limit=10_000, bus_stops=True,
        bus_peers=recorded.bus_peers,
    ).events


def _moments(records: list[Record]) -> list[int]:
    """Where watch may report something early: after a job's result line or its
    JobRemoved, the two things journal_accounted waits for."""
    return [i for i, r in enumerate(records)
            if (isinstance(r, JournalEntry) and r.job_result)
            or (isinstance(r, JobSignal) and r.removed)]


@pytest.mark.parametrize("name", RECORDED)
def test_an_event_reported_once_accounted_is_the_final_answer(name: str) -> None:
    recorded = load(name)
    # The journal and the bus merged by time: a journal line here arrives as if
    # journald had no delay at all, the hardest case for reporting early (in
    # truth it comes 250-500 ms after its timestamp, long after the bus).
    records = sorted(recorded.records, key=record_time)
    # A watch sees every job on the bus from its start on; the recordings' boots
    # came before their bus signals, so only what follows the first is a watch's.
    watched_from = min(record_time(r) for r in records if not isinstance(r, JournalEntry))
    checked = 0
    for unit in _targets(name):
        if bus_names_of(recorded, unit):
            continue  # watch waits its full time for these (dbus-daemon logs apart)
        final = {(e.event, e.job_id): e for e in _events(recorded, unit, records)}
        reported: set[tuple[str, int]] = set()
        for moment in _moments(records):
            held = records[:moment + 1]
            results = journal_results(held)
            for event in _events(recorded, unit, held):
                key = (event.event, event.job_id)
                if key in reported or event.at_usec < watched_from \
                        or not journal_accounted(event, results):
                    continue
                reported.add(key)
                assert event == final[key], (unit, event, final[key])
                checked += 1
    if name.startswith("busact"):
        assert not checked  # its one unit is bus-activatable
    else:
        assert checked, f"{name}: nothing was accounted early; the check checked nothing"


def bus_names_of(recorded: Recorded, unit: str) -> tuple[str, ...]:
    """The activation files' bus names for ``unit`` (watch's own rule)."""
    return bus_names(dataclasses.replace(recorded.snapshot, target=unit))


def test_a_restart_jobs_stop_half_does_not_account_for_its_start() -> None:
    """A restart job logs a result for its stop half first (JOB_TYPE=restart)."""
    recorded = load("article-info")
    results = journal_results(recorded.records)
    halves = {(unit, job) for unit, job, kind in results if kind == "restart"}
    assert halves, "the recording has no restart job"
    starts = [e for e in _events(recorded, "widget-daemon.service", recorded.records)
              if e.event == "start" and (e.unit, e.job_id) in halves]
    assert starts, "no start of a restart job"
    for event in starts:
        assert journal_accounted(event, results), event
        only_stop_half = {k: v for k, v in results.items() if k[2] != "start"}
        assert not journal_accounted(event, only_stop_half), event


def test_a_job_the_bus_announced_without_a_type_holds_the_report() -> None:
    """The reconcile timer's service pulls the daemon in; its job waits for the
    daemon, and the recording read no type for it. With the daemon's result line
    and JobRemoved here but nothing yet on what the other job is, the daemon's
    start looks manual: watch must not report it then."""
    recorded = load("article-info")
    records = sorted(recorded.records, key=record_time)
    final = [e for e in _events(recorded, "widget-daemon.service", records)
             if e.event == "start" and e.cause == "pulled-in" and e.job_id > 100]
    assert final, "the recording has no pulled-in start after boot"
    event = final[0]
    removed = next(i for i, r in enumerate(records) if isinstance(r, JobSignal) and r.removed
                   and r.job_id == event.job_id)
    result = next(r for r in records if isinstance(r, JournalEntry) and r.job_result
                  and r.job_id == event.job_id)
    # The bus up to the daemon's JobRemoved, the journal only up to its result line.
    held = [r for r in records[:removed + 1]
            if not isinstance(r, JournalEntry) or record_time(r) <= record_time(result)]
    (early,) = [e for e in _events(recorded, "widget-daemon.service", held)
                if e.job_id == event.job_id]
    assert early.cause != event.cause, early  # the answer is not known yet ...
    assert not journal_accounted(early, journal_results(held)), early  # ... and watch waits
