"""The man page and bash and zsh completions, generated from ``wizard.cli.parser.build_parser()``.

Every command, option, choice and help text comes from the one CLI definition, so a
new subcommand appears in all three after ``make docs``; only the prose around them
(description, files, examples) is written here. ``python -m docgen.cli_docs`` writes
the files under ``share/``; ``--check`` reports the ones that differ.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wizard import __version__, errors
from wizard.lab import nspawn as lab
from wizard.plan.build import HOLD_DROP_IN, RECORD_DIR, RESTART_DROP_IN
from wizard.system import host_files

MAN_PAGE = Path("share/man/man1/staydown.1")
BASH_COMPLETION = Path("share/bash-completion/completions/staydown")
ZSH_COMPLETION = Path("share/zsh/site-functions/_staydown")
# str.format text ({{ }} escape bash braces); outside the wheel, like this module.
BASH_TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "docgen" / "staydown.bash.in"

# Words that end up in shell code unquoted: command names, option flags, choices and
# scenario names. Anything else is refused rather than escaped.
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_.@:+=,-]+$")
_DEFAULT_GROUPS = ("options", "optional arguments", "positional arguments")


@dataclass(frozen=True)
class Option:
    """One optional argument (``--format FORMAT``) as the parser defines it."""

    flags: tuple[str, ...]
    dest: str
    metavar: str
    help: str
    choices: tuple[str, ...]
    takes_value: bool
    group: str
    ident: int = field(default=0, compare=False)
    """The argparse action's id: one parent parser's option is the same action everywhere."""

    @property
    def name(self) -> str:
        """The longest flag, which names the option in prose."""
        return max(self.flags, key=len)


@dataclass(frozen=True)
class Positional:
    """One positional argument (``UNIT``)."""

    dest: str
    metavar: str
    help: str
    nargs: str
    choices: tuple[str, ...]

    @property
    def optional(self) -> bool:
        """Whether it may be left out."""
        return self.nargs in ("?", "*", argparse.REMAINDER)

    @property
    def remainder(self) -> bool:
        """Whether it swallows the rest of the command line (``lab exec -- CMD``)."""
        return self.nargs == argparse.REMAINDER


@dataclass(frozen=True)
class Command:
    """A parser and its subcommands: ``()`` is staydown itself, ``("lab", "up")`` a leaf."""

    path: tuple[str, ...]
    summary: str
    description: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]
    exclusive: tuple[tuple[str, ...], ...]
    commands: tuple[Command, ...]
    subcommand_metavar: str
    empty_groups: tuple[str, ...] = ()
    """Titled argument groups left empty: argparse before 3.12 moves the options of a
    mutually exclusive group inherited from a parent parser out of its titled group."""

    @property
    def key(self) -> str:
        """The path as the completion scripts spell it: ``""``, ``"lab up"``."""
        return " ".join(self.path)

    def walk(self) -> Iterator[Command]:
        """The command itself and every command below it, parents first."""
        yield self
        for command in self.commands:
            yield from command.walk()

    def find(self, path: Sequence[str]) -> Command | None:
        """The command at ``path`` below this one."""
        for command in self.walk():
            if command.path == tuple(path):
                return command
        return None


# -- reading the parser ---------------------------------------------------------------


def _help_text(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%" in text:
        params = {**vars(action), "prog": prog}
        if action.choices is not None:
            params["choices"] = ", ".join(map(str, action.choices))
        text = text % params
    return " ".join(text.split())


def _default_text(action: argparse.Action) -> str:
    """For an option without help text, at least its default value."""
    if action.nargs != 0 and isinstance(action.default, str) and action.default:
        return f"default: {action.default}"
    return ""


def _choices(action: argparse.Action) -> tuple[str, ...]:
    return tuple(str(c) for c in action.choices) if action.choices is not None else ()


def _nargs(action: argparse.Action) -> str:
    return "1" if action.nargs is None else str(action.nargs)


def command_tree(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (), summary: str = ""
) -> Command:
    """The parser as plain values: options, positionals and subcommands, recursively."""
    group_of: dict[int, str] = {}
    for group in parser._action_groups:
        for action in group._group_actions:
            group_of[id(action)] = group.title or "options"
    options: list[Option] = []
    positionals: list[Positional] = []
    commands: list[Command] = []
    subcommand_metavar = ""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            subcommand_metavar = str(action.metavar or "COMMAND")
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            seen: set[int] = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:
                    continue  # an alias of a command listed already
                seen.add(id(sub))
                commands.append(command_tree(sub, (*path, name), helps.get(name, "")))
            continue
        if action.help == argparse.SUPPRESS:
            continue
        if action.option_strings:
            options.append(Option(
                flags=tuple(action.option_strings),
                dest=action.dest,
                metavar=str(action.metavar or action.dest.upper()),
                help=_help_text(action, parser.prog) or _default_text(action),
                choices=_choices(action),
                takes_value=action.nargs != 0,
                group=group_of.get(id(action), "options"),
                ident=id(action),
            ))
        else:
            positionals.append(Positional(
                dest=action.dest,
                metavar=str(action.metavar or action.dest),
                help=_help_text(action, parser.prog),
                nargs=_nargs(action),
                choices=_choices(action),
            ))
    exclusive = tuple(
        tuple(flag for a in group._group_actions for flag in a.option_strings)
        for group in parser._mutually_exclusive_groups
    )
    return Command(
        path=path,
        summary=" ".join(summary.split()),
        description=" ".join((parser.description or "").split()),
        options=tuple(options),
        positionals=tuple(positionals),
        exclusive=exclusive,
        commands=tuple(commands),
        subcommand_metavar=subcommand_metavar,
        empty_groups=tuple(g.title for g in parser._action_groups
                           if g.title and not g._group_actions),
    )


def default_command() -> str:
    """The command ``staydown UNIT`` runs, as the CLI itself decides it."""
    from wizard.cli.parser import with_default_command

    return with_default_command(["unit-name"])[0]


def exit_codes() -> list[tuple[int, str, str]]:
    """ExitCode names, aliases included, with the docstring under each (read from the source)."""
    tree = ast.parse(inspect.getsource(errors))
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "ExitCode":
            body = node.body
            for statement, following in zip(body, [*body[1:], None], strict=True):
                if not (isinstance(statement, ast.Assign)
                        and isinstance(statement.targets[0], ast.Name)):
                    continue
                name = statement.targets[0].id
                doc = ""
                if (isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                        and isinstance(following.value.value, str)):
                    doc = " ".join(following.value.value.split())
                found.append((int(errors.ExitCode[name]), name, doc))
    return found


def scenario_names() -> list[str]:
    """Every lab scenario shipped with staydown."""
    return [scenario.name for scenario in lab.list_scenarios()]


def shared_groups(root: Command) -> dict[str, tuple[Option, ...]]:
    """Options that several commands take from one parent parser (the connection options).

    They are the same argparse actions in every command that has them. Their
    section is titled by their argument group, or, where argparse lost it, by the
    one titled group all those commands have left empty.
    """
    global_flags = {f for o in root.options for f in o.flags}
    users: dict[int, list[Command]] = {}
    by_ident: dict[int, Option] = {}
    for command in root.walk():
        if not command.path:
            continue
        for option in command.options:
            if not set(option.flags) & global_flags:
                users.setdefault(option.ident, []).append(command)
                by_ident.setdefault(option.ident, option)
    sections: dict[str, list[Option]] = {}
    for ident, commands in users.items():
        if len(commands) < 2:
            continue
        option = by_ident[ident]
        title = option.group
        if title in _DEFAULT_GROUPS:
            common = set.intersection(*(set(c.empty_groups) for c in commands))
            title = sorted(common)[0] if len(common) == 1 else "shared options"
        sections.setdefault(title, []).append(option)
    return {title: tuple(options) for title, options in sections.items()}


def _in_section(option: Option, section: Sequence[Option]) -> bool:
    return any(option.ident == other.ident for other in section)


def _own_options(command: Command, root: Command, shared: dict[str, tuple[Option, ...]]
                 ) -> tuple[Option, ...]:
    """The options a command's man page entry lists itself: not the global or shared ones."""
    if not command.path:
        return root.options
    global_flags = {f for o in root.options for f in o.flags}
    return tuple(o for o in command.options
                 if not any(_in_section(o, section) for section in shared.values())
                 and not set(o.flags) & global_flags)


