"""Unit names as systemctl takes them, including property-based checks."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard.errors import UsageError
from wizard.model.unit_names import (
    escape_string,
    is_valid_unit_name,
    normalise_unit_name,
)
from wizard.output.terminal_text import printable
from wizard.system.systemd import close_unit_names


def unescape_string(text: str) -> str:
    r"""Undo systemd's escaping ("a\x20b" -> "a b"); bad escapes stay as written."""
    raw = bytearray()
    index = 0
    while index < len(text):
        if text.startswith("\\x", index) and index + 4 <= len(text):
            try:
                raw.append(int(text[index + 2 : index + 4], 16))
                index += 4
                continue
            except ValueError:
                pass
        raw.extend(text[index].encode())
        index += 1
    return raw.decode(errors="replace")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("widget-daemon", "widget-daemon.service"),
        ("widget-daemon.socket", "widget-daemon.socket"),
        ("foo@a\\x20b.service", "foo@a\\x20b.service"),
        ("foo@bar", "foo@bar.service"),
        ("  sshd  ", "sshd.service"),
        ("dev-sda1.device", "dev-sda1.device"),
    ],
)
def test_names_normalise_like_systemctl(typed, expected):
    assert normalise_unit_name(typed) == expected


@pytest.mark.parametrize(
    "bad", ["foo@.service", "a/b", "$(reboot)", "`id`", "a;b", "@x", "x" * 300]
)
def test_bad_names_are_refused(bad):
    with pytest.raises(UsageError):
        normalise_unit_name(bad)


@given(st.text())
def test_escaping_round_trips_and_is_always_valid(text):
    escaped = escape_string(text)
    assert all(c in string.ascii_letters + string.digits + ":-_.\\" for c in escaped)
    if "/" not in text:
        assert unescape_string(escaped) == text
    name = f"foo@{escaped}.service"
    # systemd's UNIT_NAME_MAX: 255 characters, however the name was built
    # (an empty instance is a template, which is a valid name too).
    assert is_valid_unit_name(name) == (len(name) <= 255)


@given(st.text())
def test_normalise_never_accepts_shell_metacharacters(text):
    try:
        name = normalise_unit_name(text)
    except UsageError:
        return
    assert not set(name) & set("$`'\"; |&<>(){}\n\t*?[]!#~ ")


@given(st.text())
def test_printable_leaves_no_control_characters(text):
    shown = printable(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)


def test_a_name_is_never_suggested_for_itself():
    # ListUnits reports referenced but missing units (home.mount) as not-found.
    candidates = ["home.mount", "home.automount", "widget-daemon.service"]
    assert close_unit_names("home.mount", candidates) == ("home.automount",)
    assert close_unit_names("widget-deamon.service", candidates) == ("widget-daemon.service",)
