"""The kinds registry: every finding kind has one module, and every chain one kind."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from wizard.analysis.findings import FindingKind
from wizard.analysis.kinds.all_kinds import BY_KIND, REVIVAL_KINDS, check_commands
from wizard.analysis.unit_graph import UnitGraph
from wizard.model.snapshots import snapshot_from_json

SNAPSHOTS = sorted((Path(__file__).parent / "snapshots").glob("*.json"))


def test_every_finding_kind_belongs_to_exactly_one_module():
    declared = Counter(kind for module in REVIVAL_KINDS for kind in module.KINDS)
    assert set(declared) == set(FindingKind)
    assert max(declared.values()) == 1
    assert set(BY_KIND) == set(FindingKind)


@pytest.mark.parametrize("kind", list(FindingKind), ids=lambda k: k.value)
def test_every_kind_says_how_to_check_it_by_hand(kind):
    commands = check_commands(kind, "it's.service")
    assert commands
    assert not [c for c in commands if "it's" in c], "unit names are shell-quoted"


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.stem)
def test_every_chain_is_claimed_by_exactly_one_kind(path):
    snapshot = snapshot_from_json(path.read_text())
    graph = UnitGraph(snapshot)
    chains = graph.walk(snapshot.target)
    for chain in chains:
        claims = [kind for module in REVIVAL_KINDS
                  if (kind := module.claim(chain, graph)) is not None]
        assert len(claims) == 1, (chain.nodes, claims)
