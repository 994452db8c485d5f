"""upholds: a unit with Upholds= that restarts the unit at once after every stop."""

from __future__ import annotations

from wizard.analysis.findings import FindingKind, Remedy
from wizard.analysis.kinds.base import no_unit_findings, quoted, root_remedies
from wizard.analysis.unit_graph import Chain, EdgeKind, UnitGraph, describe_chain

KINDS = (FindingKind.UPHOLDS,)
find = no_unit_findings


def claim(chain: Chain, graph: UnitGraph) -> FindingKind | None:
    """An Upholds= right before the target."""
    return FindingKind.UPHOLDS if chain.edges[-1].kind == EdgeKind.UPHOLDS else None


def explain(kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
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


def remedies(kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Stop the upholder; a drop-in cannot take an Upholds= away."""
    upholder = chain.nodes[-2]
    found = [Remedy("stop", (upholder,), f"stop {upholder} before the unit")]
    found.extend(r for r in root_remedies(chain) if r.units != (upholder,) or r.action != "stop")
    return tuple(found)


def check_commands(kind: FindingKind, unit: str) -> tuple[str, ...]:
    """UpheldBy= is the reverse of Upholds=."""
    name, _stem = quoted(unit)
    return (f"systemctl show -p UpheldBy {name}",)
