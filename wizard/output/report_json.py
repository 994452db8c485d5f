"""The --json form of a diagnosis (schema in docs/json.md)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from wizard.analysis.findings import (
    Diagnosis,
    SeenEvent,
    Timeline,
    TimelineEvent,
    WatchOutcome,
)
from wizard.model.snapshots import ManagerSnapshot

SCHEMA_VERSION = 1


def diagnosis_document(
    diagnosis: Diagnosis, manager: ManagerSnapshot, connection_label: str
) -> dict[str, Any]:
    """One JSON-ready object: unit, state, findings and the rest."""
    captured = datetime.fromtimestamp(manager.captured_realtime_usec / 1e6, tz=UTC)
    return {
        "schema": SCHEMA_VERSION,
        "unit": diagnosis.unit,
        "connection": connection_label,
        "systemd_version": manager.version,
        "captured_at": captured.isoformat(timespec="seconds"),
        "state": dataclasses.asdict(diagnosis.state),
        "live": bool(diagnosis.live_findings),
        "findings": [dataclasses.asdict(f) for f in diagnosis.findings],
        "examined": [dataclasses.asdict(e) for e in diagnosis.examined],
        "timeline": timeline_document(diagnosis.timeline) if diagnosis.timeline else None,
        "notes": list(diagnosis.notes),
    }


def iso_time(usec: int) -> str:
    """A journal timestamp as ISO 8601 in UTC, to the microsecond."""
    seconds, micro = divmod(usec, 1_000_000)
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=micro)
    return moment.isoformat(timespec="microseconds")


def event_document(event: TimelineEvent) -> dict[str, Any]:
    """One timeline event, JSON-ready (also one line of ``watch --json``)."""
    return {"at": iso_time(event.at_usec), **dataclasses.asdict(event)}


def timeline_document(timeline: Timeline) -> dict[str, Any]:
    """The timeline part of the document (docs/json.md, "timeline")."""
    return {
        "since": iso_time(timeline.since_usec),
        "until": iso_time(timeline.until_usec),
        "omitted": timeline.omitted,
        "events": [event_document(e) for e in timeline.events],
    }


def render_json(document: dict[str, Any]) -> str:
    """Stable, indented JSON text with a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def watch_start_line(diagnosis: Diagnosis, connection_label: str, started_usec: int) -> str:
    """The first line of ``watch --json``: what is watched and what diagnose expects."""
    return render_json_line({
        "type": "watch",
        "unit": diagnosis.unit,
        "connection": connection_label,
        "started": iso_time(started_usec),
        "live_sources": [
            {"kind": f.kind.value, "source": f.source, "chain": list(f.chain)}
            for f in diagnosis.live_findings
        ],
    })


def watch_event_line(seen: SeenEvent) -> str:
    """One start or stop, as soon as it is attributed."""
    return render_json_line({
        "type": "event",
        **event_document(seen.event),
        "reported": iso_time(seen.reported_usec),
        "reported_after_ms": seen.latency_usec // 1000,
    })


def watch_note_line(note: str) -> str:
    """A note while watching."""
    return render_json_line({"type": "note", "note": note})


def watch_end_line(outcome: WatchOutcome) -> str:
    """The last line: how the watch ended and how many revivals it saw."""
    return render_json_line({
        "type": "summary",
        "unit": outcome.unit,
        "ended_by": outcome.ended_by,
        "seconds": round((outcome.ended_usec - outcome.started_usec) / 1e6, 3),
        "revivals": len(outcome.revivals),
        "notes": outcome.notes,
    })


def render_json_line(document: dict[str, Any]) -> str:
    """One compact JSON object and a newline (JSON Lines)."""
    return json.dumps(document, ensure_ascii=False) + "\n"
