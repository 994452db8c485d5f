"""Reads the target system's files that D-Bus cannot tell us about.

Cron tables, D-Bus activation files, and a cheap text pre-scan of unit files
for ``systemctl`` (so only units that could call systemctl are loaded over
D-Bus). ``HostFiles`` reads under a root: "/" on the host, /proc/PID/root for
a container, whose absolute symlinks are resolved inside that root.
``RemoteFiles`` asks a host over ssh the same questions with one shell script
run there, which greps and sends back only the lines that matter.
``system_files`` picks the one a connection needs; both name what they could
not read in ``notes``.
"""

from __future__ import annotations

import configparser
import contextlib
import errno
import json
import os
import pwd
import re
import subprocess
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from wizard.model.connection import Connection
from wizard.model.frozen import frozen
from wizard.model.snapshots import CronEntry, DBusServiceFile
from wizard.system.access import SshAccess, ssh_access

# systemd.unit(5), "Unit File Load Path"; /lib is there for unmerged systems.
SYSTEM_UNIT_DIRS = (
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
    "/run/systemd/generator.late",
)
USER_UNIT_DIRS = (
    "~/.config/systemd/user",
    "/etc/systemd/user",
    "~/.local/share/systemd/user",
    "/usr/local/lib/systemd/user",
    "/usr/lib/systemd/user",
)
SYSTEM_DBUS_DIRS = (
    "/usr/local/share/dbus-1/system-services",
    "/usr/share/dbus-1/system-services",
    "/lib/dbus-1/system-services",
    "/etc/dbus-1/system-services",
)
USER_DBUS_DIRS = (
    "~/.local/share/dbus-1/services",
    "/usr/local/share/dbus-1/services",
    "/usr/share/dbus-1/services",
)
DBUS_CONFIG_DIRS = ("/usr/share/dbus-1/system.d", "/etc/dbus-1/system.d")
CRON_SYSTEM_FILES = ("/etc/crontab",)
CRON_DIRS_WITH_USER = ("/etc/cron.d",)
CRON_USER_SPOOLS = ("/var/spool/cron/crontabs", "/var/spool/cron")
MAX_FILE_BYTES = 1 << 20
# The unit-file scan's last answer on this machine (UnitScanCache), beside the lab's trees.
SCAN_CACHE = "/var/cache/staydown/unit-file-scan.json"
MAX_LINK_HOPS = 40  # the kernel's limit (MAXSYMLINKS), path_resolution(7)
_CRON_D_NAME = re.compile(r"[A-Za-z0-9_-]+")
_SERVICEDIR = re.compile(r"<servicedir>\s*([^<\s]+)\s*</servicedir>")


def _holds(path: str, pattern: bytes) -> bool:
    """Whether a regular file holds ``pattern`` in its first MAX_FILE_BYTES."""
    try:
        # os.open/os.read: a buffered file object per unit file is most of the cost.
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            return pattern in os.read(descriptor, MAX_FILE_BYTES)
        finally:
            os.close(descriptor)
    except OSError:
        return False


def scan_key(needle: str, files: Sequence[tuple[str, str, str]]) -> str:
    """A checksum of every unit file's identity and change time, and of the needle.

    ctime moves on every write, rename, link and chmod, and cannot be set back
    from user space (unlike mtime, which touch and tar restore); size and inode
    catch what a coarse clock might not. A file that cannot be stat()ed makes
    the key unusable (empty), so the scan reads everything.

    zlib's CRC-32 and the number of files rather than a hashlib digest: hashlib
    loads OpenSSL (2 ms and 3.5 MiB of every diagnose, docs/performance.md).
    The key only has to notice change, not resist forgery: the cache is trusted
    only when root wrote it, and whoever can change unit files is root already.
    An added or removed file changes the count; any other change leaves the
    CRC unchanged with a chance of 1 in 2^32 (none at all when the changed
    bytes lie within 32 bits of each other), so a stale scan is about one in
    four billion edits of the unit files.
    """
    checksum = zlib.crc32(needle.encode())
    for unit, path, real in files:
        try:
            info = os.stat(real)
        except OSError:
            return ""
        checksum = zlib.crc32(f"{unit}\0{path}\0{real}\0{info.st_dev}:{info.st_ino}:"
                              f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}\n".encode(),
                              checksum)
    return f"{len(files)}-{checksum:08x}"


