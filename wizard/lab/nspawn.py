"""The lab: a real systemd booted as PID 1 in systemd-nspawn, for tests, demo and practice.

``systemd-nspawn --volatile=yes --directory=/ --boot --private-network`` gives a
throw-away system built from the host's /usr: its /etc, /run, /tmp and /var are
fresh tmpfs, its network is its own, and the scenario's units are bind-mounted
at /etc/systemd/system. It boots in about a second. We reach its system bus
through /proc/LEADER/root, so no machined is needed on the host, and we end it
by signalling only the nspawn process we started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from wizard.errors import LabError, StaydownError
from wizard.lab import DEFAULT_LAB as DEFAULT_LAB
from wizard.lab.catalogue import RevivalSource, source_from_json
from wizard.model.connection import Connection, address_connection
from wizard.system.systemd import systemd_client

STATE_DIR = Path(os.environ.get("STAYDOWN_LAB_DIR", "/run/staydown/labs"))
BOOT_TIMEOUT = 60.0
LAB_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where a scenario's units appear inside the lab: the administrator's directory
# (the default) or the vendor's, where packages install theirs. They behave
# differently: `systemctl mask` fails for a unit whose file is in /etc, and a
# runtime mask in /run is shadowed by /etc but not by /usr/lib.
UNIT_DIRS = {"admin": "/etc/systemd/system", "vendor": "/usr/lib/systemd/system"}


@dataclass(frozen=True)
class Scenario:
    """A packaged set of units (and extra files) with the unit to look at."""

    name: str
    description: str
    target: str
    directory: Path
    enable: dict[str, tuple[str, ...]]
    binds: tuple[str, ...] = ()
    unit_dir: str = "admin"
    sources: tuple[RevivalSource, ...] = ()

    @property
    def unit_path(self) -> str:
        """The directory the scenario's unit files are in, inside the lab."""
        return UNIT_DIRS[self.unit_dir]

    @property
    def uses_automount(self) -> bool:
        """Whether any of the scenario's units is an automount (they need the host's autofs)."""
        units = self.directory / "units"
        return units.is_dir() and any(p.suffix == ".automount" for p in units.iterdir())


def automount_unavailable() -> str | None:
    """Why no .automount unit can start in a lab on this host, or None when they can.

    A container shares the host's kernel and cannot load modules: without autofs
    in the host kernel no automount is ever set up (seen on a kernel built without
    CONFIG_AUTOFS_FS: no /dev/autofs, the automount unit stays inactive).
    """
    try:
        filesystems = Path("/proc/filesystems").read_text()
    except OSError:
        return None
    if any(line.split()[-1:] == ["autofs"] for line in filesystems.splitlines()):
        return None
    return ("this host's kernel has no autofs (not in /proc/filesystems: built without "
            "CONFIG_AUTOFS_FS, or its module not loaded), so no .automount unit can start in a "
            "container on it")


def _scenario_root() -> Path:
    return Path(str(resources.files("wizard.lab.scenarios")))


def list_scenarios() -> list[Scenario]:
    """Every scenario shipped with staydown, sorted by name."""
    found = []
    for entry in sorted(_scenario_root().iterdir()):
        if (entry / "scenario.json").is_file():
            found.append(load_scenario(entry.name))
    return found


def load_scenario(name: str) -> Scenario:
    """A shipped scenario by name, or a clear error listing the ones there are."""
    directory = _scenario_root() / name
    if "/" in name or not (directory / "scenario.json").is_file():
        names = ", ".join(s.name for s in list_scenarios())
        raise LabError(f"there is no lab scenario {name!r}", f"choose one of: {names}")
    return scenario_from_directory(directory)


def scenario_from_directory(directory: Path) -> Scenario:
    """A scenario laid out like the shipped ones (scenario.json, units/, files/)."""
    meta_file = directory / "scenario.json"
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as error:
        raise LabError(f"cannot read scenario {meta_file}: {error}") from error
    unit_dir = meta.get("unit_dir", "admin")
    if unit_dir not in UNIT_DIRS:
        raise LabError(
            f"scenario {meta_file}: unit_dir {unit_dir!r} is not one of {', '.join(UNIT_DIRS)}"
        )
    try:
        sources = tuple(
            source_from_json(entry) for entry in meta.get("sources", ())
        )
    except (KeyError, TypeError) as error:
        raise LabError(f"scenario {meta_file}: a source lacks {error}") from error
    return Scenario(
        name=directory.name,
        description=meta["description"],
        target=meta["target"],
        directory=directory,
        enable={k: tuple(v) for k, v in meta.get("enable", {}).items()},
        binds=tuple(meta.get("binds", ())),
        unit_dir=unit_dir,
        sources=sources,
    )