# -- roff -----------------------------------------------------------------------------


def roff(text: str) -> str:
    """Text safe for a roff line: backslashes, hyphens, non-ASCII, `code` in bold."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return "\\&" + text if text.startswith((".", "'")) else text


def _flag_roff(option: Option) -> str:
    flags = ", ".join(f"\\fB{roff(f)}\\fR" for f in option.flags)
    if option.takes_value:
        value = "{" + ",".join(option.choices) + "}" if option.choices else option.metavar
        flags += f" \\fI{roff(value)}\\fR"
    return flags


def _synopsis_tail(command: Command) -> str:
    """What follows ``staydown`` in a command's synopsis, in roff."""
    words = [f"\\fB{roff(command.key)}\\fR"]
    if command.options:
        words.append("[\\fIOPTIONS\\fR]")
    for positional in command.positionals:
        name = f"\\fI{roff(positional.metavar)}\\fR"
        if positional.remainder:
            rest = roff(positional.metavar.removeprefix("-- "))
            words.append(f"[\\fB\\-\\-\\fR] \\fI{rest}\\fR...")
        else:
            words.append(f"[{name}]" if positional.optional else name)
    if command.commands:
        words.append(f"\\fI{roff(command.subcommand_metavar)}\\fR ...")
    return " ".join(words)