@frozen
class UnitScanCache:
    """The unit-file scan's last answer, trusted only when root wrote it.

    It is read only when the file and its directory belong to root and nobody
    else may write them, and written only by root (atomically, 0644); anything
    unexpected (a missing or foreign file, bad JSON, another key) means a full
    scan. The key is :func:`scan_key`: any change to any unit file or drop-in,
    including an edit in place, gives another key.
    """

    path: str

    def read(self, key: str) -> dict[str, list[str]] | None:
        """The cached answer for ``key``, or None."""
        if not key:
            return None
        try:
            directory = os.stat(os.path.dirname(self.path))
            descriptor = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            try:
                info = os.fstat(descriptor)
                if not (_root_only(directory) and _root_only(info)):
                    return None
                data = json.loads(os.read(descriptor, MAX_FILE_BYTES))
            finally:
                os.close(descriptor)
        except (OSError, ValueError):
            return None
        found = data.get("found") if isinstance(data, dict) and data.get("key") == key else None
        if not isinstance(found, dict) or not all(
            isinstance(unit, str) and isinstance(paths, list)
            and all(isinstance(p, str) for p in paths)
            for unit, paths in found.items()
        ):
            return None
        return found

    def write(self, key: str, found: dict[str, list[str]]) -> None:
        """Keep the answer for the next run; only root does, and failures are silent."""
        if not key or os.geteuid() != 0:
            return
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, mode=0o755, exist_ok=True)
            if not _root_only(os.stat(directory)):
                return
            temporary = f"{self.path}.{os.getpid()}.tmp"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                                 | os.O_NOFOLLOW, 0o644)
            try:
                os.write(descriptor, json.dumps({"key": key, "found": found}).encode())
            finally:
                os.close(descriptor)
            os.replace(temporary, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}.{os.getpid()}.tmp")


def _root_only(info: os.stat_result) -> bool:
    """Owned by root and writable by nobody else."""
    return info.st_uid == 0 and not info.st_mode & 0o022


class SystemFiles(Protocol):
    """What a diagnosis asks of a system's files, wherever they are."""

    @property
    def notes(self) -> list[str]:
        """What could not be read, one sentence each."""
        ...

    def unit_files_mentioning(self, needle: str) -> dict[str, list[str]]:
        """Units whose file or drop-in contains ``needle``, with those file paths."""
        ...

    def cron_entries(self) -> tuple[CronEntry, ...]:
        """Every crontab line that runs systemctl."""
        ...

    def read_text(self, path: str) -> str | None:
        """A file's text, or None when it cannot be read (or not cheaply, from here)."""
        ...

    def dbus_service_files(self) -> tuple[DBusServiceFile, ...]:
        """Activation files that hand a bus name to a systemd unit."""
        ...


def system_files(connection: Connection) -> SystemFiles | None:
    """The files of the system behind a connection, or None when they cannot be reached."""
    if connection.transport == "host":
        return RemoteFiles(ssh_access(connection), scope=connection.scope)
    if connection.files_root is None:
        return None
    cache = None
    if connection.transport == "system" and connection.files_root == "/":
        cache = UnitScanCache(SCAN_CACHE)
    return HostFiles(connection.files_root, scope=connection.scope, scan_cache=cache)


