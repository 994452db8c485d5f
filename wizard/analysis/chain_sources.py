"""Turns a chain of the unit graph into the Source the transaction model asks about.

A chain (root -> ... -> target) mixes two things: pull-ins that one start
transaction follows by itself (Wants=, Requires=, BindsTo=), and links where
one event makes a *new* request to systemd (a trigger fires, a hook's owner
ends, a command runs systemctl start). Each of the latter starts a new stage:
the Source of a stage is ``started_by`` the stage before it.
"""

from __future__ import annotations

from wizard.analysis.liveness import TRIGGER_KINDS, Source, SourceKind
from wizard.analysis.unit_graph import Chain, EdgeKind
from wizard.model.snapshots import SystemSnapshot

_STAGE_KINDS = {
    EdgeKind.UPHOLDS: SourceKind.UPHOLDS,
    EdgeKind.ON_FAILURE: SourceKind.ON_FAILURE,
    EdgeKind.ON_SUCCESS: SourceKind.ON_SUCCESS,
    EdgeKind.CALLS: SourceKind.MANUAL,
    EdgeKind.CRON: SourceKind.CRON,
    EdgeKind.BUS: SourceKind.BUS,
}
_PULL_INS = (EdgeKind.WANTS, EdgeKind.REQUIRES, EdgeKind.BINDS_TO)


def _root_kind(snapshot: SystemSnapshot, name: str) -> SourceKind:
    """What a unit at the top of a pull-in chain does by itself."""
    unit = snapshot.unit(name)
    if unit is None:
        return SourceKind.IDLE
    if unit.type == "target":
        return SourceKind.BOOT
    if unit.service is not None and (unit.service.restart != "no"
                                     or unit.sub_state == "auto-restart"):
        return SourceKind.RESTART
    return SourceKind.IDLE


def source_for_chain(snapshot: SystemSnapshot, chain: Chain) -> Source:
    """The (possibly staged) source whose firing the chain describes."""
    source: Source | None = None
    for edge in chain.edges:
        if edge.kind in _PULL_INS:
            if source is None:
                source = Source(edge.starter, _root_kind(snapshot, edge.starter))
            continue  # the same start transaction follows it
        if edge.kind == EdgeKind.TRIGGERS:
            kind = TRIGGER_KINDS.get(edge.starter.rpartition(".")[2], SourceKind.UNIT)
            source = Source(edge.starter, kind, edge.started, started_by=source)
        else:
            source = Source(edge.starter, _STAGE_KINDS[edge.kind], edge.started,
                            started_by=source)
    assert source is not None, chain
    return source
