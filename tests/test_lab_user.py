"""--user on a real user manager: a lingering user's, inside a lab.

The lab boots with this worktree (and the Python it runs on) bound read-only,
so staydown runs inside it as that user, exactly as ``staydown --user`` would
on a host: its own session bus, its own crontab, its own journal. The user's
units are the article's, one level down: a socket, a reconcile timer whose
service Wants= the daemon, and the daemon enabled in default.target.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import lab_unavailable_reason
from tests.lab_helpers import open_root_for_users, staydown_argv, staydown_binds, wait_until
from wizard.errors import ExitCode
from wizard.lab import nspawn as lab_module
from wizard.lab.nspawn import Lab

pytestmark = pytest.mark.lab

ARTICLE_UNITS = lab_module.load_scenario("article").directory / "units"
USER, UID = "alice", 1500
HOME = f"/home/{USER}"
UNIT_DIR = f"{HOME}/.config/systemd/user"
DAEMON = "widget-daemon.service"
PORT = 8181
CRON_LINE = f"*/1 * * * * systemctl --user start {DAEMON}\n"
# The lab's /etc starts empty: user@.service's PAM stack (PAMName=systemd-user)
# must exist, and pam_systemd is what gives the manager its XDG_RUNTIME_DIR.
PAM_SYSTEMD_USER = ("account required pam_permit.so\nsession required pam_permit.so\n"
                    "session optional pam_systemd.so\n")


@dataclass(frozen=True)
class UserLab:
    """A lab with a lingering user whose manager runs the article's units."""

    lab: Lab

    def as_user(self, *argv: str, user: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command in the lab as the user (or as root), in the user's home."""
        environment = [f"HOME={HOME}", f"USER={USER}", f"LOGNAME={USER}",
                       f"XDG_RUNTIME_DIR=/run/user/{UID}",
                       f"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{UID}/bus"]
        identity = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--init-groups"] if user \
            else []
        return self.lab.exec([*identity, "env", *environment, "sh", "-c",
                              'cd "$HOME" && exec "$@"', "sh", *argv], timeout=timeout)

    def staydown(self, *argv: str, user: bool = True,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """staydown COMMAND --user ARGS... as the user (or root) inside the lab."""
        command, *rest = argv
        return self.as_user(*staydown_argv(command, "--user", *rest), user=user,
                            timeout=timeout)

    def systemctl(self, *argv: str) -> str:
        """systemctl --user as the user; its output."""
        return self.as_user("systemctl", "--user", "--no-pager", *argv).stdout.strip()

    def is_active(self, unit: str) -> bool:
        """Whether the user's unit is active."""
        return self.systemctl("is-active", unit) == "active"


@pytest.fixture
def user_lab() -> Iterator[UserLab]:
    reason = lab_unavailable_reason()
    if reason is not None:
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)
    name = f"u{os.getpid()}-{time.monotonic_ns() % 100000}"
    lab = lab_module.up("article", name, read_only_binds=staydown_binds())
    try:
        setup = UserLab(lab)
        _make_user(setup)
        yield setup
    finally:
        lab_module.down(name)


def _make_user(setup: UserLab) -> None:
    lab = setup.lab
    open_root_for_users(lab)
    lab.exec(["sh", "-c", "mkdir -p /etc/pam.d && cat > /etc/pam.d/systemd-user"],
             check=True, input_text=PAM_SYSTEMD_USER)
    lab.exec(["useradd", "--create-home", "--uid", str(UID), USER], check=True)
    setup.as_user("mkdir", "-p", UNIT_DIR)
    for unit in sorted(ARTICLE_UNITS.iterdir()):
        text = unit.read_text().replace("multi-user.target", "default.target") \
            .replace("127.0.0.1:8080", f"127.0.0.1:{PORT}")
        lab.exec(["sh", "-c", f"cat > {UNIT_DIR}/{unit.name} && chown {USER}: "
                 f"{UNIT_DIR}/{unit.name}"], check=True, input_text=text)
    # The user's crontab, where the user can read it (no cron is installed in the lab).
    lab.exec(["sh", "-c", f"mkdir -p /var/spool/cron/crontabs && cat > "
              f"/var/spool/cron/crontabs/{USER} && chown {USER}: /var/spool/cron/crontabs/{USER}"
              f" && chmod 600 /var/spool/cron/crontabs/{USER}"], check=True, input_text=CRON_LINE)
    lab.exec(["loginctl", "enable-linger", USER], check=True)
    assert wait_until(lambda: lab.exec(["systemctl", "is-active", "--quiet",
                                        f"user@{UID}.service"]).returncode == 0, timeout=30)
    enabled = setup.as_user("systemctl", "--user", "enable", "--now", "widget-daemon.socket",
                            "widget-reconcile.timer", DAEMON)
    assert enabled.returncode == 0, enabled.stderr
    assert wait_until(lambda: setup.is_active(DAEMON), timeout=10)


def diagnose(setup: UserLab) -> tuple[int, dict[str, Any]]:
    done = setup.staydown("diagnose", "--json", DAEMON)
    assert done.stderr == "", done.stderr
    return done.returncode, json.loads(done.stdout)


def findings(document: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {(f["kind"], f["source"], tuple(f["chain"]), f["live"]) for f in document["findings"]}


def test_diagnose_user_finds_the_users_socket_timer_boot_and_crontab(user_lab: UserLab):
    user_lab.systemctl("stop", DAEMON)
    user_lab.lab.exec(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{PORT}"])
    assert wait_until(lambda: user_lab.is_active(DAEMON), timeout=5)

    code, document = diagnose(user_lab)

    assert code == ExitCode.LIVE_SOURCES
    assert document["connection"] == "your user service manager"
    assert findings(document) >= {
        ("socket", "widget-daemon.socket", ("widget-daemon.socket", DAEMON), True),
        ("dependency", "widget-reconcile.timer",
         ("widget-reconcile.timer", "widget-reconcile.service", DAEMON), True),
        ("restart-policy", DAEMON, (DAEMON,), False),
        ("boot", "default.target", ("default.target", DAEMON), False),
    }, findings(document)
    cron = [f for f in document["findings"] if f["kind"] == "external"]
    assert [f["source"] for f in cron] == [f"/var/spool/cron/crontabs/{USER}:1"], cron
    assert document["notes"] == []
    # The user journal: the socket's start of the daemon, read as the user.
    starts = [(e["cause"], e["source"]) for e in document["timeline"]["events"]
              if e["event"] == "start"]
    assert ("triggered", "widget-daemon.socket") in starts, document["timeline"]


def test_plan_user_runs_as_the_user_keeps_the_unit_down_and_undoes(user_lab: UserLab):
    before = {u: (user_lab.systemctl("is-enabled", u), user_lab.systemctl("is-active", u))
              for u in ("widget-daemon.socket", "widget-reconcile.timer", DAEMON)}

    as_root = user_lab.staydown("plan", DAEMON, user=False)
    assert as_root.returncode == ExitCode.USAGE, as_root.stdout + as_root.stderr
    assert "not as root" in as_root.stderr

    planned = user_lab.staydown("plan", DAEMON)
    assert planned.returncode == 0, planned.stderr
    script = f"{HOME}/staydown-{DAEMON}.sh"
    text = user_lab.lab.exec(["cat", script], check=True).stdout
    assert "systemctl() { command systemctl --user \"$@\"; }" in text
    assert f"check_file {UNIT_DIR}/{DAEMON} " in text

    refused = user_lab.lab.exec(["bash", script])
    assert refused.returncode == 1
    assert "not root" in refused.stderr

    applied = user_lab.as_user("bash", script)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        user_lab.lab.exec(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{PORT}"])
        assert not user_lab.is_active(DAEMON)
        time.sleep(0.5)

    undone = user_lab.as_user("bash", f"{HOME}/staydown-{DAEMON}.undo.sh")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert wait_until(lambda: {u: (user_lab.systemctl("is-enabled", u),
                                   user_lab.systemctl("is-active", u)) for u in before}
                      == before, timeout=10)


def test_watch_user_stops_the_unit_and_names_the_timer(user_lab: UserLab):
    user_lab.systemctl("stop", "widget-daemon.socket")

    done = user_lab.staydown("watch", "--json", "--stop", "--seconds", "8", DAEMON)

    assert done.returncode == ExitCode.LIVE_SOURCES, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    starts = {(d["cause"], d["source"]) for d in lines
              if d.get("type") == "event" and d["event"] == "start"}
    assert starts == {("pulled-in", "widget-reconcile.timer")}, lines
    stops = [d for d in lines if d.get("type") == "event" and d["event"] == "stop"]
    assert stops, lines
