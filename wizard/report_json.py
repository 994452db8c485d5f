"""The --json form of a diagnosis (schema in docs/json.md)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from wizard.analysis.findings import Diagnosis
from wizard.snapshots import ManagerSnapshot

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
        "notes": list(diagnosis.notes),
    }


def render_json(document: dict[str, Any]) -> str:
    """Stable, indented JSON text with a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