@frozen
class HostFiles:
    """The files of one system, read below ``root``."""

    root: str
    scope: str = "system"
    home: str = "~"
    notes: list[str] = field(default_factory=list, compare=False)
    scan_cache: UnitScanCache | None = field(default=None, compare=False)
    """Where the unit-file scan's answer is kept between runs (the local system, as root)."""

    def _real(self, path: str) -> str:
        """Map a path of the target system to one we can open, symlinks included.

        Links are resolved here, inside the root, and never by the kernel: an
        absolute link in a container names a path of the container. Past
        MAX_LINK_HOPS this fails like the kernel does (ELOOP) rather than hand
        a link to open(), which would follow it out of the root.
        """
        path = os.path.expanduser(path) if path.startswith("~") else path
        parts = [p for p in path.split("/") if p]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            if part == ".":
                continue
            candidate = os.path.join(self.root, *resolved, part)
            if os.path.islink(candidate):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                target = os.readlink(candidate)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            resolved.append(part)
        return os.path.join(self.root, *resolved)

    def read_text(self, path: str) -> str | None:
        """A file's text, or None when it is missing, unreadable or not regular."""
        try:
            real = self._real(path)
            if not os.path.isfile(real):
                return None
            with open(real, "rb") as handle:
                return handle.read(MAX_FILE_BYTES).decode("utf-8", errors="replace")
        except PermissionError:
            self.notes.append(f"could not read {path} (permission denied)")
            return None
        except OSError:
            return None

    def list_dir(self, path: str) -> list[str]:
        """Names in a directory of the target system (empty when absent)."""
        try:
            return sorted(os.listdir(self._real(path)))
        except PermissionError:
            self.notes.append(f"could not read {path} (permission denied)")
            return []
        except OSError:
            return []

    def _unit_dirs(self) -> tuple[str, ...]:
        return USER_UNIT_DIRS if self.scope == "user" else SYSTEM_UNIT_DIRS

    def unit_files_mentioning(self, needle: str) -> dict[str, list[str]]:
        """Units whose file or drop-in contains ``needle``, with those file paths.

        This reads every unit file on the system, so it is the one part of a
        diagnosis that grows with the host; each directory is resolved once and
        only symlinks are resolved entry by entry. With a ``scan_cache`` the
        files are only stat()ed, and read again when any of them changed.
        """
        files = self._unit_files()
        key = None
        if self.scan_cache is not None:
            key = scan_key(needle, files)
            cached = self.scan_cache.read(key)
            if cached is not None:
                return cached
        found: dict[str, list[str]] = {}
        pattern = needle.encode()
        for unit, path, real in files:
            if _holds(real, pattern):
                found.setdefault(unit, []).append(path)
        if self.scan_cache is not None and key is not None:
            self.scan_cache.write(key, found)
        return found

    def _unit_files(self) -> list[tuple[str, str, str]]:
        """Every regular unit file and drop-in: (unit, path on the system, path to open)."""
        files: list[tuple[str, str, str]] = []
        scanned: set[str] = set()
        for directory in self._unit_dirs():
            try:
                real = self._real(directory)
            except OSError:
                continue
            # /lib is /usr/lib on merged-/usr systems: read each directory once.
            # (realpath is only a key here: under /proc/PID/root it leaves the root.)
            key = os.path.realpath(real)
            if key in scanned:
                continue
            scanned.add(key)
            for name, entry in self._entries(real):
                path = f"{directory}/{name}"
                if name.endswith(".d"):
                    unit = name[:-2]
                    try:
                        drop_ins = self._real(path) if entry.is_symlink() else entry.path
                    except OSError:
                        continue
                    candidates = [
                        (f"{path}/{conf}", conf_entry)
                        for conf, conf_entry in self._entries(drop_ins)
                        if conf.endswith(".conf")
                    ]
                else:
                    unit, candidates = name, [(path, entry)]
                for file, file_entry in candidates:
                    opened = self._regular_file(file, file_entry)
                    if opened is not None:
                        files.append((unit, file, opened))
        return files

    @staticmethod
    def _entries(real_directory: str) -> list[tuple[str, os.DirEntry[str]]]:
        """A directory's entries by name, read with one scandir (empty when absent)."""
        try:
            with os.scandir(real_directory) as entries:
                return sorted((entry.name, entry) for entry in entries)
        except OSError:
            return []

    def _regular_file(self, path: str, entry: os.DirEntry[str]) -> str | None:
        """Where to open a unit file, when it is (or links to) a regular file."""
        try:
            if entry.is_symlink():
                # Its target is a path of the target system (often absolute).
                real = self._real(path)
                return real if os.path.isfile(real) else None
            return entry.path if entry.is_file(follow_symlinks=False) else None
        except OSError:
            return None

    def cron_entries(self) -> tuple[CronEntry, ...]:
        """Every crontab line that runs systemctl, from the system and user tables."""
        entries: list[CronEntry] = []
        for file in CRON_SYSTEM_FILES:
            entries.extend(self._parse_crontab(file, with_user=True))
        for directory in CRON_DIRS_WITH_USER:
            for name in self.list_dir(directory):
                # Debian's cron reads only run-parts names there (cron(8)): a file
                # with a dot (foo.dpkg-old, staydown's own backups) is never run.
                if _CRON_D_NAME.fullmatch(name):
                    entries.extend(self._parse_crontab(f"{directory}/{name}", with_user=True))
        if self.scope == "user":
            entries.extend(self._own_crontab())
            return tuple(entries)
        for spool in CRON_USER_SPOOLS:
            for name in self.list_dir(spool):
                if name != "crontabs" and not name.startswith("."):
                    entries.extend(
                        self._parse_crontab(f"{spool}/{name}", with_user=False, owner=name)
                    )
        return tuple(entries)

    def _own_crontab(self) -> list[CronEntry]:
        """The calling user's crontab: ``crontab -l``, as the spool is root's to read.

        Without crontab(1) (no cron installed) the spool file is read directly,
        which works only where the spool lets the user in.
        """
        user = pwd.getpwuid(os.getuid()).pw_name
        file = f"{CRON_USER_SPOOLS[0]}/{user}"
        if self.root == "/":
            try:
                done = subprocess.run(["crontab", "-l"], capture_output=True, text=True,
                                      check=False, timeout=30)
            except OSError:
                pass  # no crontab(1) on PATH: the spool below
            else:
                if done.returncode != 0:
                    return []  # "no crontab for USER"
                lines = enumerate(done.stdout.splitlines(), start=1)
                return list(crontab_entries(file, lines, with_user=False, owner=user))
        try:
            os.listdir(self._real(CRON_USER_SPOOLS[0]))
        except PermissionError:
            self.notes.append(f"could not read {CRON_USER_SPOOLS[0]} (permission denied) and "
                              "crontab(1) is not installed: your crontab was not checked")
            return []
        except OSError:
            return []
        return list(self._parse_crontab(file, with_user=False, owner=user))

    def _parse_crontab(
        self, file: str, *, with_user: bool, owner: str = "root"
    ) -> Iterator[CronEntry]:
        text = self.read_text(file)
        if text is None:
            return
        yield from crontab_entries(
            file, enumerate(text.splitlines(), start=1), with_user=with_user, owner=owner
        )

    def dbus_service_files(self) -> tuple[DBusServiceFile, ...]:
        """Activation files that hand a bus name to a systemd unit."""
        dirs = list(USER_DBUS_DIRS if self.scope == "user" else SYSTEM_DBUS_DIRS)
        if self.scope != "user":
            # dbus-daemon also honours <servicedir> from its configuration snippets.
            for config_dir in DBUS_CONFIG_DIRS:
                for name in self.list_dir(config_dir):
                    text = self.read_text(f"{config_dir}/{name}") or ""
                    dirs.extend(d for d in _SERVICEDIR.findall(text) if d not in dirs)
        found: list[DBusServiceFile] = []
        for directory in dirs:
            for name in self.list_dir(directory):
                if not name.endswith(".service"):
                    continue
                parsed = self._parse_dbus_service(f"{directory}/{name}")
                if parsed is not None:
                    found.append(parsed)
        return tuple(found)

    def _parse_dbus_service(self, file: str) -> DBusServiceFile | None:
        text = self.read_text(file)
        return None if text is None else parse_dbus_service(file, text)