def _option_entries(options: Sequence[Option], exclusive: Sequence[Sequence[str]]) -> list[str]:
    lines: list[str] = []
    for option in options:
        lines += [".TP", _flag_roff(option)]
        if option.help:
            lines.append(roff(option.help))
        if option.choices and option.takes_value:
            lines.append(f"One of: {roff(', '.join(option.choices))}.")
    for flags in exclusive:
        names = [f for f in flags if f.startswith("--")]
        if len(names) > 1 and all(any(n in o.flags for o in options) for n in names):
            lines += [".PP", "At most one of " + ", ".join(f"\\fB{roff(n)}\\fR" for n in names)
                      + " may be given."]
    return lines


def render_man_page(root: Command) -> str:
    """staydown(1) in the man macro package."""
    shared = shared_groups(root)
    leaves = [c for c in root.walk() if c.path and not c.commands]
    default = default_command()
    summary = root.description.rstrip(".")
    lines = [
        '.\\" Generated from wizard.cli.parser.build_parser() by docgen/cli_docs.py: do not edit,',
        '.\\" run "make docs" instead.',
        f'.TH STAYDOWN 1 "" "staydown {roff(__version__)}" "User Commands"',
        ".SH NAME",
        "staydown \\- " + roff(summary[:1].lower() + summary[1:]),
        ".SH SYNOPSIS",
        ".nf",
        "\\fBstaydown\\fR [\\fIGLOBAL OPTIONS\\fR] [\\fIUNIT\\fR]",
    ]
    lines += [f"\\fBstaydown\\fR [\\fIGLOBAL OPTIONS\\fR] {_synopsis_tail(c)}" for c in leaves]
    lines += [
        ".fi",
        ".SH DESCRIPTION",
        roff(root.description),
        ".PP",
        roff("A stopped unit comes back because something starts it: its own restart policy, "
             "a socket, path, timer or automount unit, a D-Bus activation file, a unit that "
             "pulls it in, Upholds=, OnFailure= or OnSuccess=, a command or cron job that runs "
             "systemctl start, or its enablement at the next boot. staydown reads the unit "
             "and everything around it over D-Bus, walks each chain up to the thing that keeps "
             "firing, and explains each finding in plain words, in the order of the article "
             "\"The systemd Unit That Refused to Stay Dead\"."),
        ".PP",
        roff(f"staydown UNIT is short for staydown {default} UNIT. The diagnose and plan "
             "commands only read; the wizard changes the system only when asked to apply its "
             "plan, as root. Every plan is a script to review, with an undo script beside it."),
        ".SH COMMANDS",
    ]
    for command in root.walk():
        if not command.path:
            continue
        lines.append('.SS "staydown ' + _synopsis_tail(command).replace('"', "\\(dq") + '"')
        lines.append(roff(command.description or command.summary or ""))
        if command.commands:
            for child in command.commands:
                lines += [".TP", f"\\fB{roff(child.path[-1])}\\fR", roff(child.summary)]
            continue
        for positional in command.positionals:
            lines += [".TP", f"\\fI{roff(positional.metavar)}\\fR"]
            if positional.help:
                lines.append(roff(positional.help))
        lines += _option_entries(_own_options(command, root, shared), command.exclusive)
        for title, section in shared.items():
            if any(_in_section(o, section) for o in command.options):
                lines += [".PP", f"Also takes the options of \\fI{roff(title)}\\fR "
                          "(see OPTIONS)."]
    lines.append(".SH OPTIONS")
    lines.append(".SS Global options")
    after = [o for o in root.options if o.name not in ("--help", "--version")]
    missing = [c.key for c in leaves
               if not all(set(o.flags) & {f for co in c.options for f in co.flags}
                          for o in after)]
    sentence = "These go before the command."
    if after:
        sentence += (" " + ", ".join(o.name for o in after) + " may also follow it"
                     + (f", except after {', '.join(missing)}." if missing else "."))
    lines.append(roff(sentence))
    lines += _option_entries(root.options, root.exclusive)
    for title, options in shared.items():
        users = [c for c in root.walk()
                 if c.path and any(_in_section(o, options) for o in c.options)]
        lines += [f'.SS "{roff(title[:1].upper() + title[1:])}"',
                  roff(f"Accepted by {', '.join(c.key for c in users)}.")]
        lines += _option_entries(options, users[0].exclusive)
    lines += _connections_section()
    lines.append(".SH EXIT STATUS")
    by_code: dict[int, list[tuple[str, str]]] = {}
    for code, name, doc in exit_codes():  # an alias (two names, one status) shares its entry
        by_code.setdefault(code, []).append((name, doc))
    for code, entries in by_code.items():
        lines += [".TP", f"\\fB{code}\\fR"]
        for index, (name, doc) in enumerate(entries):
            lines += [".br"] if index else []
            lines.append(f"\\fB{roff(name)}\\fR: {roff(doc)}")
    lines += [
        ".PP",
        roff("The scripts staydown writes have exit statuses of their own: 0 done and "
             "verified, 1 a step failed or not root, 2 bad arguments, 3 the host changed "
             "since the plan was made, 4 the final check failed."),
        ".SH ENVIRONMENT",
        ".TP", "\\fBSTAYDOWN_LAB_DIR\\fR",
        roff("Where lab state is kept (default /run/staydown/labs)."),
        ".TP", "\\fBSTAYDOWN_OS_TREE_DIR\\fR",
        roff("Where lab up --os caches its Debian trees (default /var/cache/staydown/os-trees)."),
        ".TP", "\\fBSTAYDOWN_DEBIAN_MIRROR\\fR",
        roff("The Debian mirror mmdebstrap builds them from (default http://deb.debian.org/debian)."),
        ".TP", "\\fBSTAYDOWN_SETTLE_SECONDS\\fR",
        roff("Read by the generated scripts: how long to wait before the final check "
             "(default 2)."),
        ".SH FILES",
        ".TP", roff("staydown-UNIT.sh, staydown-UNIT.undo.sh, staydown-UNIT.yml, staydown-UNIT.d/"),
        roff("What plan and the wizard write by default, in the current directory "
             "(-o and --undo choose other paths)."),
        ".TP", roff(f"{RECORD_DIR}/PLAN-ID.done, {RECORD_DIR}/PLAN-ID.links"),
        roff("The record a plan's script keeps of every change, which its undo script "
             "reverses."),
        ".TP", roff(f"/run/systemd/system/UNIT.d/{HOLD_DROP_IN}, "
                    f"/etc/systemd/system/UNIT.d/{HOLD_DROP_IN}"),
        roff("A hold: a drop-in whose condition is never true, written where systemctl mask "
             f"would fail or be shadowed. {RESTART_DROP_IN} sets Restart=no."),
        ".TP", roff(", ".join((*host_files.CRON_SYSTEM_FILES, *host_files.CRON_DIRS_WITH_USER,
                               *host_files.CRON_USER_SPOOLS))),
        roff("Crontabs read for lines that run systemctl start."),
        ".TP", roff(", ".join(host_files.SYSTEM_DBUS_DIRS)),
        roff("D-Bus activation files read for SystemdService= lines."),
        ".TP", roff("~/.config/systemd/user/UNIT.d/, $XDG_RUNTIME_DIR/systemd/user/UNIT.d/, "
                    "~/.local/state/staydown/PLAN-ID.done"),
        roff("The same for a plan --user: its holds and its record."),
        ".TP", roff("/run/staydown/labs/NAME/"),
        roff("The state of a running lab: lab.json and the boot console log."),
        ".TP", roff("/var/cache/staydown/os-trees/NAME-HASH/"),
        roff("A Debian tree for lab up --os, built with mmdebstrap: root/, tree.json and "
             "build.log; rebuilt when its package list changes."),
        ".SH EXAMPLES",
        ".nf",
        roff("sudo staydown widget-daemon                   # the wizard"),
        roff("sudo staydown diagnose widget-daemon --json   # one JSON object"),
        roff("sudo staydown plan widget-daemon --persistent # a script that survives reboots"),
        roff("staydown diagnose --machine web1 nginx        # a local container"),
        roff("staydown diagnose --host ops@db2 postgresql   # over ssh; nothing to install there"),
        roff("staydown plan --user syncthing                # a script for your user manager"),
        roff("sudo staydown lab up --scenario article        # a systemd to practise on"),
        roff("sudo staydown diagnose --lab default widget-daemon"),
        roff("sudo staydown lab up --os trixie --bus dbus-broker --name t  # systemd 257"),
        ".fi",
        ".SH SEE ALSO",
        ".BR systemctl (1),",
        ".BR journalctl (1),",
        ".BR systemd.unit (5),",
        ".BR systemd.service (5),",
        ".BR systemd.socket (5),",
        ".BR systemd.path (5),",
        ".BR systemd.timer (5),",
        ".BR systemd.automount (5),",
        ".BR systemd\\-nspawn (1),",
        ".BR dbus\\-daemon (1),",
        ".BR crontab (5)",
        ".PP",
        roff("The tutorial and one reference page per way back are in the docs/ directory of "
             "the source: docs/tutorial.md, docs/kinds/."),
    ]
    return "\n".join(lines) + "\n"


