"""Reads the target system's files that D-Bus cannot tell us about.

Cron tables, D-Bus activation files, and a cheap text pre-scan of unit files
for ``systemctl`` (so only units that could call systemctl are loaded over
D-Bus). Paths are read under a root: "/" on the host, /proc/PID/root for a
container, whose absolute symlinks are resolved inside that root.
"""

from __future__ import annotations

import configparser
import errno
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from wizard.model.snapshots import CronEntry, DBusServiceFile

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
MAX_LINK_HOPS = 40  # the kernel's limit (MAXSYMLINKS), path_resolution(7)
_CRON_D_NAME = re.compile(r"[A-Za-z0-9_-]+")
_SERVICEDIR = re.compile(r"<servicedir>\s*([^<\s]+)\s*</servicedir>")


@dataclass(frozen=True)
class HostFiles:
    """The files of one system, read below ``root``."""

    root: str
    scope: str = "system"
    home: str = "~"

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
        except OSError:
            return None

    def list_dir(self, path: str) -> list[str]:
        """Names in a directory of the target system (empty when absent)."""
        try:
            return sorted(os.listdir(self._real(path)))
        except OSError:
            return []

    def _unit_dirs(self) -> tuple[str, ...]:
        return USER_UNIT_DIRS if self.scope == "user" else SYSTEM_UNIT_DIRS

    def unit_files_mentioning(self, needle: str) -> dict[str, list[str]]:
        """Units whose file or drop-in contains ``needle``, with those file paths.

        This reads every unit file on the system, so it is the one part of a
        diagnosis that grows with the host; each directory is resolved once and
        only symlinks are resolved entry by entry.
        """
        found: dict[str, list[str]] = {}
        scanned: set[str] = set()
        pattern = needle.encode()
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
                    files = [
                        (f"{path}/{conf}", conf_entry)
                        for conf, conf_entry in self._entries(drop_ins)
                        if conf.endswith(".conf")
                    ]
                else:
                    unit, files = name, [(path, entry)]
                for file, file_entry in files:
                    if self._contains(file, file_entry, pattern):
                        found.setdefault(unit, []).append(file)
        return found

    @staticmethod
    def _entries(real_directory: str) -> list[tuple[str, os.DirEntry[str]]]:
        """A directory's entries by name, read with one scandir (empty when absent)."""
        try:
            with os.scandir(real_directory) as entries:
                return sorted((entry.name, entry) for entry in entries)
        except OSError:
            return []

    def _contains(self, path: str, entry: os.DirEntry[str], pattern: bytes) -> bool:
        """Whether a regular file holds ``pattern`` in its first MAX_FILE_BYTES."""
        try:
            if entry.is_symlink():
                # Its target is a path of the target system (often absolute).
                real = self._real(path)
                if not os.path.isfile(real):
                    return False
            elif entry.is_file(follow_symlinks=False):
                real = entry.path
            else:
                return False
            # os.open/os.read: a buffered file object per unit file is most of the cost.
            descriptor = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            try:
                return pattern in os.read(descriptor, MAX_FILE_BYTES)
            finally:
                os.close(descriptor)
        except OSError:
            return False

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
        for spool in CRON_USER_SPOOLS:
            for name in self.list_dir(spool):
                if name != "crontabs" and not name.startswith("."):
                    entries.extend(
                        self._parse_crontab(f"{spool}/{name}", with_user=False, owner=name)
                    )
        return tuple(entries)

    def _parse_crontab(
        self, file: str, *, with_user: bool, owner: str = "root"
    ) -> Iterator[CronEntry]:
        text = self.read_text(file)
        if text is None:
            return
        for number, raw in enumerate(text.splitlines(), start=1):
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
        if text is None or "SystemdService" not in text:
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
