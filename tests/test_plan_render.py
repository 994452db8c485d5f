"""Plans and the files rendered from them, on snapshots recorded from a real systemd.

Whether the scripts really keep a unit down is proven in the lab
(tests/test_lab_remediation.py); here: order, the mask traps, quoting, and
that every generated file passes its language's checker.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest

from wizard.analysis import diagnose
from wizard.model.snapshots import SystemSnapshot, snapshot_from_json
from wizard.output.formats import undo_path_for
from wizard.output.render import (
    UnquotedValueError,
    comment,
    environment,
    render_outputs,
    render_script,
    render_undo,
    sh,
    unit_value,
)
from wizard.plan.assembly import drop_in_choices
from wizard.plan.build import (
    ActionKind,
    Plan,
    PlanChoices,
    build_plan,
    default_choices,
    plannable_findings,
)
from wizard.plan.options import Method, method_options

SNAPSHOTS = Path(__file__).parent / "snapshots"
CREATED = "2026-11-28T09:00:00+00:00"


def load(name: str) -> SystemSnapshot:
    return snapshot_from_json((SNAPSHOTS / f"{name}.json").read_text())


def article_plan(persistent: bool = False, methods: dict[str, Method] | None = None):
    snapshot = load("article-booted")
    diagnosis = diagnose(snapshot)
    choices = default_choices(diagnosis, snapshot, persistent)
    if methods:
        choices = PlanChoices(choices.sources, {**choices.methods, **methods}, persistent)
    return build_plan(diagnosis, snapshot, choices, created=CREATED), snapshot


def as_vendor(snapshot: SystemSnapshot, *names: str) -> SystemSnapshot:
    """The same units with their files in /usr/lib/systemd/system (the lab has both)."""
    units = dict(snapshot.units)
    for name in names:
        units[name] = dataclasses.replace(
            units[name], fragment_path=f"/usr/lib/systemd/system/{name}"
        )
    return dataclasses.replace(snapshot, units=units)


def steps(plan: Plan) -> list[tuple[ActionKind, str]]:
    return [(a.kind, a.unit) for a in plan.actions]


def test_default_plan_stops_the_live_sources_then_the_unit():
    plan, _ = article_plan()
    assert steps(plan) == [
        (ActionKind.STOP, "widget-daemon.socket"),
        (ActionKind.STOP, "widget-reconcile.timer"),
        (ActionKind.STOP, "widget-daemon.service"),
    ]
    assert [s.source for s in plan.steps] == [
        "widget-daemon.socket", "widget-reconcile.timer", "widget-daemon.service",
    ]
    assert not plan.persistent


def test_persistent_plan_disables_the_sources_and_the_boot_link():
    plan, _ = article_plan(persistent=True)
    assert steps(plan) == [
        (ActionKind.DISABLE, "widget-daemon.socket"),
        (ActionKind.STOP, "widget-daemon.socket"),
        (ActionKind.DISABLE, "widget-reconcile.timer"),
        (ActionKind.STOP, "widget-reconcile.timer"),
        (ActionKind.DISABLE, "widget-daemon.service"),
        (ActionKind.STOP, "widget-daemon.service"),
    ]


def test_mask_of_a_unit_file_in_etc_becomes_a_drop_in_hold():
    # The article's units live in /etc/systemd/system: mask fails there and
    # mask --runtime is shadowed, so a plan that masks must hold instead.
    plan, _ = article_plan(methods={"widget-daemon.socket": Method.MASK_RUNTIME,
                                    "widget-reconcile.timer": Method.MASK})
    holds = [a for a in plan.actions if a.kind == ActionKind.DROP_IN]
    assert [(a.unit, a.drop_in.path) for a in holds if a.drop_in] == [
        ("widget-daemon.socket",
         "/run/systemd/system/widget-daemon.socket.d/99-staydown-hold.conf"),
        ("widget-reconcile.timer",
         "/etc/systemd/system/widget-reconcile.timer.d/99-staydown-hold.conf"),
    ]
    assert not [a for a in plan.actions if a.kind in (ActionKind.MASK, ActionKind.MASK_RUNTIME)]
    # The hold comes before the stop of the same unit: nothing can start it in between.
    kinds = steps(plan)
    assert kinds.index((ActionKind.DROP_IN, "widget-daemon.socket")) < kinds.index(
        (ActionKind.STOP, "widget-daemon.socket"))


def test_mask_of_a_vendor_unit_is_a_real_mask():
    snapshot = as_vendor(load("article-booted"), "widget-daemon.socket")
    diagnosis = diagnose(snapshot)
    choices = PlanChoices(("widget-daemon.socket",),
                          {"widget-daemon.socket": Method.MASK_RUNTIME})
    plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
    assert steps(plan)[:2] == [
        (ActionKind.MASK_RUNTIME, "widget-daemon.socket"),
        (ActionKind.STOP, "widget-daemon.socket"),
    ]


def test_every_offered_method_builds_a_plan_that_renders():
    snapshot = load("article-booted")
    diagnosis = diagnose(snapshot)
    for finding in plannable_findings(diagnosis):
        for persistent in (False, True):
            for option in method_options(finding, snapshot, persistent):
                choices = PlanChoices((finding.source,), {finding.source: option.method},
                                      persistent)
                plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
                assert plan.actions[-1] == dataclasses.replace(
                    plan.actions[-1], kind=ActionKind.STOP, unit="widget-daemon.service")
                assert "set -euo pipefail" in render_script(plan)


def test_a_method_that_does_not_fit_the_source_is_refused():
    snapshot = load("article-booted")
    diagnosis = diagnose(snapshot)
    with pytest.raises(ValueError, match="comment-out"):
        build_plan(diagnosis, snapshot, PlanChoices(
            ("widget-daemon.socket",), {"widget-daemon.socket": Method.COMMENT_OUT}),
            created=CREATED)


def test_dropin_format_turns_every_method_into_a_drop_in():
    snapshot = load("article-booted")
    diagnosis = diagnose(snapshot)
    choices = drop_in_choices(default_choices(diagnosis, snapshot, False))
    plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
    files = render_outputs(plan, "dropin", Path("out.d"))
    assert sorted(str(p) for p in files) == [
        "out.d/install.sh",
        "out.d/install.undo.sh",
        "out.d/widget-daemon.socket.d/99-staydown-hold.conf",
        "out.d/widget-reconcile.timer.d/99-staydown-hold.conf",
    ]
    hold = files[Path("out.d/widget-daemon.socket.d/99-staydown-hold.conf")].text
    assert "[Unit]\nConditionPathExists=/dev/null/staydown-hold\n" in hold


def test_script_header_names_what_was_found_and_how_to_undo():
    plan, _ = article_plan()
    files = render_outputs(plan, "script", Path("/srv/fix.sh"))
    script = files[Path("/srv/fix.sh")]
    assert Path("/srv/fix.undo.sh") in files
    assert script.mode == 0o700
    assert script.text.startswith("#!/usr/bin/env bash\n")
    assert "# Undo:         bash /srv/fix.undo.sh" in script.text
    assert "widget-daemon.socket listens on 127.0.0.1:8080" in script.text
    assert "#   widget-reconcile.timer: OnUnitActiveSec=5s" in script.text
    assert 'if [[ $(id -u) -ne 0 ]]; then' in script.text
    assert "check_unit widget-daemon.socket enabled" in script.text


def test_undo_path_follows_the_output_name():
    assert undo_path_for(Path("a/fix.sh")) == Path("a/fix.undo.sh")
    assert undo_path_for(Path("fix")) == Path("fix.undo.sh")
    assert undo_path_for(Path("play.yml")) == Path("play.undo.yml")


# -- quoting ---------------------------------------------------------------------------


def test_a_template_that_forgets_to_quote_fails_to_render():
    template = environment().from_string("systemctl stop {{ unit }}\n")
    with pytest.raises(UnquotedValueError):
        template.render(unit="x.service; rm -rf /")


def test_quoting_filters():
    assert sh("a b'c") == "'a b'\"'\"'c'"
    assert comment("one\ntwo $(x)\x1b[31m") == "# one\n# two $(x)\\x1b[31m"
    assert unit_value("50%\\") == "50%%\\\\"
    with pytest.raises(ValueError, match="control"):
        unit_value("a\nb")
    with pytest.raises(jinja2.UndefinedError):
        environment().from_string("{{ nothing|sh }}").render()


def hostile_plan(text: str):
    """The article's plan with attacker-controlled text in every free-text field."""
    plan, _ = article_plan()
    hostile_steps = tuple(
        dataclasses.replace(s, explanation=text, evidence=(text, f"x: {text}"), does=text)
        for s in plan.steps
    )
    return dataclasses.replace(plan, steps=hostile_steps, state_summary=text)


