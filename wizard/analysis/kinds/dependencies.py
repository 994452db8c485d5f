"""dependency: units that pull the unit in (Wants=, Requires=, BindsTo=) and their roots."""

from __future__ import annotations

from wizard.analysis.findings import Remedy
from wizard.analysis.kinds.chain_remedies import root_remedies
from wizard.analysis.unit_graph import Chain, UnitGraph, describe_chain


def explain(chain: Chain, graph: UnitGraph) -> str:
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


def remedies(chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Quiet the root of the chain, or mask the target.

    A drop-in cannot remove a Wants= (drop-ins only add dependencies), so the
    neighbour itself is never edited.
    """
    return root_remedies(chain)
