"""Hints for a challenge, in the article's order.

Pure: the challenge's secret catalogue in, hints out. For each of the article's
four steps (status and restart policy, sockets and other triggers, reverse
dependencies, the rest) the hints escalate from a nudge to the manual command
to run, then to what that command shows in this lab and how to neutralise it.
A step that holds no source gets one hint saying so, with the command that
shows it is empty, since ruling a step out is part of the method.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from wizard.analysis.findings import REPORT_STEPS
from wizard.analysis.kinds.all_kinds import check_commands
from wizard.lab.catalogue import RevivalSource
from wizard.plan.options import by_hand
from wizard.practice.generator import Challenge

STEP_OF_KIND: dict[str, int] = {
    kind.value: number for number, (_title, kinds) in enumerate(REPORT_STEPS, 1)
    for kind in kinds
}
# The nudge for each trigger kind: where to look, not what is there.
_TRIGGER_NUDGES = {
    "socket": "what listens for it",
    "path": "what watches the file system for it",
    "timer": "what wakes up on a schedule for it",
    "bus-activation": "who answers for it on the D-Bus system bus",
}
_REST_NUDGES = {
    "upholds": "a unit that insists it keep running",
    "on-failure": "a hook that fires when another unit fails",
    "on-success": "a hook that fires when another unit succeeds",
    "external": "a job that runs systemctl start on it",
}


@dataclass(frozen=True)
class Hint:
    """One hint: the article's step it belongs to, what to think, what to run."""

    step: int
    text: str
    commands: tuple[str, ...] = ()

    @property
    def step_title(self) -> str:
        """The step's name as the readable report and the wizard call it."""
        return REPORT_STEPS[self.step - 1][0]


def _answer(source: RevivalSource, target: str) -> Hint:
    if source.kind == "restart-policy":
        text = f"{target} {source.detail}. " + by_hand(source.kind, source.chain, target)
    else:
        chain = " → ".join(source.chain)
        text = (f"{source.source} {source.detail} (chain: {chain}). "
                + by_hand(source.kind, source.chain, target))
    return Hint(STEP_OF_KIND[source.kind], text)


def _status_hints(challenge: Challenge) -> list[Hint]:
    target = challenge.target
    quoted = shlex.quote(target)
    hints = [
        Hint(1, "Start with the unit itself, as the article did: when it comes back, is that a "
                "restart after a failure, or a clean start by someone else? That one answer "
                "splits the problem in half."),
        Hint(1, "Stop it, then look at its status and its journal with exact timestamps. A "
                "failure shows code=exited or a signal and a restart countdown; a start by "
                "someone else is a clean 'Started' line with no failure before it.",
             (f"systemctl stop {quoted}; sleep 5; systemctl status {quoted}",
              *check_commands("restart-policy", target))),
    ]
    restart = [s for s in challenge.sources if s.kind == "restart-policy"]
    if restart:
        hints.append(_answer(restart[0], target))
    elif "\nRestart=on-failure\n" in dict(challenge.files).get(f"units/{target}", ""):
        hints.append(Hint(1, f"{target} has Restart=on-failure, which respects a clean stop: "
                             "the article's red herring. Something else starts it, cleanly."))
    else:
        hints.append(Hint(1, f"{target} has no Restart= policy at all: nothing restarts it after "
                             "a failure, so something else starts it, cleanly."))
    return hints


def _step_hints(challenge: Challenge, step: int) -> list[Hint]:
    target = challenge.target
    sources = [s for s in challenge.sources if STEP_OF_KIND[s.kind] == step]
    kinds = list(dict.fromkeys(s.kind for s in sources))
    every: tuple[str, ...]
    if step == 2:
        every = ("socket", "path", "timer", "bus-activation")
        if not sources:
            return [Hint(2, "Nothing triggers it directly here: TriggeredBy= is empty and no "
                            "D-Bus activation file names it. Go on to the next step.",
                         (*check_commands("timer", target)[:1],
                          check_commands("bus-activation", target)[0]))]
        nudge = ("Something triggers it without anybody failing. Look at "
                 + " and at ".join(_TRIGGER_NUDGES[k] for k in kinds) + ".")
    elif step == 3:
        every = ("dependency",)
        if not sources:
            return [Hint(3, "No Wants=, Requires= or BindsTo= chain from something that keeps "
                            "firing: what list-dependencies --reverse shows leads only to the "
                            "boot targets or to what the other steps find. Go on.",
                         check_commands("dependency", target)[:1])]
        nudge = ("systemd is a dependency graph: some unit pulls it in whenever that unit "
                 "starts. Ask systemd who wants it rather than guessing, and follow each one "
                 "up to whatever keeps firing.")
    else:
        every = ("upholds", "on-failure", "on-success", "external")
        if not sources:
            return [Hint(4, "Nothing else here: no Upholds=, OnFailure= or OnSuccess= names it "
                            "and no job runs systemctl start on it.",
                         (f"systemctl show -p UpheldBy,OnFailureOf,OnSuccessOf "
                          f"{shlex.quote(target)}", check_commands("external", target)[0]))]
        nudge = ("Not a trigger and not a plain dependency: look for "
                 + " or ".join(_REST_NUDGES[k] for k in kinds) + ".")
    commands = tuple(dict.fromkeys(c for k in every if k in kinds
                                   for c in check_commands(k, target)))
    hints = [Hint(step, nudge), Hint(step, "Run these and read what they name:", commands)]
    hints.extend(_answer(source, target) for source in sources)
    return hints


def hint_sequence(challenge: Challenge) -> tuple[Hint, ...]:
    """Every hint for this challenge, in the order they are given."""
    return (*_status_hints(challenge), *_step_hints(challenge, 2),
            *_step_hints(challenge, 3), *_step_hints(challenge, 4))


def render_hint(hints: tuple[Hint, ...], number: int, lab_name: str, target: str) -> str:
    """Hint ``number`` (1-based) as text, or what to do when none are left."""
    if number > len(hints):
        return (f"No more hints: that was all {len(hints)}. The whole picture, with the "
                f"evidence: staydown diagnose --lab {lab_name} --explain {target}\n"
                f"The fix the wizard recommends: staydown plan --lab {lab_name} {target}\n")
    hint = hints[number - 1]
    lines = [f"Hint {number} of {len(hints)}, step {hint.step} of the article "
             f"({hint.step_title.lower()}):", f"  {hint.text}"]
    lines.extend(f"    $ {command}" for command in hint.commands)
    if number < len(hints):
        lines.append(f"Another hint: staydown lab hint --name {lab_name}")
    return "\n".join(lines) + "\n"
