"""The committed ground truth is whole and says what the docs say it says (no lab needed).

bookworm-server-sweep.json is what `make sweep-real` observed in a lab of the
bookworm-server tree; bookworm-server-booted.json is staydown's snapshot of
that lab, freshly booted, so a model can be compared with the sweep offline.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.real_packages import sweep
from wizard.model.snapshots import snapshot_from_json


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(sweep.RESULTS.read_text())
    return document


def test_the_sweep_is_a_full_one_on_systemd_252(recorded: dict[str, Any]) -> None:
    assert recorded["tree"] == "bookworm-server"
    assert recorded["systemd"].startswith("systemd 252 ")
    assert recorded["sample"] is None
    summary = recorded["summary"]
    assert summary["units_swept"] == summary["units_of_interest"] == len(recorded["units"])
    sources = [s for unit in recorded["units"].values() for s in unit["sources"]]
    assert summary["sources_provoked"] == sum(1 for s in sources if s["provoked"])
    assert summary["revived"] == sum(1 for s in sources if s["revived"])
    # A source that was not fired cannot have revived anything.
    assert not [s for s in sources if s["revived"] and not s["provoked"]]


def test_every_named_regression_case_was_observed_as_the_issue_measured(
    recorded: dict[str, Any],
) -> None:
    cases = sweep.regression_cases(recorded)
    assert [case["name"] for case in cases] == [c["name"] for c in sweep.REGRESSION_CASES]
    assert [c["name"] for c in cases if not c["as_expected"]] == []
    assert recorded["regression_cases"] == cases


def test_the_timer_really_ran_its_unit_when_lvm2_monitor_stayed_down(
    recorded: dict[str, Any],
) -> None:
    # Not vacuous: apt-daily.service did start; the chain through sysinit.target did not.
    source = next(s for s in recorded["units"]["lvm2-monitor.service"]["sources"]
                  if s["source"] == "apt-daily.timer")
    assert source["fired_unit"] == "apt-daily.service"
    assert source["fired_unit_started"]
    assert not source["revived"]


def test_the_snapshot_holds_every_swept_unit(recorded: dict[str, Any]) -> None:
    snapshot = snapshot_from_json(sweep.SNAPSHOT.read_text())
    assert snapshot.manager.version.startswith("252")
    missing = [unit for unit in recorded["units"] if snapshot.unit(unit) is None]
    assert missing == []
