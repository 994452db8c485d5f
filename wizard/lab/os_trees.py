"""Debian OS trees for the lab: built with mmdebstrap, cached, and booted with their own /etc.

The host's tree is the lab's default. An OS tree is another Debian release
(bookworm 252, trixie 257, sid newest) with real packages whose own postinsts
enabled their units. Trees are cached under /var/cache/staydown/os-trees/
NAME-HASH, where HASH covers the suite, the package list, the apt options and
BUILDER_VERSION: an unchanged tree is reused, a changed list builds a new one.
A build goes to a temporary directory and is renamed into place only when it
finished, so an interrupted build is never booted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from wizard.errors import LabError
from wizard.lab import BUSES as BUSES  # re-exported: the lab and its tests name them here
from wizard.lab import DEFAULT_BUS as DEFAULT_BUS
from wizard.lab import TREE_NAMES as TREE_NAMES

CACHE_DIR = Path(os.environ.get("STAYDOWN_OS_TREE_DIR", "/var/cache/staydown/os-trees"))
MIRROR = os.environ.get("STAYDOWN_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Part of every tree's hash: raise it when the way trees are built changes.
BUILDER_VERSION = "1"
# What every tree has: an init, both buses (the lab picks one at boot, see
# bus_links), and dbus-broker's own package so its unit is the distribution's.
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "dbus-broker")
# The base trees also get python3: scenarios' helper scripts (the bus-activation
# scenario's name holder) and the project's own interpreter run inside them.
SCENARIO_PACKAGES = (*BASE_PACKAGES, "python3")
# Ordinary server packages that ship sockets, paths, timers and D-Bus-activated
# services (issue 10's real-package lab). apt, cron and logrotate bring
# apt-daily*, dpkg-db-backup and logrotate timers; lvm2 brings dm-event.socket,
# lvm2-lvmpolld.socket and lvm2-monitor in sysinit.target; cups brings
# cups.socket and cups.path (PartOf=cups.service); docker.io brings
# docker.socket and containerd; udisks2 and polkitd are D-Bus activated.
SERVER_PACKAGES = (
    "docker.io", "containerd", "cups", "avahi-daemon", "lvm2", "rsyslog", "udisks2",
    "polkitd", "cron", "logrotate", "openssh-server", "systemd-timesyncd",
)
# systemd 258 and later refuse the host's mixed cgroup layout ("cgroup v1 ... no
# longer supported"); nspawn then has to give the container the unified one.
UNIFIED_FROM_VERSION = 258


@dataclass(frozen=True)
class TreeSpec:
    """One OS tree the lab can boot: a Debian suite and the packages in it."""

    name: str
    suite: str
    description: str
    packages: tuple[str, ...] = SCENARIO_PACKAGES
    apt_options: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The hash that names the cached tree; any change to what is built changes it."""
        text = json.dumps(
            [BUILDER_VERSION, self.suite, sorted(self.packages), list(self.apt_options), MIRROR]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def directory(self) -> Path:
        """Where the finished tree lives: ``root/`` and ``tree.json`` in it."""
        return CACHE_DIR / f"{self.name}-{self.key}"


# sid's Release file is often past its Valid-Until date; apt refuses it otherwise.
_SID_APT = ('Acquire::Check-Valid-Until "false"',)

TREES: dict[str, TreeSpec] = {
    spec.name: spec
    for spec in (
        TreeSpec("bookworm", "bookworm", "Debian 12, systemd 252, base system",
                 packages=SCENARIO_PACKAGES),
        TreeSpec(
            "bookworm-server", "bookworm",
            "Debian 12, systemd 252, with server packages that enable their own units",
            packages=BASE_PACKAGES + SERVER_PACKAGES,
        ),
        TreeSpec("trixie", "trixie", "Debian 13, systemd 257, base system",
                 packages=SCENARIO_PACKAGES),
        TreeSpec("sid", "sid", "Debian unstable, the newest systemd, base system",
                 packages=SCENARIO_PACKAGES, apt_options=_SID_APT),
    )
}

if tuple(TREES) != TREE_NAMES:  # the parser offers wizard.lab.TREE_NAMES without importing us
    raise AssertionError(f"wizard.lab.TREE_NAMES is not {tuple(TREES)}")


@dataclass(frozen=True)
class OsTree:
    """A built tree on disk, with what was measured when it was built."""

    spec: TreeSpec
    root: Path
    systemd_version: str
    build_seconds: float
    size_bytes: int

    @property
    def systemd_major(self) -> int:
        """The major version: 252 of "252.39-1~deb12u2"."""
        digits = "".join(c for c in self.systemd_version.split(".")[0] if c.isdigit())
        return int(digits or 0)

    @property
    def nspawn_environment(self) -> dict[str, str]:
        """Extra environment for systemd-nspawn when booting this tree."""
        if self.systemd_major >= UNIFIED_FROM_VERSION:
            return {"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"}
        return {}


def tree_spec(name: str) -> TreeSpec:
    """A known tree by name, or an error listing the names there are."""
    spec = TREES.get(name)
    if spec is None:
        raise LabError(f"there is no OS tree {name!r}", f"choose one of: {', '.join(TREES)}")
    return spec


def check_bus(bus: str) -> str:
    """A bus variant name, checked."""
    if bus not in BUSES:
        raise LabError(f"there is no bus {bus!r}", f"choose one of: {', '.join(BUSES)}")
    return bus


def cached_tree(spec: TreeSpec) -> OsTree | None:
    """The finished tree for this spec, or None when it has not been built."""
    try:
        meta = json.loads((spec.directory / "tree.json").read_text())
    except (OSError, ValueError):
        return None
    root = spec.directory / "root"
    if not (root / "usr/lib/systemd/systemd").exists():
        return None
    return OsTree(spec, root, meta["systemd_version"], meta["build_seconds"], meta["size_bytes"])


def ensure_tree(spec: TreeSpec, log: Callable[[str], None] | None = None) -> OsTree:
    """The cached tree, built first when it is missing (a few minutes, needs the network)."""
    found = cached_tree(spec)
    if found is not None:
        return found
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with _lock(CACHE_DIR / f".{spec.name}-{spec.key}.lock"):
        # Another process may have built it while we waited for the lock.
        found = cached_tree(spec)
        if found is not None:
            return found
        tree = _build(spec, log or (lambda _line: None))
        _remove_stale(spec)
        return tree


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mounts_under(directory: Path) -> list[str]:
    prefix = f"{directory}/"
    found = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4]
            if point == str(directory) or point.startswith(prefix):
                found.append(point)
    return found


