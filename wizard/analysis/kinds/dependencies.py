"""dependency: units that pull the unit in (Wants=, Requires=, BindsTo=) and their roots."""

from __future__ import annotations

from wizard.analysis.findings import FindingKind, Remedy
from wizard.analysis.kinds import boot, triggers
from wizard.analysis.kinds.base import no_unit_findings, quoted, root_remedies
from wizard.analysis.unit_graph import PULL_EDGES, Chain, EdgeKind, UnitGraph, describe_chain

KINDS = (FindingKind.DEPENDENCY,)
find = no_unit_findings


def claim(chain: Chain, graph: UnitGraph) -> FindingKind | None:
    """A pull-in (Wants=, Requires=, BindsTo=) that is not boot's, or a trigger of no known type."""
    last = chain.edges[-1]
    if last.kind in PULL_EDGES and boot.claim(chain, graph) is None:
        return FindingKind.DEPENDENCY
    if last.kind == EdgeKind.TRIGGERS and triggers.claim(chain, graph) is None:
        return FindingKind.DEPENDENCY
    return None


def explain(kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
    """Plain words for a pull-in chain such as the article's reconcile timer."""
    root, target = chain.nodes[0], chain.nodes[-1]
    text = (
        f"{describe_chain(chain)}. Starting {chain.nodes[1] if len(chain.nodes) > 2 else root} "
        f"starts {target} with it: systemd is a dependency graph, and anything in it can "
        f"pull {target} up, not just its own restart policy. "
        f"`systemctl list-dependencies --reverse {target}` shows this relationship."
    )
    if chain.live:
        text += (
            f" {root} keeps firing on its own, so {target} comes back every time it does. "
            "Stop the root (and disable it to survive a reboot), or mask the unit."
        )
    else:
        text += (
            f" Nothing starts {root} by itself right now, so this only matters when "
            "somebody starts it."
        )
    return text


def remedies(kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Quiet the root of the chain, or mask the target.

    A drop-in cannot remove a Wants= (drop-ins only add dependencies), so the
    neighbour itself is never edited.
    """
    return root_remedies(chain)


def check_commands(kind: FindingKind, unit: str) -> tuple[str, ...]:
    """Systemd's own reverse tree, and the timers that often sit at its roots."""
    name, _stem = quoted(unit)
    return (f"systemctl list-dependencies --reverse {name}", "systemctl list-timers --all")
