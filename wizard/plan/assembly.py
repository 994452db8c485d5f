"""A plan for a live system: the clock, the output format and the files' fingerprints.

``wizard.plan.build`` is pure and is tested on recorded snapshots; this is the thin
impure layer the plan command and the wizard share. It reads the target
system's files through a reader the caller passes (under /proc/PID/root for a
lab or container, over ssh for a host) to hash what the generated script
checks before it runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from wizard.analysis.findings import Diagnosis
from wizard.errors import UsageError
from wizard.model.snapshots import SystemSnapshot
from wizard.plan.build import (
    SYSTEM_LAYOUT,
    ActionKind,
    FileFingerprint,
    Plan,
    PlanChoices,
    UnitLayout,
    build_plan,
    fingerprinted_paths,
)
from wizard.plan.options import Method
from wizard.plan.protected_units import NO_CONTEXT, CallerContext

FileReader = Callable[[str], bytes | None]
"""Reads one of the target system's files by its own path; None when it cannot."""


def _sha256(read: FileReader, path: str) -> str | None:
    data = read(path)
    return None if data is None else hashlib.sha256(data).hexdigest()


def with_file_fingerprints(
    plan: Plan, snapshot: SystemSnapshot, read_file: FileReader | None
) -> tuple[Plan, tuple[str, ...]]:
    """The plan with content hashes of its units' files, and notes on what was unreadable."""
    if read_file is None:
        return plan, ("unit files could not be read over this connection; the script checks "
                      "enablement only",)
    prints: list[FileFingerprint] = []
    unreadable: list[str] = []
    units = [f.unit for f in plan.unit_fingerprints]
    for path in fingerprinted_paths(units, snapshot):
        digest = _sha256(read_file, path)
        if digest is None:
            unreadable.append(path)
        else:
            prints.append(FileFingerprint(path, digest))
    for action in plan.actions:
        if action.kind == ActionKind.COMMENT_OUT and action.cron is not None:
            digest = _sha256(read_file, action.cron.file)
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
    return PlanChoices(choices.sources, methods, choices.persistent, drop_ins_only=True,
                       allow_protected=choices.allow_protected)


def assemble_plan(
    diagnosis: Diagnosis,
    snapshot: SystemSnapshot,
    choices: PlanChoices,
    output_format: str,
    read_file: FileReader | None,
    layout: UnitLayout = SYSTEM_LAYOUT,
    context: CallerContext = NO_CONTEXT,
) -> tuple[Plan, tuple[str, ...]]:
    """The plan to render, stamped with the time, and notes for the operator.

    A user manager's plan needs that user's ``layout`` (its home and runtime
    directory), which only the caller knows.
    """
    if snapshot.manager.scope != layout.scope:
        raise AssertionError(f"a {layout.scope} layout for a {snapshot.manager.scope} manager")
    if layout.scope == "user" and output_format == "ansible":
        raise UsageError(
            "playbooks for a user service manager are not supported",
            "use --format script (run it as that user) or --format dropin",
        )
    if output_format == "dropin":
        choices = drop_in_choices(choices)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    plan = build_plan(diagnosis, snapshot, choices, created=created, nonce=secrets.token_hex(8),
                      layout=layout, context=context)
    plan, notes = with_file_fingerprints(plan, snapshot, read_file)
    return plan, (*plan.notes, *notes)
