"""What `staydown diagnose --json` imports before it does anything (docs/performance.md).

diagnose --json runs from scripts and monitoring, where every process start
counts: its handler and the entry point must not pull in the wizard's prompt
and rendering libraries, the lab, the plan, nor the standard modules it was
weaned off (OpenSSL through hashlib, bz2 and lzma through shutil). A fresh
interpreter imports exactly what ``staydown diagnose`` imports and lists
sys.modules; no time is measured here (bench/import_times.py does that).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What diagnose --json must never import, and why it once did or could.
NOT_ON_DIAGNOSE_PATH = (
    "questionary",  # the wizard's prompts
    "prompt_toolkit",
    "rich",  # the readable report; --json writes JSON
    "jinja2",  # rendering a plan
    "markdown_it",
    "pygments",
    "lxml",  # pystemd's package __init__ (wizard.system.systemd avoids it)
    "pystemd.systemd1",
    "wizard.lab.nspawn",  # --lab only
    "wizard.plan",  # commands that plan
    "wizard.output.render",
    "wizard.cli.flow",
    "wizard.system.watch",
    "hashlib",  # OpenSSL: 2 ms and 3.5 MiB of every run
    "shutil",  # bz2 and lzma
    "tempfile",  # ssh only
    "traceback",  # --debug only
    "difflib",  # close names for a unit that is not found
)


@pytest.fixture(scope="module")
def diagnose_modules() -> set[str]:
    """sys.modules after importing the entry point and diagnose's handler, fresh."""
    code = ("import sys, wizard.cli.main, wizard.cli.commands.diagnose; "
            "print('\\n'.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO)
    return set(done.stdout.split())


def test_the_handler_was_imported(diagnose_modules: set[str]) -> None:
    assert {"wizard.cli.commands.diagnose", "wizard.system.neighbourhood",
            "wizard.analysis.timeline", "json"} <= diagnose_modules


@pytest.mark.parametrize("module", NOT_ON_DIAGNOSE_PATH)
def test_diagnose_does_not_import(diagnose_modules: set[str], module: str) -> None:
    importers = sorted(m for m in diagnose_modules if m == module or m.startswith(f"{module}."))
    assert not importers, f"diagnose --json imports {importers}"
