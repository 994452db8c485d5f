"""bus-activation: a D-Bus name whose activation file hands off to the unit."""

from __future__ import annotations

from wizard.analysis.findings import Evidence, Finding, FindingKind, Remedy
from wizard.analysis.kinds.base import quoted, root_remedies
from wizard.analysis.unit_graph import Chain, EdgeKind, UnitGraph
from wizard.model.snapshots import SystemSnapshot, UnitSnapshot

KINDS = (FindingKind.BUS_ACTIVATION,)


def find(target: UnitSnapshot, graph: UnitGraph) -> tuple[Finding, ...]:
    """The bus name the unit owns when no activation file hands it over."""
    finding = bus_name_without_activation(target, graph.snapshot)
    return (finding,) if finding is not None else ()


def claim(chain: Chain, graph: UnitGraph) -> FindingKind | None:
    """An activation file that names the target (SystemdService=)."""
    return FindingKind.BUS_ACTIVATION if chain.edges[-1].kind == EdgeKind.BUS else None


def explain(kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
    """Plain words for D-Bus activation."""
    bus_name, target = chain.nodes[0], chain.nodes[-1]
    written = chain.edges[-1].written or f"SystemdService={target}"
    named = written.partition("=")[2]
    alias = f" ({named} is another name of {target})" if named != target else ""
    return (
        f"{bus_name} is D-Bus activatable: its activation file says {written}{alias}, "
        "so the moment any program calls that name on the bus, the bus daemon (dbus-daemon "
        f"or dbus-broker) asks systemd to start {target}. No unit dependency shows this; "
        "list-dependencies never will. Mask the unit to refuse activation (callers then "
        "get an error instead of a fresh daemon)."
    )


def remedies(kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Only masking refuses an activation request."""
    return root_remedies(chain, root_is_unit=False)


def bus_name_without_activation(
    unit: UnitSnapshot, snapshot: SystemSnapshot
) -> Finding | None:
    """BusName= set but no activation file: worth saying it is not a way back."""
    if unit.service is None or not unit.service.bus_name:
        return None
    if any(f.systemd_service in unit.names for f in snapshot.dbus_services):
        return None
    name = unit.service.bus_name
    return Finding(
        kind=FindingKind.BUS_ACTIVATION,
        source=name,
        chain=(name, unit.name),
        live=False,
        evidence=(Evidence(unit.name, f"BusName={name}"),),
        explanation=(
            f"{unit.name} owns the bus name {name} (BusName=), but no D-Bus activation "
            "file hands that name to it, so a call on the bus cannot start it."
        ),
        remedies=(),
    )


def check_commands(kind: FindingKind, unit: str) -> tuple[str, ...]:
    """The activation files that name the unit, and the names the bus can activate."""
    name, _stem = quoted(unit)
    return (
        f"grep -rl SystemdService={name} /usr/share/dbus-1/system-services "
        "/etc/dbus-1/system-services 2>/dev/null",
        "busctl --system list --activatable",
    )
