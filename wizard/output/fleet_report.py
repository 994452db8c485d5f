"""The fleet report: one diagnosis per host, counted and grouped (docs/fleet.md).

Plain lines for the terminal (every name from a host passes ``printable``),
and the ``diagnose --inventory --json`` document with each host's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from wizard.analysis.fleet import FleetReport, SourceKey
from wizard.output.report_json import SCHEMA_VERSION
from wizard.output.terminal_text import printable


def _hosts(names: Sequence[str], shown: int = 8) -> str:
    text = ", ".join(printable(n) for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _source_text(source: SourceKey) -> str:
    return f"{printable(source.text)} ({printable(source.kind)})"


def _count(n: int) -> str:
    return f"{n} host{'s' if n != 1 else ''}"


def write_fleet_report(out: TextIO, report: FleetReport) -> None:
    """The readable report: states, groups of identical sources, hosts without a diagnosis."""
    diagnosed = report.with_outcome("diagnosed")
    absent = report.with_outcome("absent")
    out.write(f"{printable(report.unit)} on {_count(len(report.hosts))}: "
              f"{len(diagnosed)} have it, {len(absent)} do not, "
              f"{len(report.with_outcome('unreachable'))} unreachable, "
              f"{len(report.with_outcome('error'))} failed\n")
    if report.states:
        out.write("\nState:\n")
        for state, hosts in report.states:
            out.write(f"  {_count(len(hosts))}: {printable(state)}: {_hosts(hosts)}\n")
    if report.groups:
        out.write("\nWhat can start it again, hosts grouped by identical sources:\n")
        for group in report.groups:
            live = [s for s in group.sources if s.live]
            dormant = [s for s in group.sources if not s.live]
            out.write(f"  {_count(len(group.hosts))}: {_hosts(group.hosts)}\n")
            out.write("      live: " + ("; ".join(_source_text(s) for s in live)
                                        or "none (a stop holds)") + "\n")
            if dormant:
                out.write("      dormant: " + "; ".join(_source_text(s) for s in dormant)
                          + "\n")
    if absent:
        out.write(f"\nNo such unit on {_count(len(absent))}: "
                  f"{_hosts([h.host for h in absent])}\n")
    for outcome, title in (("unreachable", "Unreachable"), ("error", "Not diagnosed")):
        failed = report.with_outcome(outcome)
        if failed:
            out.write(f"\n{title} ({_count(len(failed))}):\n")
            for h in failed:
                out.write(f"  {printable(h.host)}: {printable(h.error)}\n")
                if h.hint:
                    out.write(f"    hint: {printable(h.hint)}\n")


def fleet_document(report: FleetReport, documents: Sequence[dict[str, Any]],
                   inventory: str, limit: str | None) -> dict[str, Any]:
    """``diagnose --inventory --json``: the counts and groups, then every host's document."""
    return {
        "schema": SCHEMA_VERSION,
        "unit": report.unit,
        "inventory": inventory,
        "limit": limit,
        "live": report.live,
        "counts": {outcome: len(report.with_outcome(outcome))
                   for outcome in ("diagnosed", "absent", "unreachable", "error")},
        "states": [{"state": state, "hosts": list(hosts)} for state, hosts in report.states],
        "groups": [{"sources": [{"kind": s.kind, "chain": list(s.chain), "live": s.live}
                                for s in g.sources],
                    "hosts": list(g.hosts)} for g in report.groups],
        "hosts": list(documents),
    }