# What each connection reads, for WHICH SYSTEMD (README.md has the same in a table).
CONNECTIONS = (
    ("(default)", "The system manager on the system bus; files under /; the journal with "
     "journalctl. The plan runs here, as root."),
    ("--user", "Your own manager on your session bus ($XDG_RUNTIME_DIR/bus); your user unit "
     "directories, your crontab (crontab -l, else the spool file if you may read it), "
     "session-bus activation files; the user journal (journalctl --user). The plan uses "
     "systemctl --user, writes under ~/.config/systemd/user or $XDG_RUNTIME_DIR/systemd/user "
     "and refuses to run as root or as another user; --format ansible is refused."),
    ("--machine NAME", "A container registered with systemd-machined: its bus through "
     "machined, its files under /proc/LEADER/root (absolute links resolved inside it), its "
     "journal with journalctl -M. Needs root. The plan runs inside the container."),
    ("--host [USER@]HOST[:PORT]", "One ssh connection per run (a ControlMaster in a private "
     "directory, closed at exit): the bus through systemd-stdio-bridge on the host; unit "
     "files, crontabs and D-Bus activation files scanned there by one sh and grep script "
     "that sends back only matching lines, and the paths of Condition*= tested there; "
     "journalctl -o json there (watch follows "
     "journalctl --follow there). Your ssh configuration applies; --ssh-option adds -o "
     "options. The host needs sshd, systemd, sh, grep, sed, head and journalctl. What the "
     "ssh user may not read is named in a note. The plan fingerprints the host's files and "
     "is meant to be copied there and run as root. Monotonic timer deadlines are not turned "
     "into wall-clock times, and --since is measured on this machine's clock."),
    ("--bus ADDRESS", "Only the bus: files and journal are not read, which the output notes."),
    ("--lab NAME", "A running lab: its bus, its files under its root, journalctl --root."),
)