def crontab_entries(
    file: str, lines: Iterable[tuple[int, str]], *, with_user: bool, owner: str = "root"
) -> Iterator[CronEntry]:
    """The jobs among a crontab's numbered lines that run systemctl."""
    for number, raw in lines:
        line = raw.strip()
        if not line or line.startswith("#") or "systemctl" not in line:
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", line):
            continue  # an environment assignment, not a job
        fields = line.split()
        width = 1 if fields[0].startswith("@") else 5
        if len(fields) <= width + (1 if with_user else 0):
            continue
        schedule = " ".join(fields[:width])
        user = fields[width] if with_user else owner
        # Keep the command text as written after the schedule (and user).
        rest = line
        for token in fields[: width + (1 if with_user else 0)]:
            rest = rest[rest.index(token) + len(token) :]
        yield CronEntry(file, number, schedule, user, rest.strip())


def parse_dbus_service(file: str, text: str) -> DBusServiceFile | None:
    """A D-Bus activation file's bus name and systemd unit, or None when it names none."""
    if "SystemdService" not in text:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_section("D-BUS Service"):
        return None
    section = parser["D-BUS Service"]
    service = section.get("SystemdService", "").strip()
    if not service:
        return None
    return DBusServiceFile(
        file=file,
        bus_name=section.get("Name", "").strip(),
        systemd_service=service,
        exec_line=section.get("Exec", "").strip(),
    )


