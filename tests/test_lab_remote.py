"""--host on a real sshd in a lab: the same answers over ssh as on the lab itself.

Each lab is reached only through a veth pair between network namespaces the
test made (tests/ssh_lab.py), with a key generated for the run and the lab's
own host key in known_hosts. staydown runs in the client namespace as a
subprocess, as an operator would run it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.lab_helpers import connect_tcp, diagnose_json, is_active, unit_states, wait_until
from tests.ssh_lab import SshLab, SshNetwork

pytestmark = pytest.mark.lab

DAEMON = "widget-daemon.service"
ARTICLE_UNITS = ("widget-daemon.service", "widget-daemon.socket", "widget-reconcile.timer",
                 "widget-reconcile.service")
CRON_LINE = f"*/1 * * * * root /usr/bin/systemctl start {DAEMON}\n"


def logins(remote: SshLab) -> int:
    """How many times sshd in the lab has let someone in."""
    log = remote.lab.exec(["journalctl", "--no-pager", "-o", "cat", "-u", "staydown-sshd"])
    return log.stdout.count("Accepted publickey")


def ssh_sessions(remote: SshLab) -> str:
    """The lab's established ssh connections (ss from iproute2), empty when none."""
    return remote.lab.exec(["ss", "-Htn", "state", "established", "( sport = :22 )"]).stdout


def over_ssh(remote: SshLab, *args: str) -> tuple[int, dict[str, Any]]:
    done = remote.staydown("diagnose", "--json", *args)
    assert done.stderr == "", done.stderr
    return done.returncode, json.loads(done.stdout)


def findings(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted((f["kind"], f["source"], tuple(f["chain"]), f["live"])
                  for f in document["findings"])


def causes(document: dict[str, Any], until: str) -> list[tuple[Any, ...]]:
    return [(e["event"], e["cause"], e["source"], e["job_id"])
            for e in document["timeline"]["events"] if e["at"] <= until]


def test_diagnose_over_ssh_gives_the_labs_findings_and_timeline(ssh_network: SshNetwork):
    remote = ssh_network.boot("article")
    remote.lab.systemctl("stop", DAEMON)
    connect_tcp(remote.lab, 8080)
    assert wait_until(lambda: is_active(remote.lab, DAEMON), timeout=5)

    logged_in = logins(remote)
    code, document = over_ssh(remote, DAEMON)
    lab_code, on_lab = diagnose_json(remote.lab, DAEMON)

    # One authentication for the bus, the file scan and the journal; the
    # master is gone when staydown is.
    assert logins(remote) == logged_in + 1
    assert wait_until(lambda: ssh_sessions(remote) == "", timeout=5), ssh_sessions(remote)
    assert (code, lab_code) == (1, 1)
    assert document["connection"] == f"host {remote.destination}"
    assert findings(document) == findings(on_lab)
    assert ("socket", "widget-daemon.socket", ("widget-daemon.socket", DAEMON), True) \
        in findings(document)
    assert document["examined"] == on_lab["examined"]
    assert document["notes"] == on_lab["notes"] == []
    # The journal was read on the host: the same starts, with the same causes.
    until = min(document["timeline"]["until"], on_lab["timeline"]["until"])
    assert causes(document, until) == causes(on_lab, until)
    assert ("start", "triggered", "widget-daemon.socket") in [
        c[:3] for c in causes(document, until)]


def test_a_cron_caller_is_seen_only_by_reading_the_hosts_files(ssh_network: SshNetwork):
    remote = ssh_network.boot("article")
    remote.lab.exec(["sh", "-c", "mkdir -p /etc/cron.d && cat > /etc/cron.d/widget-kick"],
                    check=True, input_text=CRON_LINE)

    _code, document = over_ssh(remote, DAEMON)
    _code, on_lab = diagnose_json(remote.lab, DAEMON)

    external = [f for f in document["findings"] if f["kind"] == "external"]
    assert [f["source"] for f in external] == ["/etc/cron.d/widget-kick:1"], external
    assert findings(document) == findings(on_lab)
    # D-Bus alone (a bare bus address, no files) cannot see it, and says so.
    bus_only = subprocess.run(
        [sys.executable, "-m", "wizard", "diagnose", "--json", "--bus",
         remote.lab.bus_address, DAEMON], capture_output=True, text=True, check=False)
    blind = json.loads(bus_only.stdout)
    assert not [f for f in blind["findings"] if f["kind"] == "external"]
    assert any("cannot be read from here" in note for note in blind["notes"])


def test_what_a_plain_user_cannot_read_is_named_not_dropped(ssh_network: SshNetwork):
    remote = ssh_network.boot("article")
    lab = remote.lab
    lab.exec(["useradd", "--create-home", "ops"], check=True)
    # As on Debian: root's crontabs are readable by root only.
    lab.exec(["sh", "-c", "mkdir -p -m 0700 /var/spool/cron/crontabs && "
              "cat > /var/spool/cron/crontabs/root && chmod 600 /var/spool/cron/crontabs/root"],
             check=True, input_text=f"*/1 * * * * systemctl start {DAEMON}\n")
    ops = remote.authorize("ops")

    code, document = over_ssh(ops, DAEMON)
    _code, as_root = over_ssh(remote, DAEMON)

    assert code == 1
    notes = "\n".join(document["notes"])
    assert "could not read /var/spool/cron/crontabs" in notes, notes
    assert "the journal of host ops@" in notes, notes
    # What it could read is still there, as live as root sees it.
    assert {f for f in findings(document) if f[0] != "external"} == \
        {f for f in findings(as_root) if f[0] != "external"}
    assert any(f[0] == "external" for f in findings(as_root))


def watch_lines(command: list[str], seconds: float) -> list[dict[str, Any]]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60,
                          check=False)
    assert done.returncode == 1, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def revivals(lines: list[dict[str, Any]]) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(d["cause"], d["source"], tuple(d["chain"])) for d in lines
            if d.get("type") == "event" and d["event"] == "start"}


