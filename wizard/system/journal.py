"""The only reader of the journal: ``journalctl -o json`` in, typed JournalEntry records out.

pystemd has no journal reader, and journalctl already knows every journal
layout (``--root`` for a container's files, ``-M`` for a registered machine,
``--user`` for a user manager's journal), so we run it and parse its JSON.
A journal that cannot be read is a note for the diagnosis, never a crash.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Sequence
from typing import IO, Any

from wizard.model.connection import Connection
from wizard.model.frozen import frozen
from wizard.model.journal_vocabulary import BUS_CALL_FUNCTION, BUS_DAEMON_IDENTIFIERS
from wizard.model.snapshots import JournalEntry
from wizard.system.access import (
    COMMAND_NOT_EXECUTABLE,
    COMMAND_NOT_FOUND,
    LaunchedCommand,
    LocalAccess,
    access_for,
    end_child,
)

# journalctl --output-fields keeps the JSON small; __CURSOR, __REALTIME_TIMESTAMP
# and _BOOT_ID are always included (journalctl(1), --output-fields).
FIELDS = (
    "MESSAGE",
    "MESSAGE_ID",
    "UNIT",
    "USER_UNIT",
    "INVOCATION_ID",
    "USER_INVOCATION_ID",
    "JOB_ID",
    "JOB_TYPE",
    "JOB_RESULT",
    "UNIT_RESULT",
    "EXIT_CODE",
    "EXIT_STATUS",
    "N_RESTARTS",
    "_PID",
    "_COMM",
    "SYSLOG_IDENTIFIER",
    "CODE_FUNC",
    "PRIORITY",
)
DEFAULT_LIMIT = 20000
JOURNALCTL_TIMEOUT = 60.0


@frozen
class JournalSource:
    """How journalctl reaches the journal of one connection's system."""

    options: tuple[str, ...] = ()
    user: bool = False
    """A user manager logs USER_UNIT= and USER_INVOCATION_ID= instead."""
    label: str = "the local journal"
    unavailable: str = ""
    """Why this journal cannot be read from here; empty when it can."""
    connection: Connection | None = None
    """Whose access runs journalctl (over ssh for --host); None: this machine."""

    @property
    def access(self) -> LocalAccess:
        """Where journalctl runs."""
        return access_for(self.connection)


def journal_source(connection: Connection) -> JournalSource:
    """Where the journal of the system behind a connection lives."""
    match connection.transport:
        case "system":
            return JournalSource(label="the system journal")
        case "user":
            return JournalSource(("--user",), user=True, label="your user journal")
        case "machine":
            return JournalSource(
                (f"--machine={connection.target}",), label=f"the journal of {connection.label}"
            )
        case "host":
            # journalctl runs on the host, over the diagnosis's ssh connection.
            return JournalSource(label=f"the journal of {connection.label}",
                                 connection=connection)
    if connection.files_root:
        # --root reads ROOT/var/log/journal and ROOT/run/log/journal, whichever
        # the system's journald uses (a lab keeps it in /var/log/journal).
        return JournalSource(
            (f"--root={connection.files_root}",), label=f"the journal of {connection.label}"
        )
    return JournalSource(
        label=f"the journal of {connection.label}",
        unavailable=f"the journal behind {connection.label} cannot be located (a bare bus "
        "address says nothing about files); use --lab or --machine for the timeline",
    )


@frozen
class JournalRead:
    """What one read of the journal gave: entries, oldest first, and what went wrong."""

    entries: tuple[JournalEntry, ...] = ()
    notes: tuple[str, ...] = ()
    truncated: bool = False
    """True when the limit cut older entries off."""


def match_arguments(units: Iterable[str], source: JournalSource) -> list[str]:
    """Journalctl matches: the manager's entries about these units, or dbus-daemon's.

    No units: everything the manager logs (a watch, which cannot know in advance
    which unit will turn out to matter).

    Matches on one field are ORed, different fields ANDed, ``+`` separates
    alternatives (journalctl(1)). The system manager is PID 1 of its namespace;
    other processes may set UNIT= too, so the system form also asks for _PID=1.
    """
    field = "USER_UNIT" if source.user else "UNIT"
    names = sorted(set(units))
    arguments = [] if source.user else ["_PID=1"]
    arguments += [f"{field}={name}" for name in names]
    if not names and source.user:
        arguments.append(f"_UID={os.getuid()}")
    if not source.user:
        # At debug level the manager logs each incoming bus call (no UNIT=);
        # it tells a `systemctl start` from a trigger.
        arguments += ["+", "_PID=1", f"CODE_FUNC={BUS_CALL_FUNCTION}"]
    for identifier in BUS_DAEMON_IDENTIFIERS:
        arguments += ["+", f"SYSLOG_IDENTIFIER={identifier}"]
    return arguments


def _text(value: Any) -> str:
    # journalctl -o json writes a field that is not valid UTF-8 as an array of
    # byte values, and a field given several times as an array of values.
    if isinstance(value, list):
        if value and all(isinstance(v, int) for v in value):
            return bytes(value).decode("utf-8", errors="replace")
        return _text(value[0]) if value else ""
    return "" if value is None else str(value)


