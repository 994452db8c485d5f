"""Collects a unit's timeline: the journal around the snapshot's units, classified.

The I/O half of the timeline (the journal reader) meets its pure half
(analysis.timeline) here, as neighbourhood.py does for the snapshot.
"""

from __future__ import annotations

import dataclasses
import time

from wizard.analysis.findings import Diagnosis, Timeline
from wizard.analysis.timeline import build_timeline, start_call_senders
from wizard.errors import StaydownError
from wizard.model.connection import Connection
from wizard.model.snapshots import JournalEntry, SystemSnapshot
from wizard.system.journal import journal_source, read_journal
from wizard.system.systemd import systemd_client

DEFAULT_SINCE_USEC = 24 * 3600 * 1_000_000


def collect_timeline(
    connection: Connection,
    snapshot: SystemSnapshot,
    since_usec: int,
    until_usec: int | None = None,
) -> Timeline:
    """The target's starts and stops since a moment, from its system's journal."""
    until = until_usec if until_usec is not None else time.time_ns() // 1000
    source = journal_source(connection)
    read = read_journal(source, snapshot.history_units(), since_usec, until_usec=until)
    notes = list(read.notes)
    if read.truncated:
        notes.append(
            "the journal had more entries than staydown reads at once; the timeline starts "
            "later than asked (narrow it with --since)"
        )
    return build_timeline(
        snapshot.target, read.entries, snapshot, since_usec=since_usec, until_usec=until,
        notes=notes, bus_peers=bus_peers(connection, read.entries),
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
