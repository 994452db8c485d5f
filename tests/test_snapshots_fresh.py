"""The stored snapshots still say what a real systemd says today."""

from __future__ import annotations

import os

import pytest

from tests.lab_helpers import skip_unless_the_kernel_runs
from tests.record_snapshots import RECORDINGS, SNAPSHOT_DIR, record
from tests.test_analysis_recorded import summary
from wizard.analysis import diagnose
from wizard.model.snapshots import snapshot_from_json

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda r: r.name)
def test_stored_snapshot_diagnoses_like_a_fresh_recording(lab_factory, recording):
    lab_factory  # noqa: B018 - the fixture checks that a lab can boot here
    skip_unless_the_kernel_runs(recording.scenario)
    stored = snapshot_from_json((SNAPSHOT_DIR / f"{recording.name}.json").read_text())
    fresh = record(recording, f"fresh{os.getpid()}")
    assert summary(diagnose(fresh)) == summary(diagnose(stored))
    # The walk up is the recording's own; the pull-ins below it that the model
    # loads depend on which units happen to be active at that moment of boot.
    assert fresh.history_units() == stored.history_units()
