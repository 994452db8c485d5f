"""Findings and the operator's choices in, an ordered list of actions with their undo out.

Pure: no bus, no prompt, no file. ``build_plan`` decides *what* to do and in
which order; ``wizard.output.render`` decides how it reads as bash, drop-ins or
Ansible. The order is the one that holds on a real systemd: every source
first (the root of a chain before the trigger it starts), the unit itself
last, and within one unit the mask or hold before the stop, so nothing can
start it in between.

The traps this module exists for (systemd.unit(5), "Unit File Load Path"):

* ``systemctl mask`` writes a /dev/null symlink into /etc/systemd/system; it
  fails when the unit's own file lives there.
* ``systemctl mask --runtime`` writes it into /run/systemd/system, which
  /etc/systemd/system (and the .control/.attached/transient directories)
  shadow: it succeeds and changes nothing.
* In both cases staydown holds the unit with a drop-in instead: a condition
  that can never be true (``ConditionPathExists=/dev/null/...``). A start
  request then completes without starting the unit, whoever sends it.
* A drop-in can add dependencies but not remove them, and an armed restart
  fires after a drop-in that sets Restart=no: only a stop cancels it, so the
  unit is always stopped last, after its sources.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from wizard.analysis.findings import Diagnosis, Finding, FindingKind
from wizard.analysis.stop_effects import SideEffect, side_effects_of_mask, side_effects_of_stop
from wizard.errors import ProtectedUnitError, UnplannableUnitError
from wizard.model.snapshots import CronEntry, SystemSnapshot, UnitSnapshot
from wizard.plan.options import (
    Method,
    acting_units,
    cron_entry,
    method_options,
    protected_acting_units,
    recommended_method,
)
from wizard.plan.protected_units import (
    NO_CONTEXT,
    CallerContext,
    is_allowed,
    protection,
    unplannable,
)

HOLD_CONDITION = "/dev/null/staydown-hold"
"""A path that can never exist (/dev/null is no directory): the hold's condition."""

HOLD_DROP_IN = "99-staydown-hold.conf"
RESTART_DROP_IN = "99-staydown-restart.conf"
RECORD_DIR = "/var/lib/staydown"

# Directories whose unit files shadow a runtime mask in /run/systemd/system, or
# make a mask in /etc/systemd/system fail or be shadowed (systemd.unit(5)).
_ABOVE_RUNTIME = (
    "/etc/systemd/system.control/",
    "/run/systemd/system.control/",
    "/run/systemd/transient/",
    "/run/systemd/generator.early/",
    "/etc/systemd/system/",
    "/etc/systemd/system.attached/",
    "/run/systemd/system/",
)
_AT_OR_ABOVE_ETC = (
    "/etc/systemd/system.control/",
    "/run/systemd/system.control/",
    "/run/systemd/transient/",
    "/run/systemd/generator.early/",
    "/etc/systemd/system/",
)


@dataclass(frozen=True)
class UnitLayout:
    """Where one manager's units, drop-ins and staydown's records live.

    The system manager's are fixed; a user manager's are under the user's home
    and runtime directory (systemd.unit(5), "User Unit Search Path"), and its
    plan must run as that user (``user``) with ``systemctl --user``.
    """

    scope: str = "system"
    persistent_dir: str = "/etc/systemd/system"
    runtime_dir: str = "/run/systemd/system"
    record_dir: str = RECORD_DIR
    above_runtime: tuple[str, ...] = _ABOVE_RUNTIME
    at_or_above_persistent: tuple[str, ...] = _AT_OR_ABOVE_ETC
    user: str = ""


SYSTEM_LAYOUT = UnitLayout()


def user_layout(user: str, home: str, runtime_dir: str) -> UnitLayout:
    """A user manager's layout, for ``user`` with that home and runtime directory.

    ``systemctl --user mask`` writes to ~/.config/systemd/user, ``--runtime``
    to $XDG_RUNTIME_DIR/systemd/user.
    """
    config = f"{home}/.config/systemd"
    runtime = f"{runtime_dir}/systemd"
    at_or_above = (f"{config}/user.control/", f"{runtime}/user.control/",
                   f"{runtime}/transient/", f"{runtime}/generator.early/", f"{config}/user/")
    return UnitLayout(
        scope="user",
        persistent_dir=f"{config}/user",
        runtime_dir=f"{runtime}/user",
        record_dir=f"{home}/.local/state/staydown",
        above_runtime=(*at_or_above, "/etc/xdg/systemd/user/", "/etc/systemd/user/",
                       f"{runtime}/user/"),
        at_or_above_persistent=at_or_above,
        user=user,
    )