def test_watch_over_ssh_stops_the_unit_and_names_the_timer(ssh_network: SshNetwork):
    remote = ssh_network.boot("article")
    remote.lab.systemctl("stop", "widget-daemon.socket")
    seconds = "8"

    over = watch_lines(remote.staydown_argv("watch", "--json", "--stop", "--seconds", seconds,
                                            DAEMON), 8)
    on_lab = watch_lines([sys.executable, "-m", "wizard", "watch", "--lab", remote.lab.name,
                          "--json", "--stop", "--seconds", seconds, DAEMON], 8)

    timer = ("pulled-in", "widget-reconcile.timer",
             ("widget-reconcile.timer", "widget-reconcile.service", DAEMON))
    assert revivals(over) == revivals(on_lab) == {timer}
    stops = [d for d in over if d.get("type") == "event" and d["event"] == "stop"]
    assert stops, over
    assert stops[0]["summary"].startswith("stopped by a stop job"), stops
    notes = [d for d in over if d.get("type") == "note"]
    assert not [n for n in notes if "journal" in json.dumps(n)], notes
    # The remote journalctl --follow ended with the watch.
    assert wait_until(lambda: remote.ssh("pgrep -x journalctl").returncode == 1, timeout=10)


def test_plan_over_ssh_fingerprints_the_hosts_files_and_keeps_the_unit_down(
        ssh_network: SshNetwork, tmp_path: Path):
    remote = ssh_network.boot("article")
    lab = remote.lab
    before = unit_states(lab, *ARTICLE_UNITS)

    done = remote.staydown("plan", DAEMON, cwd=tmp_path)
    on_lab = subprocess.run([sys.executable, "-m", "wizard", "plan", "--lab", lab.name,
                             DAEMON, "--output", str(tmp_path / "lab.sh")],
                            capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr
    script = tmp_path / f"staydown-{DAEMON}.sh"
    undo = tmp_path / f"staydown-{DAEMON}.undo.sh"
    neutralises = [line for line in done.stdout.splitlines() if "neutralises" in line]
    assert neutralises == [line for line in on_lab.stdout.splitlines() if "neutralises" in line]
    assert (f"scp {script.name} {remote.destination}: && ssh {remote.destination} sudo bash "
            f"{script.name}") in " ".join(done.stdout.split())
    for unit in ("widget-daemon.service", "widget-daemon.socket", "widget-reconcile.timer"):
        path = f"/etc/systemd/system/{unit}"
        digest = hashlib.sha256(lab.exec(["cat", path], check=True).stdout.encode()).hexdigest()
        assert f"check_file {path} {digest}" in script.read_text()

    copied = remote.run(["scp", *remote.ssh_arguments(), str(script), str(undo),
                         f"{remote.destination}:"])
    assert copied.returncode == 0, copied.stderr
    applied = remote.ssh(f"bash {script.name}")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # Two timer periods and a client on the socket: it stays down.
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        # Refused now (the socket is stopped); before the plan this started the daemon.
        lab.exec(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"])
        assert not is_active(lab, DAEMON)
        time.sleep(0.5)

    undone = remote.ssh(f"bash {undo.name}")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert wait_until(lambda: unit_states(lab, *ARTICLE_UNITS[:3]) == {
        u: before[u] for u in ARTICLE_UNITS[:3]}, timeout=10)


def test_a_host_that_cannot_be_reached_is_an_error_not_a_traceback(ssh_network: SshNetwork):
    remote = ssh_network.boot("article")
    wrong = SshLab(remote.lab, "169.254.77.2", "nobody-here", remote.key_path,
                   remote.known_hosts_path, remote.client_netns)
    done = wrong.staydown("diagnose", DAEMON)
    assert done.returncode not in (0, 1)
    assert "Traceback" not in done.stderr
    assert "cannot reach host nobody-here@169.254.77.2 over ssh" in done.stderr, done.stderr


def test_run_readonly_runs_the_command_where_the_connection_points(ssh_network: SshNetwork):
    from wizard.system.access import run_readonly

    remote = ssh_network.boot("article")
    machine_id = remote.lab.exec(["cat", "/etc/machine-id"], check=True).stdout.strip()
    program = (
        "from wizard.model.connection import host_connection\n"
        "from wizard.system.access import run_readonly\n"
        f"c = host_connection({remote.destination!r}, {tuple(remote.ssh_options())!r})\n"
        "out = run_readonly(c, ['systemctl', 'is-active', 'widget-daemon.socket'])\n"
        "print(out.returncode, out.text.strip())\n"
        "print(run_readonly(c, ['cat', '/etc/machine-id']).text.strip())\n"
        "from wizard.system.manual_run import run_read_only\n"
        "shown = run_read_only(c, ('systemctl', 'is-active', 'widget-daemon.socket'))\n"
        "print(shown.status, shown.output.strip(), shown.not_run or '-')\n"
    )
    done = remote.run([sys.executable, "-c", program])
    # The wizard's manual commands (manual_run) go over the same ssh connection.
    assert done.stdout.splitlines() == ["0 active", machine_id, "0 active -"], done.stderr
    # A lab (a container's root): inside it, not on this machine.
    assert run_readonly(remote.lab.connection, ["cat", "/etc/machine-id"]).text.strip() \
        == machine_id


def test_conditions_are_judged_on_the_hosts_files(ssh_network: SshNetwork):
    remote = ssh_network.boot("article")
    lab = remote.lab
    lab.exec(["sh", "-c", f"mkdir -p /etc/systemd/system/{DAEMON}.d && printf "
              "'[Unit]\\nConditionPathExists=/etc/widget-go\\n' > "
              f"/etc/systemd/system/{DAEMON}.d/go.conf && systemctl daemon-reload && "
              f"systemctl stop {DAEMON}"], check=True)

    code, held = over_ssh(remote, DAEMON)
    lab_code, on_lab = diagnose_json(lab, DAEMON)

    assert code == lab_code
    assert findings(held) == findings(on_lab)
    assert not [f for f in held["findings"] if f["live"]], findings(held)
    # The file appears on the host: the same sources are live again, over ssh too.
    lab.exec(["touch", "/etc/widget-go"], check=True)
    code, going = over_ssh(remote, DAEMON)
    assert code == 1
    assert findings(going) == findings(diagnose_json(lab, DAEMON)[1])
    assert [f["source"] for f in going["findings"] if f["live"]]


def test_a_host_without_systemd_stdio_bridge_says_what_is_missing(ssh_network: SshNetwork):
    remote = ssh_network.boot("article")
    # Hidden in the lab's own mount namespace only (its /usr is the host's, read-only).
    remote.lab.exec(["mount", "--bind", "/dev/null", "/usr/bin/systemd-stdio-bridge"],
                    check=True)
    done = remote.staydown("diagnose", DAEMON)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert f"cannot reach the system bus of host {remote.destination}" in done.stderr
    assert "systemd-stdio-bridge" in done.stderr


def test_missing_tools_on_the_host_are_named_and_lower_nothing(ssh_network: SshNetwork):
    remote = ssh_network.boot("article")
    _code, whole = over_ssh(remote, DAEMON)
    for tool in ("/usr/bin/grep", "/usr/bin/journalctl"):
        # Hidden in the lab's own mount namespace only: not executable, as if absent.
        remote.lab.exec(["mount", "--bind", "/dev/null", tool], check=True)

    code, document = over_ssh(remote, DAEMON)

    notes = "\n".join(document["notes"])
    assert f"grep is missing on host {remote.destination}" in notes, notes
    assert f"journalctl is not installed on host {remote.destination}" in notes, notes
    # What D-Bus shows is all still there, exactly as live as with every tool.
    assert code == 1
    assert findings(document) == findings(whole)
