"""Hints without a lab: the article's order, escalation, one answer per source."""

from __future__ import annotations

import pytest

from wizard.analysis.kinds.all_kinds import check_commands
from wizard.practice import LEVELS
from wizard.practice.generator import generate_challenge
from wizard.practice.hints import STEP_OF_KIND, hint_sequence, render_hint

CHALLENGES = [generate_challenge(level, seed) for level in LEVELS for seed in range(40)]


@pytest.mark.parametrize("challenge", CHALLENGES[::4], ids=lambda c: f"{c.level}-{c.seed}")
def test_hints_follow_the_article_and_escalate(challenge):
    hints = hint_sequence(challenge)
    steps = [h.step for h in hints]
    assert steps == sorted(steps), "status, triggers, reverse dependencies, the rest"
    assert set(steps) == {1, 2, 3, 4}, "every step is visited, if only to rule it out"
    for step in (1, 2, 3, 4):
        in_step = [h for h in hints if h.step == step]
        sources = [s for s in challenge.sources if STEP_OF_KIND[s.kind] == step]
        if step > 1 and not sources:
            assert len(in_step) == 1
            assert in_step[0].commands, "ruled out, with the command"
            continue
        # A nudge with no command, then the manual commands, then what they show here.
        assert in_step[0].commands == ()
        assert in_step[1].commands
        answers = in_step[2:]
        if step > 1:
            assert len(answers) == len(sources)
            for source, answer in zip(sources, answers, strict=True):
                assert source.source in answer.text
                assert " → ".join(source.chain) in answer.text


def test_the_nudge_does_not_name_the_source():
    for challenge in CHALLENGES:
        hints = hint_sequence(challenge)
        for hint in hints:
            for source in challenge.sources:
                answer = source.source in hint.text
                if answer:
                    assert hint.commands == (), "a hint that names a source is the last tier"
        nudges = [h for i, h in enumerate(hints) if i == 0 or hints[i - 1].step != h.step]
        for nudge in nudges:
            assert not any(s.source in nudge.text for s in challenge.sources
                           if s.kind != "restart-policy")


def test_the_trigger_nudge_says_where_to_look():
    socket = next(c for c in CHALLENGES if c.level == 1 and c.sources[0].kind == "socket")
    step2 = [h for h in hint_sequence(socket) if h.step == 2]
    assert "what listens for it" in step2[0].text
    assert any("TriggeredBy" in c for c in step2[1].commands)


def test_the_restart_policy_is_the_red_herring_unless_it_is_a_source():
    for challenge in CHALLENGES:
        third = hint_sequence(challenge)[2]
        if any(s.kind == "restart-policy" for s in challenge.sources):
            assert "Restart=always" in third.text
            assert "Restart=no" in third.text
        elif "Restart=on-failure" in dict(challenge.files)[f"units/{challenge.target}"]:
            assert "red herring" in third.text
        else:
            assert "no Restart= policy at all" in third.text


def test_every_kind_has_manual_commands():
    for kind in STEP_OF_KIND:
        if kind in ("automount", "boot"):
            continue  # not generated: the target is a service, and boot never revives
        assert check_commands(kind, "x.service"), kind


def test_render_numbers_the_hints_and_says_when_there_are_no_more():
    challenge = CHALLENGES[0]
    hints = hint_sequence(challenge)
    first = render_hint(hints, 1, "lab1", challenge.target)
    assert first.startswith(f"Hint 1 of {len(hints)}, step 1 of the article "
                            "(status and restart policy):")
    assert "Another hint: staydown lab hint --name lab1" in first
    last = render_hint(hints, len(hints), "lab1", challenge.target)
    assert "Another hint" not in last
    done = render_hint(hints, len(hints) + 1, "lab1", challenge.target)
    assert done.startswith("No more hints")
    assert f"staydown diagnose --lab lab1 --explain {challenge.target}" in done
