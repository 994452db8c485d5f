"""Where the files and read-only commands of the system behind a connection are reached.

One seam for every connection: this machine (``/`` or a container's
``/proc/PID/root``, commands run here) or a host over ssh (commands and file
reads run there, over one multiplexed ssh connection that is opened once and
closed at exit). host_files, journal and neighbourhood go through it and never
know which. ``run_readonly`` is the entry point for anyone else who wants to
show the operator ``systemctl status`` or ``journalctl`` of that system.
"""

from __future__ import annotations

import atexit
import os
import select
import shlex
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from wizard.errors import SystemdUnreachableError
from wizard.model.connection import Connection
from wizard.model.frozen import frozen

COMMAND_TIMEOUT = 60.0
MAX_FILE_BYTES = 1 << 20
SSH_CONNECT_TIMEOUT = 15
SSH_PERSIST = "30s"
"""The master outlives its last client this long, so a killed staydown leaves no ssh behind."""
_ENV = {"SYSTEMD_PAGER": "", "LC_ALL": "C.UTF-8"}
# A program that is not there, or there but not runnable: the shell's statuses
# (POSIX "Command Search and Execution"; sh over ssh gives the same), which
# LocalAccess.run gives too.
COMMAND_NOT_FOUND = 127
COMMAND_NOT_EXECUTABLE = 126


@frozen
class CommandOutput:
    """What one command printed and how it ended."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        """Stdout decoded (undecodable bytes replaced)."""
        return self.stdout.decode("utf-8", errors="replace")


def _not_run(argv: Sequence[str], error: OSError) -> CommandOutput:
    """What a program that could not be started gives: the shell's status and message."""
    status = COMMAND_NOT_FOUND if isinstance(error, FileNotFoundError) else COMMAND_NOT_EXECUTABLE
    return CommandOutput(tuple(argv), status, b"", f"{argv[0]}: {error.strerror}")


class LaunchedCommand:
    """A command started by :meth:`LocalAccess.launch`; :meth:`output` waits for its end."""

    def __init__(self, argv: tuple[str, ...], process: subprocess.Popen[bytes] | None,
                 result: CommandOutput | None = None, files: tuple[int, int] = (-1, -1)) -> None:
        self.argv = argv
        self._process = process
        self._result = result  # known at once when it could not be started
        self._files = files  # its stdout and stderr, memory files

    def output(self, timeout: float = COMMAND_TIMEOUT) -> CommandOutput:
        """What it printed and how it ended; TimeoutExpired (and it is ended) after ``timeout``."""
        if self._result is None:
            assert self._process is not None
            try:
                returncode = _wait(self._process, timeout)
            except subprocess.TimeoutExpired:
                end_child(self._process)
                for descriptor in self._files:
                    os.close(descriptor)
                raise
            stdout, stderr = (_read_all(descriptor) for descriptor in self._files)
            self._result = CommandOutput(self.argv, returncode, stdout,
                                         stderr.decode("utf-8", errors="replace"))
        return self._result


