"""external: units and cron jobs that run ``systemctl start`` on the unit.

The command lines are read by ``wizard.analysis.systemctl_calls``; this module
explains the calls it finds and says how to stop them.
"""

from __future__ import annotations

from wizard.analysis.findings import Remedy


def explain(
    chain: tuple[str, ...], live: bool, running_only: bool, via_cron: bool,
    *, started_by: str = "",
) -> str:
    """Plain words for an external caller; ``started_by`` tells the whole chain."""
    target = chain[-1]
    caller = chain[-2] if len(chain) >= 2 else chain[0]
    who = f"the cron job {caller}" if via_cron else f"{caller}"
    if running_only:
        return (
            f"{who} runs a systemctl command on {target} that only acts on a running unit "
            "(try-restart and friends), so it cannot bring a stopped unit back; it will "
            "bounce it while it runs."
        )
    text = (
        f"{who} runs `systemctl start` (or restart) on {target} itself. systemd has no "
        "dependency to show for this: it is an ordinary command, so list-dependencies "
        "--reverse will never find it."
    )
    if started_by:
        text += f" What runs the command: {started_by}."
    if live:
        text += " It will run again on its own schedule and start the unit."
    else:
        text += " Nothing runs it right now, so it only matters if it is started again."
    return text + (
        " Stop or disable what runs the command, or mask the unit so the command fails."
    )


def remedies(chain: tuple[str, ...], via_cron: bool) -> tuple[Remedy, ...]:
    """Ways to stop an external caller."""
    target = chain[-1]
    root = chain[0]
    found: list[Remedy] = []
    if via_cron:
        found.append(
            Remedy("comment-out", (root,), f"comment out the cron line {root}", "persistent")
        )
    else:
        found.append(Remedy("stop", (root,), f"stop {root} so it does not run again"))
        found.append(Remedy("disable", (root,), f"disable {root}", "persistent"))
    found.append(Remedy("mask", (target,), f"mask {target} so the command fails"))
    return tuple(found)
