"""external: units and cron jobs that run ``systemctl start`` on the unit.

The command lines are read by ``wizard.analysis.systemctl_calls``; this module
explains the calls it finds and says how to stop them.
"""

from __future__ import annotations

from wizard.analysis.findings import FindingKind, Remedy
from wizard.analysis.kinds.base import no_unit_findings, quoted
from wizard.analysis.unit_graph import Chain, EdgeKind, UnitGraph, describe_chain

KINDS = (FindingKind.EXTERNAL,)
find = no_unit_findings


def claim(chain: Chain, graph: UnitGraph) -> FindingKind | None:
    """A command line (an Exec line or a cron line) that runs systemctl on the target."""
    last = chain.edges[-1].kind
    return FindingKind.EXTERNAL if last in (EdgeKind.CALLS, EdgeKind.CRON) else None


def explain(kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
    """Plain words for the chain's external caller."""
    return explain_call(
        chain.nodes, chain.live, not chain.edges[-1].revives,
        chain.edges[-1].kind == EdgeKind.CRON,
        started_by=describe_chain(chain) if len(chain.nodes) > 2 else "",
    )


def remedies(kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Ways to stop the chain's external caller."""
    return call_remedies(chain.nodes, chain.edges[-1].kind == EdgeKind.CRON)


def check_commands(kind: FindingKind, unit: str) -> tuple[str, ...]:
    """The unit files and crontabs in /etc that name it, and the journal around a start.

    Unit files are where ``ExecStart=systemctl start`` lines live, so grepping
    only the crontabs (as the terminal report once did) misses most callers.
    """
    _name, stem = quoted(unit)
    return (
        f"grep -rn -- {stem} /etc/systemd/system /etc/cron* 2>/dev/null",
        f"journalctl -o short-precise --since -5min | grep -- {stem}",
    )


def explain_call(
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


def call_remedies(chain: tuple[str, ...], via_cron: bool) -> tuple[Remedy, ...]:
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
