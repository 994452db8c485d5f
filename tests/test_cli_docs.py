"""The man page and completions: fresh, valid, and complete for whatever build_parser() defines."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from docgen import cli_docs
from wizard.cli.parser import build_parser
from wizard.errors import ExitCode
from wizard.lab.nspawn import Lab

ROOT = Path(__file__).resolve().parents[1]


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed; make test installs it")
    return path


@pytest.fixture(scope="module")
def tree() -> cli_docs.Command:
    return cli_docs.command_tree(build_parser())


@pytest.fixture(scope="module")
def generated() -> dict[Path, str]:
    return cli_docs.generated_files()


# -- never out of date ------------------------------------------------------------------


@pytest.mark.parametrize("relative", [cli_docs.MAN_PAGE, cli_docs.BASH_COMPLETION,
                                      cli_docs.ZSH_COMPLETION], ids=str)
def test_committed_file_equals_the_freshly_generated_one(relative, generated):
    committed = ROOT / relative
    assert committed.is_file(), f"{relative} is missing: run make docs"
    assert committed.read_text() == generated[relative], f"{relative} is stale: run make docs"


def test_check_mode_reports_a_stale_tree(tmp_path, capsys):
    assert cli_docs.main(["--check", str(tmp_path)]) == 1
    assert "run make docs" in capsys.readouterr().err
    assert cli_docs.main([str(tmp_path)]) == 0
    assert cli_docs.main(["--check", str(tmp_path)]) == 0


def test_pyproject_installs_every_generated_file():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for relative in (cli_docs.MAN_PAGE, cli_docs.BASH_COMPLETION, cli_docs.ZSH_COMPLETION):
        assert f'"{relative.parent}" = ["{relative}"]' in pyproject


# -- the model follows the parser --------------------------------------------------------


def test_tree_has_every_subcommand(tree):
    keys = {c.key for c in tree.walk()}
    assert {"diagnose", "wizard", "plan", "lab", "lab up", "lab exec", "lab down",
            "lab scenarios", "lab status"} <= keys


def test_a_new_subcommand_appears_everywhere_without_touching_the_generator():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    # Names no branch will use, so the test holds whatever the real CLI grows.
    probe = commands.add_parser("zz-probe", help="a made-up command")
    probe.add_argument("unit", metavar="UNIT")
    probe.add_argument("--zz-seconds", metavar="N", help="how long")
    probe.add_argument("--zz-format", choices=("text", "json"), help="output")
    lab = commands.choices["lab"]
    lab_actions = next(a for a in lab._actions if isinstance(a, argparse._SubParsersAction))
    drill = lab_actions.add_parser("zz-drill", help="a made-up lab action")
    drill.add_argument("--zz-level", choices=("1", "2", "3"), help="how hard")
    files = cli_docs.generated_files(parser)
    man = files[cli_docs.MAN_PAGE]
    assert "\\fBzz\\-probe\\fR" in man
    assert "\\fB\\-\\-zz\\-seconds\\fR" in man
    assert "\\fBlab zz\\-drill\\fR" in man
    assert "\\fB\\-\\-zz\\-level\\fR" in man
    bash = files[cli_docs.BASH_COMPLETION]
    assert " zz-probe) ;;" in bash
    assert '"zz-probe:--zz-format") _staydown_words text json' in bash
    assert '"lab zz-drill:--zz-level") _staydown_words 1 2 3' in bash
    zsh = files[cli_docs.ZSH_COMPLETION]
    assert "_staydown_cmd_zz_probe()" in zsh
    assert "_staydown_cmd_lab_zz_drill()" in zsh


def test_unsafe_words_never_reach_the_shell_scripts():
    with pytest.raises(ValueError, match="unquoted"):
        cli_docs.safe_words(["ok", "$(touch x)"])


# -- the man page -----------------------------------------------------------------------


def test_man_page_names_every_command_and_option(tree, generated):
    man = generated[cli_docs.MAN_PAGE]
    for command in tree.walk():
        if command.path:
            assert f"\\fB{cli_docs.roff(command.key)}\\fR" in man, command.key
        for option in command.options:
            for flag in option.flags:
                assert f"\\fB{cli_docs.roff(flag)}\\fR" in man, (command.key, flag)
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS",
                    "FILES", "SEE ALSO"):
        assert f"\n.SH {section}\n" in man


def test_man_page_exit_status_is_the_exit_code_table(generated):
    man = generated[cli_docs.MAN_PAGE]
    for code in ExitCode:
        assert f".TP\n\\fB{int(code)}\\fR\n\\fB{code.name}\\fR: " in man
    codes = cli_docs.exit_codes()
    assert [name for _, name, _ in codes] == list(ExitCode.__members__)  # aliases too
    assert sorted({code for code, _, _ in codes}) == sorted(int(c) for c in ExitCode)
    assert all(doc for _, _, doc in codes), "every ExitCode member has a docstring"


def test_an_exit_code_alias_shares_the_entry_of_its_status(monkeypatch):
    monkeypatch.setattr(cli_docs, "exit_codes", lambda: [
        (0, "OK", "fine."), (1, "LIVE_SOURCES", "live."), (1, "CHECK_FAILED", "came back."),
    ])
    man = cli_docs.generated_files()[cli_docs.MAN_PAGE]
    assert (".TP\n\\fB1\\fR\n\\fBLIVE_SOURCES\\fR: live.\n.br\n"
            "\\fBCHECK_FAILED\\fR: came back.\n") in man


def test_man_page_renders_without_warnings(tmp_path, generated):
    page = tmp_path / "staydown.1"
    page.write_text(generated[cli_docs.MAN_PAGE])
    result = subprocess.run([require("groff"), "-man", "-Tutf8", "-ww", "-z", str(page)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = subprocess.run([require("groff"), "-man", "-Tutf8", str(page)],
                          capture_output=True, text=True, check=True).stdout
    assert "staydown - find out who keeps bringing a stopped systemd unit back" in text


# -- bash -------------------------------------------------------------------------------

def _bash_program(*words: str) -> str:
    words_text = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    return ((ROOT / cli_docs.BASH_COMPLETION).read_text() + "\n"
            f"COMP_WORDS=({words_text}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n"
            "_staydown\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")


def complete(tmp_path: Path, *words: str) -> list[str]:
    """Run the completion function for the words (the last is the one being completed).

    On the host, where no systemd runs: for everything but unit names
    (those come from a real systemd, see complete_in_lab).
    """
    result = subprocess.run(
        [require("bash"), "--norc", "--noprofile", "-s"], input=_bash_program(*words),
        cwd=tmp_path, capture_output=True, text=True, check=True,
        env={**os.environ, "STAYDOWN_LAB_DIR": str(tmp_path / "labs")},
    )
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


def complete_in_lab(lab: Lab, *words: str) -> list[str]:
    """The same, inside a lab: unit names come from its real systemctl."""
    result = lab.exec(["bash", "--norc", "--noprofile", "-s"], input_text=_bash_program(*words))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completion_passes_bash_n_and_shellcheck():
    script = str(ROOT / cli_docs.BASH_COMPLETION)
    subprocess.run([require("bash"), "-n", script], check=True)
    result = subprocess.run([require("shellcheck"), "-s", "bash", "--severity=style", script],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def names(tree: cli_docs.Command, *path: str) -> list[str]:
    """The subcommands build_parser() defines under path, in its order."""
    command = tree.find(path)
    assert command is not None
    return [c.path[-1] for c in command.commands]


def test_bash_completes_a_subcommand(tmp_path, tree):
    assert complete(tmp_path, "staydown", "pl") == ["plan"]
    assert complete(tmp_path, "staydown", "") == names(tree)
    assert complete(tmp_path, "staydown", "lab", "") == names(tree, "lab")
    assert {"diagnose", "wizard", "plan", "lab"} <= set(names(tree))


def test_bash_completes_format_choices_from_the_parser(tmp_path):
    plan = next(c for c in cli_docs.command_tree(build_parser()).walk() if c.key == "plan")
    choices = next(o.choices for o in plan.options if o.name == "--format")
    assert complete(tmp_path, "staydown", "plan", "--format", "") == list(choices)
    assert complete(tmp_path, "staydown", "plan", "--format=a") == ["ansible"]
    assert complete(tmp_path, "staydown", "plan", "widget", "--format", "dr") == ["dropin"]


def test_bash_completes_scenarios_and_labs(tmp_path):
    from wizard.lab import nspawn as lab

    assert complete(tmp_path, "staydown", "lab", "up", "--scenario", "") == [
        s.name for s in lab.list_scenarios()]
    (tmp_path / "labs" / "demo").mkdir(parents=True)
    (tmp_path / "labs" / "demo" / "lab.json").write_text("{}")
    assert complete(tmp_path, "staydown", "lab", "down", "--name", "") == ["demo"]
    assert complete(tmp_path, "staydown", "diagnose", "--lab", "d") == ["demo"]


@pytest.mark.lab
def test_bash_completes_unit_names_from_systemctl(lab_factory, tmp_path):
    lab = lab_factory("article")
    assert sorted(complete_in_lab(lab, "staydown", "diagnose", "widget-")) == [
        "widget-daemon.service", "widget-daemon.socket", "widget-reconcile.service",
        "widget-reconcile.timer"]
    assert complete_in_lab(lab, "staydown", "widget-daemon.so") == [  # staydown UNIT
        "widget-daemon.socket"]
    assert complete_in_lab(lab, "staydown", "plan", "widget-reconcile.t") == [
        "widget-reconcile.timer"]
    assert complete_in_lab(lab, "staydown", "diagnose", "widget-daemon.service", "") == []
    assert complete(tmp_path, "staydown", "diagnose", "--lab", "demo", "w") == []


@pytest.mark.lab
def test_bash_quotes_unit_names_and_never_runs_them(lab_factory):
    lab = lab_factory("hostile")
    assert complete_in_lab(lab, "staydown", "diagnose", "evil@") == [
        "evil@x\\\\x24\\\\x28touch\\\\x20-tmp-pwned\\\\x2dname\\\\x29.service"]
    assert lab.exec(["bash", "-c", "ls /tmp/pwned* 2>/dev/null"]).stdout == ""


def test_bash_completes_options_of_the_command(tmp_path):
    assert "--persistent" in complete(tmp_path, "staydown", "plan", "--")
    assert "--persistent" not in complete(tmp_path, "staydown", "diagnose", "--")
    # staydown --yes UNIT is the wizard: its options are offered before a command too
    assert {"--version", "--yes", "--lab"} <= set(complete(tmp_path, "staydown", "--"))


# -- zsh --------------------------------------------------------------------------------


def test_zsh_completion_passes_zsh_n():
    subprocess.run([require("zsh"), "-n", str(ROOT / cli_docs.ZSH_COMPLETION)], check=True)


def test_zsh_completion_defines_a_function_per_command(tree, generated):
    zsh = generated[cli_docs.ZSH_COMPLETION]
    assert zsh.startswith("#compdef staydown\n")
    for command in tree.walk():
        name = "_staydown_cmd" + "".join("_" + p.replace("-", "_") for p in command.path)
        assert f"\n{name}() {{\n" in zsh
    assert "(script dropin ansible)" in zsh


def zsh_complete(tmp_path: Path, line: str) -> list[str]:
    """What zsh offers for Tab after ``line`` (on the host: no unit names there)."""
    result = subprocess.run(
        [require("zsh"), "-f", str(ROOT / "tests" / "zsh_complete.zsh"),
         str((ROOT / cli_docs.ZSH_COMPLETION).parent), line],
        cwd=tmp_path, capture_output=True, text=True, check=True, timeout=30,
        env={**os.environ, "STAYDOWN_LAB_DIR": str(tmp_path / "labs"), "HOME": str(tmp_path)},
    )
    return [line for line in result.stdout.splitlines() if line]


def zsh_complete_in_lab(lab: Lab, line: str) -> list[str]:
    """The same inside a lab, where systemctl lists a real systemd's units."""
    for name, path in (("_staydown", ROOT / cli_docs.ZSH_COMPLETION),
                       ("zsh_complete.zsh", ROOT / "tests" / "zsh_complete.zsh")):
        lab.exec(["bash", "-c", f"mkdir -p /tmp/zc && cat > /tmp/zc/{name}"],
                 input_text=path.read_text(), check=True)
    result = lab.exec(["env", "HOME=/tmp/zc", "zsh", "-f", "/tmp/zc/zsh_complete.zsh",
                       "/tmp/zc", line], timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_zsh_completes_subcommands_choices_and_scenarios(tmp_path, tree):
    from wizard.lab import nspawn as lab

    assert zsh_complete(tmp_path, "staydown pl") == ["plan"]
    assert zsh_complete(tmp_path, "staydown lab ") == names(tree, "lab")
    assert zsh_complete(tmp_path, "staydown plan --format ") == ["script", "dropin", "ansible"]
    assert zsh_complete(tmp_path, "staydown lab up --scenario ") == [
        s.name for s in lab.list_scenarios()]
    assert zsh_complete(tmp_path, "staydown diagnose --lab demo w") == []


@pytest.mark.lab
def test_zsh_completes_unit_names_quoted(lab_factory):
    article = lab_factory("article")
    assert zsh_complete_in_lab(article, "staydown diagnose widget-daemon.") == [
        "widget-daemon.service", "widget-daemon.socket"]
    hostile = lab_factory("hostile")
    # compadd quotes what it inserts: the backslashes of an escaped name survive
    assert zsh_complete_in_lab(hostile, "staydown diagnose evil@") == [
        "evil@x\\\\x24\\\\x28touch\\\\x20-tmp-pwned\\\\x2dname\\\\x29.service"]


def test_sdist_carries_the_generated_files(tmp_path):
    """What pip builds from: the files must be in it for data-files to install them.

    (pip install . of the branch put them in VENV/share/man/man1, VENV/share/bash-completion/
    completions and VENV/share/zsh/site-functions; that needs the network for the isolated
    build, so it is not repeated here.)
    """
    tree = tmp_path / "src"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    for relative in (cli_docs.MAN_PAGE, cli_docs.BASH_COMPLETION, cli_docs.ZSH_COMPLETION):
        (tree / relative).write_text((ROOT / relative).read_text())  # committed or not yet
    build = ("import sys\nfrom setuptools import build_meta\n"
             "print(build_meta.build_sdist(sys.argv[1]))\n")
    result = subprocess.run([sys.executable, "-c", build, str(tmp_path / "dist")], cwd=tree,
                            capture_output=True, text=True, check=True)
    archive = tmp_path / "dist" / result.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for relative in (cli_docs.MAN_PAGE, cli_docs.BASH_COMPLETION, cli_docs.ZSH_COMPLETION):
        assert str(relative) in names