def _remove_tree(directory: Path) -> None:
    # mmdebstrap's root mode mounts /proc, /sys and /dev into the tree while it
    # builds; a build killed half way can leave them, and deleting through a
    # bind of /dev would delete the host's device nodes. Never remove through a mount.
    mounts = _mounts_under(directory)
    if mounts:
        raise LabError(
            f"{directory} still has mounts from an interrupted build: {', '.join(mounts)}",
            "unmount them (umount -R) and run again",
        )
    shutil.rmtree(directory, ignore_errors=True)


def _remove_stale(spec: TreeSpec) -> None:
    """Remove older builds of this tree (another hash) and interrupted temporary builds."""
    for entry in CACHE_DIR.iterdir():
        if entry == spec.directory or not entry.is_dir():
            continue
        older = re.fullmatch(rf"{re.escape(spec.name)}-[0-9a-f]{{12}}", entry.name)
        interrupted = re.fullmatch(
            rf"\.build-{re.escape(spec.name)}-[0-9a-f]{{12}}-\d+", entry.name
        )
        if older or interrupted:
            _remove_tree(entry)


def mmdebstrap_command(spec: TreeSpec, target: Path) -> list[str]:
    """The mmdebstrap command line that builds this tree into ``target``."""
    return [
        "mmdebstrap",
        # minbase (Essential and apt) plus our list: the smallest tree in which
        # the listed packages' postinsts run exactly as on a real installation.
        "--variant=minbase",
        "--mode=root",
        "--format=directory",
        *(f"--aptopt={option}" for option in spec.apt_options),
        f"--include={','.join(spec.packages)}",
        spec.suite,
        str(target),
        MIRROR,
    ]


def _build(spec: TreeSpec, log: Callable[[str], None]) -> OsTree:
    if shutil.which("mmdebstrap") is None:
        raise LabError("mmdebstrap is not installed", "install it: apt-get install mmdebstrap")
    if os.geteuid() != 0:
        raise LabError("building an OS tree needs root", "run it with sudo")
    work = CACHE_DIR / f".build-{spec.name}-{spec.key}-{os.getpid()}"
    if work.exists():
        _remove_tree(work)
    work.mkdir()
    build_log = work / "build.log"
    log(f"building OS tree {spec.name} ({spec.suite}, {len(spec.packages)} packages) "
        f"in {spec.directory}; log: {build_log}")
    started = time.monotonic()
    with build_log.open("wb") as output:
        process = subprocess.run(
            mmdebstrap_command(spec, work / "root"),
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, check=False,
        )
    seconds = time.monotonic() - started
    if process.returncode != 0:
        tail = "\n".join(build_log.read_text(errors="replace").splitlines()[-12:])
        network = any(word in tail for word in ("Could not resolve", "Failed to fetch",
                                                "Temporary failure", "Connection failed",
                                                "apt-get update failed"))
        hint = (f"is {MIRROR} reachable? (set STAYDOWN_DEBIAN_MIRROR for another mirror)\n"
                if network else "") + f"log: {build_log}\n{tail}"
        raise LabError(
            f"mmdebstrap could not build OS tree {spec.name} (status {process.returncode})",
            hint,
        )
    root = work / "root"
    size = _size(root)
    meta = {
        "name": spec.name,
        "suite": spec.suite,
        "packages": list(spec.packages),
        "apt_options": list(spec.apt_options),
        "builder_version": BUILDER_VERSION,
        "mirror": MIRROR,
        "systemd_version": _package_version(root, "systemd"),
        "build_seconds": round(seconds, 1),
        "size_bytes": size,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (work / "tree.json").write_text(json.dumps(meta, indent=2) + "\n")
    if spec.directory.exists():
        _remove_tree(spec.directory)  # a half-written one without tree.json
    # The rename is the commit: before it the tree is not under its final name.
    work.rename(spec.directory)
    log(f"built {spec.name} in {seconds:.0f} s: systemd {meta['systemd_version']}, "
        f"{size / 1e6:.0f} MB")
    tree = cached_tree(spec)
    if tree is None:
        raise LabError(f"OS tree {spec.name} was built but has no systemd in it",
                       f"log: {spec.directory / 'build.log'}")
    return tree


def _package_version(root: Path, package: str) -> str:
    result = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Version}", package],
        capture_output=True, text=True, check=False,
    )
    return result.stdout.strip()


