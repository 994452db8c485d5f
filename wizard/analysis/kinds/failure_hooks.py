"""on-failure / on-success: units whose OnFailure=/OnSuccess= name the unit."""

from __future__ import annotations

from wizard.analysis.findings import Remedy
from wizard.analysis.kinds.chain_remedies import root_remedies
from wizard.analysis.unit_graph import Chain, UnitGraph, describe_chain


def explain(chain: Chain, graph: UnitGraph, *, on: str) -> str:
    """Plain words for OnFailure= or OnSuccess= (``on`` is "failure" or "success")."""
    hook_owner, target = chain.nodes[-2], chain.nodes[-1]
    setting = "OnFailure=" if on == "failure" else "OnSuccess="
    event = "fails" if on == "failure" else "finishes successfully"
    text = (
        f"{hook_owner} names {target} in {setting}: every time {hook_owner} {event}, "
        f"systemd starts {target}. Whatever makes {hook_owner} run keeps reviving it."
    )
    if len(chain.nodes) > 2:
        text += f" Here that is: {describe_chain(chain)}."
    if not chain.live:
        text += f" Nothing runs {hook_owner} by itself right now."
    return text


def remedies(chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Quiet what runs the hook owner, or mask the target."""
    return root_remedies(chain)
