"""Puts every kind's analysis together into one Diagnosis of the target unit."""

from __future__ import annotations

from collections.abc import Callable

from wizard.analysis.findings import (
    Diagnosis,
    Evidence,
    ExaminedUnit,
    Finding,
    FindingKind,
    Remedy,
    UnitState,
)
from wizard.analysis.kinds import (
    boot,
    bus_activation,
    dependencies,
    external_callers,
    failure_hooks,
    triggers,
    upholds,
)
from wizard.analysis.kinds.restart_policy import restart_policy_finding
from wizard.analysis.unit_graph import (
    MAX_CHAINS,
    NON_PULL_PROPERTIES,
    Chain,
    EdgeKind,
    UnitGraph,
    describe_chain,
)
from wizard.model.snapshots import SystemSnapshot, UnitSnapshot

KIND_ORDER = {kind: index for index, kind in enumerate(FindingKind)}

_Explainer = Callable[[Chain, UnitGraph], str]
_Remedier = Callable[[Chain, UnitGraph], tuple[Remedy, ...]]


def _edge_kind_of(chain: Chain, graph: UnitGraph) -> FindingKind:
    """The kind is decided by the edge that touches the target.

    A pull-in chain that is not live and starts at a target is what boot
    does, so it is a boot finding; a dormant trigger keeps its own kind.
    """
    last = chain.edges[-1]
    match last.kind:
        case EdgeKind.TRIGGERS:
            return triggers.TRIGGER_KINDS.get(
                last.starter.rpartition(".")[2], FindingKind.DEPENDENCY
            )
        case EdgeKind.UPHOLDS:
            return FindingKind.UPHOLDS
        case EdgeKind.ON_FAILURE:
            return FindingKind.ON_FAILURE
        case EdgeKind.ON_SUCCESS:
            return FindingKind.ON_SUCCESS
        case EdgeKind.CALLS | EdgeKind.CRON:
            return FindingKind.EXTERNAL
        case EdgeKind.BUS:
            return FindingKind.BUS_ACTIVATION
    root_unit = graph.unit(chain.nodes[0])
    if not chain.live and root_unit is not None and root_unit.type == "target":
        return FindingKind.BOOT
    return FindingKind.DEPENDENCY


def _explainers(kind: FindingKind, chain: Chain) -> tuple[_Explainer, _Remedier]:
    via_cron = chain.edges[-1].kind == EdgeKind.CRON
    running_only = not chain.edges[-1].revives
    match kind:
        case FindingKind.SOCKET | FindingKind.PATH | FindingKind.TIMER | FindingKind.AUTOMOUNT:
            return triggers.explain, triggers.remedies
        case FindingKind.UPHOLDS:
            return upholds.explain, upholds.remedies
        case FindingKind.ON_FAILURE:
            return (
                lambda c, g: failure_hooks.explain(c, g, on="failure"),
                failure_hooks.remedies,
            )
        case FindingKind.ON_SUCCESS:
            return (
                lambda c, g: failure_hooks.explain(c, g, on="success"),
                failure_hooks.remedies,
            )
        case FindingKind.EXTERNAL:
            return (
                lambda c, g: external_callers.explain(
                    c.nodes, c.live, running_only, via_cron,
                    started_by=describe_chain(c) if len(c.nodes) > 2 else "",
                ),
                lambda c, g: external_callers.remedies(c.nodes, via_cron),
            )
        case FindingKind.BUS_ACTIVATION:
            return bus_activation.explain, bus_activation.remedies
        case FindingKind.BOOT:
            return boot.explain, boot.remedies
    return dependencies.explain, dependencies.remedies


def _evidence(chain: Chain) -> tuple[Evidence, ...]:
    # A root that is no unit (a cron line, a bus name) is known from a file.
    pseudo_root = chain.edges[0].kind in (EdgeKind.CRON, EdgeKind.BUS)
    facts: list[Evidence] = [
        Evidence(chain.nodes[0], fact, "file" if pseudo_root else "property")
        for fact in chain.root_facts
    ]
    for edge in chain.edges:
        if edge.kind in (EdgeKind.CALLS,):
            facts.append(Evidence(edge.starter, edge.detail))
        elif edge.kind == EdgeKind.CRON:
            facts.append(Evidence(edge.starter, edge.detail, "file"))
        elif edge.kind == EdgeKind.BUS:
            if edge.starter != edge.detail:
                facts.append(Evidence(edge.detail, f"Name={edge.starter}", "file"))
            facts.append(Evidence(edge.detail, edge.written, "file"))
        else:
            facts.append(Evidence(edge.starter, f"{edge.kind.value}={edge.started}"))
    return tuple(facts)