class ActionKind(StrEnum):
    """The primitive changes a plan is made of; each has an exact inverse."""

    STOP = "stop"
    MASK = "mask"
    MASK_RUNTIME = "mask-runtime"
    DISABLE = "disable"
    DROP_IN = "drop-in"
    COMMENT_OUT = "comment-out"


@dataclass(frozen=True)
class PlanChoices:
    """What the operator chose: which sources, how each, and for how long."""

    sources: tuple[str, ...]
    methods: Mapping[str, Method]
    persistent: bool = False
    drop_ins_only: bool = False
    """--format dropin: where the unit itself is held, hold it with a drop-in, not a mask."""
    allow_protected: frozenset[str] = frozenset()
    """Protected units the operator named explicitly (``plan --allow-protected UNIT``)."""


@dataclass(frozen=True)
class DropIn:
    """A drop-in file staydown writes: where, and its settings by section."""

    unit: str
    path: str
    settings: tuple[tuple[str, str, str], ...]
    purpose: str


@dataclass(frozen=True)
class Action:
    """One change, with what makes it necessary, in the order the script runs it."""

    id: str
    kind: ActionKind
    unit: str = ""
    drop_in: DropIn | None = None
    cron: CronEntry | None = None
    why: str = ""
    side_effects: tuple[SideEffect, ...] = ()
    """Units this change stops or keeps from starting beyond its own unit, with why."""


@dataclass(frozen=True)
class PlanStep:
    """One revival source (or the unit itself) and what the plan does about it."""

    title: str
    kind: str
    source: str
    live: bool
    chain: tuple[str, ...]
    explanation: str
    evidence: tuple[str, ...]
    does: str
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class ProtectedUse:
    """A protected unit the plan acts on because the operator named it, and why it is one."""

    unit: str
    reason: str


@dataclass(frozen=True)
class LeftOut:
    """A change the plan did not make because it would touch a protected unit."""

    source: str
    unit: str
    reason: str
    instead: str
    """What the operator can do instead (the method that acts on the target)."""


@dataclass(frozen=True)
class FileFingerprint:
    """A unit file (or crontab) as it was when the plan was made."""

    path: str
    sha256: str
    stable: bool = True
    """False for a file the plan itself edits (a crontab): checked before the first run only."""


@dataclass(frozen=True)
class UnitFingerprint:
    """A unit's enablement and where its file lives, when the plan was made."""

    unit: str
    unit_file_state: str
    fragment_path: str
    active_state: str = ""


@dataclass(frozen=True)
class Plan:
    """Everything a script, drop-in set or playbook needs, already decided."""

    unit: str
    plan_id: str
    created: str
    persistent: bool
    state_summary: str
    steps: tuple[PlanStep, ...]
    unit_fingerprints: tuple[UnitFingerprint, ...]
    file_fingerprints: tuple[FileFingerprint, ...]
    notes: tuple[str, ...] = field(default=())
    layout: UnitLayout = SYSTEM_LAYOUT
    protected_named: tuple[ProtectedUse, ...] = ()
    """Protected units the plan acts on because the operator named them: a loud warning."""
    left_out: tuple[LeftOut, ...] = ()
    allowed_protected: tuple[str, ...] = ()
    """Every name the operator allowed, as the script checks them when it runs."""

    @property
    def actions(self) -> tuple[Action, ...]:
        """Every action in the order it runs."""
        return actions_of(self.steps)

    def fingerprint(self, unit: str) -> UnitFingerprint | None:
        """The unit's state when the plan was made, if the plan touches it."""
        return next((f for f in self.unit_fingerprints if f.unit == unit), None)

    @property
    def record_path(self) -> str:
        """Where the script records what it changed, for the undo to reverse."""
        return f"{self.layout.record_dir}/{self.plan_id}.done"

    @property
    def links_path(self) -> str:
        """Where the script keeps the enablement links ``disable`` removes."""
        return f"{self.layout.record_dir}/{self.plan_id}.links"

    @property
    def active_path(self) -> str:
        """Where the script lists the manager's active units before its first change."""
        return f"{self.layout.record_dir}/{self.plan_id}.active"


