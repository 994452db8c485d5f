"""Remedies shared by every chain-shaped finding: quiet the root, or mask the unit."""

from __future__ import annotations

from wizard.analysis.findings import Remedy
from wizard.analysis.unit_graph import Chain


def root_remedies(chain: Chain, *, root_is_unit: bool = True) -> tuple[Remedy, ...]:
    """Stop and disable the root, or mask the target so nothing can start it."""
    root, target = chain.nodes[0], chain.nodes[-1]
    found: list[Remedy] = []
    # A target root (sockets.target at boot) is never stopped or disabled: it
    # would take every other unit it groups with it.
    if root_is_unit and root != target and not root.endswith(".target"):
        found.append(Remedy("stop", (root,), f"stop {root} so it stops firing"))
        found.append(Remedy("disable", (root,), f"disable {root} for good", "persistent"))
    found.append(
        Remedy("mask", (target,), f"mask {target} so no start request can succeed")
    )
    return tuple(found)
