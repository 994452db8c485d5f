"""boot: what starts the unit at the next boot (.wants/.requires links of targets)."""

from __future__ import annotations

from wizard.analysis.findings import Remedy
from wizard.analysis.unit_graph import Chain, UnitGraph, describe_chain


def explain(chain: Chain, graph: UnitGraph) -> str:
    """Plain words for a boot-time pull-in."""
    target = chain.nodes[-1]
    unit = graph.unit(target)
    state = f" (UnitFileState={unit.unit_file_state})" if unit and unit.unit_file_state else ""
    return (
        f"At boot, {describe_chain(chain)}{state}. This cannot bring {target} back now, "
        "but after the next reboot it is running again. Disable it (removes the .wants/ "
        "link) or mask it for good if it must stay down across reboots."
    )


def remedies(chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Disable the unit whose enablement put it in the chain, or mask the target.

    Never the boot target itself: disabling multi-user.target would take the
    whole system with it. The enabled unit nearest the boot target is the one
    whose .wants/ link starts the chain (timers.target -> a timer -> ... -> the
    unit: disabling the timer breaks that chain; disabling the unit would not).
    """
    target = chain.nodes[-1]
    found: list[Remedy] = []
    for name in chain.nodes:
        unit = graph.unit(name)
        if unit is not None and unit.type != "target" and unit.unit_file_state.startswith(
            "enabled"
        ):
            found.append(
                Remedy("disable", (name,), f"disable {name} (removes its .wants/ link)",
                       "persistent")
            )
            break
    found.append(Remedy("mask", (target,), f"mask {target} for good", "persistent"))
    return tuple(found)
