"""What every revival kind provides (the Protocol), and the parts kinds share.

A kind is one module: it finds its findings (a chain whose last link is its
own, or a fact about the unit itself), explains them, lists their remedies and
says which commands show the same thing by hand. ``all_kinds.py`` lists the
modules; diagnosis, the report and the practice hints use only this Protocol.
"""

from __future__ import annotations

import shlex
from typing import Protocol

from wizard.analysis.findings import Finding, FindingKind, Remedy
from wizard.analysis.unit_graph import Chain, UnitGraph
from wizard.model.snapshots import UnitSnapshot


class RevivalKind(Protocol):
    """One way a stopped unit comes back. Implemented by a module, not a class."""

    @property
    def KINDS(self) -> tuple[FindingKind, ...]:  # a module constant, read-only here
        """The finding kinds this module produces, in the article's order."""
        ...

    def find(self, target: UnitSnapshot, graph: UnitGraph) -> tuple[Finding, ...]:
        """Findings about the target itself, that no chain of starters shows."""
        ...

    def claim(self, chain: Chain, graph: UnitGraph) -> FindingKind | None:
        """The module's kind for a chain, decided by the link that touches the target."""
        ...

    def explain(self, kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
        """Plain words for a claimed chain."""
        ...

    def remedies(self, kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
        """The ways to neutralise a claimed chain, as the report lists them."""
        ...

    def check_commands(self, kind: FindingKind, unit: str) -> tuple[str, ...]:
        """The commands that show a source of this kind by hand, as the article would."""
        ...


def no_unit_findings(target: UnitSnapshot, graph: UnitGraph) -> tuple[Finding, ...]:
    """For kinds that are only ever chains."""
    return ()


def quoted(unit: str) -> tuple[str, str]:
    """The unit and its stem (without the type suffix), quoted for a shell."""
    return shlex.quote(unit), shlex.quote(unit.rpartition(".")[0])


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