def code_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if not line.lstrip().startswith("#")]


@pytest.mark.parametrize("text", [
    "$(touch /tmp/pwned)", "`touch /tmp/pwned`", "a\ntouch /tmp/pwned", "a\r\nb",
    "'; touch /tmp/pwned; '", "\x1b]0;title\x07", "a\u2028b\u0085c", "{{ 7*7 }}",
])
def test_free_text_only_ever_lands_in_comments(text):
    benign = hostile_plan("benign")
    hostile = hostile_plan(text)
    for render in (render_script, render_undo):
        assert code_lines(render(hostile)) == code_lines(render(benign))


# -- the checkers: shellcheck, bash -n, ansible-playbook --syntax-check -----------------


def require(tool: str) -> str:
    path = shutil.which(tool) or shutil.which(tool, path=str(Path(__file__).parents[1]
                                                              / ".venv" / "bin"))
    if path is None:
        pytest.fail(f"{tool} is not installed; make test installs it")
    return path


def all_rendered(tmp_path: Path) -> list[Path]:
    written = []
    for persistent in (False, True):
        for method in Method:
            if method == Method.COMMENT_OUT:
                continue
            plan, _ = article_plan(persistent, methods={"widget-daemon.socket": method,
                                                        "widget-reconcile.timer": method})
            for fmt, name in (("script", "fix.sh"), ("dropin", "fix.d"), ("ansible", "fix.yml")):
                out = tmp_path / f"{method.value}-{persistent}" / name
                for path, rendered in render_outputs(plan, fmt, out).items():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(rendered.text)
                    written.append(path)
    return written