# The scan RemoteFiles runs on the host: POSIX sh, grep and sed, which every
# host has. It prints one line per hit, tagged: H a unit file that mentions the
# needle, C a crontab line (file:number:text), D a line of a D-Bus activation
# file that names a systemd unit (file:text), U a path it could not read, M a
# tool that is missing. Only these lines cross the network.
_REMOTE_SCAN = r"""
command -v grep >/dev/null 2>&1 || { echo 'M grep'; exit 0; }
needle=$1
unit_dirs=$2
dbus_dirs=$3
dbus_config=$4
cron_files=$5
seen=:
for d in $unit_dirs; do
  case $d in "~"*) d="$HOME${d#"~"}" ;; esac
  [ -d "$d" ] || continue
  if [ ! -r "$d" ] || [ ! -x "$d" ]; then echo "U $d"; continue; fi
  # /lib is /usr/lib on merged-/usr systems: read each directory once.
  real=$(cd "$d" && pwd -P)
  case $seen in *":$real:"*) continue ;; esac
  seen="$seen$real:"
  set --
  for f in "$d"/* "$d"/*.d/*.conf; do
    [ -f "$f" ] || continue
    if [ -r "$f" ]; then set -- "$@" "$f"; else echo "U $f"; fi
  done
  [ $# -eq 0 ] || grep -l -F -e "$needle" -- "$@" | sed 's/^/H /'
done
# Unquoted on purpose: the lists are split into words and their globs expanded.
for f in $cron_files; do
  [ -d "$f" ] && continue
  [ -e "$f" ] || { d=${f%/*}; [ -d "$d" ] && [ ! -r "$d" ] && echo "U $d"; continue; }
  if [ -r "$f" ]; then grep -n -H -F -e systemctl -- "$f" | sed 's/^/C /'; else echo "U $f"; fi
done
extra=""
for c in $dbus_config; do
  [ -r "$c" ] || continue
  extra="$extra $(grep -o '<servicedir>[^<]*</servicedir>' "$c" | sed -e 's/<[^>]*>//g')"
done
for d in $dbus_dirs $extra; do
  for f in "$d"/*.service; do
    [ -f "$f" ] || continue
    [ -r "$f" ] || { echo "U $f"; continue; }
    grep -q -F SystemdService "$f" || continue
    grep -H -e '^[[:space:]]*\[' -e '^[[:space:]]*Name[[:space:]]*=' \
      -e '^[[:space:]]*SystemdService[[:space:]]*=' -e '^[[:space:]]*Exec[[:space:]]*=' \
      -- "$f" | sed 's/^/D /'
  done
done
"""


