"""boot: what starts the unit at the next boot (.wants/.requires links of targets)."""

from __future__ import annotations

from wizard.analysis.findings import FindingKind, Remedy
from wizard.analysis.kinds.base import no_unit_findings, quoted
from wizard.analysis.unit_graph import PULL_EDGES, Chain, UnitGraph, describe_chain
from wizard.model.snapshots import SystemSnapshot

KINDS = (FindingKind.BOOT,)
find = no_unit_findings


def claim(chain: Chain, graph: UnitGraph) -> FindingKind | None:
    """A pull-in chain from a target that is not live: what the next boot does."""
    root = graph.unit(chain.nodes[0])
    if (chain.edges[-1].kind in PULL_EDGES and not chain.live and root is not None
            and root.type == "target"):
        return FindingKind.BOOT
    return None


def explain(kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
    """Plain words for a boot-time pull-in."""
    target = chain.nodes[-1]
    unit = graph.unit(target)
    state = f" (UnitFileState={unit.unit_file_state})" if unit and unit.unit_file_state else ""
    return (
        f"At boot, {describe_chain(chain)}{state}. This cannot bring {target} back now, "
        "but after the next reboot it is running again. Disable it (removes the .wants/ "
        "link) or mask it for good if it must stay down across reboots."
    )


def enabled_link_owner(chain: tuple[str, ...], snapshot: SystemSnapshot) -> str | None:
    """The unit whose enablement put the chain there: the one to disable.

    Never the boot target itself: disabling multi-user.target would take the
    whole system with it. The enabled unit nearest the boot target is the one
    whose .wants/ link starts the chain (timers.target -> a timer -> ... -> the
    unit: disabling the timer breaks that chain; disabling the unit would not).
    """
    for name in chain:
        unit = snapshot.unit(name)
        if unit is not None and unit.type != "target" and unit.unit_file_state.startswith(
            "enabled"
        ):
            return name
    return None


def remedies(kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Disable the unit whose enablement put it in the chain, or mask the target."""
    target = chain.nodes[-1]
    found: list[Remedy] = []
    owner = enabled_link_owner(chain.nodes, graph.snapshot)
    if owner is not None:
        found.append(
            Remedy("disable", (owner,), f"disable {owner} (removes its .wants/ link)",
                   "persistent")
        )
    found.append(Remedy("mask", (target,), f"mask {target} for good", "persistent"))
    return tuple(found)


def check_commands(kind: FindingKind, unit: str) -> tuple[str, ...]:
    """Whether it is enabled, and which targets pull it in."""
    name, _stem = quoted(unit)
    return (f"systemctl is-enabled {name}", f"systemctl list-dependencies --reverse {name}")