def test_generated_scripts_pass_bash_n_and_shellcheck(tmp_path):
    scripts = [p for p in all_rendered(tmp_path) if p.suffix == ".sh"]
    assert len(scripts) >= 20
    for script in scripts:
        subprocess.run(["bash", "-n", str(script)], check=True)
    result = subprocess.run([require("shellcheck"), "--severity=style", *map(str, scripts)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_generated_playbooks_pass_ansible_syntax_check(tmp_path):
    playbooks = [p for p in all_rendered(tmp_path) if p.suffix == ".yml"]
    assert len(playbooks) >= 10
    inventory = tmp_path / "inventory"
    inventory.write_text("localhost ansible_connection=local\n")
    result = subprocess.run(
        [require("ansible-playbook"), "--syntax-check", "-i", str(inventory),
         *map(str, playbooks)],
        capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible"),
             "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, (result.stdout, result.stderr)


# -- invariants over every recorded scenario, every source, every method ----------------


@pytest.mark.parametrize("path", sorted(SNAPSHOTS.glob("*.json")), ids=lambda p: p.stem)
def test_every_plan_ends_with_the_unit_and_touches_no_target(path):
    snapshot = snapshot_from_json(path.read_text())
    diagnosis = diagnose(snapshot)
    for finding in plannable_findings(diagnosis):
        for persistent in (False, True):
            for option in method_options(finding, snapshot, persistent):
                choices = PlanChoices((finding.source,), {finding.source: option.method},
                                      persistent)
                plan = build_plan(diagnosis, snapshot, choices, created=CREATED)
                label = (finding.source, option.method, persistent)
                assert (plan.actions[-1].kind, plan.actions[-1].unit) == (
                    ActionKind.STOP, diagnosis.unit), label
                assert len({a.id for a in plan.actions}) == len(plan.actions), label
                for action in plan.actions:
                    assert not action.unit.endswith(".target"), label
                    unit = snapshot.unit(action.unit) if action.unit else None
                    if action.kind in (ActionKind.MASK, ActionKind.MASK_RUNTIME):
                        # Never a mask that fails (/etc) or is shadowed (/etc over /run).
                        assert unit is not None, label
                        assert not unit.fragment_path.startswith("/etc/"), label
                stops = [a.unit for a in plan.actions if a.kind == ActionKind.STOP]
                assert len(stops) == len(set(stops)), label


def test_bus_activation_holds_the_unit_and_still_stops_it():
    snapshot = load("bus-activation-booted")
    plan = build_plan(diagnose(snapshot), snapshot,
                      default_choices(diagnose(snapshot), snapshot, False), created=CREATED)
    assert steps(plan) == [
        (ActionKind.DROP_IN, "echo-bus.service"),
        (ActionKind.STOP, "echo-bus.service"),
    ]


# -- property: any unit name, any text, the script parses and quotes them ----------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from wizard.model.unit_names import escape_string, is_valid_unit_name  # noqa: E402

hostile_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40
) | st.sampled_from(["$(touch /tmp/x)", "`id`", "a'b\"c", "x\ny", "${IFS}", "\\x27;"])


@st.composite
def unit_names(draw: st.DrawFn) -> str:
    """Valid unit names, instances escaped from arbitrary text as systemd-escape does."""
    instance = escape_string(draw(hostile_text))[:200]
    name = f"evil@{instance}.service"
    if not is_valid_unit_name(name):
        name = "evil@x.service"
    return name


def renamed(plan: Plan, old: str, new: str) -> Plan:
    """The same plan acting on another unit name (as if systemd had reported that name)."""

    def swap(text: str) -> str:
        return text.replace(old, new)

    actions = {}
    for step in plan.steps:
        for a in step.actions:
            drop_in = a.drop_in and dataclasses.replace(a.drop_in, unit=swap(a.drop_in.unit),
                                                        path=swap(a.drop_in.path))
            actions[a.id] = dataclasses.replace(a, unit=swap(a.unit), drop_in=drop_in)
    steps = tuple(
        dataclasses.replace(s, title=swap(s.title), source=swap(s.source),
                            chain=tuple(map(swap, s.chain)),
                            actions=tuple(actions[a.id] for a in s.actions))
        for s in plan.steps
    )
    prints = tuple(dataclasses.replace(f, unit=swap(f.unit)) for f in plan.unit_fingerprints)
    return dataclasses.replace(plan, unit=swap(plan.unit), steps=steps, unit_fingerprints=prints)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=unit_names(), text=hostile_text)
def test_any_unit_name_and_text_give_a_script_that_parses_and_quotes_them(name, text):
    plan, _ = article_plan(methods={"widget-daemon.socket": Method.MASK,
                                    "widget-reconcile.timer": Method.DROP_IN})
    plan = renamed(hostile_plan_from(plan, text), "widget-daemon.socket", name)
    for script in (render_script(plan), render_undo(plan)):
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)
        for line in code_lines(script):
            assert only_single_quoted(line, name), line