@dataclass
class RemoteFiles:
    """The files of a host over ssh, scanned there by one script per diagnosis."""

    access: SshAccess
    scope: str = "system"
    notes: list[str] = field(default_factory=list)
    _hits: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """The scan's tagged lines, per needle: one run of the script answers all three questions."""

    def _scan(self, needle: str = "systemctl") -> dict[str, list[str]]:
        if needle in self._hits:
            return self._hits[needle]
        user = self.scope == "user"
        cron = [*CRON_SYSTEM_FILES, *(f"{d}/*" for d in CRON_DIRS_WITH_USER),
                *(f"{s}/*" for s in CRON_USER_SPOOLS)]
        arguments = [
            needle,
            " ".join(USER_UNIT_DIRS if user else SYSTEM_UNIT_DIRS),
            " ".join(USER_DBUS_DIRS if user else SYSTEM_DBUS_DIRS),
            "" if user else " ".join(f"{d}/*" for d in DBUS_CONFIG_DIRS),
            "" if user else " ".join(cron),
        ]
        # The script and each list are one quoted word each; the remote sh splits the lists.
        done = self.access.run(["sh", "-c", _REMOTE_SCAN, "staydown-scan", *arguments])
        hits: dict[str, list[str]] = {"H": [], "C": [], "D": [], "U": [], "M": []}
        for line in done.text.splitlines():
            tag, _, rest = line.partition(" ")
            if tag in hits and rest:
                hits[tag].append(rest)
        for tool in hits["M"]:
            self.notes.append(f"{tool} is missing on {self.access.label}: unit files, cron "
                              "tables and D-Bus activation files there were not checked")
        if done.returncode != 0 and not any(hits.values()):
            last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            self.notes.append(f"the files of {self.access.label} could not be scanned: {last}")
        for path in dict.fromkeys(hits["U"]):
            self.notes.append(f"could not read {path} on {self.access.label} (permission "
                              "denied); sources it holds are not in this diagnosis")
        self._hits[needle] = hits
        return hits

    def unit_files_mentioning(self, needle: str) -> dict[str, list[str]]:
        """Units whose file or drop-in on the host contains ``needle`` (grep there)."""
        found: dict[str, list[str]] = {}
        for path in self._scan(needle)["H"]:
            directory, _, name = path.rpartition("/")
            if name.endswith(".conf") and directory.endswith(".d"):
                unit = directory.rpartition("/")[2][:-2]
            else:
                unit = name
            found.setdefault(unit, []).append(path)
        return found

    def read_text(self, path: str) -> str | None:
        """None: a file of the host is not read one by one (a round trip each)."""
        return None

    def cron_entries(self) -> tuple[CronEntry, ...]:
        """The host's crontab lines that run systemctl, as the local reader parses them."""
        lines: dict[str, list[tuple[int, str]]] = {}
        for hit in self._scan()["C"]:
            file, _, rest = hit.partition(":")
            number, _, text = rest.partition(":")
            if number.isdigit():
                lines.setdefault(file, []).append((int(number), text))
        entries: list[CronEntry] = []
        for file, numbered in lines.items():
            directory, _, name = file.rpartition("/")
            if directory in CRON_USER_SPOOLS:
                if name != "crontabs" and not name.startswith("."):
                    entries.extend(crontab_entries(file, numbered, with_user=False, owner=name))
            elif file in CRON_SYSTEM_FILES or (
                directory in CRON_DIRS_WITH_USER and _CRON_D_NAME.fullmatch(name)
            ):
                entries.extend(crontab_entries(file, numbered, with_user=True))
        return tuple(entries)

    def dbus_service_files(self) -> tuple[DBusServiceFile, ...]:
        """The host's D-Bus activation files that name a systemd unit."""
        texts: dict[str, list[str]] = {}
        for hit in self._scan()["D"]:
            file, separator, text = hit.partition(".service:")
            if separator:
                texts.setdefault(f"{file}.service", []).append(text)
        found = (parse_dbus_service(file, "\n".join(lines)) for file, lines in texts.items())
        return tuple(f for f in found if f is not None)