def _connections_section() -> list[str]:
    lines = [".SH WHICH SYSTEMD",
             roff("Each command reads the manager over D-Bus, the files D-Bus cannot describe "
                  "(unit files scanned for systemctl, crontabs, D-Bus activation files) and "
                  "the journal, from wherever that system keeps them. What cannot be read is "
                  "named in a note (notes in --json); it never silently makes a finding not "
                  "live.")]
    for option, text in CONNECTIONS:
        lines += [".TP", f"\\fB{roff(option)}\\fR", roff(text)]
    return lines


# -- completions ----------------------------------------------------------------------


def safe_words(words: Sequence[str]) -> str:
    """The words joined for a completion script; a word that would need quoting is refused."""
    for word in words:
        if not _SAFE_WORD.match(word):
            raise ValueError(f"{word!r} cannot go into a completion script unquoted")
    return " ".join(words)


def value_kind(command: Command, option: Option) -> str:
    """What an option's value is, for completion: choices, scenario, lab, machine, file."""
    if option.choices:
        return "choices"
    if option.dest == "scenario":
        return "scenario"
    if option.dest == "lab" or (command.path[:1] == ("lab",) and option.dest == "name"
                                and command.path != ("lab", "up")):
        return "lab"
    if option.dest == "machine":
        return "machine"
    if option.metavar in ("FILE", "PATH"):
        return "file"
    return "none"


