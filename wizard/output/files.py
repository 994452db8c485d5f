"""Writing is its own phase: compare with the disk, never clobber, write atomically.

Every file is written to a temporary file beside its destination, fsynced
and renamed into place, so a crash leaves the old file or the new one, never
half of either. A destination that exists with other content is a conflict:
nothing at all is written unless ``force`` is given. Identical files are left
alone (running the same plan command twice is not an error).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from wizard.errors import OutputExistsError, PermissionDeniedError, UsageError
from wizard.output.render import Rendered


class WriteStatus(StrEnum):
    """What happened to one output file."""

    CREATED = "created"
    IDENTICAL = "identical"
    OVERWRITTEN = "overwritten"


@dataclass(frozen=True)
class WriteResult:
    """One output file and what was done with it."""

    path: Path
    status: WriteStatus


def _existing(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError as error:
        raise OutputExistsError(f"{path} is a directory", "choose another --output") from error
    except PermissionError as error:
        raise PermissionDeniedError(f"cannot read {path}: permission denied") from error


def conflicts(outputs: Mapping[Path, Rendered]) -> list[Path]:
    """The destinations that exist with other content."""
    found = []
    for path, rendered in outputs.items():
        current = _existing(path)
        if current is not None and current != rendered.text.encode():
            found.append(path)
    return found


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_outputs(outputs: Mapping[Path, Rendered], force: bool = False) -> list[WriteResult]:
    """Write every file, or none when one would overwrite different content."""
    clashing = conflicts(outputs)
    if clashing and not force:
        names = ", ".join(str(p) for p in clashing)
        raise OutputExistsError(
            f"{names} already exist{'s' if len(clashing) == 1 else ''} with other content; "
            "nothing was written",
            "choose another --output, or --force to overwrite",
        )
    results = []
    for path, rendered in outputs.items():
        data = rendered.text.encode()
        current = _existing(path)
        if current == data:
            results.append(WriteResult(path, WriteStatus.IDENTICAL))
            continue
        try:
            _write_atomically(path, data, rendered.mode)
        except PermissionError as error:
            raise PermissionDeniedError(
                f"cannot write {path}: permission denied", "choose a directory you can write to"
            ) from error
        except NotADirectoryError as error:
            raise UsageError(f"cannot write {path}: a parent is not a directory") from error
        status = WriteStatus.CREATED if current is None else WriteStatus.OVERWRITTEN
        results.append(WriteResult(path, status))
    return results
