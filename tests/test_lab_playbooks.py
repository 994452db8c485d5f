"""The playbooks, run by ansible-playbook over real ssh into labs: one host's and a fleet's.

Each lab is reached only through the client namespace of tests/ssh_lab.py, with
the inventory variables from ``SshLab.ansible_host_vars()``. The plan is made
on the lab (``plan --lab``, or the wizard's choices on the lab's bus), so its
fingerprints are the lab's own unit files. The labs are booted once for the
module and shared: every test puts back what it changed (its undo is part of
what it proves), so the next one starts from the scenario's state.

The fleet (docs/fleet.md): two hosts with the article's timer, one where a
cron line calls systemctl instead (its timer and socket removed), one without
the unit, and one address nothing answers on.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_without_ssh_lab
from tests.lab_helpers import connect_tcp, is_active, unit_states, wait_until
from tests.ssh_lab import SUBNET, SshLab, SshNetwork
from wizard.output.render import render_outputs
from wizard.plan.assembly import assemble_plan
from wizard.plan.build import Action, ActionKind, default_choices
from wizard.plan.options import Method
from wizard.system.access import file_reader
from wizard.system.neighbourhood import diagnose_unit
from wizard.system.systemd import systemd_client

pytestmark = pytest.mark.lab

DAEMON = "widget-daemon.service"
UNITS = ("widget-daemon.service", "widget-daemon.socket", "widget-reconcile.timer")
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
CRON_FILE = "/etc/cron.d/widget-kick"
CRON_LINE = "*/1 * * * * root /usr/bin/systemctl start widget-daemon.service\n"


@pytest.fixture(scope="module")
def network() -> Iterator[SshNetwork]:
    skip_without_ssh_lab()
    with SshNetwork() as booted:
        yield booted


@pytest.fixture(scope="module")
def article(network: SshNetwork) -> SshLab:
    return network.boot("article")


@pytest.fixture(scope="module")
def article_b(network: SshNetwork) -> SshLab:
    return network.boot("article")


@pytest.fixture(scope="module")
def vendor(network: SshNetwork) -> SshLab:
    """The article's units in /usr/lib/systemd/system, where systemctl mask works."""
    return network.boot("article-vendor")


@pytest.fixture(scope="module")
def cron_host(network: SshNetwork) -> SshLab:
    """The article's daemon with no timer and no socket: a cron line calls systemctl."""
    remote = network.boot("article")
    remote.lab.exec(["sh", "-c", "systemctl disable --now widget-reconcile.timer "
                     "widget-daemon.socket && rm /etc/systemd/system/widget-reconcile.* "
                     "/etc/systemd/system/widget-daemon.socket && systemctl daemon-reload && "
                     f"mkdir -p /etc/cron.d && cat > {CRON_FILE}"],
                    check=True, input_text=CRON_LINE)
    return remote


@pytest.fixture(scope="module")
def absent_host(network: SshNetwork) -> SshLab:
    """A host without widget-daemon.service at all."""
    return network.boot("control")


