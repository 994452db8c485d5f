"""Puts every kind's analysis together into one Diagnosis of the target unit."""

from __future__ import annotations

import dataclasses

from wizard.analysis.chain_sources import source_for_chain
from wizard.analysis.findings import (
    Diagnosis,
    Evidence,
    ExaminedUnit,
    Finding,
    FindingKind,
    TargetState,
)
from wizard.analysis.kinds import all_kinds
from wizard.analysis.liveness import Verdict, liveness
from wizard.analysis.stop_model import after_stop
from wizard.analysis.unit_graph import (
    MAX_CHAINS,
    NON_PULL_PROPERTIES,
    Chain,
    EdgeKind,
    UnitGraph,
)
from wizard.model.snapshots import SystemSnapshot, UnitSnapshot

KIND_ORDER = {kind: index for index, kind in enumerate(FindingKind)}


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


def _chain_finding(chain: Chain, graph: UnitGraph, verdict: Verdict) -> Finding:
    # The graph only says who can reach whom; whether firing the root starts
    # the unit now is the transaction model's answer (docs/systemd-model.md).
    chain = dataclasses.replace(chain, live=verdict.live)
    kind, module = all_kinds.claim(chain, graph)
    evidence = list(_evidence(chain))
    root = graph.unit(chain.nodes[0])
    if chain.live and root is not None and root.unit_file_state in ("enabled", "enabled-runtime"):
        evidence.append(
            Evidence(root.name, f"UnitFileState={root.unit_file_state}: it also starts at boot")
        )
    explanation = module.explain(kind, chain, graph)
    for name in chain.nodes:
        if graph.is_masked(name):
            evidence.append(Evidence(name, "LoadState=masked"))
            explanation += (
                f" {name} is masked, so systemd refuses to start it"
                + (" until it is unmasked." if name != chain.nodes[0] else
                   "; masking does not stop it while it is still running.")
            )
    if verdict.live:
        if verdict.immediate:
            explanation += " It does so right after the stop, with nobody doing anything."
    else:
        explanation += f" Dormant now: {_sentence(verdict.dormant)}"
        if verdict.wakes:
            explanation += f" It would act if {_sentence(verdict.wakes)}"
    return Finding(
        kind=kind,
        source=chain.nodes[0],
        chain=chain.nodes,
        live=chain.live,
        evidence=tuple(evidence),
        explanation=explanation,
        remedies=module.remedies(kind, chain, graph),
        dormant="" if verdict.live else verdict.dormant,
        wakes="" if verdict.live else verdict.wakes,
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


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


def _state(unit: UnitSnapshot) -> TargetState:
    summary = f"{unit.name} is {unit.active_state} ({unit.sub_state})"
    if unit.load_state != "loaded":
        reason = (unit.load_error[1] or unit.load_state).rstrip(".")
        summary += f"; its unit file is {unit.load_state}: {reason}"
    stop = _last_stop(unit)
    if stop:
        summary += f"; {stop}"
    return TargetState(
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
    findings = [f for module in all_kinds.REVIVAL_KINDS for f in module.find(target, graph)]
    chains = graph.walk(target.name)
    outcome = after_stop(snapshot, target.name)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for chain in chains:
        verdict = liveness(snapshot, target.name, source_for_chain(snapshot, chain),
                           outcome=outcome)
        finding = _chain_finding(chain, graph, verdict)
        if (finding.kind, finding.chain) not in seen:
            seen.add((finding.kind, finding.chain))
            findings.append(finding)
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
