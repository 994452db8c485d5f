"""Which systemd to talk to, and where its files can be read.

Every command takes the same options (--user, --machine, --host, --bus); they
end up here as one value that the adapter opens and the CLI describes.
"""

from __future__ import annotations

from typing import Literal

from wizard.model.frozen import frozen

Transport = Literal["system", "user", "machine", "host", "address"]


@frozen
class Connection:
    """A way to reach one service manager, plus the root its files live under.

    ``files_root`` is where cron tables, unit files and D-Bus service files of
    that system are read from ("/" locally, /proc/PID/root for a container);
    None when they are not on this machine (over ssh they are read on the
    host; behind a bare bus address they cannot be read, which the diagnosis
    notes). ``ssh_options`` are ``-o`` options for every ssh of --host.
    """

    transport: Transport = "system"
    target: str = ""
    files_root: str | None = "/"
    label: str = "the local system manager"
    ssh_options: tuple[str, ...] = ()
    enter_pid: int | None = None
    """PID 1 of the container (a lab) the manager runs in, when commands reach it only
    from inside its namespaces (nsenter); None when they run from here."""

    @property
    def scope(self) -> str:
        """Systemd's word for it: "system" or "user"."""
        return "user" if self.transport == "user" else "system"

    @property
    def shares_clock(self) -> bool:
        """Whether this machine's monotonic clock is the manager's (not over ssh)."""
        return self.transport != "host"


def system_connection() -> Connection:
    """The local system manager on the default system bus."""
    return Connection()


def user_connection() -> Connection:
    """The calling user's own service manager (systemctl --user)."""
    return Connection(transport="user", label="your user service manager")


def machine_connection(name: str, files_root: str | None) -> Connection:
    """A local container's system manager, like systemctl --machine."""
    return Connection(
        transport="machine", target=name, files_root=files_root, label=f"machine {name}"
    )


def host_connection(host: str, ssh_options: tuple[str, ...] = ()) -> Connection:
    """A remote host's system manager over ssh, like systemctl --host."""
    return Connection(transport="host", target=host, files_root=None, label=f"host {host}",
                      ssh_options=ssh_options)


def address_connection(
    address: str, files_root: str | None = None, label: str = "", enter_pid: int | None = None
) -> Connection:
    """Any D-Bus address with a system manager behind it."""
    return Connection(
        transport="address",
        target=address,
        files_root=files_root,
        label=label or f"the bus at {address}",
        enter_pid=enter_pid,
    )