def _number(value: Any) -> int:
    try:
        return int(_text(value))
    except ValueError:
        return 0


def parse_entry(fields: dict[str, Any], *, user: bool = False) -> JournalEntry:
    """One ``journalctl -o json`` object as a JournalEntry."""
    unit_key, invocation_key = ("USER_UNIT", "USER_INVOCATION_ID") if user else (
        "UNIT", "INVOCATION_ID"
    )
    return JournalEntry(
        realtime_usec=_number(fields.get("__REALTIME_TIMESTAMP")),
        message=_text(fields.get("MESSAGE")),
        message_id=_text(fields.get("MESSAGE_ID")),
        unit=_text(fields.get(unit_key)),
        invocation_id=_text(fields.get(invocation_key)),
        job_id=_number(fields.get("JOB_ID")),
        job_type=_text(fields.get("JOB_TYPE")),
        job_result=_text(fields.get("JOB_RESULT")),
        unit_result=_text(fields.get("UNIT_RESULT")),
        exit_code=_text(fields.get("EXIT_CODE")),
        exit_status=_text(fields.get("EXIT_STATUS")),
        n_restarts=_number(fields.get("N_RESTARTS")),
        pid=_number(fields.get("_PID")),
        comm=_text(fields.get("_COMM")),
        syslog_identifier=_text(fields.get("SYSLOG_IDENTIFIER")),
        code_func=_text(fields.get("CODE_FUNC")),
        priority=_number(fields.get("PRIORITY") or 6),
        boot_id=_text(fields.get("_BOOT_ID")),
        cursor=_text(fields.get("__CURSOR")),
    )


def parse_lines(lines: Iterable[bytes | str], *, user: bool = False) -> list[JournalEntry]:
    """Every JSON line journalctl wrote; a line that is not JSON is skipped."""
    entries = []
    for line in lines:
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except ValueError:
            continue
        if isinstance(fields, dict):
            entries.append(parse_entry(fields, user=user))
    return entries


def _command(source: JournalSource) -> list[str]:
    return [
        "journalctl",
        *source.options,
        "--no-pager",
        "--quiet",
        "--output=json",
        f"--output-fields={','.join(FIELDS)}",
    ]


def _since(usec: int) -> str:
    # journalctl takes "@SECONDS" with a fraction (systemd.time(7)).
    return f"--since=@{usec // 1_000_000}.{usec % 1_000_000:06d}"


def _problem(source: JournalSource, returncode: int, stderr: str) -> str | None:
    text = stderr.strip()
    if "ermission denied" in text or "insufficient permissions" in text:
        return (
            f"{source.label} could not be read (permission denied), so there is no timeline; "
            "run staydown as root or as a member of the systemd-journal group"
        )
    if "not seeing messages from other users and the system" in text:
        return (
            f"{source.label} was read without permission for the system's entries, so the "
            "timeline may be empty; run as root or in the systemd-journal group"
        )
    if returncode != 0:
        last = text.splitlines()[-1] if text else f"exit status {returncode}"
        return f"{source.label} could not be read: {last}"
    return None


def read_journal(
    source: JournalSource,
    units: Sequence[str],
    since_usec: int,
    *,
    limit: int = DEFAULT_LIMIT,
    until_usec: int | None = None,
) -> JournalRead:
    """The manager's entries about ``units`` (and dbus-daemon's) since a moment, oldest first.

    At most ``limit`` entries, the newest ones; ``truncated`` says when older
    ones were left out.
    """
    return start_journal_read(source, units, since_usec, limit=limit,
                              until_usec=until_usec).result()


def start_journal_read(
    source: JournalSource,
    units: Sequence[str],
    since_usec: int,
    *,
    limit: int = DEFAULT_LIMIT,
    until_usec: int | None = None,
) -> JournalReading:
    """:func:`read_journal`, with journalctl started now and its entries read later.

    journalctl runs while the caller goes on (diagnose: the analysis), and
    :meth:`JournalReading.result` waits for it.
    """
    if source.unavailable:
        return JournalReading(source, limit, JournalRead(notes=(source.unavailable,)))
    # --lines counts from --since onwards; --reverse makes it keep the newest.
    command = [*_command(source), _since(since_usec), f"--lines={limit}", "--reverse"]
    if until_usec is not None:
        command.append(f"--until=@{until_usec // 1_000_000}.{until_usec % 1_000_000:06d}")
    command += match_arguments(units, source)
    return JournalReading(source, limit, source.access.launch(command))


