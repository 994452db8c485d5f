"""A plan for a live system: the clock, the output format and the files' fingerprints.

``wizard.plan.build`` is pure and is tested on recorded snapshots; this is the thin
impure layer the plan command and the wizard share. It reads the target
system's files under the connection's ``files_root`` (/proc/PID/root for a
lab or container) to hash what the generated script checks before it runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import UTC, datetime
from pathlib import Path

from wizard.analysis.findings import Diagnosis
from wizard.errors import UsageError
from wizard.model.snapshots import SystemSnapshot
from wizard.plan.build import (
    ActionKind,
    FileFingerprint,
    Plan,
    PlanChoices,
    build_plan,
    fingerprinted_paths,
)
from wizard.plan.options import Method


def _sha256(root: Path, path: str) -> str | None:
    try:
        data = (root / path.lstrip("/")).read_bytes()
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest()


def with_file_fingerprints(
    plan: Plan, snapshot: SystemSnapshot, files_root: str | None
) -> tuple[Plan, tuple[str, ...]]:
    """The plan with content hashes of its units' files, and notes on what was unreadable."""
    if files_root is None:
        return plan, ("unit files could not be read over this connection; the script checks "
                      "enablement only",)
    root = Path(files_root)
    prints: list[FileFingerprint] = []
    unreadable: list[str] = []
    units = [f.unit for f in plan.unit_fingerprints]
    for path in fingerprinted_paths(units, snapshot):
        digest = _sha256(root, path)
        if digest is None:
            unreadable.append(path)
        else:
            prints.append(FileFingerprint(path, digest))
    for action in plan.actions:
        if action.kind == ActionKind.COMMENT_OUT and action.cron is not None:
            digest = _sha256(root, action.cron.file)
            if digest is None:
                unreadable.append(action.cron.file)
            else:
                prints.append(FileFingerprint(action.cron.file, digest, stable=False))
    notes = tuple(f"could not read {p}; the script does not check it" for p in unreadable)
    return dataclasses.replace(plan, file_fingerprints=tuple(prints)), notes


def drop_in_choices(choices: PlanChoices) -> PlanChoices:
    """The same sources, each neutralised with a drop-in (``--format dropin``).

    A cron line has no drop-in; it keeps its method.
    """
    methods = {
        source: method if method in (Method.COMMENT_OUT, Method.HOLD_UNIT) else Method.DROP_IN
        for source, method in choices.methods.items()
    }
    return PlanChoices(choices.sources, methods, choices.persistent, drop_ins_only=True)


def assemble_plan(
    diagnosis: Diagnosis,
    snapshot: SystemSnapshot,
    choices: PlanChoices,
    output_format: str,
    files_root: str | None,
) -> tuple[Plan, tuple[str, ...]]:
    """The plan to render, stamped with the time, and notes for the operator."""
    if snapshot.manager.scope == "user":
        raise UsageError(
            "plans for a user service manager are not supported yet",
            "diagnose --user shows the sources; neutralise them with systemctl --user",
        )
    if output_format == "dropin":
        choices = drop_in_choices(choices)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    plan = build_plan(diagnosis, snapshot, choices, created=created, nonce=secrets.token_hex(8))
    plan, notes = with_file_fingerprints(plan, snapshot, files_root)
    return plan, (*plan.notes, *notes)
