"""The world the CLI runs in, injected so tests can pretend (httpie's Environment).

Streams, whether they are terminals, the effective uid, the cgroup this
process runs in and whether it came in through ssh all arrive through one
object; nothing else reads sys.stdout, os.geteuid() or /proc/self.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


def _own_cgroup() -> str:
    try:
        return Path("/proc/self/cgroup").read_text()
    except OSError:
        return ""


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    # "PID (comm) STATE PPID ...": comm may hold spaces and parentheses.
    return int(stat.rpartition(")")[2].split()[1])


def _in_ssh_session() -> bool:
    """An ssh session: SSH_CONNECTION, or (sudo drops it) an sshd among the ancestors."""
    if os.environ.get("SSH_CONNECTION"):
        return True
    pid = os.getpid()
    try:
        while pid > 1:
            if Path(f"/proc/{pid}/comm").read_text().startswith("sshd"):
                return True
            pid = _parent_of(pid)
    except (OSError, ValueError, IndexError):
        return False
    return False


@dataclass
class Environment:
    """Streams, terminal-ness and privileges of this run."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin_isatty: bool = field(default_factory=lambda: sys.stdin.isatty())
    stdout_isatty: bool = field(default_factory=lambda: sys.stdout.isatty())
    euid: int = field(default_factory=os.geteuid)
    cgroup: str = field(default_factory=_own_cgroup)
    """/proc/self/cgroup: which unit or scope runs staydown (a protected unit)."""
    ssh_session: bool = field(default_factory=_in_ssh_session)
    """Whether staydown runs inside an ssh session (sshd is then protected)."""
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
