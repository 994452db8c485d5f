"""docs/wizard-screens/: the committed captures of the walk, fresh and fitting 80 columns.

Like the man page's test: ``make docs`` writes them, this fails when a fresh walk
reads differently (word by word, after the normalisation that hides times,
PIDs, plan ids and invocation ids), or when a line is wider than the terminal.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docgen import wizard_screens
from tests.conftest import lab_unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
SCREENS = ROOT / wizard_screens.SCREENS


def committed() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(SCREENS.iterdir())}


def test_every_capture_is_committed_linked_and_fits_80_columns():
    files = committed()
    assert set(files) == {c.name for c in wizard_screens.WALK} | {"README.md"}
    assert wizard_screens.too_wide(files) == []
    assert files["README.md"] == wizard_screens.index_text()
    wizard_md = (ROOT / "docs" / "wizard.md").read_text()
    assert "wizard-screens/README.md" in wizard_md
    for capture in wizard_screens.WALK:
        assert f"wizard-screens/{capture.name}" in wizard_md, capture.name


def test_captures_show_the_pauses_in_the_articles_order():
    files = committed()
    for number in range(1, 5):
        assert f"? Step {number} of 4 done" in files[f"step-{number}.txt"]
    summary = files["step-5-6.txt"]
    assert summary.index("In this order") < summary.index("? What now?")
    assert "#!/usr/bin/env bash" not in summary


@pytest.mark.lab
def test_a_fresh_walk_reads_as_committed():
    reason = lab_unavailable_reason()
    if reason is not None:
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)
    fresh = wizard_screens.generated(f"scr{os.getpid()}")
    assert wizard_screens.too_wide(fresh) == []
    assert wizard_screens.drift(SCREENS, fresh) == [], "docs/wizard-screens is stale: make docs"