def _check_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_" for c in name) or len(name) > 40:
        raise LabError(f"{name!r} is not a usable lab name", "use letters, digits, - and _")
    return name


@dataclass(frozen=True)
class Lab:
    """A booted lab, known by the nspawn PID we started and its container's PID 1."""

    name: str
    scenario: str
    nspawn_pid: int
    leader_pid: int
    directory: Path
    os_tree: str = ""  # "" for the host's own tree, else a name from lab.os_trees.TREES
    bus: str = ""

    @property
    def bus_address(self) -> str:
        """The container's system bus, reached through its root."""
        return f"unix:path=/proc/{self.leader_pid}/root/run/dbus/system_bus_socket"

    @property
    def connection(self) -> Connection:
        """How the adapter talks to this lab's systemd."""
        return address_connection(
            self.bus_address, files_root=f"/proc/{self.leader_pid}/root", label=f"lab {self.name}",
            enter_pid=self.leader_pid,
        )

    def exec(
        self, command: Sequence[str], *, check: bool = False, capture: bool = True,
        timeout: float | None = 120, input_text: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the lab (all of its namespaces), as root."""
        try:
            return subprocess.run(
                ["nsenter", "--target", str(self.leader_pid), "--all", "--", *command],
                check=check,
                capture_output=capture,
                text=True,
                timeout=timeout,
                input=input_text,
                env={"PATH": LAB_PATH, "LANG": "C.UTF-8", "SYSTEMD_PAGER": "",
                     "TERM": os.environ.get("TERM", "dumb")},
            )
        except subprocess.CalledProcessError as error:
            raise LabError(
                f"{' '.join(command)} failed in lab {self.name} with status "
                f"{error.returncode}: {(error.stderr or '').strip()}"
            ) from error

    def systemctl(self, *args: str, check: bool = True) -> str:
        """Run systemctl in the lab and return its output."""
        return self.exec(["systemctl", "--no-pager", *args], check=check).stdout

    def is_running(self) -> bool:
        """Whether our nspawn and its PID 1 are both still there."""
        return _is_our_nspawn(self.nspawn_pid, self.name) and Path(
            f"/proc/{self.leader_pid}"
        ).exists()


def _is_our_nspawn(pid: int, name: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        bool(cmdline)
        and os.path.basename(cmdline[0]) == b"systemd-nspawn"
        and f"--machine=staydown-{name}".encode() in cmdline
    )


def _find_leader(nspawn_pid: int) -> int | None:
    # nspawn forks the container's init as its direct child (outer child exits).
    children: list[int] = []
    for task in Path(f"/proc/{nspawn_pid}/task").glob("*/children"):
        try:
            children.extend(int(p) for p in task.read_text().split())
        except OSError:
            continue
    for child in children:
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                return child
        except OSError:
            continue
    return None


def _state_file(directory: Path) -> Path:
    return directory / "lab.json"


def find_lab(name: str = DEFAULT_LAB) -> Lab | None:
    """The running lab of that name, or None."""
    directory = STATE_DIR / _check_name(name)
    try:
        state = json.loads(_state_file(directory).read_text())
    except (OSError, ValueError):
        return None
    lab = Lab(name, state["scenario"], state["nspawn_pid"], state["leader_pid"], directory,
              state.get("os", ""), state.get("bus", ""))
    return lab if lab.is_running() else None


def require_lab(name: str = DEFAULT_LAB) -> Lab:
    """The running lab of that name, or an error that says how to start one."""
    lab = find_lab(name)
    if lab is None:
        raise LabError(
            f"no lab named {name!r} is running",
            f"start one with: staydown lab up --name {name}",
        )
    return lab


def _preflight() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab boots a container and needs root", "run it with sudo")
    if shutil.which("systemd-nspawn") is None:
        raise LabError(
            "systemd-nspawn is not installed", "install it: apt-get install systemd-container"
        )
    if shutil.which("nsenter") is None:
        raise LabError("nsenter is not installed", "install it: apt-get install util-linux")


def up(
    scenario_name: str | Scenario | None = "article", name: str = DEFAULT_LAB, *,
    network_namespace: str | None = None, read_only_binds: Sequence[str] = (),
    os_name: str | None = None, bus: str = "dbus-daemon",
) -> Lab:
    """Boot a lab with the scenario's units and wait until its systemd is up.

    ``network_namespace`` (a path such as /run/netns/NAME, made by ``ip netns
    add``) puts the lab in that namespace instead of a fresh private one, so a
    test can wire a veth pair into it; it is never the host's own.
    ``read_only_binds`` are host directories shown read-only at the same path
    inside (a test runs staydown itself in the lab from its worktree).

    ``scenario_name`` is a shipped scenario's name, or a Scenario built with
    :func:`scenario_from_directory` (the benchmark and ``lab challenge``
    generate their own), or None for no units of ours (an OS tree as its
    packages left it). The scenario's units and files are copied into the
    lab's state directory, so the scenario directory may go once it is booted.
    ``os_name`` boots a Debian tree from lab.os_trees (built on first use)
    instead of the host's, with ``bus`` as its system bus.
    """
    _preflight()
    _check_name(name)
    if network_namespace is not None and os.stat(network_namespace).st_ino == os.stat(
        "/proc/self/ns/net"
    ).st_ino:
        raise LabError("a lab never shares the host's network namespace")
    if scenario_name is None:
        scenario_name = Scenario("none", "no scenario", "", Path("/nonexistent"), {})
    tree = None
    if os_name is not None:
        from wizard.lab import os_trees

        os_trees.check_bus(bus)
        tree = os_trees.ensure_tree(os_trees.tree_spec(os_name))
    scenario = (
        scenario_name if isinstance(scenario_name, Scenario) else load_scenario(scenario_name)
    )
    if find_lab(name) is not None:
        raise LabError(
            f"lab {name!r} is already running", f"stop it first: staydown lab down --name {name}"
        )
    directory = STATE_DIR / name
    if directory.exists():
        shutil.rmtree(directory)
    units = directory / "units"
    overlay: list[str] = []
    root = "" if tree is None else str(tree.root)
    if not (scenario.directory / "units").is_dir():
        units.mkdir(parents=True)
        link_to = scenario.unit_path
    elif scenario.unit_dir == "vendor":
        # The host's /usr is the lab's /usr, read-only: a read-only overlay puts
        # the scenario's units on top of the host's vendor units inside the lab
        # only. /etc/systemd/system is still ours, for enablement links.
        vendor = directory / "vendor-units"
        shutil.copytree(scenario.directory / "units", vendor, symlinks=True)
        units.mkdir()
        link_to = scenario.unit_path  # absolute, as `systemctl enable` links vendor units
        overlay.append(f"--overlay-ro={root}{link_to}:{vendor}:{link_to}")
    else:
        shutil.copytree(scenario.directory / "units", units, symlinks=True)
        link_to = ".."
    # Enablement is data in scenario.json rather than symlinks in the package,
    # which wheels would flatten into copies.
    for wanting, wanted in scenario.enable.items():
        wants = units / f"{wanting}.wants"
        wants.mkdir(exist_ok=True)
        for unit in wanted:
            (wants / unit).symlink_to(f"{link_to}/{unit}")
    (directory / "machine-id").write_text(uuid.uuid4().hex + "\n")
    environment = dict(os.environ)
    if tree is None:
        root_options = ["--volatile=yes", "--directory=/", f"--bind={units}:/etc/systemd/system"]
    else:
        from wizard.lab import os_trees

        os_trees.write_bus_links(units, os_trees.bus_links(tree, bus))
        root_options = os_trees.nspawn_root_options(tree, units)
        environment.update(tree.nspawn_environment)
    command = [
        "systemd-nspawn",
        "--quiet",
        *root_options,
        "--boot",
        *([f"--network-namespace-path={network_namespace}"] if network_namespace
          else ["--private-network"]),
        "--register=no",
        "--keep-unit",
        "--console=read-only",
        f"--machine=staydown-{name}",
        f"--bind-ro={directory / 'machine-id'}:/etc/machine-id",
        *overlay,
    ]
    if (scenario.directory / "files").is_dir():
        # A private copy, like the units: the lab never depends on the scenario's
        # directory after the boot (a generated challenge boots from a temporary one).
        extra = directory / "files"
        shutil.copytree(scenario.directory / "files", extra, symlinks=True)
        command.extend(_file_mounts(extra, root))
    command.extend(f"--bind={device}" for device in scenario.binds if Path(device).exists())
    command.extend(f"--bind-ro={directory}" for directory in read_only_binds)
    log = (directory / "console.log").open("wb")
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True, env=environment,
    )
    log.close()
    try:
        leader = _wait_for_boot(process, directory)
    except BaseException:
        _terminate(process.pid, name)
        raise
    os_label = "" if os_name is None else os_name
    bus_label = "" if tree is None else bus
    _state_file(directory).write_text(
        json.dumps({"scenario": scenario.name, "nspawn_pid": process.pid, "leader_pid": leader,
                    "os": os_label, "bus": bus_label})
    )
    return Lab(name, scenario.name, process.pid, leader, directory, os_label, bus_label)


def _file_mounts(extra: Path, root: str = "") -> list[str]:
    """The nspawn options that put a scenario's files/ tree at the same paths inside.

    Files outside /usr are bind-mounted one by one (nspawn creates the mount
    points in the lab's fresh /etc, /var, /opt). The lab's /usr is the host's,
    read-only, where no mount point can be made: there the nearest directory
    the host has gets a read-only overlay of the scenario's tree on top.
    """
    mounts: list[str] = []
    overlays: set[str] = set()
    for source in sorted(p for p in extra.rglob("*") if p.is_file()):
        inside = f"/{source.relative_to(extra)}"
        if not inside.startswith("/usr/"):
            mounts.append(f"--bind-ro={source}:{inside}")
            continue
        directory = os.path.dirname(inside)
        while not os.path.isdir(f"{root}{directory}"):
            directory = os.path.dirname(directory)
        overlays.add(directory)
    for directory in sorted(overlays):
        # An overlay of a directory already shows the scenario's subdirectories.
        if not any(directory.startswith(f"{other}/") for other in overlays):
            mounts.append(f"--overlay-ro={root}{directory}:{extra}{directory}:{directory}")
    return mounts


def _wait_for_boot(process: subprocess.Popen[bytes], directory: Path) -> int:
    deadline = time.monotonic() + BOOT_TIMEOUT
    leader: int | None = None
    last_error = "systemd did not start"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(
                f"systemd-nspawn exited with status {process.returncode}",
                f"console log: {directory / 'console.log'}\n{_tail(directory)}",
            )
        leader = leader or _find_leader(process.pid)
        if leader is not None:
            socket = Path(f"/proc/{leader}/root/run/dbus/system_bus_socket")
            if socket.exists():
                try:
                    with systemd_client(
                        address_connection(f"unix:path={socket}", label="the lab")
                    ) as client:
                        state = client.manager().system_state
                    # "starting" means the boot transaction still runs; the
                    # scenario's units are not settled until it is done.
                    if state in ("running", "degraded"):
                        return leader
                    last_error = f"systemd is {state}"
                except StaydownError as error:
                    last_error = error.message
        time.sleep(0.05)
    running = len(running_labs())
    hint = _tail(directory)
    if running >= 8:
        # Each booted systemd holds about ten inotify instances; the kernel's
        # default allows 128 per user, and a systemd without them never gets its bus up.
        hint = (f"{running} labs are running already; each uses about ten inotify instances "
                "(fs.inotify.max_user_instances). Stop some with staydown lab down.\n" + hint)
    raise LabError(f"the lab did not boot within {BOOT_TIMEOUT:.0f}s: {last_error}", hint)


def _tail(directory: Path, lines: int = 15) -> str:
    try:
        text = (directory / "console.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _terminate(pid: int, name: str, timeout: float = 10.0) -> None:
    # SIGTERM asks nspawn for an orderly poweroff of the container; SIGKILL on
    # nspawn ends the whole PID namespace. Only ever our own process, by PID.
    if not _is_our_nspawn(pid, name):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = 0 if Path(f"/proc/{pid}").exists() else pid
        if finished == pid or not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def down(name: str = DEFAULT_LAB) -> bool:
    """Stop the lab of that name; False when none was running."""
    directory = STATE_DIR / _check_name(name)
    lab = find_lab(name)
    if lab is not None:
        _terminate(lab.nspawn_pid, name)
    if directory.exists():
        shutil.rmtree(directory, ignore_errors=True)
    return lab is not None


def running_labs() -> list[Lab]:
    """Every lab that is up right now."""
    if not STATE_DIR.is_dir():
        return []
    labs = (find_lab(entry.name) for entry in sorted(STATE_DIR.iterdir()) if entry.is_dir())
    return [lab for lab in labs if lab is not None]
