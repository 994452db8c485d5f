"""The article's script, undo and playbook, compared with committed expected files.

A change to what a reviewer reads shows up as a diff of tests/golden/, not as a
substring that still matches. Only what differs on every run is normalised: the
plan's id (its checksum covers the time and a nonce), its creation time and the
unit files' content hashes. After a deliberate change, regenerate with
``STAYDOWN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from wizard.analysis import diagnose
from wizard.analysis.findings import Diagnosis
from wizard.model.snapshots import snapshot_from_json
from wizard.output.render import render_outputs
from wizard.plan.assembly import assemble_plan
from wizard.plan.build import Plan, default_choices

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SCENARIO_UNITS = HERE.parent / "wizard" / "lab" / "scenarios" / "article" / "units"
UPDATE = bool(os.environ.get("STAYDOWN_UPDATE_GOLDEN"))


def normalised(text: str, plan: Plan) -> str:
    text = text.replace(plan.plan_id, "<plan-id>").replace(plan.created, "<created>")
    for fingerprint in plan.file_fingerprints:
        text = text.replace(fingerprint.sha256, "<sha256>")
    return text


def article_plan(tmp_path: Path, output_format: str) -> tuple[Diagnosis, Plan]:
    """The article's recorded diagnosis and its default plan, fingerprinted under tmp_path."""
    snapshot = snapshot_from_json((HERE / "snapshots" / "article-booted.json").read_text())
    # The lab's unit files where the snapshot says they are, to fingerprint them.
    etc = tmp_path / "etc" / "systemd" / "system"
    etc.mkdir(parents=True)
    for unit in SCENARIO_UNITS.iterdir():
        shutil.copy(unit, etc / unit.name)
    diagnosis = diagnose(snapshot)
    choices = default_choices(diagnosis, snapshot, persistent=False)
    plan, _notes = assemble_plan(diagnosis, snapshot, choices, output_format,
                                 lambda path: (tmp_path / path.lstrip("/")).read_bytes())
    return diagnosis, plan


def article_files(tmp_path: Path, output_format: str, output: str) -> dict[str, str]:
    """The files ``staydown plan`` writes for the article, as they would read on disk."""
    _diagnosis, plan = article_plan(tmp_path, output_format)
    assert plan.file_fingerprints, "the unit files were found and fingerprinted"
    outputs = render_outputs(plan, output_format, Path(output))
    return {path.name: normalised(rendered.text, plan) for path, rendered in outputs.items()}


@pytest.mark.parametrize(("output_format", "output", "expected"), [
    ("script", "staydown-widget-daemon.service.sh",
     ("staydown-widget-daemon.service.sh", "staydown-widget-daemon.service.undo.sh")),
    ("ansible", "staydown-widget-daemon.service.yml",
     ("staydown-widget-daemon.service.yml", "staydown-widget-daemon.service.undo.yml")),
])
def test_the_articles_plan_reads_as_committed(tmp_path, output_format, output, expected):
    files = article_files(tmp_path, output_format, output)
    assert sorted(files) == sorted(expected)
    for name, text in files.items():
        golden = GOLDEN / name
        if UPDATE:
            golden.write_text(text)
        assert golden.is_file(), f"no {golden}; run with STAYDOWN_UPDATE_GOLDEN=1 and review it"
        assert text == golden.read_text(), f"{name} differs from tests/golden/{name}"
