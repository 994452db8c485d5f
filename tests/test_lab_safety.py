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