def positional_kind(positional: Positional) -> str:
    """What a positional argument is, for completion."""
    if positional.choices:
        return "choices"
    if positional.remainder:
        return "command"
    if positional.metavar == "UNIT":
        return "unit"
    return "none"


def render_bash_completion(root: Command) -> str:
    """A bash completion script: ``complete -F _staydown staydown``."""
    default = default_command()
    scenarios = safe_words(scenario_names())
    commands, options, valued, values, positional = [], [], [], [], []
    for command in root.walk():
        key = f'"{command.key}"'
        if command.commands:
            names = safe_words([c.path[-1] for c in command.commands])
            commands.append(f"        {key}) words=({names}) ;;")
        flags = [f for o in command.options for f in o.flags]
        options.append(f"        {key}) words=({safe_words(flags)}) ;;")
        takes = [f for o in command.options if o.takes_value for f in o.flags]
        if takes:
            valued.append(f"        {key}) words=({safe_words(takes)}) ;;")
        for option in command.options:
            if not option.takes_value:
                continue
            kind = value_kind(command, option)
            pattern = "|".join(f'"{command.key}:{f}"' for f in option.flags)
            action = {
                "choices": f"_staydown_words {safe_words(option.choices)}",
                "scenario": f"_staydown_words {scenarios}",
                "lab": "_staydown_labs",
                "machine": "_staydown_machines",
                "file": "_staydown_files",
                "none": ":",
            }[kind]
            values.append(f"        {pattern}) {action} ;;")
        kinds = [positional_kind(p) for p in command.positionals]
        if kinds:
            positional.append(f"        {key}) kinds=({' '.join(kinds)}) ;;")
    return BASH_TEMPLATE.read_text().format(
        default=default,
        commands="\n".join(commands),
        options="\n".join(options),
        valued="\n".join(valued),
        values="\n".join(values),
        positional="\n".join(positional),
    )




