"""Booting OS-tree labs in tests: skipped without root, a failure under make test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.conftest import lab_unavailable_reason
from wizard.lab import nspawn as lab_module

_counter = itertools.count()


def require_lab() -> None:
    """Skip (or fail, under make test) when no lab can be booted here."""
    reason = lab_unavailable_reason()
    if reason is not None:
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)


@contextmanager
def os_lab(tree: str, bus: str = "dbus-daemon") -> Iterator[lab_module.Lab]:
    """A fresh lab of an OS tree (built and cached on first use), torn down afterwards."""
    require_lab()
    name = f"os{os.getpid()}-{next(_counter)}"
    booted = lab_module.up(None, name, os_name=tree, bus=bus)
    try:
        yield booted
    finally:
        lab_module.down(name)