# -- building the plan -----------------------------------------------------------------


def _mask_needs_hold(
    unit: UnitSnapshot | None, name: str, runtime: bool, layout: UnitLayout = SYSTEM_LAYOUT
) -> bool:
    """Whether ``systemctl mask [--runtime]`` would fail or be shadowed for this unit."""
    if unit is None or not unit.fragment_path or unit.fragment_path == "/dev/null":
        return False
    if unit.fragment_path.rsplit("/", 1)[-1] != name:
        # An alias: the name's link in /etc would block the mask symlink.
        return True
    shadowing = layout.above_runtime if runtime else layout.at_or_above_persistent
    return unit.fragment_path.startswith(shadowing) or unit.transient


def _drop_in_dir(unit: str, persistent: bool, layout: UnitLayout) -> str:
    base = layout.persistent_dir if persistent else layout.runtime_dir
    return f"{base}/{unit}.d"


def hold_drop_in(unit: str, persistent: bool, layout: UnitLayout = SYSTEM_LAYOUT) -> DropIn:
    """The drop-in that keeps a unit from starting, whoever asks."""
    return DropIn(
        unit=unit,
        path=f"{_drop_in_dir(unit, persistent, layout)}/{HOLD_DROP_IN}",
        settings=(("Unit", "ConditionPathExists", HOLD_CONDITION),),
        purpose=f"hold {unit}: every start request completes without starting it",
    )


def restart_drop_in(unit: str, persistent: bool, layout: UnitLayout = SYSTEM_LAYOUT) -> DropIn:
    """The drop-in that turns the restart policy off."""
    return DropIn(
        unit=unit,
        path=f"{_drop_in_dir(unit, persistent, layout)}/{RESTART_DROP_IN}",
        settings=(("Service", "Restart", "no"),),
        purpose=f"Restart=no for {unit}",
    )


class _ActionList:
    """Actions in order, each (kind, unit) once, with stable ids."""

    def __init__(self, layout: UnitLayout = SYSTEM_LAYOUT) -> None:
        self.layout = layout
        self.seen: set[tuple[ActionKind, str]] = set()
        self.count = 0

    def make(self, kind: ActionKind, unit: str = "", why: str = "", *,
             drop_in: DropIn | None = None, cron: CronEntry | None = None) -> Action | None:
        key = (kind, drop_in.path if drop_in else (f"{cron.file}:{cron.line_number}"
                                                   if cron else unit))
        if key in self.seen:
            return None
        self.seen.add(key)
        self.count += 1
        return Action(f"a{self.count}", kind, unit, drop_in, cron, why)


def _unit_actions(
    actions: _ActionList, method: Method, name: str, snapshot: SystemSnapshot,
    persistent: bool, *, stop: bool = True,
) -> list[Action]:
    unit = snapshot.unit(name)
    planned: list[Action | None] = []
    match method:
        case Method.STOP:
            pass
        case Method.MASK_RUNTIME | Method.MASK:
            runtime = method == Method.MASK_RUNTIME
            if _mask_needs_hold(unit, name, runtime, actions.layout):
                planned.append(actions.make(
                    ActionKind.DROP_IN, name,
                    f"{name}'s unit file is in {_directory(unit)}, where systemctl mask "
                    f"{'--runtime is shadowed' if runtime else 'fails'}: hold it with a "
                    "drop-in instead",
                    drop_in=hold_drop_in(name, not runtime, actions.layout),
                ))
            else:
                kind = ActionKind.MASK_RUNTIME if runtime else ActionKind.MASK
                planned.append(actions.make(kind, name, f"mask {name} so nothing can start it"))
        case Method.DISABLE:
            planned.append(actions.make(
                ActionKind.DISABLE, name, f"disable {name} so it does not start at boot"
            ))
        case Method.DROP_IN:
            planned.append(actions.make(
                ActionKind.DROP_IN, name, f"hold {name} with a drop-in",
                drop_in=hold_drop_in(name, persistent, actions.layout),
            ))
        case Method.COMMENT_OUT:
            pass
    if stop:
        planned.append(actions.make(ActionKind.STOP, name, f"stop {name}"))
    return [a for a in planned if a is not None]


