"""Unit names as systemctl takes them: validation, the default suffix, escaping.

Mirrors systemd's src/basic/unit-name.c (unit_name_is_valid, unit_name_mangle)
closely enough that a name staydown accepts is one systemd would accept too.
"""

from __future__ import annotations

from wizard.errors import UsageError

UNIT_TYPES = (
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
)

# unit-name.h: VALID_CHARS = DIGITS LETTERS ":-_.\\"; "@" separates the instance.
# Spelled out rather than from the string module, which every run would import for it.
_VALID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:-_.\\")
_UNIT_NAME_MAX = 255


def unit_type(name: str) -> str:
    """Return the suffix of a unit name without the dot ("service")."""
    return name.rpartition(".")[2]


def has_unit_suffix(name: str) -> bool:
    """Tell whether the name already ends in a known unit type."""
    return "." in name and unit_type(name) in UNIT_TYPES


def is_valid_unit_name(name: str) -> bool:
    """Tell whether systemd would accept this as a complete unit name."""
    if not name or len(name) > _UNIT_NAME_MAX or not has_unit_suffix(name):
        return False
    stem = name.rpartition(".")[0]
    prefix, _at, instance = stem.partition("@")
    if not prefix or "@" in instance:
        return False
    return all(c in _VALID_CHARS for c in prefix + instance)


def is_template(name: str) -> bool:
    """Tell whether the name is a template with no instance ("foo@.service")."""
    stem = name.rpartition(".")[0]
    return stem.endswith("@")


def escape_string(text: str) -> str:
    r"""Escape text the way ``systemd-escape`` does ("a b" -> "a\x20b")."""
    out: list[str] = []
    for index, char in enumerate(text):
        if char == "/":
            out.append("-")
        elif (char == "." and index == 0) or char not in _VALID_CHARS - {"\\"}:
            out.extend(f"\\x{byte:02x}" for byte in char.encode())
        else:
            out.append(char)
    return "".join(out)


def normalise_unit_name(argument: str) -> str:
    """Turn what an operator typed into a full unit name, or raise UsageError.

    Like systemctl, a name without a known suffix means a .service. Characters
    systemd does not allow are refused with the escaped spelling suggested,
    never silently rewritten: the operator should know which unit is meant.
    """
    name = argument.strip()
    if not name:
        raise UsageError("the unit name is empty")
    if "\n" in argument or "\x00" in argument:
        raise UsageError("a unit name cannot contain a newline or NUL byte")
    if not has_unit_suffix(name):
        name = f"{name}.service"
    if not is_valid_unit_name(name):
        stem, _, suffix = name.rpartition(".")
        prefix, at, instance = stem.partition("@")
        suggestion = f"{escape_string(prefix)}{at}{escape_string(instance)}.{suffix}"
        hint = (
            f"systemd spells it {suggestion} (see systemd-escape(1))"
            if is_valid_unit_name(suggestion)
            else "unit names use letters, digits and :-_.\\ with one @ before an instance"
        )
        raise UsageError(f"{argument!r} is not a valid unit name", hint)
    if is_template(name):
        stem, _, suffix = name.rpartition(".")
        raise UsageError(
            f"{name!r} is a template, not a unit that runs",
            f"name an instance, for example {stem}instance.{suffix}",
        )
    return name
