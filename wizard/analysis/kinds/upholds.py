"""upholds: a unit with Upholds= that restarts the unit at once after every stop."""

from __future__ import annotations

from wizard.analysis.findings import Remedy
from wizard.analysis.kinds.chain_remedies import root_remedies
from wizard.analysis.unit_graph import Chain, UnitGraph, describe_chain


def explain(chain: Chain, graph: UnitGraph) -> str:
    """Plain words for Upholds=."""
    upholder, target = chain.nodes[-2], chain.nodes[-1]
    text = (
        f"{upholder} has Upholds={target}: while {upholder} is active, systemd starts "
        f"{target} again immediately every time it stops, for any reason. No timer, no "
        "client: it is the most persistent way back there is. Stop the upholder first, "
        "then the unit."
    )
    if len(chain.nodes) > 2:
        text += f" The upholder is started from further up: {describe_chain(chain)}."
    if not chain.live:
        text += f" {upholder} is not active now, so it upholds nothing until it starts."
    return text


def remedies(chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Stop the upholder; a drop-in cannot take an Upholds= away."""
    upholder = chain.nodes[-2]
    found = [Remedy("stop", (upholder,), f"stop {upholder} before the unit")]
    found.extend(r for r in root_remedies(chain) if r.units != (upholder,) or r.action != "stop")
    return tuple(found)
