"""Nothing lost, nothing injected: hostile units, a changed host, a script killed half way.

All on a real systemd in the lab (docs/safety.md lists what each test proves).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.lab_helpers import is_active, unit_states, wait_until
from wizard.lab import nspawn as lab_module

pytestmark = pytest.mark.lab

EVIL = r"evil@x\x24\x28touch\x20-tmp-pwned\x2dname\x29.service"
# A cron line that would run code if staydown ever interpolated it into a command.
HOSTILE_CRON = (
    "* * * * * root systemctl start 'evil@x\\x24\\x28touch\\x20-tmp-pwned\\x2dname\\x29.service'"
    ' ; touch /tmp/pwned-cron "$(touch /tmp/pwned-cron2)" `touch /tmp/pwned-cron3`\n'
)


def pwned(lab: lab_module.Lab) -> list[str]:
    """Files a successful injection would have created, in the lab and on the host."""
    inside = lab.exec(["bash", "-c", "ls -d /tmp/pwned* / 2>/dev/null || true"]).stdout.split()
    on_host = {str(p) for p in Path("/tmp").glob("pwned*")}
    return sorted({p for p in inside if "pwned" in p} | on_host)


def run_script(lab: lab_module.Lab, script: Path, *args: str) -> tuple[int, str, str]:
    result = lab.exec(["bash", "-s", "--", *args], input_text=script.read_text(), timeout=300)
    return result.returncode, result.stdout, result.stderr


states = unit_states


def test_hostile_names_descriptions_and_cron_lines_never_run(lab_factory, tmp_path):
    lab = lab_factory("hostile")
    lab.exec(["bash", "-c", f"mkdir -p /etc/cron.d && cat > /etc/cron.d/evil <<'EOF'\n"
                            f"{HOSTILE_CRON}EOF"], check=True)
    cron_before = lab.exec(["sha256sum", "/etc/cron.d/evil"]).stdout.split()[0]
    assert wait_until(lambda: is_active(lab, EVIL), timeout=20)
    before = states(lab, EVIL, "evil-trigger.timer")

    diagnosed = run_cli("diagnose", "--lab", lab.name, "--explain", EVIL)
    assert diagnosed.code == 1, diagnosed.stderr
    assert "\x1b" not in diagnosed.stdout

    for output_format, name in (("script", "fix.sh"), ("dropin", "fix.d"), ("ansible", "f.yml")):
        answers = tmp_path / f"{output_format}.json"
        answers.write_text(json.dumps({
            "sources": ["evil-trigger.timer", "/etc/cron.d/evil:1"],
            "methods": {"evil-trigger.timer": "drop-in", "/etc/cron.d/evil:1": "comment-out"},
            "format": output_format, "output": str(tmp_path / name), "apply": False,
        }))
        result = run_cli("wizard", "--lab", lab.name, "--answers", str(answers), "--brief", EVIL)
        assert result.code == 1, result.stderr

    script = tmp_path / "fix.sh"
    code, stdout, stderr = run_script(lab, script)
    assert code == 0, (stdout, stderr)
    time.sleep(4)  # the timer would have fired at least once
    assert not is_active(lab, EVIL), lab.exec(["systemctl", "status", "--no-pager", EVIL]).stdout
    held = lab.systemctl("show", "-P", "DropInPaths", "evil-trigger.timer")
    assert "/run/systemd/system/evil-trigger.timer.d/99-staydown-hold.conf" in held
    commented = lab.exec(["cat", "/etc/cron.d/evil"]).stdout
    assert commented == "#staydown# " + HOSTILE_CRON
    backups = lab.exec(["bash", "-c", "ls /etc/cron.d/"]).stdout.split()
    assert [b for b in backups if b.startswith("evil.staydown-")]  # the backup beside it

    # Another plan, made at the same time, sees the cron file this one edited:
    # it refuses to run (the host changed) until this plan is undone.
    install = tmp_path / "fix.d" / "install.sh"
    code, stdout, stderr = run_script(lab, install)
    assert code == 3, (stdout, stderr)
    assert "/etc/cron.d/evil has changed" in stderr

    code, stdout, stderr = run_script(lab, tmp_path / "fix.undo.sh")
    assert code == 0, (stdout, stderr)
    assert lab.exec(["sha256sum", "/etc/cron.d/evil"]).stdout.split()[0] == cron_before
    assert wait_until(lambda: states(lab, EVIL, "evil-trigger.timer") == before, timeout=10), (
        before, states(lab, EVIL, "evil-trigger.timer"), stdout)

    # The drop-in form of the same fix, installed and undone the same way.
    code, stdout, stderr = run_script(lab, install)
    assert code == 0, (stdout, stderr)
    assert not is_active(lab, EVIL)
    code, stdout, stderr = run_script(lab, tmp_path / "fix.d" / "install.undo.sh")
    assert code == 0, (stdout, stderr)
    assert lab.exec(["sha256sum", "/etc/cron.d/evil"]).stdout.split()[0] == cron_before
    assert wait_until(lambda: states(lab, EVIL, "evil-trigger.timer") == before, timeout=10), (
        before, states(lab, EVIL, "evil-trigger.timer"), stdout)
    assert pwned(lab) == []


def test_a_plan_refuses_to_run_on_a_host_that_changed(lab_factory, tmp_path):
    lab = lab_factory("article")
    output = tmp_path / "fix.sh"
    assert run_cli("plan", "--lab", lab.name, "-o", str(output), "widget-daemon").code == 0
    lab.exec(["bash", "-c", "echo '# edited' >> /etc/systemd/system/widget-daemon.socket"],
             check=True)
    lab.systemctl("disable", "widget-reconcile.timer")
    before = states(lab, "widget-daemon.socket", "widget-daemon.service")

    code, stdout, stderr = run_script(lab, output)

    assert code == 3
    assert "/etc/systemd/system/widget-daemon.socket has changed" in stderr
    assert "widget-reconcile.timer is disabled now; it was enabled" in stderr
    assert states(lab, "widget-daemon.socket", "widget-daemon.service") == before
    assert lab.exec(["test", "-e", "/var/lib/staydown"]).returncode != 0

    code, stdout, stderr = run_script(lab, output, "--force")
    assert code == 0, (stdout, stderr)
    assert not is_active(lab, "widget-daemon.service")


@pytest.mark.parametrize("kill_after", [0.15, 0.4, 0.8])
def test_a_script_killed_half_way_undoes_to_the_state_before(lab_factory, tmp_path, kill_after):
    lab = lab_factory("article-vendor")
    units = ("widget-daemon.socket", "widget-reconcile.timer", "widget-daemon.service")
    answers = tmp_path / "answers.json"
    output = tmp_path / "fix.sh"
    answers.write_text(json.dumps({
        "persistent": True,
        "methods": {"widget-daemon.socket": "mask", "widget-reconcile.timer": "disable"},
        "output": str(output), "apply": False,
    }))
    assert run_cli("wizard", "--lab", lab.name, "--answers", str(answers), "--brief",
                   "widget-daemon").code == 1
    before = states(lab, *units)
    script = output.read_text()
    # The script runs inside the lab; the kill comes from inside too, by PID.
    killer = (
        f"bash -s -- <<'STAYDOWN_PLAN' &\n{script}\nSTAYDOWN_PLAN\n"
        f"pid=$!; sleep {kill_after}; kill -KILL \"$pid\"; wait \"$pid\"; echo killed=$?"
    )
    result = lab.exec(["bash", "-c", killer], timeout=120)
    assert "killed=137" in result.stdout, "the script finished before it could be killed"
    assert "done:" not in result.stdout

    code, stdout, stderr = run_script(lab, output.with_name("fix.undo.sh"))
    assert code == 0, (stdout, stderr)
    assert wait_until(lambda: states(lab, *units) == before, timeout=10), states(lab, *units)

    # From there the plan runs through, and its undo still restores everything.
    code, stdout, stderr = run_script(lab, output)
    assert code == 0, (stdout, stderr)
    assert states(lab, *units)["widget-daemon.socket"][0] == "masked"
    assert run_script(lab, output.with_name("fix.undo.sh"))[0] == 0
    assert wait_until(lambda: states(lab, *units) == before, timeout=10), states(lab, *units)


def test_scripts_need_root(lab_factory, tmp_path):
    lab = lab_factory("article")
    output = tmp_path / "fix.sh"
    assert run_cli("plan", "--lab", lab.name, "-o", str(output), "widget-daemon").code == 0
    lab.exec(["useradd", "--no-create-home", "operator"], check=True)
    for script in (output, output.with_name("fix.undo.sh")):
        result = lab.exec(["setpriv", "--reuid=operator", "--regid=operator", "--clear-groups",
                           "bash", "-s"], input_text=script.read_text())
        assert result.returncode == 1
        assert "run it as root" in result.stderr
    assert is_active(lab, "widget-daemon.socket")


def test_plan_output_is_never_clobbered(lab_factory, tmp_path):
    lab = lab_factory("article")
    output = tmp_path / "fix.sh"
    output.write_text("the operator's own notes\n")
    result = run_cli("plan", "--lab", lab.name, "-o", str(output), "widget-daemon")
    assert result.code == 6
    assert "already exist" in result.stderr
    assert output.read_text() == "the operator's own notes\n"
    assert not output.with_name("fix.undo.sh").exists()
    os.chmod(output, 0o600)
    assert run_cli("plan", "--lab", lab.name, "-o", str(output), "--force",
                   "widget-daemon").code == 0
    assert output.read_text().startswith("#!/usr/bin/env bash")


# -- issue 11: the host's own machinery, the undo that brings everything back ----------

REQUIRES = ("evtd.socket", "evtd.service", "evtd-monitor.service")


def test_the_script_refuses_a_protected_unit_the_plan_does_not_name(lab_factory, tmp_path):
    lab = lab_factory("requires-socket")
    output = tmp_path / "fix.sh"
    # evtd-monitor.service has no live source: the plan only stops it.
    result = run_cli("plan", "--lab", lab.name, "-o", str(output), "evtd-monitor.service")
    assert result.code == 0, result.stderr
    assert "nothing else needs neutralising" in result.stdout
    script = output.read_text()
    assert "\nstop_unit a1 evtd-monitor.service\n" in script
    # A plan file edited afterwards: the stop now names logind, by its D-Bus alias.
    edited = tmp_path / "edited.sh"
    edited.write_text(script.replace("\nstop_unit a1 evtd-monitor.service\n",
                                     "\nstop_unit a1 dbus-org.freedesktop.login1.service\n"))
    before = states(lab, "systemd-logind.service", *REQUIRES)
    assert before["systemd-logind.service"][1] == "active"

    code, stdout, stderr = run_script(lab, edited)

    assert code == 5, (stdout, stderr)
    assert "REFUSED: dbus-org.freedesktop.login1.service is part of the host's own machinery" \
        in stderr
    assert states(lab, "systemd-logind.service", *REQUIRES) == before
    # sshd counts only inside an ssh session: the script looks at its own.
    ssh = tmp_path / "ssh.sh"
    ssh.write_text(script.replace("\nstop_unit a1 evtd-monitor.service\n",
                                  "\nstop_unit a1 ssh.service\n"))
    inside = lab.exec(["env", "SSH_CONNECTION=10.0.0.1 40000 10.0.0.2 22", "bash", "-s", "--"],
                      input_text=ssh.read_text())
    assert inside.returncode == 5, (inside.stdout, inside.stderr)
    assert "the ssh server this session came in through" in inside.stderr
    code, stdout, stderr = run_script(lab, tmp_path / "fix.undo.sh")
    assert code == 0, (stdout, stderr)

    # The unedited plan runs, and its undo starts the monitor again.
    code, stdout, stderr = run_script(lab, output)
    assert code == 0, (stdout, stderr)
    assert not is_active(lab, "evtd-monitor.service")
    code, stdout, stderr = run_script(lab, tmp_path / "fix.undo.sh")
    assert code == 0, (stdout, stderr)
    assert wait_until(lambda: states(lab, "systemd-logind.service", *REQUIRES) == before,
                      timeout=10)


def test_a_plan_for_a_protected_unit_needs_it_named(lab_factory, tmp_path):
    lab = lab_factory("requires-socket")
    output = tmp_path / "dbus.sh"
    refused = run_cli("plan", "--lab", lab.name, "-o", str(output), "dbus.service")
    assert refused.code == 2
    assert "dbus.service is part of the host's own machinery" in refused.stderr
    assert "--allow-protected dbus.service" in refused.stderr
    assert not output.exists()

    named = run_cli("plan", "--lab", lab.name, "-o", str(output), "--allow-protected",
                    "dbus.service", "dbus.service")
    assert named.code == 0, named.stderr
    script = output.read_text()
    assert script.splitlines()[3].startswith("# !!!!")
    assert "WARNING: THIS SCRIPT ACTS ON THE HOST'S OWN MACHINERY" in script
    # Its socket is protected too and was not named: the plan holds dbus.service instead.
    assert "left out: dbus.socket" in named.stdout
    assert "stop_unit a" not in script.replace("stop_unit a2 dbus.service", "")

    # The wizard asks separately, and no is the answer unless the operator says yes.
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"output": str(tmp_path / "w.sh"), "apply": False}))
    result = run_cli("wizard", "--lab", lab.name, "--answers", str(answers), "--brief",
                     "dbus.service")
    assert "dbus.service is left alone; nothing was written" in result.stdout
    assert not (tmp_path / "w.sh").exists()
    answers.write_text(json.dumps({"output": str(tmp_path / "w.sh"), "apply": False,
                                   "allow_protected": ["dbus.service"]}))
    result = run_cli("wizard", "--lab", lab.name, "--answers", str(answers), "--brief",
                     "dbus.service")
    assert (tmp_path / "w.sh").exists(), result.stdout + result.stderr
    assert "WARNING: the plan acts on dbus.service" in result.stdout


@pytest.mark.parametrize(("output_format", "persistent"), [
    ("script", False), ("script", True), ("dropin", False), ("dropin", True), ("ansible", False),
])
def test_a_unit_with_no_live_source_gets_a_script_and_an_undo(lab_factory, tmp_path,
                                                              output_format, persistent):
    lab = lab_factory("requires-socket")
    name = {"script": "fix.sh", "dropin": "fix.d", "ansible": "fix.yml"}[output_format]
    output = tmp_path / name
    result = run_cli("plan", "--lab", lab.name, "-o", str(output), "--format", output_format,
                     *(["--persistent"] if persistent else []), "evtd-monitor.service")
    assert result.code == 0, result.stderr
    assert "has no live revival source: nothing else needs neutralising" in result.stdout
    if output_format == "ansible":
        assert "Stop evtd-monitor.service" in output.read_text()
        assert "Start evtd-monitor.service" in output.with_name("fix.undo.yml").read_text()
        return
    script = output / "install.sh" if output_format == "dropin" else output
    undo = (output / "install.undo.sh" if output_format == "dropin"
            else output.with_name("fix.undo.sh"))
    before = states(lab, *REQUIRES)
    assert before["evtd-monitor.service"] == ("enabled", "active")
    code, stdout, stderr = run_script(lab, script)
    assert code == 0, (stdout, stderr)
    # --persistent keeps it from starting at boot: disabled, or (drop-in format) held.
    enabled = "disabled" if persistent and output_format == "script" else "enabled"
    assert states(lab, "evtd-monitor.service")["evtd-monitor.service"] == (enabled, "inactive")
    code, stdout, stderr = run_script(lab, undo)
    assert code == 0, (stdout, stderr)
    assert wait_until(lambda: states(lab, *REQUIRES) == before, timeout=10)


@pytest.mark.parametrize("kill_after", [0.3, 0.7, 1.2])
def test_a_run_killed_half_way_undoes_what_its_stops_took_down(lab_factory, tmp_path,
                                                                kill_after):
    lab = lab_factory("requires-socket")
    lab.exec(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8096"])
    assert wait_until(lambda: is_active(lab, "evtd.service"), timeout=10)
    output = tmp_path / "fix.sh"
    assert run_cli("plan", "--lab", lab.name, "-o", str(output), "evtd.service").code == 0
    before = states(lab, *REQUIRES)
    assert {u: s[1] for u, s in before.items()} == dict.fromkeys(REQUIRES, "active")
    killer = (
        f"bash -s -- <<'STAYDOWN_PLAN' &\n{output.read_text()}\nSTAYDOWN_PLAN\n"
        f"pid=$!; sleep {kill_after}; kill -KILL \"$pid\"; wait \"$pid\"; echo killed=$?"
    )
    result = lab.exec(["bash", "-c", killer], timeout=120)
    assert "killed=137" in result.stdout, "the script finished before it could be killed"

    code, stdout, stderr = run_script(lab, output.with_name("fix.undo.sh"))
    assert code == 0, (stdout, stderr)
    assert wait_until(lambda: states(lab, *REQUIRES) == before, timeout=10), (
        states(lab, *REQUIRES), stdout)


def test_the_undo_names_a_unit_it_could_not_bring_back(lab_factory, tmp_path):
    lab = lab_factory("requires-socket")
    output = tmp_path / "fix.sh"
    assert run_cli("plan", "--lab", lab.name, "-o", str(output), "evtd.service").code == 0
    code, stdout, stderr = run_script(lab, output)
    assert code == 0, (stdout, stderr)
    assert not is_active(lab, "evtd-monitor.service")  # taken down with the socket
    # Something else breaks the monitor meanwhile: it cannot start any more.
    broken = "/run/systemd/system/evtd-monitor.service.d/broken.conf"
    lab.exec(["mkdir", "-p", broken.rsplit("/", 1)[0]], check=True)
    lab.exec(["bash", "-c", f"printf '[Service]\\nExecStartPre=/bin/false\\n' > {broken} && "
                            "systemctl daemon-reload"], check=True)

    code, stdout, stderr = run_script(lab, output.with_name("fix.undo.sh"))

    assert code == 1, (stdout, stderr)
    assert "NOT BACK: evtd-monitor.service was active before the plan" in stderr
    assert "back as it was" not in stdout
    assert is_active(lab, "evtd.socket")
    # Mended, the undo runs again from the record it kept, and finishes.
    lab.exec(["bash", "-c", f"rm {broken} && systemctl daemon-reload"], check=True)
    code, stdout, stderr = run_script(lab, output.with_name("fix.undo.sh"))
    assert code == 0, (stdout, stderr)
    assert "back as it was" in stdout
    assert is_active(lab, "evtd-monitor.service")
