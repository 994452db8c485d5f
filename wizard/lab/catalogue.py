"""What a scenario or a practice challenge says diagnose must find: its revival sources.

The shipped scenarios and the generated challenges write their catalogue in
the same ``sources`` list of a scenario.json; this is its one reader and writer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wizard.model.unit_names import has_unit_suffix


@dataclass(frozen=True)
class RevivalSource:
    """One revival source, as ``staydown diagnose --json`` must report it.

    ``template`` names the challenge pattern it was built from and ``detail``
    says in plain words how it fires (for hints and the graded report); both
    are empty for a shipped scenario. ``provoke`` is a command run inside the
    lab that makes the source fire now, or None when it fires by itself (a
    timer, Upholds=). ``stop_target`` is False for sources that act on a
    running unit (Restart=always after a kill). ``live`` is False for a source
    that exists but cannot fire here (a cron line with no cron daemon).
    """

    kind: str
    template: str
    source: str
    chain: tuple[str, ...]
    detail: str
    provoke: tuple[str, ...] | None = None
    stop_target: bool = True
    live: bool = True

    @property
    def units(self) -> tuple[str, ...]:
        """The units of its chain (a D-Bus name is not a unit)."""
        return tuple(n for n in self.chain if has_unit_suffix(n))


def source_from_json(entry: Mapping[str, Any]) -> RevivalSource:
    """One entry of a scenario.json ``sources`` list; KeyError or TypeError when malformed."""
    return RevivalSource(
        kind=entry["kind"],
        template=str(entry.get("template", "")),
        source=entry["source"],
        chain=tuple(entry["chain"]),
        detail=str(entry.get("detail", "")),
        provoke=tuple(entry["provoke"]) if entry.get("provoke") else None,
        stop_target=bool(entry.get("stop_target", True)),
        live=bool(entry.get("live", True)),
    )


def source_to_json(source: RevivalSource) -> dict[str, Any]:
    """The entry :func:`source_from_json` reads back."""
    entry: dict[str, Any] = {
        "kind": source.kind, "template": source.template, "source": source.source,
        "chain": list(source.chain), "detail": source.detail,
        "provoke": list(source.provoke) if source.provoke else None,
        "stop_target": source.stop_target,
    }
    if not source.live:
        entry["live"] = False
    return entry
