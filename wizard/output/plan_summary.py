"""The plan in a few lines, for step 6 before the script: what changes, in order, for how long.

Each action reads as one line (stopped, masked, held, disabled, commented
out), with how long it lasts and what else it takes down with it, then the
undo's file name. What an action takes down comes from the plan's
``side_effects`` on each action, when the plan carries them; without that
field the line is left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.analysis.stop_effects import Effect
from wizard.plan.build import HOLD_DROP_IN, Action, ActionKind, Plan

UNTIL_REBOOT = "until reboot"
FOR_GOOD = "for good"


@dataclass(frozen=True)
class SummaryLine:
    """One line of the summary; ``indent`` is where its wrapped continuation starts."""

    text: str
    indent: int = 0
    style: str = ""


def action_phrase(action: Action, unit: str) -> tuple[str, str]:
    """What one action does, in words, and how long it lasts."""
    name = action.unit
    match action.kind:
        case ActionKind.STOP:
            itself = " (the unit itself, last)" if name == unit else ""
            return f"stop {name}{itself}", UNTIL_REBOOT
        case ActionKind.MASK:
            return f"mask {name}", FOR_GOOD
        case ActionKind.MASK_RUNTIME:
            return f"mask {name}", UNTIL_REBOOT
        case ActionKind.DISABLE:
            return f"disable {name} (no start at boot)", FOR_GOOD
        case ActionKind.DROP_IN:
            path = action.drop_in.path if action.drop_in else ""
            lasts = UNTIL_REBOOT if path.startswith("/run/") else FOR_GOOD
            if path.endswith(HOLD_DROP_IN):
                return f"hold {name} with the drop-in {path}", lasts
            return f"turn {name}'s Restart= off with the drop-in {path}", lasts
        case ActionKind.COMMENT_OUT:
            if action.cron is None:
                return action.why, FOR_GOOD
            return (f"comment out line {action.cron.line_number} of {action.cron.file} "
                    "(a backup is kept)"), FOR_GOOD
    return action.why, UNTIL_REBOOT


def _effect_lines(action: Action) -> list[SummaryLine]:
    """What the action takes down with it (Action.side_effects, from the stop model)."""
    if not action.side_effects:
        return [SummaryLine("takes down with it: nothing else", 6, "dim")]
    lines = []
    for effect in action.side_effects:
        verb = ("keeps from starting" if effect.effect == Effect.KEEPS_FROM_STARTING
                else "takes down with it")
        lines.append(SummaryLine(f"{verb}: {effect.unit} ({effect.reason})", 6, "yellow"))
    return lines


def plan_summary(
    plan: Plan, where: str, written: Sequence[Path], undo: Path | None
) -> list[SummaryLine]:
    """The summary: each action in order with how long it lasts, then the files."""
    lasting = "for good" if plan.persistent else "until the next reboot"
    lines = [SummaryLine(f"In this order, on {where} (the plan lasts {lasting}):")]
    for number, action in enumerate(plan.actions, start=1):
        phrase, lasts = action_phrase(action, plan.unit)
        lines.append(SummaryLine(f"  {number:>2}. {phrase}  [{lasts}]", 6))
        lines.extend(_effect_lines(action))
    for path in written:
        lines.append(SummaryLine(f"Writes: {path}", 8))
    if undo is not None:
        lines.append(SummaryLine(f"Undo:   {undo}  (run it to put everything back)", 8))
    return lines