def only_single_quoted(line: str, name: str) -> bool:
    """Every occurrence of the name is inside '...' (or the name needs no quoting)."""
    if sh(name) == name:
        return True
    quoted_at = []
    inside = False
    for char in line:
        if char == "'":
            inside = not inside
        quoted_at.append(inside)
    start = line.find(name)
    while start != -1:
        if not all(quoted_at[start:start + len(name)]):
            return False
        start = line.find(name, start + 1)
    return True


def hostile_plan_from(plan: Plan, text: str) -> Plan:
    steps = tuple(dataclasses.replace(s, explanation=text, evidence=(text,), does=text)
                  for s in plan.steps)
    return dataclasses.replace(plan, steps=steps, state_summary=text)


def test_scripts_for_hostile_names_pass_shellcheck(tmp_path):
    plan, _ = article_plan(methods={"widget-daemon.socket": Method.MASK_RUNTIME,
                                    "widget-reconcile.timer": Method.DISABLE})
    names = [f"evil@{escape_string(t)}.service" for t in
             ("$(touch /tmp/x)", "`id`; 'q' \"d\"", "a\nb\tc", "%i %n ${HOME}")]
    scripts = []
    for number, name in enumerate(names):
        assert is_valid_unit_name(name), name
        hostile = renamed(hostile_plan_from(plan, f"text {name} $(id)"), "widget-daemon.socket",
                          name)
        for kind, text in (("fix", render_script(hostile)), ("undo", render_undo(hostile))):
            path = tmp_path / f"{kind}{number}.sh"
            path.write_text(text)
            scripts.append(str(path))
    result = subprocess.run([require("shellcheck"), "--severity=style", *scripts],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
