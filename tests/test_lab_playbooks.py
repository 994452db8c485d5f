"""The article's playbook and its undo, run by ansible-playbook over real ssh into labs.

Each lab is reached only through the client namespace of tests/ssh_lab.py, with
the inventory variables from ``SshLab.ansible_host_vars()``. The plan is made
on the lab (``plan --lab``), so its fingerprints are the lab's own unit files.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab_helpers import connect_tcp, is_active, unit_states, wait_until
from tests.ssh_lab import SshLab, SshNetwork
from wizard.output.render import render_outputs
from wizard.plan.assembly import assemble_plan
from wizard.plan.build import default_choices
from wizard.plan.options import Method
from wizard.system.access import file_reader
from wizard.system.neighbourhood import diagnose_unit
from wizard.system.systemd import systemd_client

pytestmark = pytest.mark.lab

DAEMON = "widget-daemon.service"
UNITS = ("widget-daemon.service", "widget-daemon.socket", "widget-reconcile.timer")
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def make_plan(remote: SshLab, tmp_path: Path, *options: str) -> tuple[Path, Path]:
    playbook = tmp_path / "keep-down.yml"
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "plan", "--lab", remote.lab.name, "--format",
         "ansible", "--output", str(playbook), *options, DAEMON],
        capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return playbook, tmp_path / "keep-down.undo.yml"


def plan_with_method(remote: SshLab, tmp_path: Path, method: Method,
                     cron_line: str = "") -> tuple[Path, Path]:
    """The plan the wizard writes when the operator picks ``method`` for every source
    (or, given a cron line's source, the default methods and ``method`` for that line)."""
    connection = remote.lab.connection
    with systemd_client(connection) as client:
        snapshot, diagnosis = diagnose_unit(client, DAEMON)
    choices = default_choices(diagnosis, snapshot, False)
    if cron_line:
        assert cron_line in {f.source for f in diagnosis.findings}, diagnosis.findings
        choices = dataclasses.replace(choices, sources=(*choices.sources, cron_line),
                                      methods={**choices.methods, cron_line: method})
    else:
        choices = dataclasses.replace(choices, methods=dict.fromkeys(choices.methods, method))
    plan, _notes = assemble_plan(diagnosis, snapshot, choices, "ansible",
                                 file_reader(connection))
    playbook = tmp_path / "keep-down.yml"
    for path, rendered in render_outputs(plan, "ansible", playbook).items():
        path.write_text(rendered.text)
    return playbook, tmp_path / "keep-down.undo.yml"


def inventory(tmp_path: Path, *remotes: SshLab) -> Path:
    hosts = {f"lab{i}": {**r.ansible_host_vars(), "ansible_python_interpreter": "/usr/bin/python3"}
             for i, r in enumerate(remotes)}
    path = tmp_path / "inventory.yml"
    path.write_text(json.dumps({"all": {"hosts": hosts}}))  # JSON is YAML
    return path


def play(remote: SshLab, hosts: Path, playbook: Path,
         *options: str) -> tuple[int, str, dict[str, dict[str, int]]]:
    """ansible-playbook in the client namespace: exit status, output, each host's recap."""
    done = remote.run(["env", "LC_ALL=C.UTF-8", "ANSIBLE_NOCOLOR=1",
                       "ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_PIPELINING=1",
                       f"ANSIBLE_LOCAL_TEMP={hosts.parent / 'ansible-tmp'}",
                       ANSIBLE_PLAYBOOK, "-i", str(hosts), *options, str(playbook)],
                      timeout=300)
    recap = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
             for m in re.finditer(r"^(\S+)\s+: (ok=.*)$", done.stdout, re.MULTILINE)}
    return done.returncode, done.stdout + done.stderr, recap


