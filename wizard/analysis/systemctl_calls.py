"""systemctl command lines: which units a shell command or an Exec line starts.

Parses command lines the way a shell would split them (shlex), so that
``sh -c 'sleep 5; systemctl restart widget'`` is understood as well as a
plain ``ExecStart=/bin/systemctl start widget.service``. The unit graph, the
timeline and the collector use it; the ``external`` kind explains what it finds.
"""

from __future__ import annotations

import os
import shlex

from wizard.model.frozen import frozen
from wizard.model.snapshots import CronEntry, ExecCommand, SystemSnapshot
from wizard.model.unit_names import has_unit_suffix

# Verbs that start a stopped unit, and verbs that only act on a running one.
START_VERBS = frozenset({"start", "restart", "reload-or-restart", "isolate"})
RUNNING_ONLY_VERBS = frozenset(
    {"try-restart", "condrestart", "force-reload", "try-reload-or-restart"}
)
# systemctl options that take a value in the next word (systemctl(1)).
_OPTIONS_WITH_VALUE = frozenset(
    {
        "-t", "--type", "-p", "--property", "--state", "-s", "--signal", "--job-mode",
        "--root", "-n", "--lines", "-o", "--output", "--kill-whom", "--kill-value",
        "-H", "--host", "-M", "--machine", "--what", "--timestamp", "--boot-loader-menu",
        "--boot-loader-entry", "--reboot-argument", "--message", "--image", "--preset-mode",
        "--drop-in", "--when", "--marked",
    }
)
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "busybox"})
_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "\n", "(", ")", "|&"})


@frozen
class SystemctlCall:
    """One ``systemctl VERB UNIT`` found in a command line."""

    verb: str
    unit: str
    user_scope: bool
    revives_stopped: bool
    command: str


def _split_commands(text: str) -> list[list[str]]:
    lexer = shlex.shlex(text.replace("\n", " ; "), posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    try:
        for token in lexer:
            if token in _SEPARATORS or set(token) <= set(";&|()"):
                commands.append([])
            else:
                commands[-1].append(token)
    except ValueError:
        return [text.split()]  # unbalanced quotes: fall back to plain words
    return [c for c in commands if c]


def _calls_in_words(words: list[str], command: str) -> list[SystemctlCall]:
    calls: list[SystemctlCall] = []
    for index, word in enumerate(words):
        base = os.path.basename(word)
        if base in _SHELLS and "-c" in words[index + 1 : index + 3]:
            script_at = words.index("-c", index + 1) + 1
            if script_at < len(words):
                calls.extend(systemctl_calls(words[script_at]))
            return calls
        if base != "systemctl":
            continue
        args = words[index + 1 :]
        verb = ""
        units: list[str] = []
        user_scope = False
        now = False
        skip = False
        for arg in args:
            if skip:
                skip = False
                continue
            if arg in ("--user",):
                user_scope = True
            elif arg == "--now":
                now = True
            elif arg in _OPTIONS_WITH_VALUE:
                skip = True
            elif arg.startswith("-"):
                continue
            elif not verb:
                verb = arg
            else:
                units.append(arg)
        if verb == "enable" and now:
            verb = "start"  # enable --now starts the unit as well
        if verb not in START_VERBS | RUNNING_ONLY_VERBS:
            continue
        for unit in units:
            name = unit if has_unit_suffix(unit) else f"{unit}.service"
            calls.append(
                SystemctlCall(verb, name, user_scope, verb in START_VERBS, command)
            )
    return calls


def systemctl_calls(command: str) -> list[SystemctlCall]:
    """Every ``systemctl start``-like call in a shell command line."""
    calls: list[SystemctlCall] = []
    for words in _split_commands(command):
        calls.extend(_calls_in_words(words, command))
    return calls


def exec_calls(command: ExecCommand) -> list[SystemctlCall]:
    """The systemctl calls an Exec*= line makes (argv is already split)."""
    text = shlex.join(command.argv) if command.argv else command.path
    calls = _calls_in_words(list(command.argv) or [command.path], text)
    return calls


# A word systemd or a shell expands before systemctl sees it (a specifier such as
# %i, a $VARIABLE, a glob) may name any unit; a line holding one is a candidate always.
_EXPANDING = frozenset("%$*?[")
_WORD_BREAKS = str.maketrans({c: " " for c in "\"';&|()<>`"})


def unit_file_call_names(text: str, needle: str = "systemctl") -> frozenset[str] | None:
    """The unit names a unit file's ``systemctl`` lines could start, or None for any unit.

    A cheap over-approximation used before a unit is loaded over D-Bus: every
    word of every line holding ``needle`` (continuation lines joined), each as
    systemctl would read it (a bare word is a .service). None when such a line
    holds a word that expands (%, $ or a glob), whose unit cannot be told from
    the file.
    """
    names: set[str] = set()
    for line in text.replace("\\\n", " ").splitlines():
        if needle not in line:
            continue
        if _EXPANDING.intersection(line):
            return None
        for word in line.translate(_WORD_BREAKS).split():
            # Every reading of the word: as written, after an Exec*= or --opt=,
            # and unquoted (a shell drops backslashes; unit names keep \x2d).
            for form in {word, word.rpartition("=")[2], word.replace("\\", "")}:
                if form:
                    names.add(form if has_unit_suffix(form) else f"{form}.service")
    return frozenset(names)


@frozen
class UnitCaller:
    """A unit whose Exec line starts another unit."""

    caller: str
    command: ExecCommand
    call: SystemctlCall


@frozen
class CronCaller:
    """A crontab line that starts a unit."""

    entry: CronEntry
    call: SystemctlCall

    @property
    def node(self) -> str:
        """How the walk names this caller: its file and line."""
        return f"{self.entry.file}:{self.entry.line_number}"


def unit_callers(snapshot: SystemSnapshot) -> dict[str, list[UnitCaller]]:
    """For each called unit name, the units whose Exec lines start it."""
    user_scope = snapshot.manager.scope == "user"
    index: dict[str, list[UnitCaller]] = {}
    for unit in snapshot.units.values():
        commands: tuple[ExecCommand, ...] = ()
        if unit.service is not None:
            commands = unit.service.exec_commands
        elif unit.socket is not None:
            commands = unit.socket.exec_commands
        for command in commands:
            for call in exec_calls(command):
                if call.user_scope == user_scope:
                    index.setdefault(call.unit, []).append(UnitCaller(unit.name, command, call))
    return index


def cron_callers(snapshot: SystemSnapshot) -> dict[str, list[CronCaller]]:
    """For each called unit name, the crontab lines that start it."""
    user_scope = snapshot.manager.scope == "user"
    index: dict[str, list[CronCaller]] = {}
    for entry in snapshot.cron_entries:
        for call in systemctl_calls(entry.command):
            if call.user_scope == user_scope:
                index.setdefault(call.unit, []).append(CronCaller(entry, call))
    return index
