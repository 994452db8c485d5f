"""Writing is its own phase: atomic, never over different content without --force."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wizard.errors import ExitCode, OutputExistsError
from wizard.output.files import WriteStatus, write_outputs
from wizard.output.render import Rendered


def outputs(tmp_path: Path, text: str = "echo hi\n") -> dict[Path, Rendered]:
    return {tmp_path / "fix.sh": Rendered(text, 0o700),
            tmp_path / "sub" / "fix.undo.sh": Rendered("undo\n", 0o700)}


def test_creates_files_with_their_modes_and_leaves_no_temporary_files(tmp_path):
    results = write_outputs(outputs(tmp_path))
    assert [r.status for r in results] == [WriteStatus.CREATED, WriteStatus.CREATED]
    assert (tmp_path / "fix.sh").read_text() == "echo hi\n"
    assert stat.S_IMODE(os.stat(tmp_path / "fix.sh").st_mode) == 0o700
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["fix.sh", "fix.undo.sh", "sub"]


def test_identical_files_are_left_alone(tmp_path):
    write_outputs(outputs(tmp_path))
    before = os.stat(tmp_path / "fix.sh").st_ino
    results = write_outputs(outputs(tmp_path))
    assert [r.status for r in results] == [WriteStatus.IDENTICAL, WriteStatus.IDENTICAL]
    assert os.stat(tmp_path / "fix.sh").st_ino == before


def test_different_content_is_a_conflict_and_nothing_is_written(tmp_path):
    (tmp_path / "fix.sh").write_text("the operator's own script\n")
    with pytest.raises(OutputExistsError) as raised:
        write_outputs(outputs(tmp_path))
    assert raised.value.exit_code == ExitCode.OUTPUT_EXISTS
    assert (tmp_path / "fix.sh").read_text() == "the operator's own script\n"
    assert not (tmp_path / "sub").exists()


def test_force_overwrites(tmp_path):
    (tmp_path / "fix.sh").write_text("old\n")
    results = write_outputs(outputs(tmp_path), force=True)
    assert results[0].status == WriteStatus.OVERWRITTEN
    assert (tmp_path / "fix.sh").read_text() == "echo hi\n"


def test_a_directory_in_the_way_is_a_clear_error(tmp_path):
    (tmp_path / "fix.sh").mkdir()
    with pytest.raises(OutputExistsError, match="is a directory"):
        write_outputs(outputs(tmp_path))
