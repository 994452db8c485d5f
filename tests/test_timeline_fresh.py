"""The stored journal recordings still classify like a fresh recording on today's systemd."""

from __future__ import annotations

import os

import pytest

from tests.lab_helpers import skip_unless_the_kernel_runs
from tests.record_journals import RECORDINGS, Recorded, load, record, scenario_of
from tests.test_timeline_recorded import classify_steps

pytestmark = pytest.mark.lab


def per_step(recorded: Recorded, keep: str) -> dict[str, tuple[str, str, tuple[str, ...], str]]:
    return classify_steps(recorded, keep, [m["label"].split(":")[0] for m in recorded.marks])


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda r: r.name)
def test_stored_journal_classifies_like_a_fresh_recording(lab_factory, recording):
    lab_factory  # noqa: B018 - the fixture checks that a lab can boot here
    skip_unless_the_kernel_runs(scenario_of(recording))
    stored = load(recording.name)
    fresh = record(recording, f"freshj{os.getpid()}")
    for keep in ("journal", "all"):
        assert per_step(fresh, keep) == per_step(stored, keep), keep