class JournalReading:
    """A read of the journal under way (:func:`start_journal_read`)."""

    def __init__(self, source: JournalSource, limit: int,
                 started: LaunchedCommand | JournalRead) -> None:
        self.source = source
        self._limit = limit
        self._started = started

    def result(self) -> JournalRead:
        """The entries, oldest first, once journalctl is done; a problem is a note."""
        if isinstance(self._started, JournalRead):
            return self._started
        source, access = self.source, self.source.access
        try:
            done = self._started.output(timeout=JOURNALCTL_TIMEOUT)
        except subprocess.TimeoutExpired:
            return JournalRead(notes=(f"{source.label} took longer than "
                                      f"{JOURNALCTL_TIMEOUT:.0f}s to read, so there is no "
                                      "timeline",))
        if done.returncode in (COMMAND_NOT_FOUND, COMMAND_NOT_EXECUTABLE):
            # Asked after the fact rather than with has_program() first: one process
            # (or ssh round trip) less, and no shutil on diagnose's path.
            where = access.label if access.remote else "here"
            return JournalRead(notes=(f"journalctl is not installed on {where}, so there is "
                                      "no timeline",))
        entries = parse_lines(reversed(done.stdout.splitlines()), user=source.user)
        notes = []
        problem = _problem(source, done.returncode, done.stderr)
        if problem and not (entries and done.returncode == 0):
            notes.append(problem)
        return JournalRead(tuple(entries), tuple(notes), len(entries) >= self._limit)


class JournalFollower:
    """``journalctl --follow`` as a non-blocking stream of entries (for watch).

    Started before anything is provoked, from a moment in the past, so that
    nothing written while journalctl starts up is missed. Only the journalctl
    process it started is ever stopped, through its own Popen handle.
    """

    def __init__(self, source: JournalSource, units: Sequence[str], since_usec: int) -> None:
        self.source = source
        self._units = tuple(units)
        self._since_usec = since_usec
        self._process: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self.note = source.unavailable
        self._newest = ""
        """The cursor of the newest entry handed on, by the stream or a catch-up."""
        self._caught_up: set[str] = set()
        """Cursors a catch-up handed on that the stream has not repeated yet."""

    def start(self) -> None:
        """Start journalctl; a journal that cannot be followed leaves a note."""
        if self.note:
            return
        access = self.source.access
        if not access.has_program("journalctl"):
            where = access.label if access.remote else "here"
            self.note = f"journalctl is not installed on {where}; the watch uses D-Bus " \
                "signals only"
            return
        command = [*_command(self.source), "--follow", "--lines=all", _since(self._since_usec),
                   *match_arguments(self._units, self.source)]
        self._process = access.popen(command)
        assert self._process.stdout is not None
        os.set_blocking(self._process.stdout.fileno(), False)

    def fileno(self) -> int | None:
        """The pipe to wait on with select(), or None when not following."""
        stdout = self._stdout()
        return stdout.fileno() if stdout is not None else None

    def _stdout(self) -> IO[bytes] | None:
        return self._process.stdout if self._process is not None else None

    def read_available(self) -> list[JournalEntry]:
        """Every entry written since the last call, without blocking."""
        stdout = self._stdout()
        if stdout is None or self._process is None:
            return []
        chunks = []
        while True:
            try:
                chunk = os.read(stdout.fileno(), 65536)
            except BlockingIOError:
                break
            if not chunk:
                if self._process.poll() is not None and not self.note:
                    stderr = self._process.stderr.read() if self._process.stderr else b""
                    problem = _problem(self.source, self._process.returncode or 1,
                                       stderr.decode("utf-8", errors="replace"))
                    self.note = problem or f"{self.source.label} stopped being followed"
                break
            chunks.append(chunk)
        data = self._pending + b"".join(chunks)
        lines = data.split(b"\n")
        self._pending = lines.pop()
        entries = []
        for entry in parse_lines(lines, user=self.source.user):
            if entry.cursor in self._caught_up:
                self._caught_up.discard(entry.cursor)  # handed on already
                continue
            entries.append(entry)
            self._newest = entry.cursor or self._newest
        return entries

    @property
    def can_catch_up(self) -> bool:
        """Whether catch_up() can read: following, and on this machine (no ssh round trips)."""
        return self._process is not None and not self.source.access.remote

    def catch_up(self) -> list[JournalEntry]:
        """The entries written since the newest one handed on, read from the files now.

        journald tells its followers about new entries 250-500 ms after writing
        them (its post-change timer, 250 ms, with sd-event's default accuracy of
        250 ms; journal-file.c schedule_post_change()), but they are in the files
        at once, and a journalctl that does not follow reads them straight away.
        Entries a catch-up hands on are not handed on again when the stream
        brings them.
        """
        if not self.can_catch_up:
            return []
        start = [f"--after-cursor={self._newest}"] if self._newest else [
            _since(self._since_usec)]
        try:
            done = self.source.access.run(
                [*_command(self.source), *start, *match_arguments(self._units, self.source)],
                timeout=JOURNALCTL_TIMEOUT)
        except subprocess.TimeoutExpired:
            return []
        if done.returncode != 0:
            return []  # the stream goes on, and says so if the journal went away
        entries = [e for e in parse_lines(done.stdout.splitlines(), user=self.source.user)
                   if e.cursor and e.cursor not in self._caught_up]
        self._caught_up.update(e.cursor for e in entries)
        if entries:
            self._newest = entries[-1].cursor
        return entries

    def close(self) -> None:
        """Stop our journalctl (SIGTERM, then SIGKILL) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            # Over ssh this is what ends the remote journalctl (SshAccess.popen).
            process.stdin.close()
        end_child(process)

    def __enter__(self) -> JournalFollower:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
