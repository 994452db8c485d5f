"""The challenge lab: boots a generated challenge and keeps what practice needs beside it.

A challenge lab is an ordinary lab (wizard.lab.nspawn) whose state directory also holds
``challenge/`` (the generated scenario with its secret sources catalogue, which
the trainee inside the lab cannot see), ``practice/baseline.json`` (every unit's
state once the boot settled, for grading) and ``practice/hints.json`` (how many
hints were given). ``staydown lab down`` removes them with the lab.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from wizard.errors import LabError
from wizard.lab import nspawn as lab
from wizard.practice.generator import (
    Challenge,
    challenge_document,
    challenge_from_document,
    generate_challenge,
)

CHALLENGE_DIR = "challenge"
PRACTICE_DIR = "practice"
# The target is enabled at boot; a Type=dbus one waits for its bus name.
SETTLE_TIMEOUT = 20.0


@dataclass(frozen=True)
class UnitState:
    """What ``systemctl list-units --all`` and ``list-unit-files`` say about one unit."""

    load: str
    active: str
    sub: str
    file_state: str


@dataclass(frozen=True)
class RunningChallenge:
    """A booted challenge lab with its secret and its baseline."""

    lab: lab.Lab
    challenge: Challenge
    baseline: dict[str, UnitState]

    @property
    def practice_dir(self) -> Path:
        """Where the baseline and the hint counter live."""
        return self.lab.directory / PRACTICE_DIR


def write_challenge(challenge: Challenge, directory: Path) -> Path:
    """Lay the challenge out as a scenario directory (scenario.json, units/, files/)."""
    directory.mkdir(parents=True)
    (directory / "scenario.json").write_text(
        json.dumps(challenge_document(challenge), indent=1) + "\n"
    )
    for relative, text in challenge.files:
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def read_challenge(directory: Path) -> Challenge:
    """The challenge a directory written by :func:`write_challenge` holds."""
    document = json.loads((directory / "scenario.json").read_text())
    files = tuple(sorted(
        (str(path.relative_to(directory)), path.read_text())
        for path in directory.rglob("*")
        if path.is_file() and path.name != "scenario.json"
    ))
    return challenge_from_document(document, files)


def unit_states(booted: lab.Lab) -> dict[str, UnitState]:
    """Every unit systemd knows in the lab, loaded or only on disk, with its state."""
    loaded = json.loads(booted.systemctl("list-units", "--all", "--output=json"))
    files = json.loads(booted.systemctl("list-unit-files", "--output=json"))
    file_states = {row["unit_file"]: row["state"] for row in files}
    states = {
        row["unit"]: UnitState(row["load"], row["active"], row["sub"],
                               file_states.get(row["unit"], ""))
        for row in loaded
    }
    for unit, state in file_states.items():
        states.setdefault(unit, UnitState("", "inactive", "dead", state))
    return states


def _write_json(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    os.replace(temporary, path)


def start_challenge(level: int, seed: int, name: str) -> RunningChallenge:
    """Generate the challenge, boot it, and record the baseline once the target runs."""
    challenge = generate_challenge(level, seed)
    with tempfile.TemporaryDirectory(prefix="staydown-challenge-") as scratch:
        # lab.up copies units and files into the lab's own directory, so the
        # scratch copy can go once the lab is up.
        scenario_dir = write_challenge(challenge, Path(scratch) / CHALLENGE_DIR)
        booted = lab.up(lab.scenario_from_directory(scenario_dir), name)
        try:
            write_challenge(challenge, booted.directory / CHALLENGE_DIR)
            deadline = time.monotonic() + SETTLE_TIMEOUT
            while booted.exec(["systemctl", "is-active", "--quiet", "--", challenge.target]
                              ).returncode != 0:
                if time.monotonic() > deadline:
                    raise LabError(
                        f"the challenge did not start {challenge.target} at boot",
                        f"this is a bug in the generator (level {level}, seed {seed}); "
                        f"console log: {booted.directory / 'console.log'}",
                    )
                time.sleep(0.2)
            baseline = unit_states(booted)
            running = RunningChallenge(booted, challenge, baseline)
            _write_json(running.practice_dir / "baseline.json",
                        {unit: asdict(state) for unit, state in baseline.items()})
            record_hints(running, 0)
        except BaseException:
            lab.down(name)
            raise
    return running


def load_challenge(name: str) -> RunningChallenge:
    """The running challenge lab of that name, or an error saying how to start one."""
    booted = lab.require_lab(name)
    directory = booted.directory / CHALLENGE_DIR
    if not (directory / "scenario.json").is_file():
        raise LabError(
            f"lab {name!r} is not a practice challenge",
            f"start one with: staydown lab challenge --name NAME (lab {name!r} runs "
            f"scenario {booted.scenario})",
        )
    try:
        challenge = read_challenge(directory)
        raw = json.loads((booted.directory / PRACTICE_DIR / "baseline.json").read_text())
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LabError(f"the challenge in lab {name!r} cannot be read: {error}",
                       "start it again: staydown lab down, then staydown lab challenge"
                       ) from error
    baseline = {unit: UnitState(**state) for unit, state in raw.items()}
    return RunningChallenge(booted, challenge, baseline)


def hints_given(running: RunningChallenge) -> int:
    """How many hints the trainee has asked for so far."""
    try:
        return int(json.loads((running.practice_dir / "hints.json").read_text())["given"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def record_hints(running: RunningChallenge, given: int) -> None:
    """Remember how many hints were given (atomically)."""
    _write_json(running.practice_dir / "hints.json", {"given": given})


def briefing(running: RunningChallenge) -> str:
    """What the trainee is told: the unit, how to get in, how to get a hint and be graded."""
    name, target = running.lab.name, running.challenge.target
    level, seed = running.challenge.level, running.challenge.seed
    return (
        f"Challenge ready in lab {name} (level {level}).\n"
        "\n"
        f"  {target} keeps coming back after `systemctl stop`.\n"
        "  Find out who brings it back, and make it stay down without breaking anything "
        "else.\n"
        "\n"
        f"  enter the lab:   staydown lab exec --name {name} -- bash\n"
        f"              or:  nsenter --target {running.lab.leader_pid} --all bash\n"
        f"  ask for a hint:  staydown lab hint --name {name}   (one at a time, in the "
        "article's order)\n"
        f"  get graded:      staydown lab check --name {name}   ({target} must stay down "
        "for 30 s while everything that could revive it keeps firing)\n"
        f"  give up, clean:  staydown lab down --name {name}\n"
        f"  the same challenge for someone else: staydown lab challenge --level {level} "
        f"--seed {seed}\n"
    )