def _directory(unit: UnitSnapshot | None) -> str:
    if unit is None or not unit.fragment_path:
        return "?"
    return unit.fragment_path.rsplit("/", 1)[0]


def _evidence_lines(finding: Finding) -> tuple[str, ...]:
    return tuple(f"{e.subject}: {e.fact}" for e in finding.evidence)


def _best_findings(diagnosis: Diagnosis) -> dict[str, Finding]:
    """One finding per source: the live one when a source has several."""
    chosen: dict[str, Finding] = {}
    for finding in diagnosis.findings:
        current = chosen.get(finding.source)
        if current is None or (finding.live and not current.live):
            chosen[finding.source] = finding
    return chosen


def plannable_findings(diagnosis: Diagnosis) -> list[Finding]:
    """The findings a plan can act on (one per source), in the report's order."""
    return [f for f in _best_findings(diagnosis).values() if f.remedies]


def default_choices(
    diagnosis: Diagnosis, snapshot: SystemSnapshot, persistent: bool,
    context: CallerContext = NO_CONTEXT, allowed: frozenset[str] = frozenset(),
) -> PlanChoices:
    """Every live source, each with its recommended method; what ``plan`` does."""
    live = [f for f in plannable_findings(diagnosis) if f.live]
    if persistent:
        live += [f for f in plannable_findings(diagnosis)
                 if f.kind == FindingKind.BOOT and f not in live]
    return PlanChoices(
        sources=tuple(f.source for f in live),
        methods={f.source: recommended_method(f, snapshot, persistent, context, allowed)
                 for f in live},
        persistent=persistent,
        allow_protected=allowed,
    )


def _step_for(
    finding: Finding, method: Method, snapshot: SystemSnapshot, persistent: bool,
    actions: _ActionList, drop_ins_only: bool = False,
) -> PlanStep:
    target = finding.chain[-1]
    units = acting_units(finding, snapshot)
    planned: list[Action] = []
    if finding.kind == FindingKind.RESTART_POLICY:
        if method == Method.DROP_IN:
            made = actions.make(ActionKind.DROP_IN, target, "turn the restart policy off",
                                drop_in=restart_drop_in(target, persistent, actions.layout))
            planned.extend([made] if made else [])
        does = (
            f"Sets Restart=no in a drop-in; {target} itself is stopped in the last block."
            if method == Method.DROP_IN
            else f"{target} is stopped cleanly in the last block, which cancels any "
            "scheduled restart."
        )
    elif units and method == Method.HOLD_UNIT:
        hold = Method.DROP_IN if drop_ins_only else (
            Method.MASK if persistent else Method.MASK_RUNTIME)
        planned.extend(_unit_actions(actions, hold, target, snapshot, persistent, stop=False))
        does = f"Makes {target} itself unstartable; it is stopped in the last block."
    elif units:
        for name in units:
            # The unit itself (its boot link, say) is stopped in the last block.
            planned.extend(_unit_actions(actions, method, name, snapshot, persistent,
                                         stop=name != target))
        does = {
            Method.STOP: "Stops",
            Method.MASK_RUNTIME: "Masks (until reboot) and stops",
            Method.DISABLE: "Disables and stops",
            Method.MASK: "Masks (for good) and stops",
            Method.DROP_IN: "Holds with a drop-in and stops",
        }.get(method, "Stops") + f" {', '.join(units)}, root first."
    else:
        cron = cron_entry(finding, snapshot)
        if method == Method.COMMENT_OUT and cron is not None:
            made = actions.make(ActionKind.COMMENT_OUT, why=f"comment out {finding.source}",
                                cron=cron)
            planned.extend([made] if made else [])
            does = f"Comments out line {cron.line_number} of {cron.file} (backup kept)."
        else:
            # The unit itself is stopped in the last block, after every source.
            planned.extend(
                _unit_actions(actions, method, target, snapshot, persistent, stop=False)
            )
            does = f"Makes {target} itself unstartable; it is stopped in the last block."
    return PlanStep(
        title=f"{finding.kind.value}: {finding.source}",
        kind=finding.kind.value,
        source=finding.source,
        live=finding.live,
        chain=finding.chain,
        explanation=finding.explanation,
        evidence=_evidence_lines(finding),
        does=does,
        actions=tuple(planned),
    )


