"""The challenge generator, without a lab: reproducible, right size per level, valid units.

Whether every generated scenario really revives its target through each source,
and whether the wizard's plan passes the check on it, is proven in the lab
(tests/test_lab_practice.py, on seeds that cover every template).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard.model.unit_names import has_unit_suffix
from wizard.practice import LEVELS
from wizard.practice.generator import (
    TEMPLATE_NAMES,
    TEMPLATES,
    challenge_document,
    challenge_from_document,
    generate_challenge,
)
from wizard.practice.lab import read_challenge, write_challenge

SEEDS = range(150)
TIER = {t.name: t.tier for t in TEMPLATES}
KIND = {t.name: t.kind for t in TEMPLATES}
ALL = [(level, seed) for level in LEVELS for seed in SEEDS]


def test_the_same_seed_gives_the_same_challenge():
    for level, seed in ALL[::7]:
        assert generate_challenge(level, seed) == generate_challenge(level, seed)


def test_seeds_give_different_challenges():
    for level in LEVELS:
        challenges = {generate_challenge(level, seed).files for seed in range(40)}
        assert len(challenges) == 40
        targets = {generate_challenge(level, seed).target for seed in range(40)}
        assert len(targets) > 20


def test_a_level_outside_one_to_three_is_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        generate_challenge(4, 1)


@pytest.mark.parametrize("level", LEVELS)
def test_levels_give_the_right_number_and_kinds_of_sources(level):
    counts = set()
    for seed in SEEDS:
        challenge = generate_challenge(level, seed)
        templates = challenge.templates
        counts.add(len(templates))
        assert len(set(templates)) == len(templates)
        if level == 1:
            assert len(templates) == 1
            assert TIER[templates[0]] == "basic"
            assert KIND[templates[0]] != "restart-policy"
        elif level == 2:
            assert len(templates) == 2
            assert {TIER[t] for t in templates} == {"basic"}
            assert len({KIND[t] for t in templates}) == 2, "two different kinds, as the article"
        else:
            assert len(templates) in (3, 4)
            assert any(TIER[t] == "chain" for t in templates), templates
        assert sum(KIND[t] == "bus-activation" for t in templates) <= 1
        assert sum(KIND[t] == "restart-policy" for t in templates) <= 1
    assert counts == {1: {1}, 2: {2}, 3: {3, 4}}[level]


def test_every_template_is_generated():
    seen = {t for level, seed in ALL for t in generate_challenge(level, seed).templates}
    assert seen == set(TEMPLATE_NAMES)


def _listen_ports(text: str) -> list[str]:
    return re.findall(r"^ListenStream=127\.0\.0\.1:(\d+)$", text, flags=re.MULTILINE)


@pytest.mark.parametrize(("level", "seed"), ALL[::5])
def test_every_chain_is_made_of_generated_units_and_ends_at_the_target(level, seed):
    challenge = generate_challenge(level, seed)
    units = set(challenge.unit_names)
    assert challenge.target in units
    ports = [p for _path, text in challenge.files for p in _listen_ports(text)]
    assert len(ports) == len(set(ports)), "every socket has a port of its own"
    sources = [s.source for s in challenge.sources]
    assert len(sources) == len(set(sources))
    for source in challenge.sources:
        assert source.chain[-1] == challenge.target
        assert source.chain[0] == source.source
        for node in source.chain:
            assert node in units or (source.kind == "bus-activation" and node == source.source)
        assert source.detail
        assert (source.provoke is None) == (source.kind not in (
            "socket", "path", "bus-activation", "restart-policy"))
        assert source.stop_target == (source.kind != "restart-policy")
    assert challenge.target in challenge.involved_units
    for distractor in challenge.distractors:
        assert distractor in units
        assert distractor not in challenge.involved_units
    enabled = {unit for _wanting, wanted in challenge.enable for unit in wanted}
    assert enabled <= units
    assert challenge.target in enabled, "the target runs from the boot on"


def test_bus_activation_brings_its_files():
    challenge = next(c for c in (generate_challenge(3, s) for s in SEEDS)
                     if "bus-activation" in c.templates)
    files = dict(challenge.files)
    name = next(s.source for s in challenge.sources if s.kind == "bus-activation")
    assert f"SystemdService={challenge.target}" in files[
        f"files/usr/share/dbus-1/system-services/{name}.service"]
    assert f'<allow own="{name}"/>' in files[f"files/etc/dbus-1/system.d/{name}.conf"]
    assert "RequestName" in files["files/usr/local/lib/staydown-lab/bus-name-holder.py"]
    target_unit = files[f"units/{challenge.target}"]
    assert "Type=dbus" in target_unit
    assert f"BusName={name}" in target_unit


def test_the_document_and_the_directory_round_trip(tmp_path: Path):
    for level, seed in ALL[::11]:
        challenge = generate_challenge(level, seed)
        assert challenge_from_document(challenge_document(challenge), challenge.files) == challenge
        directory = write_challenge(challenge, tmp_path / f"{level}-{seed}")
        assert read_challenge(directory) == challenge


def test_the_trainee_sees_only_neutral_text_in_the_document_description():
    document = challenge_document(generate_challenge(2, 3))
    assert document["description"] == "A practice challenge (staydown lab challenge)."


@pytest.fixture(scope="module")
def analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze is not installed; make test installs systemd")
    return path


@pytest.mark.parametrize("level", LEVELS)
def test_generated_units_pass_systemd_analyze_verify(analyze, tmp_path: Path, level):
    # Offline, on the host's systemd: parse errors, unknown settings and bad
    # references are warnings on stderr, so any output at all is a failure.
    for seed in range(0, 60, 3):
        challenge = generate_challenge(level, seed)
        directory = write_challenge(challenge, tmp_path / f"{level}-{seed}") / "units"
        units = sorted(str(p) for p in directory.iterdir() if has_unit_suffix(p.name))
        result = subprocess.run([analyze, "verify", "--man=no", "--generators=no", *units],
                                capture_output=True, text=True, timeout=120)
        assert (result.returncode, result.stderr) == (0, ""), (level, seed)


def test_verify_would_catch_a_broken_unit(analyze, tmp_path: Path):
    # The check above can fail: a misspelt setting is reported.
    broken = tmp_path / "broken.service"
    broken.write_text("[Service]\nExecStart=/usr/bin/sleep infinity\nRestart=alwayz\n")
    result = subprocess.run([analyze, "verify", "--man=no", "--generators=no", str(broken)],
                            capture_output=True, text=True, timeout=60)
    assert "restart specifier" in result.stderr
