"""The only Jinja2 environment: a plan in, the text of every file staydown writes out.

Names, descriptions, Exec lines and cron commands come from whoever could
write a unit file, and they end up in scripts root runs. So no value reaches
a template raw: every ``{{ }}`` must pass a quoting filter for its target
language (``sh``, ``comment``, ``unit_value``, ``yaml``), and the environment's
``finalize`` refuses anything that did not. A forgotten filter is an error
at render time, never an injection.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard import __version__
from wizard.output.formats import OUTPUT_FORMATS, undo_path_for
from wizard.plan.build import ActionKind, Plan
from wizard.plan.protected_units import OWN_REASON, PROTECTED, SSH_PATTERNS, SSH_REASON

if TYPE_CHECKING:
    import jinja2


class Quoted(str):
    """Text already made safe for the file it is going into."""

    __slots__ = ()


class UnquotedValueError(ValueError):
    """A template printed a value without a quoting filter (a bug in a template)."""


def _finalize(value: Any) -> Any:
    if isinstance(value, Quoted) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise UnquotedValueError(
        f"template printed {value!r} without a quoting filter (sh, comment, unit_value, yaml)"
    )


def _printable_line(text: str) -> str:
    # Control characters (newlines included) would end a comment and start code.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def sh(value: object) -> Quoted:
    """One shell word, single-quoted when it needs to be."""
    return Quoted(shlex.quote(str(value)))


def comment(value: object, width: int = 76, prefix: str = "# ") -> Quoted:
    """Text as comment lines (wrapped), every line starting with the comment prefix."""
    lines: list[str] = []
    for paragraph in str(value).split("\n"):
        wrapped = textwrap.wrap(_printable_line(paragraph), width=width) or [""]
        lines.extend(f"{prefix}{line}".rstrip() for line in wrapped)
    return Quoted("\n".join(lines))


def inline(value: object) -> Quoted:
    """Text on one line, for a comment that already has its prefix."""
    return Quoted(_printable_line(str(value)))


def unit_value(value: object) -> Quoted:
    """A value for a unit-file setting: specifiers and backslashes escaped, one line."""
    text = str(value)
    if any(not c.isprintable() for c in text):
        raise ValueError(f"a unit-file value cannot hold control characters: {text!r}")
    return Quoted(text.replace("\\", "\\\\").replace("%", "%%"))


_JINJA_DELIMITERS = ("{{", "{%", "{#")


def has_jinja_delimiters(text: str) -> bool:
    """Whether Ansible would template this text."""
    return any(d in text for d in _JINJA_DELIMITERS)


def yaml(value: object) -> Quoted:
    """A YAML scalar: JSON's double-quoted strings are valid YAML and escape everything.

    Ansible templates every string of a playbook on the controller, so a value
    from a host (a crontab's file name) holding Jinja delimiters is tagged
    ``!unsafe``: Ansible then takes it literally instead of running it.
    """
    if isinstance(value, bool | int):
        return Quoted(json.dumps(value))
    text = str(value)
    unsafe = "!unsafe " if has_jinja_delimiters(text) else ""
    return Quoted(unsafe + json.dumps(text, ensure_ascii=True))


def yaml_list(values: object) -> Quoted:
    """A YAML flow sequence of strings."""
    items = values if isinstance(values, list | tuple) else [values]
    return Quoted("[" + ", ".join(yaml(v) for v in items) + "]")


_CASE_PATTERN = re.compile(r"[A-Za-z0-9@._:*-]+")


def case_patterns(patterns: object) -> Quoted:
    """Unit-name glob patterns for a bash ``case`` (``a.service | b@*.service``).

    A pattern is code, not a quoted word, so only the characters of unit names
    and ``*`` pass; anything else is refused at render time.
    """
    items = list(patterns) if isinstance(patterns, list | tuple) else [patterns]
    checked: list[str] = []
    for item in items:
        if not isinstance(item, str) or not _CASE_PATTERN.fullmatch(item):
            raise ValueError(f"not a unit-name pattern: {item!r}")
        checked.append(item)
    return Quoted(" | ".join(checked))


def regex_escape(value: object) -> str:
    """A literal for a Python regular expression (Ansible's replace module)."""
    return re.escape(str(value))


_TRIGGERS = (".socket", ".path", ".automount")
_MOUNTS = (".slice", ".mount", ".swap")
_LAST = (".timer", ".target")
_NOT_STARTABLE = (".scope", ".device")


def _start_rank(unit: str) -> int:
    # The order undo.sh.j2's restore_active follows: systemd refuses to start a
    # socket whose service already runs (socket.c, socket_start: "Socket service
    # %s already active, refusing."), and an automount whose mount is mounted;
    # timers and targets last, once what they start is in place.
    if unit.endswith(_TRIGGERS):
        return 0
    if unit.endswith(_MOUNTS):
        return 1
    if unit.endswith(_LAST):
        return 3
    return 2


@dataclass(frozen=True)
class UndoStart:
    """A unit the undo playbook starts again, and why."""

    unit: str
    why: str


def undo_starts(plan: Plan) -> list[UndoStart]:
    """What the undo playbook starts, in the order systemd accepts the starts.

    The units the plan stopped that were running when it was made, then the
    units predicted to go down with a stop; each once, triggers before what
    they trigger, timers and targets last.
    """
    starts: list[UndoStart] = []
    seen: set[str] = set()
    for action in plan.actions:
        if action.kind != ActionKind.STOP:
            continue
        before = plan.fingerprint(action.unit)
        if before and before.active_state in ("active", "activating", "reloading") \
                and action.unit not in seen:
            seen.add(action.unit)
            starts.append(UndoStart(action.unit, "it was running when the plan was made"))
    for action in plan.actions:
        if action.kind != ActionKind.STOP:
            continue
        for effect in action.side_effects:
            if effect.effect.value == "stops" and effect.unit not in seen \
                    and not effect.unit.endswith(_NOT_STARTABLE):
                seen.add(effect.unit)
                starts.append(UndoStart(
                    effect.unit, f"predicted side effect of stopping {action.unit}"))
    # sorted() is stable: within a rank the plan's order stays.
    return sorted(starts, key=lambda s: _start_rank(s.unit))


@dataclass(frozen=True)
class StopFirst:
    """A unit the undo playbook stops before starting the trigger in front of it."""

    unit: str
    trigger: str


def undo_stops_first(plan: Plan, starts: list[UndoStart]) -> list[StopFirst]:
    """Units to stop before their trigger starts again, each with that trigger.

    A keep-down run cut short (a failed task, a lost connection) can leave a
    service running after its socket was stopped; systemd then refuses to
    start the socket. The pairs come from the plan's chains: the unit right
    after a trigger is the one it triggers.
    """
    started = {s.unit for s in starts}
    pairs: list[StopFirst] = []
    for step in plan.steps:
        for trigger, unit in zip(step.chain, step.chain[1:], strict=False):
            pair = StopFirst(unit, trigger)
            if trigger.endswith(_TRIGGERS) and trigger in started and unit in started \
                    and pair not in pairs:
                pairs.append(pair)
    return pairs


@dataclass(frozen=True)
class ProtectedPattern:
    """One protected group as a regular expression, for Ansible's ``match`` test."""

    regex: str
    reason: str


def protected_regexes() -> list[ProtectedPattern]:
    """The protected set (and the ssh server) as the playbook checks it on the host."""
    groups = [*((g.patterns, g.reason) for g in PROTECTED), (SSH_PATTERNS, SSH_REASON)]
    return [ProtectedPattern("|".join(fnmatch.translate(p) for p in patterns), reason)
            for patterns, reason in groups]


@dataclass(frozen=True)
class Rendered:
    """One output file's text and the mode it is written with."""

    text: str
    mode: int = 0o644


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment over the packaged templates/ (built once, templates cached)."""
    import jinja2  # here, not at import: the wizard's first screen renders no template

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wizard.templates", "."),
        autoescape=False,  # noqa: S701 - shell, unit files and YAML; quoting is explicit
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
        # Bash's ${#array[@]} would open a Jinja comment; templates use none.
        comment_start_string="<%#",
        comment_end_string="#%>",
    )
    env.filters.update(
        sh=sh, comment=comment, inline=inline, unit_value=unit_value, yaml=yaml,
        yaml_list=yaml_list, regex_escape=regex_escape, case_patterns=case_patterns,
    )
    env.globals.update(
        ActionKind=ActionKind, version=Quoted(__version__), protected=PROTECTED,
        ssh_patterns=SSH_PATTERNS, ssh_reason=SSH_REASON, own_reason=OWN_REASON,
        protected_regexes=protected_regexes(),
    )
    return env


def _render(env: jinja2.Environment, template: str, plan: Plan, **extra: Any) -> str:
    return env.get_template(template).render(plan=plan, **extra)


def render_drop_in(env: jinja2.Environment, plan: Plan, path: str) -> str:
    """The text of one drop-in the plan writes."""
    drop_in = next(a.drop_in for a in plan.actions if a.drop_in and a.drop_in.path == path)
    return env.get_template("dropin.conf.j2").render(plan=plan, drop_in=drop_in)


def render_outputs(
    plan: Plan, output_format: str, output: Path, undo: Path | None = None,
    script_mode: int = 0o700,
) -> dict[Path, Rendered]:
    """Every file of one plan in one format, keyed by where it is written.

    Scripts are 0700 by default: they name what runs on the host and are for
    root to read and run; 0755 on request.
    """
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"unknown format {output_format!r}")
    env = environment()
    drop_ins = {
        a.drop_in.path: render_drop_in(env, plan, a.drop_in.path)
        for a in plan.actions if a.drop_in is not None
    }
    if output_format == "ansible":
        undo = undo or undo_path_for(output)
        starts = undo_starts(plan)
        return {
            output: Rendered(_render(env, "playbook.yml.j2", plan, drop_ins=drop_ins,
                                     undo=False, other=Quoted(str(undo)))),
            undo: Rendered(_render(env, "playbook.yml.j2", plan, drop_ins=drop_ins,
                                   undo=True, other=Quoted(str(output)), starts=starts,
                                   stop_first=undo_stops_first(plan, starts))),
        }
    if output_format == "dropin":
        # A directory: the drop-ins laid out by unit, and the script that installs them.
        files: dict[Path, Rendered] = {}
        for path, text in drop_ins.items():
            relative = Path(*Path(path).parts[-2:])
            files[output / relative] = Rendered(text)
        script, undo_script = output / "install.sh", undo or output / "install.undo.sh"
        files[script] = Rendered(
            _render(env, "remediation.sh.j2", plan, drop_ins=drop_ins, undo_file=undo_script),
            script_mode,
        )
        files[undo_script] = Rendered(
            _render(env, "undo.sh.j2", plan, drop_ins=drop_ins, plan_file=script), script_mode
        )
        return files
    undo = undo or undo_path_for(output)
    return {
        output: Rendered(
            _render(env, "remediation.sh.j2", plan, drop_ins=drop_ins, undo_file=undo),
            script_mode,
        ),
        undo: Rendered(_render(env, "undo.sh.j2", plan, drop_ins=drop_ins, plan_file=output),
                       script_mode),
    }


@dataclass(frozen=True)
class FleetHostPlan:
    """One inventory host in the fleet playbook: its own plan, or why it has none."""

    host: str
    plan: Plan | None = None
    absent: bool = False
    """The unit does not exist there: the playbook checks it still does not."""
    why: str = ""
    """Why a host has no plan (unreachable, an error): the playbook refuses it."""

    @property
    def planned(self) -> bool:
        """Whether the playbook has a block for this host."""
        return self.plan is not None or self.absent


@dataclass(frozen=True)
class _FleetBlock:
    host: str
    plan: Plan | None
    absent: bool
    why: str
    planned: bool
    drop_ins: dict[str, str]
    starts: list[UndoStart]
    stop_first: list[StopFirst]


def render_fleet_outputs(
    unit: str, hosts: list[FleetHostPlan], output: Path, undo: Path | None = None, *,
    created: str, inventory: str, limit: str | None = None,
) -> dict[Path, Rendered]:
    """The fleet playbook (one block per host, each its own plan) and its undo."""
    env = environment()
    undo = undo or undo_path_for(output)
    blocks = []
    for h in hosts:
        drop_ins: dict[str, str] = {}
        starts: list[UndoStart] = []
        stop_first: list[StopFirst] = []
        if h.plan is not None:
            drop_ins = {a.drop_in.path: render_drop_in(env, h.plan, a.drop_in.path)
                        for a in h.plan.actions if a.drop_in is not None}
            starts = undo_starts(h.plan)
            stop_first = undo_stops_first(h.plan, starts)
        blocks.append(_FleetBlock(h.host, h.plan, h.absent, h.why, h.planned, drop_ins,
                                  starts, stop_first))
    template = env.get_template("playbook-fleet.yml.j2")
    common = {"unit": unit, "hosts": blocks, "created": created, "inventory": inventory,
              "limit": limit}
    return {
        output: Rendered(template.render(**common, undo=False, other=Quoted(str(undo)))),
        undo: Rendered(template.render(**common, undo=True, other=Quoted(str(output)))),
    }


def render_script(plan: Plan) -> str:
    """The remediation script alone (tests, the wizard's preview)."""
    outputs = render_outputs(plan, "script", Path("plan.sh"))
    return outputs[Path("plan.sh")].text


def render_undo(plan: Plan) -> str:
    """The undo script alone."""
    outputs = render_outputs(plan, "script", Path("plan.sh"))
    return outputs[Path("plan.undo.sh")].text