def plan_id_for(unit: str, created: str, nonce: str = "") -> str:
    """A file-name-safe, unique-enough id: the unit's stem and a short checksum.

    zlib's CRC rather than hashlib: the id only has to tell plans apart, and
    hashlib loads OpenSSL, which every diagnose would pay for at start-up.
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", unit)[:60]
    checksum = zlib.crc32("\0".join((unit, created, nonce)).encode())
    return f"{stem}-{checksum:08x}"


def build_plan(
    diagnosis: Diagnosis,
    snapshot: SystemSnapshot,
    choices: PlanChoices,
    *,
    created: str,
    nonce: str = "",
    file_fingerprints: Sequence[FileFingerprint] = (),
    layout: UnitLayout = SYSTEM_LAYOUT,
    context: CallerContext = NO_CONTEXT,
) -> Plan:
    """The ordered actions for the chosen sources, then the unit itself.

    ``nonce`` tells apart plans made in the same second (each has its own
    record, so one plan's undo never reverses another's changes).

    A change to a protected unit (``wizard.protected_units``) the operator
    did not name in ``choices.allow_protected`` is left out and listed in
    ``Plan.left_out``; a protected target not named raises
    :class:`ProtectedUnitError`.

    Raises ValueError for a source the diagnosis does not know or a method
    that does not fit it: both are programming errors upstream (the flow only
    offers what :func:`method_options` returns).
    """
    allowed = choices.allow_protected
    target_reason = protection(diagnosis.unit, snapshot, context)
    if target_reason is not None and not is_allowed(diagnosis.unit, snapshot, allowed):
        raise ProtectedUnitError(diagnosis.unit, target_reason)
    # A plan is only as safe as its undo: a stop the script cannot make, or one no
    # undo could reverse, is not planned.
    cannot = unplannable(diagnosis.unit, snapshot)
    if cannot is not None:
        raise UnplannableUnitError(diagnosis.unit, cannot)
    by_source = _best_findings(diagnosis)
    actions = _ActionList(layout)
    steps: list[PlanStep] = []
    spared_out: list[LeftOut] = []
    for source in choices.sources:
        finding = by_source.get(source)
        if finding is None:
            raise ValueError(f"no finding has the source {source!r}")
        method = choices.methods[source]
        offered = {o.method for o in method_options(finding, snapshot, True)} | {
            o.method for o in method_options(finding, snapshot, False)
        }
        if method not in offered:
            raise ValueError(f"{method.value} does not apply to {source}")
        step = _step_for(finding, method, snapshot, choices.persistent, actions,
                         choices.drop_ins_only)
        spared = protected_acting_units(finding, snapshot, context, allowed)
        if spared and method in (Method.HOLD_UNIT, Method.COMMENT_OUT):
            # Said plainly: the source is left alone, and why.
            target = finding.chain[-1]
            spared_out.extend(
                LeftOut(source, unit, reason, f"{target} itself is held; {source} keeps "
                        "running and its start requests are refused")
                for unit, reason in spared.items())
            step = dataclasses.replace(step, does=step.does + " Leaves " + ", ".join(
                f"{u} alone: it is {r}" for u, r in spared.items()) + ".")
        steps.append(step)
    # The unit last: after its sources, so nothing is left to start it again.
    last: list[Action] = []
    does = f"Stops {diagnosis.unit}, now that nothing is left to start it again."
    if not choices.sources and choices.persistent:
        # No source at all: what keeps it down across reboots is its own enablement.
        disable = actions.make(ActionKind.DISABLE, diagnosis.unit,
                               f"disable {diagnosis.unit} so it does not start at boot")
        last.extend([disable] if disable else [])
        does = f"Disables and stops {diagnosis.unit}; nothing else needs neutralising."
    elif not choices.sources:
        does = f"Stops {diagnosis.unit}; nothing else needs neutralising."
    final = actions.make(ActionKind.STOP, diagnosis.unit, f"stop {diagnosis.unit} itself")
    if final is None:
        raise AssertionError(f"the stop of {diagnosis.unit} was planned before the last block")
    steps.append(PlanStep(
        title=f"the unit itself: {diagnosis.unit}",
        kind="unit",
        source=diagnosis.unit,
        live=False,
        chain=(diagnosis.unit,),
        explanation=diagnosis.state.summary,
        evidence=(),
        does=does,
        actions=(*last, final),
    ))
    steps, left_out, named = _guarded(steps, snapshot, context, allowed)
    steps = [_with_side_effects(step, snapshot, diagnosis.unit) for step in steps]
    touched = sorted({a.unit for a in actions_of(steps) if a.unit})
    unit_prints = []
    for name in touched:
        unit = snapshot.unit(name)
        if unit is not None:
            unit_prints.append(
                UnitFingerprint(name, unit.unit_file_state, unit.fragment_path, unit.active_state)
            )
    notes = []
    if not choices.persistent:
        notes.append("This plan lasts until the next reboot; --persistent makes it last.")
    return Plan(
        unit=diagnosis.unit,
        plan_id=plan_id_for(diagnosis.unit, created, nonce),
        created=created,
        persistent=choices.persistent,
        state_summary=diagnosis.state.summary,
        steps=tuple(steps),
        unit_fingerprints=tuple(unit_prints),
        file_fingerprints=tuple(file_fingerprints),
        notes=tuple(notes),
        layout=layout,
        protected_named=named,
        left_out=(*spared_out, *left_out),
        allowed_protected=tuple(sorted(allowed)),
    )


def _guarded(
    steps: Sequence[PlanStep], snapshot: SystemSnapshot, context: CallerContext,
    allowed: frozenset[str],
) -> tuple[list[PlanStep], tuple[LeftOut, ...], tuple[ProtectedUse, ...]]:
    """The steps without changes to protected units nobody named; what was left out."""
    left_out: list[LeftOut] = []
    named: dict[str, ProtectedUse] = {}
    guarded: list[PlanStep] = []
    for step in steps:
        kept: list[Action] = []
        dropped: dict[str, str] = {}
        for action in step.actions:
            reason = protection(action.unit, snapshot, context) if action.unit else None
            if reason is None:
                kept.append(action)
            elif is_allowed(action.unit, snapshot, allowed):
                kept.append(action)
                named.setdefault(action.unit, ProtectedUse(action.unit, reason))
            else:
                dropped[action.unit] = reason
        if not dropped:
            guarded.append(step)
            continue
        target = step.chain[-1]
        for unit, reason in dropped.items():
            left_out.append(LeftOut(
                source=step.source, unit=unit, reason=reason,
                instead=f"hold {target} itself (method hold-unit), or name {unit} with "
                        f"--allow-protected {unit} if you really mean to act on it",
            ))
        left = ", ".join(f"{u} ({r})" for u, r in dropped.items())
        guarded.append(dataclasses.replace(
            step, actions=tuple(kept),
            does=f"{step.does} LEFT OUT, protected: {left}. Hold {target} itself instead "
                 "(hold-unit), or name the unit with --allow-protected.",
        ))
    return guarded, tuple(left_out), tuple(named.values())


def _with_side_effects(step: PlanStep, snapshot: SystemSnapshot, target: str) -> PlanStep:
    """Each action with the units it stops or keeps from starting beyond its own."""
    actions = []
    for action in step.actions:
        if action.kind == ActionKind.STOP:
            effects = side_effects_of_stop(snapshot, action.unit)
        elif action.kind in (ActionKind.MASK, ActionKind.MASK_RUNTIME):
            effects = side_effects_of_mask(snapshot, action.unit)
        else:
            effects = ()
        # The target is stopped by the plan anyway: not a side effect.
        effects = tuple(e for e in effects if e.unit != target)
        actions.append(dataclasses.replace(action, side_effects=effects))
    return dataclasses.replace(step, actions=tuple(actions))


def side_effects(plan: Plan) -> list[tuple[Action, SideEffect]]:
    """Every predicted side effect of the plan with the action that causes it, in order."""
    return [(a, e) for a in plan.actions for e in a.side_effects]


def actions_of(steps: Sequence[PlanStep]) -> tuple[Action, ...]:
    """Every action of the steps, in order."""
    return tuple(a for step in steps for a in step.actions)


def fingerprinted_paths(plan_units: Sequence[str], snapshot: SystemSnapshot) -> list[str]:
    """Unit files (fragments and drop-ins) whose contents the script checks before it runs."""
    paths: list[str] = []
    for name in plan_units:
        unit = snapshot.unit(name)
        if unit is None:
            continue
        for path in (unit.fragment_path, *unit.drop_in_paths):
            if path and path != "/dev/null" and path not in paths:
                paths.append(path)
    return paths
