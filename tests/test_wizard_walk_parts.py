"""The walk's parts without a terminal: the manual commands, how they are run, the plan's
summary and the pager's fall-backs (recorded snapshots of the article's lab)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from wizard.analysis import diagnose
from wizard.analysis.findings import Diagnosis
from wizard.analysis.manual_commands import ManualCommand, ManualRun, shown_output, step_commands
from wizard.environment import Environment
from wizard.model.connection import (
    Connection,
    address_connection,
    host_connection,
    machine_connection,
    user_connection,
)
from wizard.model.snapshots import SystemSnapshot, snapshot_from_json
from wizard.output.pager import kind_page_path, page, render_markdown
from wizard.output.plan_summary import plan_summary
from wizard.output.report_terminal import print_wrapped
from wizard.plan.build import Plan, build_plan, default_choices
from wizard.system.manual_run import check_read_only, run_read_only, with_connection_flags

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def article():
    snapshot = snapshot_from_json((HERE / "snapshots" / "article-booted.json").read_text())
    return snapshot, diagnose(snapshot)


def test_each_step_has_the_articles_commands_as_argument_lists(article):
    _snapshot, diagnosis = article
    steps = [[c.argv for c in step_commands(diagnosis, n)] for n in range(1, 5)]
    assert ("systemctl", "status", "--no-pager", "--lines=5", "widget-daemon.service") in steps[0]
    assert ("journalctl", "-u", "widget-daemon.service", "-u", "widget-daemon.socket",
            "--since", "10 min ago", "-o", "short-precise", "--no-pager") in steps[0]
    assert ("systemctl", "list-units", "--type=socket", "--all", "--no-pager") in steps[1]
    assert ("systemctl", "list-timers", "--all", "--no-pager") in steps[1]
    assert ("systemctl", "list-dependencies", "--reverse", "--no-pager",
            "widget-daemon.service") in steps[2]
    # The reconcile service wants the daemon; its status names the timer.
    assert ("systemctl", "status", "--no-pager", "--lines=5",
            "widget-reconcile.service") in steps[2]
    for argv in (a for step in steps for a in step):
        check_read_only(argv)  # every one of them only reads


def test_the_articles_grep_is_done_on_the_lines_not_by_a_shell():
    command = ManualCommand(("systemctl", "list-units"), "", grep=("widget",))
    lines, note = shown_output(command, ManualRun("x", "UNIT LOAD\nwidget.socket x\ncron y\n", 0))
    assert lines == ["widget.socket x"]
    assert note == "1 of 3 lines mention widget"
    tail = ManualCommand(("journalctl",), "", tail=2)
    lines, note = shown_output(tail, ManualRun("x", "a\nb\nc\n", 0))
    assert (lines, note) == (["b", "c"], "the last 2 of 3 lines")


@pytest.mark.parametrize("argv", [
    ("systemctl", "stop", "x.service"),
    ("systemctl", "--no-pager", "mask", "x.service"),
    ("journalctl", "--vacuum-time=1s"),
    ("bash", "-c", "true"),
    ("systemctl", "--no-pager"),
])
def test_anything_that_is_not_read_only_is_refused(argv):
    with pytest.raises(ValueError, match=r"read-only|changes the journal|not one of"):
        check_read_only(argv)


@pytest.mark.parametrize(("connection", "expected"), [
    (Connection(), ["systemctl", "status", "x.service"]),
    (user_connection(), ["systemctl", "--user", "status", "x.service"]),
    (machine_connection("box", None), ["systemctl", "--machine=box", "status", "x.service"]),
])
def test_the_connections_flags_go_after_the_program(connection, expected):
    assert with_connection_flags(connection, ("systemctl", "status", "x.service")) == expected


def test_over_host_a_command_that_is_not_read_only_is_refused_before_any_ssh():
    # The real run over ssh is tested against an sshd in a lab (test_lab_remote.py).
    with pytest.raises(ValueError, match="not a read-only command"):
        run_read_only(host_connection("ops@web1"), ("systemctl", "stop", "x.service"))


def test_a_bare_bus_address_is_not_run_against_this_machines_manager():
    run = run_read_only(address_connection("unix:path=/x"), ("systemctl", "status", "x"))
    assert run.status is None
    assert "use --lab or --machine" in run.not_run


def test_a_local_read_only_command_runs_without_a_shell():
    # grep is on every machine; a quoted name reaches it as one argument.
    run = run_read_only(Connection(), ("grep", "-c", "root:x", "/etc/passwd"))
    assert run.status == 0
    assert run.output.strip() == "1"
    assert run.shown == "grep -c root:x /etc/passwd"


def _plan(article: tuple[SystemSnapshot, Diagnosis]) -> Plan:
    snapshot, diagnosis = article
    choices = default_choices(diagnosis, snapshot, persistent=False)
    return build_plan(diagnosis, snapshot, choices, created="2026-12-02T00:00:00+00:00")


def test_the_summary_lists_each_action_in_order_with_how_long_it_lasts(article):
    plan = _plan(article)
    lines = [line.text for line in plan_summary(plan, "lab t", [Path("fix.sh")],
                                                Path("fix.undo.sh"))]
    assert lines == [
        "In this order, on lab t (the plan lasts until the next reboot):",
        "   1. stop widget-daemon.socket  [until reboot]",
        "takes down with it: nothing else",
        "   2. stop widget-reconcile.timer  [until reboot]",
        "takes down with it: nothing else",
        "   3. stop widget-daemon.service (the unit itself, last)  [until reboot]",
        "takes down with it: nothing else",
        "Writes: fix.sh",
        "Undo:   fix.undo.sh  (run it to put everything back)",
    ]


def test_the_summary_says_what_each_action_takes_down_when_the_plan_knows(article):
    # The plan's side effects (branch plansafety adds Action.side_effects); an
    # action with that field, empty or not, gets a line under it.
    plan = _plan(article)
    effect = SimpleNamespace(unit="widget-client.service", reason="Requires=widget-daemon.socket",
                             effect=SimpleNamespace(value="stops"))
    first, *rest = plan.actions
    with_effects = [SimpleNamespace(**dataclasses.asdict(first) | {
        "kind": first.kind, "side_effects": (effect,)})] + [
        SimpleNamespace(**dataclasses.asdict(a) | {"kind": a.kind, "side_effects": ()})
        for a in rest]
    fake = SimpleNamespace(actions=with_effects, persistent=False, unit=plan.unit)
    lines = [line.text for line in plan_summary(fake, "lab t", [], None)]  # type: ignore[arg-type]
    assert lines[1:4] == [
        "   1. stop widget-daemon.socket  [until reboot]",
        "takes down with it: widget-client.service (Requires=widget-daemon.socket)",
        "   2. stop widget-reconcile.timer  [until reboot]",
    ]
    assert lines[4] == "takes down with it: nothing else"


def test_long_lines_wrap_under_their_bullet():
    stream = io.StringIO()
    console = Console(file=stream, width=40, no_color=True)
    print_wrapped(console, "   · widget-reconcile.timer: next elapse 2026-11-28 09:12:15 UTC "
                  "(4s from the snapshot)", 5)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert all(len(line) <= 40 for line in lines)
    assert all(line.startswith("     ") and not line.startswith("      ") for line in lines[1:])


def test_every_kind_has_a_page_that_fits_80_columns():
    from wizard.analysis.findings import FindingKind

    for kind in FindingKind:
        path = kind_page_path(kind.value)
        assert path is not None, kind
        text = render_markdown(path.read_text(), 80, color=False)
        assert max(len(line) for line in text.splitlines()) <= 80, kind


def test_the_pager_falls_back_to_less_then_to_plain_text(tmp_path):
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        env = Environment(stdin=io.StringIO(), stdout=stream, stderr=io.StringIO(),
                          stdin_isatty=True, stdout_isatty=True, euid=0,
                          pager="no-such-pager-here --flag")
        console = Console(file=stream, width=80, no_color=True)
        # less with LESS=FRX and no terminal on stdout copies the text through.
        assert page("line one\nline two\n", env, console) == "less"
    assert out.read_text() == "line one\nline two\n"
    captured = io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=captured, stderr=io.StringIO(),
                      stdin_isatty=True, stdout_isatty=True, euid=0, pager="cat")
    console = Console(file=captured, width=80, no_color=True)
    assert page("plain \x1b[31mtext\n", env, console) == "plain"  # no file to hand a pager
    shown = captured.getvalue()
    assert shown.startswith("plain ")
    assert shown.endswith("text\n")
    assert "\x1b" not in shown  # control characters are neutralised, not sent


def test_the_wheel_installs_every_kinds_page_where_the_wizard_looks():
    import tomllib

    root = HERE.parent
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    installed = pyproject["tool"]["setuptools"]["data-files"]["share/doc/staydown/kinds"]
    assert sorted(installed) == sorted(
        str(p.relative_to(root)) for p in (root / "docs" / "kinds").glob("*.md"))


def test_an_exit_status_that_is_an_answer_is_said_in_words(article):
    _snapshot, diagnosis = article
    status = next(c for c in step_commands(diagnosis, 1) if c.argv[1] == "status")
    assert status.exit_meaning(3) == "the unit is not running"
    assert status.exit_meaning(1) == ""
    grep = next(c for c in step_commands(diagnosis, 4) if c.argv[0] == "grep")
    assert grep.exit_meaning(1) == "no file names it"
