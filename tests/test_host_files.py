"""host_files on a made-up system tree: cron tables, D-Bus activation files, unit files.

Everything is read below a root (here a temporary directory, in the lab
/proc/PID/root), and no symlink may lead out of it: a container's absolute
links mean paths of the container, never of the host.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wizard.model.snapshots import CronEntry, DBusServiceFile
from wizard.system.host_files import HostFiles, UnitScanCache


def write(root: Path, path: str, text: str) -> Path:
    file = root / path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    return file


def link(root: Path, path: str, target: str) -> None:
    file = root / path.lstrip("/")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.symlink_to(target)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    system = tmp_path / "root"
    system.mkdir()
    # A file just outside the root that no symlink inside may reach.
    write(tmp_path, "outside/crontab", "* * * * * root systemctl start escaped.service\n")
    write(tmp_path, "outside/escaped.service",
          "[Service]\nExecStart=/usr/bin/systemctl start escaped.service\n")
    return system


def test_cron_entries_from_crontab_cron_d_and_user_spools(root: Path):
    write(root, "/etc/crontab", (
        "SHELL=/bin/sh\n"
        "PATH=/usr/bin:/bin:/usr/sbin  # systemctl would be found here\n"
        "# 0 * * * * root systemctl start commented.service\n"
        "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
        "*/5 * * * * root systemctl restart widget-daemon.service\n"
    ))
    write(root, "/etc/cron.d/widget", "@reboot   root   /usr/bin/systemctl start widget\n")
    write(root, "/etc/cron.d/.placeholder", "* * * * * root systemctl start hidden\n")
    write(root, "/etc/cron.d/widget~", "* * * * * root systemctl start backup-copy\n")
    write(root, "/etc/cron.d/widget.dpkg-old", "* * * * * root systemctl start old-copy\n")
    write(root, "/etc/cron.d/widget.staydown-x.bak", "* * * * * root systemctl start bak\n")
    write(root, "/var/spool/cron/crontabs/alice", "0 3 * * *  systemctl --user start sync\n")

    entries = HostFiles(str(root)).cron_entries()

    assert entries == (
        CronEntry("/etc/crontab", 5, "*/5 * * * *", "root",
                  "systemctl restart widget-daemon.service"),
        CronEntry("/etc/cron.d/widget", 1, "@reboot", "root", "/usr/bin/systemctl start widget"),
        CronEntry("/var/spool/cron/crontabs/alice", 1, "0 3 * * *", "alice",
                  "systemctl --user start sync"),
    )


def test_dbus_service_files_from_standard_dirs_and_servicedir_snippets(root: Path):
    write(root, "/usr/share/dbus-1/system-services/org.example.Std.service", (
        "[D-BUS Service]\nName=org.example.Std\nExec=/bin/false\nUser=root\n"
        "SystemdService=dbus-org.example.Std.service\n"
    ))
    # No SystemdService=: dbus-daemon runs Exec itself, systemd is not involved.
    write(root, "/usr/share/dbus-1/system-services/org.example.Plain.service",
          "[D-BUS Service]\nName=org.example.Plain\nExec=/usr/bin/plain\n")
    write(root, "/etc/dbus-1/system.d/org.example.Extra.conf", (
        "<busconfig>\n  <servicedir>/opt/extra/services</servicedir>\n"
        "  <policy user=\"root\"><allow own=\"org.example.Extra\"/></policy>\n</busconfig>\n"
    ))
    write(root, "/opt/extra/services/org.example.Extra.service", (
        "[D-BUS Service]\nName=org.example.Extra\nExec=/bin/false\n"
        "SystemdService=extra.service\n"
    ))
    write(root, "/opt/extra/services/README", "SystemdService=not-a-service-file\n")

    found = HostFiles(str(root)).dbus_service_files()

    assert found == (
        DBusServiceFile("/usr/share/dbus-1/system-services/org.example.Std.service",
                        "org.example.Std", "dbus-org.example.Std.service", "/bin/false"),
        DBusServiceFile("/opt/extra/services/org.example.Extra.service",
                        "org.example.Extra", "extra.service", "/bin/false"),
    )


def test_user_scope_ignores_system_servicedir_snippets(root: Path):
    write(root, "/etc/dbus-1/system.d/x.conf", "<servicedir>/opt/extra</servicedir>")
    write(root, "/opt/extra/x.service", "[D-BUS Service]\nName=x\nSystemdService=x.service\n")
    assert HostFiles(str(root), scope="user").dbus_service_files() == ()


def test_unit_files_mentioning_systemctl_in_files_drop_ins_and_links(root: Path):
    write(root, "/etc/systemd/system/nudge.service",
          "[Service]\nExecStart=/usr/bin/systemctl start widget.service\n")
    write(root, "/etc/systemd/system/quiet.service", "[Service]\nExecStart=/usr/bin/true\n")
    write(root, "/etc/systemd/system/quiet.service.d/override.conf",
          "[Service]\nExecStartPost=systemctl restart other.service\n")
    write(root, "/etc/systemd/system/quiet.service.d/notes.txt", "systemctl\n")
    write(root, "/usr/lib/systemd/system/vendor.service",
          "[Service]\nExecStart=/bin/sh -c 'systemctl start widget'\n")
    # An enablement-style absolute link: a path of the target system, so it
    # resolves inside the root.
    link(root, "/etc/systemd/system/alias.service", "/usr/lib/systemd/system/vendor.service")
    # Merged /usr: /lib is /usr/lib, and must not be read twice.
    link(root, "/lib", "usr/lib")

    found = HostFiles(str(root)).unit_files_mentioning("systemctl")

    assert found == {
        "nudge.service": ["/etc/systemd/system/nudge.service"],
        "quiet.service": ["/etc/systemd/system/quiet.service.d/override.conf"],
        "alias.service": ["/etc/systemd/system/alias.service"],
        "vendor.service": ["/usr/lib/systemd/system/vendor.service"],
    }


def test_absolute_symlinks_resolve_inside_the_root(root: Path):
    # In a container, /etc/crontab -> /srv/crontab means the container's /srv.
    write(root, "/srv/crontab", "* * * * * root systemctl start inside.service\n")
    link(root, "/etc/crontab", "/srv/crontab")
    (entry,) = HostFiles(str(root)).cron_entries()
    assert entry.command == "systemctl start inside.service"


@pytest.mark.parametrize(
    "target",
    [
        "{outside}/crontab",  # the host path of the file next to the root
        "../../../../../../../../outside/crontab",  # climbing above the root
    ],
)
def test_symlinks_never_lead_out_of_the_root(root: Path, target: str):
    outside = root.parent / "outside"
    link(root, "/etc/cron.d/escape", target.format(outside=outside))
    link(root, "/var/spool/cron/crontabs/mallory", target.format(outside=outside))
    link(root, "/etc/systemd/system/escaped.service",
         target.format(outside=outside).replace("crontab", "escaped.service"))

    files = HostFiles(str(root))

    assert files.cron_entries() == ()
    assert files.unit_files_mentioning("systemctl") == {}
    assert files.read_text("/etc/cron.d/escape") is None


def test_a_directory_symlink_out_of_the_root_is_not_listed(root: Path):
    outside = root.parent / "outside"
    link(root, "/etc/cron.d", str(outside))
    link(root, "/etc/systemd/system", str(outside))
    files = HostFiles(str(root))
    assert files.list_dir("/etc/cron.d") == []
    assert files.cron_entries() == ()
    assert files.unit_files_mentioning("systemctl") == {}


@pytest.mark.parametrize("length", range(36, 46))
def test_a_long_chain_of_links_ends_in_nothing_not_on_the_host(root: Path, length: int):
    # Past the hop limit a link must not be handed to open(), which would follow
    # it with the host's view of the file system, out of the root.
    outside = root.parent / "outside"
    link(root, "/etc/l0", str(outside / "crontab"))
    for hop in range(1, length):
        link(root, f"/etc/l{hop}", f"/etc/l{hop - 1}")
    link(root, "/etc/crontab", f"/etc/l{length - 1}")
    files = HostFiles(str(root))
    assert files.read_text("/etc/crontab") is None
    assert files.cron_entries() == ()


def test_unreadable_and_missing_files_are_skipped(root: Path):
    files = HostFiles(str(root))
    assert files.cron_entries() == ()
    assert files.dbus_service_files() == ()
    assert files.unit_files_mentioning("systemctl") == {}
    write(root, "/etc/cron.d/binary", "\xff\xfe * * * * * root systemctl start x\n")
    if os.geteuid() != 0:
        (root / "etc/cron.d/binary").chmod(0)
    # Either unreadable (skipped) or read with replacement characters: never an error.
    files.cron_entries()


def _cached_files(root: Path, cache_dir: Path) -> HostFiles:
    return HostFiles(str(root), scan_cache=UnitScanCache(str(cache_dir / "scan.json")))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root writes the unit-file scan cache")
def test_the_scan_cache_sees_an_edit_in_place(root: Path, tmp_path: Path):
    cache_dir = tmp_path / "cache"
    unit = write(root, "/etc/systemd/system/quiet.service", "[Service]\nExecStart=/usr/bin/true\n")
    write(root, "/etc/systemd/system/nudge.service",
          "[Service]\nExecStart=/usr/bin/systemctl start widget.service\n")
    expected = {"nudge.service": ["/etc/systemd/system/nudge.service"]}
    assert _cached_files(root, cache_dir).unit_files_mentioning("systemctl") == expected
    assert (cache_dir / "scan.json").is_file()
    assert _cached_files(root, cache_dir).unit_files_mentioning("systemctl") == expected

    # Same directory, same name, same inode: only the file's contents change.
    inode = unit.stat().st_ino
    with unit.open("r+") as handle:
        handle.seek(0, os.SEEK_END)
        handle.write("ExecStartPost=systemctl start widget.service\n")
    assert unit.stat().st_ino == inode
    assert _cached_files(root, cache_dir).unit_files_mentioning("systemctl") == {
        **expected, "quiet.service": ["/etc/systemd/system/quiet.service"],
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="only root writes the unit-file scan cache")
def test_the_scan_cache_is_read_only_when_nobody_but_root_can_write_it(
    root: Path, tmp_path: Path
):
    cache_dir = tmp_path / "cache"
    write(root, "/etc/systemd/system/quiet.service", "[Service]\nExecStart=/usr/bin/true\n")
    _cached_files(root, cache_dir).unit_files_mentioning("systemctl")
    cache = cache_dir / "scan.json"
    # A forged answer under the right key is believed while root alone can write it ...
    forged = json.loads(cache.read_text())
    forged["found"] = {"forged.service": ["/etc/systemd/system/forged.service"]}
    cache.write_text(json.dumps(forged))
    assert _cached_files(root, cache_dir).unit_files_mentioning("systemctl") == forged["found"]
    # ... and ignored, for a full scan, once others could have written it.
    cache.chmod(0o666)
    assert _cached_files(root, cache_dir).unit_files_mentioning("systemctl") == {}
    cache.chmod(0o644)
    cache_dir.chmod(0o777)
    assert _cached_files(root, cache_dir).unit_files_mentioning("systemctl") == {}
