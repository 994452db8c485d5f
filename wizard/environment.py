"""The world the CLI runs in, injected so tests can pretend (httpie's Environment).

Streams, whether they are terminals, the effective uid and the connection all
arrive through one object; nothing else reads sys.stdout or os.geteuid().
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class Environment:
    """Streams, terminal-ness and privileges of this run."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool = field(default_factory=lambda: sys.stdin.isatty())
    stdout_isatty: bool = field(default_factory=lambda: sys.stdout.isatty())
    euid: int = field(default_factory=os.geteuid)
    color: bool | None = None
    # prompt_toolkit input/output for the wizard's prompts; None means the
    # terminal. Tests pass a pipe input and a dummy output (questionary's own
    # tests do the same).
    prompt_input: Any = None
    prompt_output: Any = None
    pager: str | None = field(default_factory=lambda: os.environ.get("PAGER"))
    """$PAGER, for the wizard's full plan and the kinds' pages."""

    @property
    def is_root(self) -> bool:
        """Whether this run may change the system (it still only does on request)."""
        return self.euid == 0
