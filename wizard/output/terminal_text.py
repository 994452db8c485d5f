"""Makes untrusted text safe to print: no escape sequences reach the terminal.

Unit descriptions, instance names and Exec lines are written by whoever could
drop a unit file; printed raw, an ESC sequence could retitle the terminal or
hide lines. Control characters are shown as visible escapes instead.
"""

from __future__ import annotations

import re

# A pattern, compiled by re (and kept in its cache) the first time something is
# printed: every run imports this module for its error messages, few print any.
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    r"""Replace control and bidi characters with visible \\xNN / \\uNNNN escapes."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    if not keep_newlines:
        text = text.replace("\n", "\\n")
    return re.sub(_CONTROL, escape, text.replace("\t", " "))
