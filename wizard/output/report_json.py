"""The --json forms of a diagnosis and of a plan (schema in docs/json.md)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wizard.analysis.findings import (
    Diagnosis,
    SeenEvent,
    Timeline,
    TimelineEvent,
    WatchOutcome,
)
from wizard.model.snapshots import ManagerSnapshot

if TYPE_CHECKING:
    from wizard.plan.build import Action, Plan

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


def _action_document(action: Action) -> dict[str, Any]:
    return {
        "id": action.id,
        "kind": action.kind.value,
        "unit": action.unit,
        "drop_in": action.drop_in.path if action.drop_in else None,
        "cron": f"{action.cron.file}:{action.cron.line_number}" if action.cron else None,
        "why": action.why,
        "side_effects": [
            {"unit": e.unit, "effect": e.effect.value, "reason": e.reason}
            for e in action.side_effects
        ],
    }


def plan_document(
    plan: Plan, output_format: str, written: list[str], notes: tuple[str, ...],
    connection_label: str,
) -> dict[str, Any]:
    """``plan --json``: what the written files will do, step by step, with side effects."""
    return {
        "schema": SCHEMA_VERSION,
        "unit": plan.unit,
        "plan_id": plan.plan_id,
        "created": plan.created,
        "connection": connection_label,
        "persistent": plan.persistent,
        "format": output_format,
        "files": written,
        "state_summary": plan.state_summary,
        "steps": [
            {
                "title": step.title, "kind": step.kind, "source": step.source,
                "live": step.live, "chain": list(step.chain), "does": step.does,
                "actions": [_action_document(a) for a in step.actions],
            }
            for step in plan.steps
        ],
        "side_effects": [
            {"action": a.id, "unit": e.unit, "effect": e.effect.value, "reason": e.reason}
            for a in plan.actions for e in a.side_effects
        ],
        "protected_named": [{"unit": p.unit, "reason": p.reason} for p in plan.protected_named],
        "left_out": [dataclasses.asdict(left) for left in plan.left_out],
        "record": {"done": plan.record_path, "links": plan.links_path,
                   "active": plan.active_path},
        "notes": list(notes),
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