def _wait(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Its exit status, waiting at most ``timeout`` seconds (else TimeoutExpired).

    On a pidfd (pidfd_open(2), Linux 5.3), which wakes us the moment it ends:
    Popen.wait with a timeout polls, sleeping up to 50 ms between looks.
    """
    try:
        descriptor = os.pidfd_open(process.pid)
    except OSError:
        return process.wait(timeout)  # an older kernel: Popen's polling
    try:
        if not select.select([descriptor], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(process.args, timeout)
    finally:
        os.close(descriptor)
    return process.wait()


def _read_all(descriptor: int) -> bytes:
    """A memory file's whole content, then closed."""
    os.lseek(descriptor, 0, os.SEEK_SET)
    with open(descriptor, "rb") as file:
        return file.read()


class LocalAccess:
    """Commands run on this machine; files are read under ``root`` by host_files."""

    remote = False

    def __init__(self, label: str = "this machine") -> None:
        self.label = label

    def command(self, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` there (here: itself)."""
        return list(argv)

    def run(
        self, argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT, input_bytes: bytes = b""
    ) -> CommandOutput:
        """Run a command and collect its output; a missing program is status 127, as in sh."""
        try:
            done = subprocess.run(
                self.command(argv), capture_output=True, timeout=timeout, check=False,
                input=input_bytes, env={**os.environ, **_ENV},
            )
        except OSError as error:
            return _not_run(argv, error)
        return CommandOutput(tuple(argv), done.returncode, done.stdout,
                             done.stderr.decode("utf-8", errors="replace"))

    def launch(self, argv: Sequence[str]) -> LaunchedCommand:
        """Start a command now and collect what it printed later (``LaunchedCommand.output``).

        Its output goes to anonymous files in memory (memfd_create(2)) rather than
        pipes: a command that prints more than a pipe holds (64 KiB) would stop
        until we read it, and nothing would run alongside it.
        """
        stdout = os.memfd_create("stdout", os.MFD_CLOEXEC)
        stderr = os.memfd_create("stderr", os.MFD_CLOEXEC)
        try:
            process = subprocess.Popen(
                self.command(argv), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                env={**os.environ, **_ENV},
            )
        except OSError as error:
            os.close(stdout)
            os.close(stderr)
            return LaunchedCommand(tuple(argv), None, result=_not_run(argv, error))
        return LaunchedCommand(tuple(argv), process, files=(stdout, stderr))

    def popen(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start a long-running command (journalctl --follow) with piped output."""
        return subprocess.Popen(
            self.command(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, env={**os.environ, **_ENV},
        )

    def has_program(self, name: str) -> bool:
        """Whether a program is on PATH there."""
        # Imported here: shutil pulls in bz2 and lzma (2 ms, 2 MiB of every run), and
        # diagnose needs none of it (a missing program is status 127 from run()).
        import shutil

        return shutil.which(name) is not None


@frozen
class SshDestination:
    """``[USER@]HOST[:PORT]`` split the way ssh takes it."""

    host: str
    user: str = ""
    port: int | None = None

    @property
    def login(self) -> str:
        """``user@host`` or ``host``, for ssh's destination argument."""
        return f"{self.user}@{self.host}" if self.user else self.host


def parse_destination(text: str) -> SshDestination:
    """Split ``[USER@]HOST[:PORT]`` (``[::1]:22`` for an IPv6 address with a port)."""
    user, _, rest = text.rpartition("@")
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":") and tail[1:].isdigit():
            port = int(tail[1:])
    elif rest.count(":") == 1 and rest.rpartition(":")[2].isdigit():
        host, _, number = rest.partition(":")
        port = int(number)
    else:
        host = rest
    if not host or host.startswith("-") or any(c.isspace() for c in text) \
            or (port is not None and not 0 < port < 65536):
        from wizard.errors import UsageError

        raise UsageError(f"{text!r} is not a host to reach over ssh",
                         "give --host [USER@]HOST[:PORT], as for systemctl -H")
    return SshDestination(host, user, port)


def _bus_escape(value: str) -> str:
    # sd-bus address values: [A-Za-z0-9_/.-] as they are, every other byte %xx
    # (bus_address_escape in src/libsystemd/sd-bus/bus-internal.c).
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/.")
    return "".join(c if c in safe else "".join(f"%{b:02x}" for b in c.encode()) for c in value)


class SshAccess(LocalAccess):
    """A host over ssh: one ControlMaster in a private 0700 directory, closed at exit.

    Every command, the D-Bus bridge included, rides on the master, so a whole
    diagnosis is one authentication. The operator's ssh configuration applies;
    ``--ssh-option`` adds ``-o`` options (a key, a known_hosts file).
    """

    remote = True

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection.label)
        self.destination = parse_destination(connection.target)
        self._options = tuple(connection.ssh_options)
        import tempfile  # only over ssh: diagnose on this machine never needs it

        self._directory = tempfile.mkdtemp(prefix="staydown-ssh-")  # mode 0700
        self.control_path = os.path.join(self._directory, "control")
        self._started = False

    def ssh_arguments(self) -> list[str]:
        """Options every ssh of this host gets (the master's socket, port, -o options)."""
        arguments = ["-o", f"ControlPath={self.control_path}", "-o", "ControlMaster=no",
                     "-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT}"]
        for option in self._options:
            arguments += ["-o", option]
        if self.destination.port is not None:
            arguments += ["-p", str(self.destination.port)]
        return arguments

    def start(self) -> None:
        """Open the master connection (the one authentication), once."""
        if self._started:
            return
        if not super().has_program("ssh"):
            raise SystemdUnreachableError("ssh is not installed here, so --host cannot work",
                                          "install it: apt-get install openssh-client")
        arguments = self.ssh_arguments()
        arguments[arguments.index("ControlMaster=no")] = "ControlMaster=yes"
        # The backgrounded master keeps whatever stdio it got: a file, not a pipe
        # we would wait on for ever.
        log = os.path.join(self._directory, "master.log")
        with open(log, "wb") as stderr:
            done = subprocess.run(
                ["ssh", *arguments, "-o", f"ControlPersist={SSH_PERSIST}", "-N", "-f", "-T",
                 "--", self.destination.login],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, check=False,
                timeout=SSH_CONNECT_TIMEOUT * 2 + 5,
            )
        if done.returncode != 0:
            text = Path(log).read_text(errors="replace").strip()
            last = text.splitlines() or [f"ssh exit status {done.returncode}"]
            raise SystemdUnreachableError(
                f"cannot reach {self.label} over ssh: {last[-1]}",
                "check that `ssh HOST true` works without a password prompt "
                "(a key, the host key in known_hosts)",
            )
        self._started = True

    def command(self, argv: Sequence[str]) -> list[str]:
        """``ssh HOST -- 'quoted argv'``: the remote shell sees exactly these words."""
        self.start()
        return ["ssh", *self.ssh_arguments(), "-T", "--", self.destination.login,
                shlex.join(argv)]

    def popen(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """A long-running remote command that ends when we close its stdin or die.

        sshd gives a command no terminal, so nothing would tell a remote
        ``journalctl --follow`` that we left until it next wrote; the remote
        shell waits for our end of stdin to close and then ends it.
        """
        script = f"{shlex.join(argv)} </dev/null & pid=$!; cat >/dev/null; kill $pid 2>/dev/null"
        self.start()
        return subprocess.Popen(
            ["ssh", *self.ssh_arguments(), "-T", "--", self.destination.login,
             shlex.join(["sh", "-c", script])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE,
            env={**os.environ, **_ENV},
        )

    def has_program(self, name: str) -> bool:
        """Whether a program is on the remote PATH (``command -v``)."""
        return self.run(["sh", "-c", f"command -v {shlex.quote(name)}"]).returncode == 0

    def bus_address(self) -> str:
        """An sd-bus address that reaches the remote system bus through the master.

        The same ``systemd-stdio-bridge`` sd_bus_open_system_remote runs
        (bus_set_address_system_remote in sd-bus.c), but with our ssh options.
        """
        self.start()
        argv = ["ssh", "-xT", *self.ssh_arguments(), "--", self.destination.login,
                "systemd-stdio-bridge"]
        pieces = ["path=ssh"] + [f"argv{i}={_bus_escape(a)}" for i, a in enumerate(argv)]
        return "unixexec:" + ",".join(pieces)

    def read_bytes(self, path: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
        """A remote file's first ``limit`` bytes, or None when it cannot be read."""
        done = self.run(["head", "-c", str(limit), "--", path])
        return done.stdout if done.returncode == 0 else None

    def close(self) -> None:
        """Ask the master to exit and remove the private directory."""
        if self._started:
            subprocess.run(
                ["ssh", *self.ssh_arguments(), "-O", "exit", "--", self.destination.login],
                stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=10,
            )
            self._started = False
        import shutil  # only over ssh, like tempfile

        shutil.rmtree(self._directory, ignore_errors=True)


_LOCAL = LocalAccess()
_OPEN: dict[Connection, SshAccess] = {}


def access_for(connection: Connection | None) -> LocalAccess:
    """The access of a connection: the ssh one for --host (opened on first use), else local."""
    if connection is None or connection.transport != "host":
        return _LOCAL
    key = connection
    if key not in _OPEN:
        if not _OPEN:
            atexit.register(close_all)
        _OPEN[key] = SshAccess(connection)
    return _OPEN[key]


def ssh_access(connection: Connection) -> SshAccess:
    """The ssh access of a --host connection."""
    access = access_for(connection)
    assert isinstance(access, SshAccess), connection
    return access


def close_all() -> None:
    """Close every ssh master this process opened."""
    while _OPEN:
        _, access = _OPEN.popitem()
        access.close()


def _placed(connection: Connection, argv: Sequence[str]) -> list[str]:
    """``argv`` as typed on that system, turned into what runs it from here."""
    words = list(argv)
    if connection.transport == "user" and words and words[0] in ("systemctl", "journalctl"):
        return [words[0], "--user", *words[1:]]
    root = connection.files_root or ""
    if connection.transport in ("machine", "address") and root.startswith("/proc/") \
            and root.endswith("/root"):
        # A container (a lab, a machine): run it inside, in all of its namespaces.
        pid = root[len("/proc/"):-len("/root")]
        return ["nsenter", "--target", pid, "--all", "--", *words]
    return words


def run_readonly(
    connection: Connection, argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT
) -> CommandOutput:
    """Run a command that only reads (systemctl status, list-dependencies, journalctl).

    ``argv`` is written as it would be typed on the system behind the
    connection: over ssh it runs on that host, in a lab or container inside
    it, for --user ``systemctl``/``journalctl`` get ``--user``. Nothing checks
    that the command only reads; that is the caller's promise.
    """
    if connection.transport == "address" and not connection.files_root:
        return CommandOutput(tuple(argv), COMMAND_NOT_FOUND, b"",
                             f"{connection.label} is a bare bus address: there is nowhere "
                             "to run a command for it")
    return access_for(connection).run(_placed(connection, argv), timeout=timeout)


def file_reader(connection: Connection) -> Callable[[str], bytes | None] | None:
    """How to read one of that system's files by its own path, or None when we cannot."""
    if connection.transport == "host":
        return ssh_access(connection).read_bytes
    if connection.files_root is None:
        return None
    root = Path(connection.files_root)

    def read(path: str) -> bytes | None:
        try:
            return (root / path.lstrip("/")).read_bytes()
        except OSError:
            return None

    return read


def end_child(process: subprocess.Popen[bytes]) -> None:
    """End a child of ours (SIGTERM, then SIGKILL after 2 s), reap it and close its pipes.

    Only ever a process this run started and holds the Popen of: never by name.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()