def make_plan(remote: SshLab, tmp_path: Path, *options: str) -> tuple[Path, Path]:
    playbook = tmp_path / "keep-down.yml"
    done = subprocess.run(
        [sys.executable, "-m", "wizard", "plan", "--lab", remote.lab.name, "--format",
         "ansible", "--output", str(playbook), *options, DAEMON],
        capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return playbook, tmp_path / "keep-down.undo.yml"


def plan_with_method(remote: SshLab, tmp_path: Path, method: Method | None,
                     extra: dict[str, Method] | None = None,
                     extra_action: Action | None = None) -> tuple[Path, Path]:
    """The plan the wizard writes when the operator picks ``method`` for every source
    (None: the recommended ones), then ``extra``'s method for each source it names.
    ``extra_action`` is appended to the last step, as a hand-edited plan would be."""
    connection = remote.lab.connection
    with systemd_client(connection) as client:
        snapshot, diagnosis = diagnose_unit(client, DAEMON)
    choices = default_choices(diagnosis, snapshot, False)
    if method is not None:
        choices = dataclasses.replace(choices, methods=dict.fromkeys(choices.methods, method))
    for source, extra_method in (extra or {}).items():
        assert source in {f.source for f in diagnosis.findings}, diagnosis.findings
        sources = choices.sources if source in choices.sources else (*choices.sources, source)
        choices = dataclasses.replace(choices, sources=sources,
                                      methods={**choices.methods, source: extra_method})
    plan, _notes = assemble_plan(diagnosis, snapshot, choices, "ansible",
                                 file_reader(connection))
    if extra_action is not None:
        last = plan.steps[-1]
        plan = dataclasses.replace(plan, steps=(*plan.steps[:-1], dataclasses.replace(
            last, actions=(*last.actions, extra_action))))
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


def exists(remote: SshLab, path: str) -> bool:
    return remote.lab.exec(["test", "-e", path]).returncode == 0


def stays_down(remote: SshLab, seconds: float, port: int) -> None:
    """The daemon stays down for ``seconds`` (a client on the socket every half second)."""
    deadline = time.monotonic() + seconds
    while True:
        connect_tcp(remote.lab, port)
        assert not is_active(remote.lab, DAEMON)
        if time.monotonic() > deadline:
            return
        time.sleep(0.5)


# What `plan` writes (stop; --persistent: stop and disable); the wizard's drop-ins in one
# plan: the socket held (what mask becomes for the article's /etc unit files), the timer
# left alone and the unit itself held instead, its restart policy off; and a real
# systemctl mask of vendor units.
@pytest.mark.parametrize("choice", ["default", "persistent", "drop-ins", "mask"])
def test_the_playbook_keeps_the_unit_down_and_its_undo_restores_every_state(
        request: pytest.FixtureRequest, tmp_path: Path, choice: str):
    remote: SshLab = request.getfixturevalue("vendor" if choice == "mask" else "article")
    lab = remote.lab
    before = unit_states(lab, *UNITS)
    assert before[DAEMON] == ("enabled", "active"), before
    port = 8081 if choice == "mask" else 8080
    drop_in_dirs: list[str] = []
    if choice in ("default", "persistent"):
        playbook, undo = make_plan(remote, tmp_path,
                                   *(["--persistent"] if choice == "persistent" else []))
    elif choice == "drop-ins":
        playbook, undo = plan_with_method(remote, tmp_path, None, extra={
            "widget-daemon.socket": Method.DROP_IN,
            "widget-reconcile.timer": Method.HOLD_UNIT,
            DAEMON: Method.DROP_IN,  # its restart policy
        })
        text = playbook.read_text()
        assert "99-staydown-restart.conf" in text
        assert "widget-daemon.service.d/99-staydown-hold.conf" in text
        assert "widget-daemon.socket.d/99-staydown-hold.conf" in text
        drop_in_dirs = ["/run/systemd/system/widget-daemon.socket.d",
                        "/run/systemd/system/widget-daemon.service.d"]
    else:
        playbook, undo = plan_with_method(remote, tmp_path, Method.MASK)
        assert '"Mask widget-daemon.socket"' in playbook.read_text()
    hosts = inventory(tmp_path, remote)

    code, output, recap = play(remote, hosts, playbook, "--check")
    assert code == 0, output
    assert recap["lab0"]["failed"] == 0, output
    assert recap["lab0"]["changed"] > 0, output
    assert unit_states(lab, *UNITS) == before

    code, output, recap = play(remote, hosts, playbook)
    assert code == 0, output
    assert recap["lab0"]["changed"] > 0, output
    down_since = time.monotonic()
    code, output, recap = play(remote, hosts, playbook)
    assert code == 0, output
    assert recap["lab0"]["changed"] == 0, output
    # More than one timer period (5 s) since the first run, a client on the socket too.
    stays_down(remote, 7 - (time.monotonic() - down_since), port)
    if choice == "persistent":
        assert unit_states(lab, "widget-daemon.socket", "widget-reconcile.timer") == {
            "widget-daemon.socket": ("disabled", "inactive"),
            "widget-reconcile.timer": ("disabled", "inactive")}
    if choice == "mask":
        assert unit_states(lab, "widget-daemon.socket")["widget-daemon.socket"][0] == "masked"
    for directory in drop_in_dirs:
        assert exists(remote, directory)

    if choice == "default":
        # As a keep-down run cut short would leave it: the service running, its socket
        # down. The undo stops the service first, or the socket would refuse to start.
        lab.exec(["systemctl", "start", DAEMON], check=True)
    code, output, recap = play(remote, hosts, undo)
    assert code == 0, output
    assert wait_until(lambda: unit_states(lab, *UNITS) == before, timeout=10), \
        (unit_states(lab, *UNITS), before, output)
    for directory in drop_in_dirs:
        assert not exists(remote, directory), "the undo leaves no empty UNIT.d behind"
    code, output, recap = play(remote, hosts, undo)
    assert code == 0, output
    assert recap["lab0"]["changed"] == 0, output
    assert unit_states(lab, *UNITS) == before


def test_a_protected_unit_the_plan_does_not_name_is_refused_on_the_host(
        article: SshLab, tmp_path: Path):
    # A hand-edited playbook (or a host where a name became an alias of one) acting on
    # the journal: the host refuses it before any change, as the script does (exit 5).
    journald = Action("a99", ActionKind.STOP, "systemd-journald.service", why="edited in")
    playbook, _undo = plan_with_method(article, tmp_path, None, extra_action=journald)
    before = unit_states(article.lab, *UNITS, "systemd-journald.service")

    code, output, recap = play(article, inventory(tmp_path, article), playbook)

    assert code != 0, output
    assert "REFUSED: systemd-journald.service is part of the host's own machinery" in output
    assert recap["lab0"]["changed"] == 0, output
    assert unit_states(article.lab, *UNITS, "systemd-journald.service") == before


def edited(remote: SshLab, path: str) -> str:
    """Append a comment to a unit file (the host changed after the plan); its old text."""
    text = remote.lab.exec(["cat", path], check=True).stdout
    remote.lab.exec(["sh", "-c", f"echo '# edited' >> {path}"], check=True)
    return text


def put_back(remote: SshLab, path: str, text: str) -> None:
    remote.lab.exec(["sh", "-c", f"cat > {path}"], check=True, input_text=text)


SOCKET_FILE = "/etc/systemd/system/widget-daemon.socket"


def test_a_host_whose_unit_files_changed_is_refused_alone(
        article: SshLab, article_b: SshLab, tmp_path: Path):
    playbook, undo = make_plan(article, tmp_path)
    # The same scenario: the same unit files, so the same fingerprints, until one is edited.
    original = edited(article_b, SOCKET_FILE)
    before = unit_states(article_b.lab, *UNITS)
    hosts = inventory(tmp_path, article, article_b)
    try:
        code, output, recap = play(article, hosts, playbook)

        assert code != 0, output
        assert recap["lab1"]["failed"] == 1, output
        assert recap["lab1"]["changed"] == 0, output
        assert f"{SOCKET_FILE} has changed (or is gone)" in output
        assert unit_states(article_b.lab, *UNITS) == before
        assert recap["lab0"]["failed"] == 0, output
        assert recap["lab0"]["changed"] > 0, output
        assert not any(is_active(article.lab, u) for u in UNITS)
    finally:
        put_back(article_b, SOCKET_FILE, original)
        code, output, _recap = play(article, inventory(tmp_path, article), undo)
        assert code == 0, output


def test_a_commented_out_cron_line_is_accepted_on_a_second_run_and_put_back(
        cron_host: SshLab, tmp_path: Path):
    lab = cron_host.lab
    before = unit_states(lab, DAEMON)
    playbook, undo = plan_with_method(cron_host, tmp_path, None,
                                      extra={f"{CRON_FILE}:1": Method.COMMENT_OUT})
    hosts = inventory(tmp_path, cron_host)

    def crontab() -> str:
        return lab.exec(["cat", CRON_FILE], check=True).stdout

    code, output, _recap = play(cron_host, hosts, playbook, "--check")
    assert code == 0, output
    assert crontab() == CRON_LINE
    code, output, _recap = play(cron_host, hosts, playbook)
    assert code == 0, output
    assert crontab() == f"#staydown# {CRON_LINE}"
    assert not is_active(lab, DAEMON)
    # The crontab no longer matches its fingerprint: the plan's own edit, so accepted.
    code, output, recap = play(cron_host, hosts, playbook)
    assert code == 0, output
    assert recap["lab0"]["changed"] == 0, output

    code, output, _recap = play(cron_host, hosts, undo)
    assert code == 0, output
    assert crontab() == CRON_LINE
    assert wait_until(lambda: unit_states(lab, DAEMON) == before, timeout=10)


# -- a fleet ---------------------------------------------------------------------------


def fleet_host_vars(remote: SshLab) -> dict[str, str]:
    """The inventory variables an operator would write: ssh settings as -o options."""
    options = [o for o in remote.ssh_options() if not o.startswith("IdentityFile=")]
    return {**remote.ansible_host_vars(),
            "ansible_ssh_common_args": " ".join(f"-o {o}" for o in options),
            "ansible_python_interpreter": "/usr/bin/python3"}


def staydown_fleet(remote: SshLab, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """staydown COMMAND --inventory ... in the client namespace, where the hosts are."""
    return remote.run([sys.executable, "-m", "wizard", *args], timeout=300)


def test_a_fleet_is_diagnosed_grouped_planned_host_by_host_and_undone(
        article: SshLab, article_b: SshLab, cron_host: SshLab, absent_host: SshLab,
        tmp_path: Path):
    fleet = {"web1": article, "web2": article_b, "cron1": cron_host, "bare1": absent_host}
    hosts = {name: fleet_host_vars(r) for name, r in fleet.items()}
    # An address on the client's link where nothing answers.
    hosts["gone"] = {**hosts["web1"], "ansible_host": f"{SUBNET}.250"}
    path = tmp_path / "fleet.yml"
    path.write_text(json.dumps({"all": {"children": {
        "web": {"hosts": {n: hosts[n] for n in ("web1", "web2", "gone")}},
        "batch": {"hosts": {n: hosts[n] for n in ("cron1", "bare1")}}}}}))
    before = {name: unit_states(r.lab, *UNITS) for name, r in fleet.items()}

    done = staydown_fleet(article, tmp_path, "diagnose", "--inventory", str(path), "--json",
                          DAEMON)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    outcomes = {h["host"]: h["outcome"] for h in report["hosts"]}
    assert outcomes == {"web1": "diagnosed", "web2": "diagnosed", "cron1": "diagnosed",
                        "bare1": "absent", "gone": "unreachable"}, report["hosts"]
    assert [h["host"] for h in report["hosts"]] == ["web1", "web2", "gone", "cron1", "bare1"]
    groups = {tuple(g["hosts"]): g["sources"] for g in report["groups"]}
    assert set(groups) == {("web1", "web2"), ("cron1",)}, groups
    live = {(s["kind"], s["chain"][0]) for s in groups[("web1", "web2")] if s["live"]}
    assert live == {("socket", "widget-daemon.socket"),
                    ("dependency", "widget-reconcile.timer")}, groups
    cron = [s for s in groups[("cron1",)] if s["kind"] == "external"]
    assert [s["chain"][0] for s in cron] == [f"{CRON_FILE}:1"], groups
    assert not any(s["live"] for s in groups[("cron1",)]), "the lab runs no cron daemon"
    gone = next(h for h in report["hosts"] if h["host"] == "gone")
    assert "cannot reach" in gone["error"], gone
    assert next(h for h in report["hosts"] if h["host"] == "web1")["diagnosis"]["live"]

    done = staydown_fleet(article, tmp_path, "diagnose", "--inventory", str(path),
                          "--limit", "web", DAEMON)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 hosts: web1, web2" in done.stdout, done.stdout
    assert "gone: cannot reach" in done.stdout, done.stdout
    assert "cron1" not in done.stdout, done.stdout

    playbook = tmp_path / "keep-down.yml"
    done = staydown_fleet(article, tmp_path, "plan", "--inventory", str(path), "--output",
                          str(playbook), DAEMON)
    assert done.returncode == 0, done.stdout + done.stderr
    undo = tmp_path / "keep-down.undo.yml"
    code, output, recap = play(article, path, playbook, "--check")
    assert recap["gone"]["failed"] == 1, output  # no plan was made for it
    for name in fleet:
        assert recap[name]["failed"] == 0, (name, output)
    assert {name: unit_states(r.lab, *UNITS) for name, r in fleet.items()} == before
    original = edited(article_b, SOCKET_FILE)
    try:
        code, output, recap = play(article, path, playbook)
        assert code != 0, output
        # web2 changed after the plan: refused there alone, before any change.
        assert recap["web2"]["failed"] == 1, output
        assert recap["web2"]["changed"] == 0, output
        assert f"{SOCKET_FILE} has changed (or is gone)" in output
        assert recap["gone"]["failed"] == 1, output  # no plan was made for it
        for name in ("web1", "cron1", "bare1"):
            assert recap[name]["failed"] == 0, (name, output)
        assert recap["web1"]["changed"] > 0, output
        assert recap["cron1"]["changed"] > 0, output
        assert unit_states(article_b.lab, *UNITS) == before["web2"]
        assert unit_states(absent_host.lab, *UNITS) == before["bare1"]
        stays_down(article, 6, 8080)
        assert not is_active(cron_host.lab, DAEMON)
        code, output, recap = play(article, path, playbook)
        assert recap["web2"]["failed"] == 1, output
        for name in ("web1", "cron1", "bare1"):
            assert recap[name]["failed"] == 0, (name, output)
            assert recap[name]["changed"] == 0, (name, output)

        code, output, recap = play(article, path, undo)
        assert recap["gone"]["failed"] == 1, output
        for name in ("web1", "web2", "cron1", "bare1"):
            assert recap[name]["failed"] == 0, (name, output)
        for name, remote in fleet.items():
            def restored(r: SshLab = remote, n: str = name) -> bool:
                return unit_states(r.lab, *UNITS) == before[n]

            assert wait_until(restored, timeout=10), \
                (name, unit_states(remote.lab, *UNITS), output)
    finally:
        put_back(article_b, SOCKET_FILE, original)
