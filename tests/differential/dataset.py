"""The recorded dataset: one JSON line per case, gzip-compressed (pure, no systemd).

The first line is a header (format, systemd version, how it was run); every
other line is one case: the generated case, the states the lab reached, the
outcome of firing each source, and the pre-stop and post-stop snapshots of the
case's own units, stored as the unit properties systemd returned.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.differential.generate import Case, case_from_dict
from wizard.model.snapshots import ManagerSnapshot, SystemSnapshot
from wizard.system.systemd import unit_from_properties

DATASET = Path(__file__).parent / "dataset.jsonl.gz"
FORMAT = 1


def snapshot_from_data(data: dict[str, Any]) -> SystemSnapshot:
    """A staydown snapshot of the case's units, built by today's adapter from raw properties.

    The dataset keeps what systemd answered over D-Bus (GetAll of each unit, minus
    resource and sandboxing settings), not a SystemSnapshot: a field added to the
    snapshot later is filled in from old recordings too.
    """
    units = {
        name: unit_from_properties(name, props, shares_clock=False)
        for name, props in data["units"].items()
    }
    return SystemSnapshot(
        target=data["target"], manager=ManagerSnapshot(**data["manager"]), units=units
    )


@dataclass(frozen=True)
class SourceOutcome:
    """What happened when one source was fired after ``systemctl stop TARGET``."""

    unit: str
    kind: str
    live: bool
    """The target started at some moment after the stop (before or after the fire)."""
    before_fire: bool
    """It had already started again after the stop, before anything was fired."""
    fired: int
    """Exit status of the firing command (0 for none)."""
    started_by_fire: tuple[str, ...]
    """Case units that started between the fire and the end of the settle."""
    racy: str = ""


@dataclass(frozen=True)
class RecordedCase:
    """One case of the dataset."""

    case: Case
    outcomes: tuple[SourceOutcome, ...]
    initial: dict[str, str]
    after_stop: dict[str, str]
    revived_by_stop: bool
    started_by_stop: tuple[str, ...]
    pre_stop: SystemSnapshot | None
    post_stop: SystemSnapshot | None
    racy: tuple[str, ...]
    journal: tuple[str, ...]
    """systemd's messages on refused starts and rate limits for the case's units."""
    raw: dict[str, Any]


@dataclass(frozen=True)
class Dataset:
    """The header and every recorded case."""

    header: dict[str, Any]
    cases: tuple[RecordedCase, ...]


def recorded_case(data: dict[str, Any]) -> RecordedCase:
    """One dataset line as a RecordedCase."""
    snaps = data.get("snapshots", {})
    return RecordedCase(
        case=case_from_dict(data["case"]),
        outcomes=tuple(
            SourceOutcome(
                unit=run["source"], kind=run["kind"], live=run["live"],
                before_fire=run["before_fire"], fired=run["fired"],
                started_by_fire=tuple(run["started_by_fire"]), racy=run.get("racy", ""),
            )
            for run in data["runs"]
        ),
        initial=data["initial"],
        after_stop=data["after_stop"],
        revived_by_stop=data["revived_by_stop"],
        started_by_stop=tuple(data["started_by_stop"]),
        pre_stop=snapshot_from_data(snaps["pre"]) if "pre" in snaps else None,
        post_stop=snapshot_from_data(snaps["post"]) if "post" in snaps else None,
        racy=tuple(data.get("racy", ())),
        journal=tuple(data.get("journal", ())),
        raw=data,
    )


def write_dataset(path: Path, header: dict[str, Any], lines: Iterable[dict[str, Any]]) -> None:
    """Write the header and the case lines, gzip-compressed, reproducibly (no mtime)."""
    body = "".join(
        json.dumps(item, sort_keys=True, separators=(",", ":")) + "\n"
        for item in (header, *lines)
    )
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(body.encode())


def read_lines(path: Path = DATASET) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the raw case lines."""
    with gzip.open(path, "rt") as stream:
        items = [json.loads(line) for line in stream if line.strip()]
    return items[0], items[1:]


def load_dataset(path: Path = DATASET) -> Dataset:
    """Read the recorded dataset."""
    header, lines = read_lines(path)
    return Dataset(header, tuple(recorded_case(line) for line in lines))
