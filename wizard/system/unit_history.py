"""Collects a unit's timeline: the journal around the snapshot's units, classified.

The I/O half of the timeline (the journal reader) meets its pure half
(analysis.timeline) here, as neighbourhood.py does for the snapshot.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from wizard.analysis.findings import Diagnosis, Timeline
from wizard.analysis.timeline import build_timeline, start_call_senders
from wizard.errors import StaydownError
from wizard.model.connection import Connection
from wizard.model.snapshots import JournalEntry, SystemSnapshot
from wizard.system.journal import JournalReading, journal_source, start_journal_read
from wizard.system.systemd import systemd_client

DEFAULT_SINCE_USEC = 24 * 3600 * 1_000_000


def collect_timeline(
    connection: Connection,
    snapshot: SystemSnapshot,
    since_usec: int,
    until_usec: int | None = None,
) -> Timeline:
    """The target's starts and stops since a moment, from its system's journal."""
    reading = start_timeline(connection, snapshot.history_units(), since_usec, until_usec)
    return reading.timeline(snapshot)


def start_timeline(
    connection: Connection,
    units: Sequence[str],
    since_usec: int,
    until_usec: int | None = None,
) -> TimelineReading:
    """:func:`collect_timeline` begun before the snapshot is needed: journalctl starts now.

    ``units`` are the snapshot's ``history_units()``; the timeline is built
    from the snapshot given to :meth:`TimelineReading.timeline` later.
    """
    until = until_usec if until_usec is not None else time.time_ns() // 1000
    reading = start_journal_read(journal_source(connection), units, since_usec,
                                 until_usec=until)
    return TimelineReading(connection, reading, since_usec, until)


class TimelineReading:
    """The journal of a timeline being read (:func:`start_timeline`)."""

    def __init__(self, connection: Connection, reading: JournalReading, since_usec: int,
                 until_usec: int) -> None:
        self.connection = connection
        self._reading = reading
        self._since_usec = since_usec
        self._until_usec = until_usec

    def timeline(self, snapshot: SystemSnapshot) -> Timeline:
        """Wait for the journal, then classify its entries on the snapshot's graph."""
        read = self._reading.result()
        notes = list(read.notes)
        if read.truncated:
            notes.append(
                "the journal had more entries than staydown reads at once; the timeline starts "
                "later than asked (narrow it with --since)"
            )
        return build_timeline(
            snapshot.target, read.entries, snapshot, since_usec=self._since_usec,
            until_usec=self._until_usec, notes=notes,
            bus_peers=bus_peers(self.connection, read.entries),
        )


def bus_peers(connection: Connection, entries: tuple[JournalEntry, ...]) -> dict[str, str]:
    """The units behind the senders of start calls the debug log shows, still on the bus.

    dbus-broker's launcher asks systemd with StartUnit and stays connected, so a
    bus activation it made is recognised after the fact too. Only when the
    journal has such calls is the bus asked at all.
    """
    senders = start_call_senders(entries)
    if not senders:
        return {}
    try:
        with systemd_client(connection) as client:
            return {sender: client.bus_peer_unit(sender) for sender in sorted(senders)}
    except StaydownError:
        return {}  # the bus is out of reach now: those starts stay "asked for over D-Bus"


def with_timeline(diagnosis: Diagnosis, timeline: Timeline) -> Diagnosis:
    """The diagnosis carrying the timeline, with its notes added to the diagnosis's."""
    return dataclasses.replace(
        diagnosis,
        timeline=timeline,
        notes=tuple(dict.fromkeys((*diagnosis.notes, *timeline.notes))),
    )
