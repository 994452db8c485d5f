"""Long texts an operator reads at their own pace: the full plan and the kinds' pages.

A pager is ``$PAGER``, then ``less``, then the text printed as it is (no
pager installed, or standard output is not a real file). The kinds' pages
are docs/kinds/*.md, read from the source tree or where the wheel installs
them (share/doc/staydown/kinds), and drawn for the terminal by rich.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from wizard.environment import Environment
from wizard.output.terminal_text import printable

KIND_PAGES = "share/doc/staydown/kinds"
"""Where pyproject installs docs/kinds/*.md, under the installation's prefix."""


def kind_page_path(kind: str) -> Path | None:
    """docs/kinds/KIND.md in this source tree, or as installed; None when it is in neither."""
    checkout = Path(__file__).resolve().parents[2] / "docs" / "kinds"
    for directory in (checkout, Path(sys.prefix) / KIND_PAGES):
        page = directory / f"{kind}.md"
        if page.is_file():
            return page
    return None


def render_markdown(text: str, width: int, *, color: bool) -> str:
    """A Markdown page as terminal text, no line wider than ``width``."""
    from rich.markdown import Markdown  # markdown-it and pygments: only for a help page

    out = Console(file=io.StringIO(), width=width, force_terminal=color, no_color=not color,
                  color_system="standard" if color else None, highlight=False)
    out.print(Markdown(text))
    value = out.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in str(value).splitlines()) + "\n"


def _pagers(env: Environment) -> list[list[str]]:
    found = []
    if env.pager:
        # An unbalanced quote in $PAGER: fall back to less.
        with contextlib.suppress(ValueError):
            found.append(shlex.split(env.pager))
    found.append(["less"])
    return [argv for argv in found if argv]


def page(text: str, env: Environment, console: Console) -> str:
    """Show ``text`` in a pager; return what showed it ("less", "plain", ...)."""
    console.file.flush()
    try:
        env.stdout.fileno()
        real_file = True
    except (AttributeError, OSError, io.UnsupportedOperation):
        real_file = False
    if real_file and env.stdout_isatty:
        for argv in _pagers(env):
            # As git does: quit if it fits on one screen, keep colours, leave the
            # text on the screen afterwards.
            pager_env = {**os.environ, "LESS": os.environ.get("LESS", "FRX")}
            try:
                subprocess.run(argv, input=text, text=True, stdout=env.stdout, check=False,
                               env=pager_env)
            except (FileNotFoundError, PermissionError):
                continue
            return argv[0]
    for line in text.splitlines():
        console.print(Text(printable(line)), soft_wrap=False, overflow="fold")
    return "plain"