def _zsh_description(text: str) -> str:
    """Text for the [description] of an _arguments spec, inside single quotes."""
    text = re.sub(r"([\[\]\\])", r"\\\1", text)
    return text.replace("'", "'\\''")


def _zsh_message(text: str) -> str:
    """Text for the :message: of an _arguments spec, inside single quotes."""
    text = re.sub(r"([:\\])", r"\\\1", text)
    return text.replace("'", "'\\''")


def _zsh_option_specs(command: Command) -> list[str]:
    specs: list[str] = []
    exclusive_of: dict[str, set[str]] = {}
    for flags in command.exclusive:
        for flag in flags:
            exclusive_of.setdefault(flag, set()).update(f for f in flags if f != flag)
    for option in command.options:
        description = _zsh_description(option.help or option.name)
        kind = value_kind(command, option)
        action = {
            "choices": f"({safe_words(option.choices)})",
            "scenario": f"({safe_words(scenario_names())})",
            "lab": "_staydown_labs",
            "machine": "_staydown_machines",
            "file": "_files",
            "none": " ",
        }[kind]
        for flag in option.flags:
            excluded = set(exclusive_of.get(flag, ())) | (set(option.flags) - {flag})
            if flag in ("-h", "--help", "--version"):
                prefix = "(- *)"
            elif excluded:
                prefix = "(" + " ".join(sorted(excluded)) + ")"
            else:
                prefix = ""
            if option.takes_value:
                suffix = "+" if not flag.startswith("--") else "="
                value = f":{_zsh_message(option.metavar)}:{action}"
                specs.append(f"'{prefix}{safe_words([flag])}{suffix}[{description}]{value}'")
            else:
                specs.append(f"'{prefix}{safe_words([flag])}[{description}]'")
    return specs


def _zsh_function(command: Command) -> list[str]:
    name = "_staydown_cmd" + "".join("_" + re.sub(r"\W", "_", p) for p in command.path)
    specs = _zsh_option_specs(command)
    if command.commands:
        described = [f"'{safe_words([c.path[-1]])}:{_zsh_description(c.summary)}'"
                     for c in command.commands]
        lines = [f"{name}() {{", "  local curcontext=$curcontext state line ret=1",
                 "  typeset -A opt_args",
                 "  _arguments -C \\"]
        lines += [f"    {spec} \\" for spec in specs]
        lines += ["    ': :->command' \\", "    '*:: :->args' && ret=0", "  case $state in",
                  "    command)",
                  "      local -a commands=(", *[f"        {d}" for d in described], "      )"]
        if not command.path:
            lines += ["      _describe -t commands 'staydown command' commands && ret=0",
                      "      [[ -n $PREFIX ]] && _staydown_units && ret=0"]
        else:
            lines.append(f"      _describe -t commands '{_zsh_message(command.key)} action' "
                         "commands && ret=0")
        lines += ["      ;;", "    args)", "      case $words[1] in"]
        for child in command.commands:
            child_name = "_staydown_cmd" + "".join(
                "_" + re.sub(r"\W", "_", p) for p in child.path)
            lines.append(f"        {safe_words([child.path[-1]])}) {child_name} && ret=0 ;;")
        if not command.path:
            lines.append(f"        *) words=({default_command()} $words); (( CURRENT++ )); "
                         f"_staydown_cmd_{default_command()} && ret=0 ;;")
        lines += ["      esac", "      ;;", "  esac", "  return ret", "}"]
        return lines
    for positional in command.positionals:
        kind = positional_kind(positional)
        action = {"unit": "_staydown_units", "choices": f"({safe_words(positional.choices)})",
                  "command": "_normal", "none": " "}[kind]
        label = _zsh_message(positional.metavar)
        if positional.remainder:
            specs.append(f"'*::{label}:{action}'")
        else:
            specs.append(f"'{':' if positional.optional else ''}:{label}:{action}'")
    lines = [f"{name}() {{", "  _arguments -s -S \\"]
    lines += [f"    {spec} \\" for spec in specs[:-1]]
    lines += [f"    {specs[-1]}" if specs else "    ''", "}"]
    return lines


