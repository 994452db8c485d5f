"""The registry of revival kinds: every kind module, in the article's order.

Adding a kind is adding a module that implements ``base.RevivalKind`` and
naming it here (and its value in ``FindingKind``).
"""

from __future__ import annotations

from wizard.analysis.findings import FindingKind
from wizard.analysis.kinds import (
    boot,
    bus_activation,
    dependencies,
    external_callers,
    failure_hooks,
    restart_policy,
    triggers,
    upholds,
)
from wizard.analysis.kinds.base import RevivalKind
from wizard.analysis.unit_graph import Chain, UnitGraph

REVIVAL_KINDS: tuple[RevivalKind, ...] = (
    restart_policy,
    triggers,
    bus_activation,
    dependencies,
    upholds,
    failure_hooks,
    external_callers,
    boot,
)
BY_KIND: dict[FindingKind, RevivalKind] = {
    kind: module for module in REVIVAL_KINDS for kind in module.KINDS
}


def claim(chain: Chain, graph: UnitGraph) -> tuple[FindingKind, RevivalKind]:
    """The one kind whose link touches the target at the end of the chain."""
    claims = [(kind, module) for module in REVIVAL_KINDS
              if (kind := module.claim(chain, graph)) is not None]
    if len(claims) != 1:
        raise ValueError(f"{len(claims)} kinds claim the chain {' -> '.join(chain.nodes)}")
    return claims[0]


def check_commands(kind: FindingKind | str, unit: str) -> tuple[str, ...]:
    """The commands that show a source of this kind by hand ("check it yourself")."""
    known = FindingKind(kind)
    return BY_KIND[known].check_commands(known, unit)