def _size(root: Path) -> int:
    total = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


def bus_links(tree: OsTree, bus: str) -> dict[str, str | None]:
    """The entries the lab's /etc/systemd/system needs so that ``bus`` is the system bus.

    A value is a symlink target; None hides the tree's own entry (an overlayfs
    whiteout), as `systemctl disable` would remove it. dbus-broker becomes the
    bus as `systemctl enable dbus-broker` makes it: its [Install] Alias=dbus.service
    links /etc/systemd/system/dbus.service to it, shadowing dbus-daemon's
    dbus.service in the vendor directory. sid's dbus-broker postinst makes that
    link itself, so dbus-daemon there means taking the tree's link away.
    """
    check_bus(bus)
    existing = tree.root / "etc/systemd/system/dbus.service"
    if bus == "dbus-daemon":
        return {"dbus.service": None} if existing.is_symlink() else {}
    # The path `systemctl enable` writes: Debian 12's packages install units in
    # /lib/systemd/system, later releases in /usr/lib/systemd/system.
    directory = "/lib/systemd/system" if tree.systemd_major < 254 else "/usr/lib/systemd/system"
    if (tree.root / directory.lstrip("/") / "dbus-broker.service").exists():
        return {"dbus.service": f"{directory}/dbus-broker.service"}
    raise LabError(f"OS tree {tree.spec.name} has no dbus-broker.service",
                   "add dbus-broker to its packages")


def write_bus_links(units: Path, links: dict[str, str | None]) -> None:
    """Create ``bus_links`` in the upper layer of the lab's /etc/systemd/system."""
    for name, target in links.items():
        path = units / name
        if target is None:
            # A character device 0:0 in an overlay's upper layer is a whiteout:
            # the lower layer's file of that name is not there any more.
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(0, 0))
        else:
            path.symlink_to(target)


def nspawn_root_options(tree: OsTree, units: Path) -> list[str]:
    """The systemd-nspawn options that boot ``tree`` with ``units`` laid over its unit directory.

    ``--volatile=overlay`` puts a tmpfs over the whole tree, so the tree's /etc,
    with the enablement its packages' postinsts made, is what the lab boots,
    and nothing the lab does reaches the cached tree. ``units`` becomes the
    writable upper layer of /etc/systemd/system (scenario units, the bus link,
    and whatever systemctl enable/mask writes while the lab runs).
    """
    return [
        "--volatile=overlay",
        f"--directory={tree.root}",
        f"--overlay={tree.root}/etc/systemd/system:{units}:/etc/systemd/system",
    ]


def describe_trees() -> list[str]:
    """One line per known tree: its name, what it is and whether it is built."""
    lines = []
    for spec in TREES.values():
        tree = cached_tree(spec)
        state = (f"built: systemd {tree.systemd_version}, {tree.size_bytes / 1e6:.0f} MB, "
                 f"{tree.root}" if tree else "not built yet (first lab up builds it)")
        lines.append(f"{spec.name:<16} {spec.description}; {state}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """``python -m wizard.lab.os_trees [NAME...]``: build (or reuse) trees, e.g. in CI set-up."""
    import sys

    names = (argv if argv is not None else sys.argv[1:]) or ["bookworm-server"]
    for name in names:
        spec = tree_spec(name)
        started = time.monotonic()
        tree = ensure_tree(spec, log=lambda line: print(line, flush=True))
        print(f"{name}: {tree.root} (systemd {tree.systemd_version}, "
              f"{tree.size_bytes / 1e6:.0f} MB, built in {tree.build_seconds:.0f} s; "
              f"ready in {time.monotonic() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