def render_zsh_completion(root: Command) -> str:
    """A zsh completion function, for a directory in $fpath."""
    lines = [
        "#compdef staydown",
        "# zsh completion for staydown(1).",
        "# Generated from wizard.cli.parser.build_parser() by docgen/cli_docs.py: do not edit,",
        '# run "make docs" instead.',
        "",
        "_staydown_units() {",
        "  local -a scope units",
        "  local i",
        "  (( ${words[(I)--user]} )) && scope+=(--user)",
        "  i=${words[(I)(-M|--machine)]}",
        "  (( i )) && scope+=(--machine ${words[i+1]})",
        "  # a lab, a bus address or a remote host: systemctl cannot list them cheaply",
        "  (( ${words[(I)(--lab|--lab=*|--bus|--bus=*|-H|--host|--host=*)]} )) && return 1",
        "  units=(${${(f)\"$(_call_program units systemctl $scope list-units --all --plain"
        " --no-legend --no-pager 2>/dev/null)\"}%% *})",
        "  units+=(${${(f)\"$(_call_program unit-files systemctl $scope list-unit-files"
        " --no-legend --no-pager 2>/dev/null)\"}%% *})",
        "  units=(${(u)${units:#*@.*}})  # templates run nothing: staydown refuses them",
        "  _wanted units expl unit compadd -a - units",
        "}",
        "",
        "_staydown_labs() {",
        "  local -a labs",
        "  labs=(${STAYDOWN_LAB_DIR:-/run/staydown/labs}/*/lab.json(N:h:t))",
        "  _wanted labs expl 'running lab' compadd -a - labs",
        "}",
        "",
        "_staydown_machines() {",
        "  local -a machines",
        "  machines=(${${(f)\"$(_call_program machines machinectl list --no-legend --no-pager"
        " 2>/dev/null)\"}%% *})",
        "  _wanted machines expl machine compadd -a - machines",
        "}",
        "",
    ]
    for command in root.walk():
        lines += _zsh_function(command)
        lines.append("")
    lines += ['_staydown_cmd "$@"', ""]
    return "\n".join(lines)


# -- files ----------------------------------------------------------------------------


def generated_files(parser: argparse.ArgumentParser | None = None) -> dict[Path, str]:
    """Every generated file, by its path relative to the source tree."""
    if parser is None:
        from wizard.cli.parser import build_parser

        parser = build_parser()
    root = command_tree(parser)
    renderers: dict[Path, Callable[[Command], str]] = {
        MAN_PAGE: render_man_page,
        BASH_COMPLETION: render_bash_completion,
        ZSH_COMPLETION: render_zsh_completion,
    }
    return {path: render(root) for path, render in renderers.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Write the files under a source tree (default: the current directory), or --check them."""
    parser = argparse.ArgumentParser(prog="python -m docgen.cli_docs", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed file differs")
    parser.add_argument("root", nargs="?", default=".", help="the source tree")
    args = parser.parse_args(argv)
    stale = []
    for relative, text in generated_files().items():
        path = Path(args.root) / relative
        current = path.read_text() if path.is_file() else None
        if current == text:
            continue
        stale.append(str(relative))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {relative}")
    if args.check and stale:
        print("out of date (run make docs): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