def _chain_finding(chain: Chain, graph: UnitGraph) -> Finding:
    kind = _edge_kind_of(chain, graph)
    explain, remedies = _explainers(kind, chain)
    evidence = list(_evidence(chain))
    root = graph.unit(chain.nodes[0])
    if chain.live and root is not None and root.unit_file_state in ("enabled", "enabled-runtime"):
        evidence.append(
            Evidence(root.name, f"UnitFileState={root.unit_file_state}: it also starts at boot")
        )
    explanation = explain(chain, graph)
    for name in chain.nodes:
        if graph.is_masked(name):
            evidence.append(Evidence(name, "LoadState=masked"))
            explanation += (
                f" {name} is masked, so systemd refuses to start it"
                + (" until it is unmasked." if name != chain.nodes[0] else
                   "; masking does not stop it while it is still running.")
            )
    return Finding(
        kind=kind,
        source=chain.nodes[0],
        chain=chain.nodes,
        live=chain.live,
        evidence=tuple(evidence),
        explanation=explanation,
        remedies=remedies(chain, graph),
    )


def _last_stop(unit: UnitSnapshot) -> str:
    service = unit.service
    if service is None:
        return ""
    if service.result == "success":
        return "no failure is recorded (Result=success)"
    # ExecMainCode follows siginfo's si_code: 1 exited, 2 killed, 3 dumped core.
    how = {1: f"exit status {service.exec_main_status}", 2: f"signal {service.exec_main_status}",
           3: f"signal {service.exec_main_status}, core dumped"}.get(service.exec_main_code, "")
    return f"it last failed (Result={service.result}{', ' + how if how else ''})"


def _state(unit: UnitSnapshot) -> UnitState:
    summary = f"{unit.name} is {unit.active_state} ({unit.sub_state})"
    if unit.load_state != "loaded":
        reason = (unit.load_error[1] or unit.load_state).rstrip(".")
        summary += f"; its unit file is {unit.load_state}: {reason}"
    stop = _last_stop(unit)
    if stop:
        summary += f"; {stop}"
    return UnitState(
        load_state=unit.load_state,
        active_state=unit.active_state,
        sub_state=unit.sub_state,
        unit_file_state=unit.unit_file_state,
        fragment_path=unit.fragment_path,
        drop_in_paths=unit.drop_in_paths,
        description=unit.description,
        last_result=unit.service.result if unit.service else "",
        summary=summary,
    )


def _examined(
    graph: UnitGraph, target: UnitSnapshot, in_chains: set[str]
) -> tuple[ExaminedUnit, ...]:
    """Every unit around the target that relates to it but is in no chain, and why."""
    examined: dict[tuple[str, str], ExaminedUnit] = {}
    queue = [target.name]
    seen = {target.name}
    while queue:
        name = queue.pop(0)
        child = graph.unit(name)
        if child is None:
            continue
        related: list[tuple[str, str, str]] = []
        for prop, reason in NON_PULL_PROPERTIES.items():
            related.extend((r, prop, reason) for r in child.related(prop))
        for edge in graph.starters(name):
            reason = (
                f"reaches {target.name} only through {name}, which is reported above"
                if name in in_chains
                else f"reaches {target.name} only through {name}"
            )
            related.append((edge.starter, edge.kind.value, reason))
        for unit, relation, reason in related:
            if unit not in seen:
                seen.add(unit)
                queue.append(unit)
            if unit not in in_chains and unit != target.name:
                key = (unit, f"{relation} {name}")
                examined.setdefault(key, ExaminedUnit(unit, f"{relation} {name}", reason))
    return tuple(sorted(examined.values(), key=lambda e: (e.unit, e.relation)))


def diagnose(snapshot: SystemSnapshot) -> Diagnosis:
    """Every mechanism that can start the target again after a stop."""
    target = snapshot.unit(snapshot.target)
    if target is None:
        raise ValueError(f"snapshot holds no unit {snapshot.target!r}")
    graph = UnitGraph(snapshot)
    findings: list[Finding] = []
    restart = restart_policy_finding(target)
    if restart is not None:
        findings.append(restart)
    chains = graph.walk(target.name)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for chain in chains:
        finding = _chain_finding(chain, graph)
        if (finding.kind, finding.chain) not in seen:
            seen.add((finding.kind, finding.chain))
            findings.append(finding)
    bus_only = bus_activation.bus_name_without_activation(target, snapshot)
    if bus_only is not None:
        findings.append(bus_only)
    findings.sort(key=lambda f: (KIND_ORDER[f.kind], not f.live, f.chain))
    notes = list(snapshot.notes)
    if len(chains) >= MAX_CHAINS:
        notes.append(f"stopped after {MAX_CHAINS} chains; the graph around it is very large")
    in_chains = {node for f in findings for node in f.chain}
    return Diagnosis(
        unit=target.name,
        state=_state(target),
        findings=tuple(findings),
        examined=_examined(graph, target, in_chains),
        notes=tuple(notes),
    )
