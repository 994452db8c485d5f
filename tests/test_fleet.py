"""The fleet's parts that need no host: inventory variables to --host, the grouping, the
plan's JSON round trip, the fleet playbook's text. The fleet itself is proven against
labs in tests/test_lab_playbooks.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.test_golden import article_plan
from wizard.analysis.fleet import SourceKey, fleet_report, host_result, source_keys
from wizard.errors import ExitCode, UsageError
from wizard.output.fleet_report import fleet_document, write_fleet_report
from wizard.output.render import FleetHostPlan, render_fleet_outputs
from wizard.plan.plan_json import plan_from_jsonable, plan_to_jsonable
from wizard.system.fleet import connection_from_ansible, ssh_options_from_arguments

HERE = Path(__file__).parent
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def test_inventory_variables_become_a_host_connection():
    connection = connection_from_ansible({
        "inventory_hostname": "web1", "ansible_host": "10.0.0.5", "ansible_port": "2222",
        "ansible_user": "ops", "ansible_ssh_private_key_file": "/k/id",
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes -oBatchMode=yes",
        "ansible_ssh_extra_args": "-J bastion -4",
    })
    assert connection.transport == "host"
    assert connection.target == "ops@10.0.0.5:2222"
    assert connection.ssh_options == ("IdentityFile=/k/id", "StrictHostKeyChecking=yes",
                                      "BatchMode=yes", "ProxyJump=bastion",
                                      "AddressFamily=inet")


def test_the_inventory_name_is_the_address_when_nothing_else_is_given():
    connection = connection_from_ansible({"inventory_hostname": "db.example.org"})
    assert connection.target == "db.example.org"
    assert connection.ssh_options == ()
    assert connection_from_ansible({"inventory_hostname": "x", "ansible_host": "::1",
                                    "ansible_port": "22"}).target == "[::1]:22"


@pytest.mark.parametrize(("variables", "message"), [
    ({"ansible_connection": "docker"}, "ansible_connection=docker"),
    ({"ansible_password_set": True}, "password"),
    ({"ansible_ssh_common_args": "-F /dev/null"}, "'-F' has no ssh -o spelling"),
    ({"ansible_ssh_extra_args": "-o"}, "-o needs a value"),
    ({"ansible_ssh_common_args": "-o 'unterminated"}, "not valid shell words"),
])
def test_what_ssh_cannot_be_told_with_o_options_is_refused_by_name(variables, message):
    with pytest.raises(UsageError, match=message):
        connection_from_ansible({"inventory_hostname": "h", **variables})


def test_boolean_ssh_flags_without_an_option_are_dropped_only_when_meaningless():
    assert ssh_options_from_arguments("-T -C", "x") == ["Compression=yes"]


def _document(host: str, outcome: str, sources: Sequence[tuple[str, list[str], bool]] = (),
              state: tuple[str, str, str] = ("active", "running", "enabled"),
              error: str = "") -> dict[str, Any]:
    return {"host": host, "outcome": outcome, "error": error,
            "summary": {"active_state": state[0], "sub_state": state[1],
                        "unit_file_state": state[2],
                        "sources": [{"kind": k, "chain": c, "live": live}
                                    for k, c, live in sources]}}


TIMER = ("dependency", ["widget-reconcile.timer", "widget-reconcile.service", "d.service"], True)
CRON = ("external", ["/etc/cron.d/reconcile:1", "d.service"], True)


def test_hosts_are_grouped_by_identical_sources_and_counted_by_state():
    documents = [
        _document("a", "diagnosed", [TIMER]),
        _document("b", "diagnosed", [CRON], ("inactive", "dead", "enabled")),
        _document("c", "diagnosed", [TIMER]),
        _document("d", "absent"),
        _document("e", "unreachable", error="cannot reach host e over ssh: timed out"),
        _document("f", "diagnosed", [TIMER, ("restart-policy", ["d.service"], False)]),
    ]
    report = fleet_report("d.service", [host_result(d) for d in documents])

    assert [(g.hosts, [s.chain[0] for s in g.sources]) for g in report.groups] == [
        (("a", "c"), ["widget-reconcile.timer"]),
        (("b",), ["/etc/cron.d/reconcile:1"]),
        (("f",), ["widget-reconcile.timer", "d.service"]),  # a dormant source differs too
    ]
    assert report.states == (("active (running), enabled", ("a", "c", "f")),
                             ("inactive (dead), enabled", ("b",)))
    assert report.live
    text_out = _written(report)
    assert "d.service on 6 hosts: 4 have it, 1 do not, 1 unreachable, 0 failed" in text_out
    assert "2 hosts: a, c\n      live: widget-reconcile.timer → widget-reconcile.service" \
        in text_out
    assert "dormant: d.service (restart-policy)" in text_out
    assert "No such unit on 1 host: d" in text_out
    assert "e: cannot reach host e over ssh: timed out" in text_out
    document = fleet_document(report, documents, "inv", None)
    assert document["counts"] == {"diagnosed": 4, "absent": 1, "unreachable": 1, "error": 0}
    assert document["hosts"] == documents


def test_an_unknown_outcome_or_a_control_character_cannot_fool_the_report():
    report = fleet_report("u", [host_result({"host": "x\x1b[2J", "outcome": "weird"})])
    assert report.with_outcome("error")[0].host == "x\x1b[2J"
    assert "\x1b" not in _written(report)


def _written(report) -> str:
    import io

    out = io.StringIO()
    write_fleet_report(out, report)
    return out.getvalue()


def test_a_plan_survives_its_json_round_trip(tmp_path):
    _diagnosis, plan = article_plan(tmp_path, "ansible")
    assert plan_from_jsonable(json.loads(json.dumps(plan_to_jsonable(plan)))) == plan


def test_source_keys_put_live_sources_first(tmp_path):
    diagnosis, _plan = article_plan(tmp_path, "ansible")
    keys = source_keys(diagnosis)
    assert [k.live for k in keys] == sorted((k.live for k in keys), reverse=True)
    assert SourceKey("socket", ("widget-daemon.socket", "widget-daemon.service")) in keys


def test_the_fleet_playbook_gives_each_host_its_own_block(tmp_path):
    _diagnosis, plan = article_plan(tmp_path, "ansible")
    outputs = render_fleet_outputs(
        "widget-daemon.service",
        [FleetHostPlan("web1", plan), FleetHostPlan("bare", absent=True),
         FleetHostPlan("gone", why="unreachable: no route")],
        tmp_path / "fleet.yml", created="T", inventory="inv.yml")
    keep, undo = outputs[tmp_path / "fleet.yml"].text, outputs[tmp_path / "fleet.undo.yml"].text
    assert 'when: inventory_hostname not in ["web1", "bare"]' in keep
    assert f'- name: "web1: its own plan {plan.plan_id}"' in keep
    assert 'when: inventory_hostname == "web1"' in keep
    assert plan.file_fingerprints[0].sha256 in keep
    assert "gone: NO PLAN (unreachable: no route)" in keep
    assert 'failed_when: staydown_load_state.rc != 0 or staydown_load_state.stdout != ' \
        '"not-found"' in keep
    assert "Start widget-daemon.socket" in undo
    assert "widget-daemon.service was absent" not in undo
    if not ANSIBLE_PLAYBOOK.exists():
        pytest.skip("ansible-playbook is not installed")
    for name, text in (("fleet.yml", keep), ("fleet.undo.yml", undo)):
        (tmp_path / name).write_text(text)
        (tmp_path / "hosts").write_text("web1\nbare\ngone\n")
        done = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(tmp_path / "hosts"),
                               "--syntax-check", str(tmp_path / name)],
                              capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_inventory_and_a_connection_option_together_are_a_usage_error():
    result = run_cli("diagnose", "--inventory", "inv.yml", "--host", "h", "x.service")
    assert result.code == ExitCode.USAGE
    assert "leave out --host" in result.stderr
    result = run_cli("diagnose", "--limit", "web", "x.service")
    assert result.code == ExitCode.USAGE
    assert "--limit and --ansible-arg go with --inventory" in result.stderr


def test_a_missing_inventory_is_a_usage_error():
    result = run_cli("plan", "--inventory", "/nonexistent/inventory", "x.service")
    assert result.code == ExitCode.USAGE
    assert "no inventory at /nonexistent/inventory" in result.stderr


def test_fleet_host_always_prints_a_document():
    result = run_cli("fleet-host", "--vars", '{"inventory_hostname": "h", '
                     '"ansible_connection": "local"}', "x.service")
    assert result.code == ExitCode.OK
    document = json.loads(result.stdout)
    assert document["outcome"] == "error"
    assert "ansible_connection=local" in document["error"]
    result = run_cli("fleet-host", "--vars", "[", "x.service")
    assert json.loads(result.stdout)["outcome"] == "error"


def test_a_value_ansible_would_template_is_tagged_unsafe():
    from wizard.output.render import yaml

    assert yaml("/etc/cron.d/{{ lookup('pipe', 'id') }}") == \
        '!unsafe "/etc/cron.d/{{ lookup(\'pipe\', \'id\') }}"'
    assert yaml("/etc/cron.d/kick") == '"/etc/cron.d/kick"'


@pytest.mark.parametrize("name", ["staydown-fleet-widget-daemon.service.yml",
                                  "staydown-fleet-widget-daemon.service.undo.yml"])
def test_the_fleet_playbook_reads_as_committed(tmp_path, name):
    """Golden files, as tests/test_golden.py (STAYDOWN_UPDATE_GOLDEN=1 rewrites them)."""
    _diagnosis, plan = article_plan(tmp_path, "ansible")
    output = Path("staydown-fleet-widget-daemon.service.yml")
    outputs = render_fleet_outputs(
        "widget-daemon.service",
        [FleetHostPlan("web1", plan), FleetHostPlan("bare1", absent=True),
         FleetHostPlan("gone", why="unreachable: cannot reach host gone over ssh")],
        output, created="<created>", inventory="hosts.yml")
    text = outputs[Path(name)].text.replace(plan.plan_id, "<plan-id>").replace(
        plan.created, "<created>")
    for fingerprint in plan.file_fingerprints:
        text = text.replace(fingerprint.sha256, "<sha256>")
    golden = HERE / "golden" / name
    if os.environ.get("STAYDOWN_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"{name} differs from tests/golden/{name}"


needs_ansible = pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(),
                                   reason="ansible-playbook is not installed")


@needs_ansible
def test_a_pattern_or_an_inventory_that_gives_no_host_is_a_usage_error(tmp_path):
    (tmp_path / "hosts.ini").write_text("h1 ansible_host=127.0.0.9\n")
    result = run_cli("diagnose", "-i", str(tmp_path / "hosts.ini"), "--limit", "nomatch", "x")
    assert result.code == ExitCode.USAGE, result.stderr
    assert "matches --limit nomatch" in result.stderr
    (tmp_path / "broken.yml").write_text("all: [broken\n")
    result = run_cli("diagnose", "-i", str(tmp_path / "broken.yml"), "x")
    assert result.code == ExitCode.USAGE, result.stderr
    assert "Unable to parse" in result.stderr


@needs_ansible
def test_hosts_nothing_answers_on_are_reported_unreachable_with_ansibles_inventory(tmp_path):
    # Loopback addresses where no sshd listens: refused at once, through the real playbook.
    (tmp_path / "hosts.ini").write_text(
        "[web]\nh1 ansible_host=127.0.0.9 ansible_port=1\n"
        "[db]\nh2 ansible_host=127.0.0.10 ansible_port=1 ansible_user=ops\n")
    result = run_cli("diagnose", "-i", str(tmp_path / "hosts.ini"), "--json", "x")
    assert result.code == ExitCode.SYSTEMD_UNREACHABLE, result.stderr
    document = json.loads(result.stdout)
    assert [(h["host"], h["outcome"], h["connection"]) for h in document["hosts"]] == [
        ("h1", "unreachable", "host 127.0.0.9:1"), ("h2", "unreachable", "host ops@127.0.0.10:1")]
    assert "Connection refused" in document["hosts"][0]["error"]
    result = run_cli("diagnose", "-i", str(tmp_path / "hosts.ini"), "--limit", "db", "x")
    assert "x.service on 1 host: 0 have it" in result.stdout
    assert "h2: cannot reach host ops@127.0.0.10:1" in result.stdout
