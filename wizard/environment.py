"""The world the CLI runs in, injected so tests can pretend (httpie's Environment).

Streams, whether they are terminals, the effective uid and the connection all
arrive through one object; nothing else reads sys.stdout or os.geteuid().
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TextIO


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

    @property
    def is_root(self) -> bool:
        """Whether this run may change the system (it still only does on request)."""
        return self.euid == 0
