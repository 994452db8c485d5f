"""on-failure / on-success: units whose OnFailure=/OnSuccess= name the unit."""

from __future__ import annotations

from wizard.analysis.findings import FindingKind, Remedy
from wizard.analysis.kinds.base import no_unit_findings, quoted, root_remedies
from wizard.analysis.unit_graph import Chain, EdgeKind, UnitGraph, describe_chain

KINDS = (FindingKind.ON_FAILURE, FindingKind.ON_SUCCESS)
find = no_unit_findings
_HOOKS = {EdgeKind.ON_FAILURE: FindingKind.ON_FAILURE, EdgeKind.ON_SUCCESS: FindingKind.ON_SUCCESS}


def claim(chain: Chain, graph: UnitGraph) -> FindingKind | None:
    """An OnFailure= or OnSuccess= right before the target."""
    return _HOOKS.get(chain.edges[-1].kind)


def explain(kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
    """Plain words for OnFailure= or OnSuccess=."""
    on = "failure" if kind == FindingKind.ON_FAILURE else "success"
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


def remedies(kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Quiet what runs the hook owner, or mask the target."""
    return root_remedies(chain)


def check_commands(kind: FindingKind, unit: str) -> tuple[str, ...]:
    """OnFailureOf= and OnSuccessOf= are the reverse of the hooks."""
    name, _stem = quoted(unit)
    setting = "OnFailureOf" if kind == FindingKind.ON_FAILURE else "OnSuccessOf"
    return (f"systemctl show -p {setting} {name}",)