# What `plan` writes (stop; --persistent: stop and disable), and the drop-in hold the
# wizard offers (what mask and mask-runtime become for the article's /etc unit files).
@pytest.mark.parametrize("choice", ["default", "persistent", Method.DROP_IN])
def test_the_playbook_keeps_the_unit_down_and_its_undo_restores_every_state(
        ssh_network: SshNetwork, tmp_path: Path, choice: str):
    remote = ssh_network.boot("article")
    lab = remote.lab
    before = unit_states(lab, *UNITS)
    assert before[DAEMON] == ("enabled", "active"), before
    if isinstance(choice, Method):
        playbook, undo = plan_with_method(remote, tmp_path, choice)
    else:
        playbook, undo = make_plan(remote, tmp_path,
                                   *(["--persistent"] if choice == "persistent" else []))
    hosts = inventory(tmp_path, remote)

    code, output, recap = play(remote, hosts, playbook, "--check")
    assert code == 0, output
    assert recap["lab0"]["failed"] == 0, output
    assert recap["lab0"]["changed"] > 0, output
    assert unit_states(lab, *UNITS) == before

    code, output, recap = play(remote, hosts, playbook)
    assert code == 0, output
    assert recap["lab0"]["changed"] > 0, output
    # Two timer periods (5 s) and a client on the socket every half second.
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        connect_tcp(lab, 8080)
        assert not is_active(lab, DAEMON)
        time.sleep(0.5)
    if choice == "persistent":
        assert unit_states(lab, "widget-daemon.socket", "widget-reconcile.timer") == {
            "widget-daemon.socket": ("disabled", "inactive"),
            "widget-reconcile.timer": ("disabled", "inactive")}

    code, output, recap = play(remote, hosts, playbook)
    assert code == 0, output
    assert recap["lab0"]["changed"] == 0, output

    code, output, recap = play(remote, hosts, undo)
    assert code == 0, output
    assert wait_until(lambda: unit_states(lab, *UNITS) == before, timeout=10), \
        (unit_states(lab, *UNITS), before, output)


def test_a_host_whose_unit_files_changed_is_refused_alone(
        ssh_network: SshNetwork, tmp_path: Path):
    planned, changed = ssh_network.boot("article"), ssh_network.boot("article")
    playbook, _undo = make_plan(planned, tmp_path)
    # The same scenario: the same unit files, so the same fingerprints, until one is edited.
    changed.lab.exec(["sh", "-c", "echo '# edited' >> /etc/systemd/system/widget-daemon.socket"],
                     check=True)
    before = unit_states(changed.lab, *UNITS)

    code, output, recap = play(planned, inventory(tmp_path, planned, changed), playbook)

    assert code != 0, output
    assert recap["lab1"]["failed"] == 1, output
    assert recap["lab1"]["changed"] == 0, output
    assert "/etc/systemd/system/widget-daemon.socket has changed (or is gone)" in output
    assert unit_states(changed.lab, *UNITS) == before
    assert recap["lab0"]["failed"] == 0, output
    assert recap["lab0"]["changed"] > 0, output
    assert not any(is_active(planned.lab, u) for u in UNITS)


def test_a_commented_out_cron_line_is_accepted_on_a_second_run_and_put_back(
        ssh_network: SshNetwork, tmp_path: Path):
    remote = ssh_network.boot("article")
    lab = remote.lab
    line = "*/1 * * * * root /usr/bin/systemctl start widget-daemon.service\n"
    lab.exec(["sh", "-c", "mkdir -p /etc/cron.d && cat > /etc/cron.d/widget-kick"],
             check=True, input_text=line)
    before = unit_states(lab, *UNITS)
    playbook, undo = plan_with_method(remote, tmp_path, Method.COMMENT_OUT,
                                      cron_line="/etc/cron.d/widget-kick:1")
    hosts = inventory(tmp_path, remote)

    def crontab() -> str:
        return lab.exec(["cat", "/etc/cron.d/widget-kick"], check=True).stdout

    code, output, _recap = play(remote, hosts, playbook, "--check")
    assert code == 0, output
    assert crontab() == line
    code, output, _recap = play(remote, hosts, playbook)
    assert code == 0, output
    assert crontab() == f"#staydown# {line}"
    assert not is_active(lab, DAEMON)
    # The crontab no longer matches its fingerprint: the plan's own edit, so accepted.
    code, output, recap = play(remote, hosts, playbook)
    assert code == 0, output
    assert recap["lab0"]["changed"] == 0, output

    code, output, _recap = play(remote, hosts, undo)
    assert code == 0, output
    assert crontab() == line
    assert wait_until(lambda: unit_states(lab, *UNITS) == before, timeout=10)
