"""Differential testing: liveness models against what systemd did (tests/differential/README.md).

Offline: the recorded dataset is what the generator makes, its snapshots rebuild,
the comparison counts honestly, and the transaction model (when there is one)
agrees with systemd. In the lab: a seeded sample of recorded cases, provoked
again, gives the recorded outcomes.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from tests.differential.compare import (
    REVIVED_AT_ONCE,
    compare,
    diagnose_liveness,
    diagnose_revival,
    recorded_revival,
    recorded_truth,
)
from tests.differential.dataset import Dataset, RecordedCase, load_dataset
from tests.differential.generate import SOURCE_KINDS, generate_case
from tests.differential.runner import boot_batch, run_in_lab
from tests.differential.variants import VARIANTS, observed, predicted

SAMPLE_SIZE = 30
SAMPLE_SEED = 2026
# The issue's bar for the transaction model (issue 10, "Done when").
REQUIRED_AGREEMENT = 99.5
# What the model reaches today (2026-12-02: 100 % of the 4,663 scored questions,
# docs/systemd-model.md, "Differential agreement"): a ratchet, so that no change
# makes it worse. Lower it only with a re-recorded dataset, and say why.
MEASURED_AGREEMENT = 100.0


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_dataset()


def test_dataset_is_what_the_generator_makes(dataset):
    assert len(dataset.cases) >= 1000
    assert dataset.header["systemd"].startswith("systemd ")
    for recorded in dataset.cases:
        assert recorded.case == generate_case(recorded.case.seed), recorded.case.id


def test_every_source_was_provoked(dataset):
    kinds: set[str] = set()
    for recorded in dataset.cases:
        assert [o.unit for o in recorded.outcomes] == [s.unit for s in recorded.case.sources]
        kinds.update(o.kind for o in recorded.outcomes)
        for outcome in recorded.outcomes:
            # A source that fired before the fire is live by definition.
            assert outcome.live or not outcome.before_fire, (recorded.case.id, outcome)
    assert kinds == set(SOURCE_KINDS)
    outcomes = [o.live for r in dataset.cases for o in r.outcomes]
    # Both answers are common: a dataset of one answer would not test a model.
    assert 0.25 < sum(outcomes) / len(outcomes) < 0.75


def test_snapshots_rebuild_with_the_recorded_states(dataset):
    for recorded in dataset.cases:
        for snapshot, states in ((recorded.pre_stop, recorded.initial),
                                 (recorded.post_stop, recorded.after_stop)):
            assert snapshot is not None
            assert snapshot.target == recorded.case.target
            assert set(snapshot.units) == set(recorded.case.names)
            for name, state in states.items():
                unit = snapshot.units[name]
                assert f"{unit.active_state}/{unit.sub_state}" == state, (recorded.case.id, name)


def _oracle(dataset: Dataset, truth: str = "source") -> dict[tuple[str, str], bool]:
    return {(r.case.target, o.unit): recorded_truth(r, o, truth)
            for r in dataset.cases for o in r.outcomes}


def test_compare_counts_agreement_and_shows_each_disagreement(dataset):
    truth = _oracle(dataset)
    perfect = compare(lambda snapshot, target, source: truth[(target, source)], dataset)
    racy = sum(1 for r in dataset.cases for o in r.outcomes if o.racy)
    assert perfect.agreement == 100.0
    assert perfect.disagreements == ()
    assert (perfect.compared + perfect.racy_skipped + perfect.unattributed_skipped
            + perfect.unobservable_skipped == len(truth))
    assert 0 < perfect.unattributed_skipped < 50
    assert perfect.racy_skipped == racy

    inverted = compare(
        lambda snapshot, target, source: (not truth[(target, source)], "inverted"), dataset
    )
    assert inverted.agreed == 0
    assert len(inverted.disagreements) == inverted.compared
    first = inverted.disagreements[0]
    assert first.reason == "inverted"
    assert first.source in first.describe()


def test_a_fire_that_met_the_target_already_back_asks_the_cases_revival_question(dataset):
    # The state just before the fire is recorded (after_stop, checked the same in
    # every non-racy run, and before_fire per run): where the target was back,
    # it was active when the source fired, so "did the fire start it" was never
    # observed. compare() counts those sources apart and asks the case instead.
    unobservable = [(r, o) for r in dataset.cases for o in r.outcomes
                    if not o.racy and o.kind != "upholds" and o.before_fire]
    assert unobservable
    for recorded, outcome in unobservable:
        assert recorded.after_stop[recorded.case.target].startswith("active/"), recorded.case.id
        assert recorded.case.target not in outcome.started_by_fire
    truth = _oracle(dataset)
    revived = {r.case.id: recorded_revival(r) for r in dataset.cases}
    back = {r.case.target for r in dataset.cases if revived[r.case.id]}

    def perfect(snapshot, target):
        return target in back

    report = compare(lambda s, target, source: truth[(target, source)], dataset,
                     revival_fn=perfect)
    assert report.agreement == 100.0
    assert report.unobservable_skipped == len(unobservable)
    assert report.by_kind[REVIVED_AT_ONCE] == (len(back), len(back))

    # A revival model that is always wrong: asked in every case where it or
    # systemd says "back", so each of those is a disagreement.
    wrong = compare(lambda s, target, source: truth[(target, source)], dataset,
                    revival_fn=lambda snapshot, target: target not in back)
    steady = sum(1 for r in dataset.cases if recorded_revival(r) is not None)
    assert wrong.by_kind[REVIVED_AT_ONCE] == (0, steady)
    assert all(d.kind == REVIVED_AT_ONCE for d in wrong.disagreements)
    assert "stayed down" in next(d for d in wrong.disagreements if not d.recorded).describe()


def test_the_truths_differ_where_the_target_was_back_before_the_fire(dataset):
    by_fire = _oracle(dataset, "fire")
    assert compare(lambda s, target, source: by_fire[(target, source)], dataset,
                   truth="fire").agreement == 100.0
    # Under "any", exactly the sources whose target started but not by the
    # fire (it was back before it) disagree with that model.
    differ = sum(1 for r in dataset.cases for o in r.outcomes
                 if not o.racy and o.live != (r.case.target in o.started_by_fire))
    assert differ > 0
    report = compare(lambda s, target, source: by_fire[(target, source)], dataset, truth="any")
    assert len(report.disagreements) == differ - report.unattributed_skipped
    assert all(d.before_fire for d in report.disagreements)
    with pytest.raises(ValueError, match="truth"):
        compare(lambda s, target, source: True, dataset, truth="sometimes")


def test_compare_accepts_result_objects_a_kind_and_survives_a_crash(dataset):
    small = Dataset(dataset.header, dataset.cases[:40])
    truth = _oracle(small)
    seen_kinds: set[str] = set()

    def with_kind(snapshot, target, source, kind):
        seen_kinds.add(kind)
        return SimpleNamespace(live=truth[(target, source)], reason=kind)

    assert compare(with_kind, small).agreement == 100.0
    assert seen_kinds <= set(SOURCE_KINDS)
    assert len(seen_kinds) > 3

    def crashes(snapshot, target, source):
        raise RuntimeError("boom")

    report = compare(crashes, small)
    assert report.agreed == 0
    assert "boom" in report.disagreements[0].reason


def test_todays_diagnose_runs_on_every_case(dataset):
    # The figure itself is measured, not asserted (README.md); here only that
    # diagnose answers for every recorded snapshot without crashing.
    report = compare(diagnose_liveness, dataset, revival_fn=diagnose_revival)
    assert report.compared > 4000
    assert not [d for d in report.disagreements if "raised" in d.reason]


@pytest.fixture(scope="module")
def model_report(dataset: Dataset):
    from wizard.analysis.liveness import fired_liveness, revived_at_once

    return compare(fired_liveness, dataset, revival_fn=revived_at_once)


def test_transaction_model_agrees_with_systemd(model_report):
    assert model_report.agreement >= MEASURED_AGREEMENT, model_report.text(limit=40)


def test_transaction_model_meets_the_issues_bar(dataset, model_report):
    # Issue 10, "Done when": at least 99.5 % over 1,000 or more cases, scored
    # as docs/systemd-model.md ("Scoring") says.
    report = model_report
    scored = [r for r in dataset.cases if any(not o.racy for o in r.outcomes)]
    assert len(scored) >= 1000
    assert report.agreement >= REQUIRED_AGREEMENT, report.text(limit=40)


# Recorded cases the model once got wrong, fixed by a rule in docs/systemd-model.md:
# (case, source, what the chain must pass through; or, when the target must not
# start, "-" followed by words of the reason).
REGRESSIONS = (
    # A manual start of an exit-ok oneshot: it exits, OnSuccess= starts the target.
    ("d0124", "d0124-u3.service", "OnSuccess"),
    # A BindsTo= pulls in an exit-fail oneshot: it fails, OnFailure= starts the target.
    ("d0075", "d0075-u5.service", "OnFailure"),
    # A target Requires= an exit-fail oneshot: the oneshot fails, its OnFailure= fires.
    ("d0119", "d0119-u3.target", "OnFailure"),
    # StopWhenUnneeded= units started by hand, nothing pins them: systemd stops them
    # at once, and the clean stop of u2 starts its OnSuccess=, the target.
    ("d0710", "d0710-u3.service", "OnSuccess"),
    ("d0529", "d0529-u5.service", "OnSuccess"),
    # An ordering cycle (u2 Requires= and After= u1, u1 After= u2) whose jobs all
    # matter to the anchor: systemd refuses the transaction, nothing starts.
    ("d0019", "d0019-u2.service", "-Transaction order is cyclic"),
    # The same cycle through Wants=: u1's job does not matter and is deleted.
    ("d0537", "d0537-u3.service", "-ordering cycle"),
    # The on-failure owner's own job fails with "dependency" (Requisite= on the
    # stopped target): job_finish_and_invalidate() starts its OnFailure= all the same.
    ("d0769", "d0769-u2.service", "OnFailure"),
    # u5 Requisite= u1 and Requires= the active u2, which Wants= u1: u2's redundant
    # job goes, but u1's orphaned start job sits behind u5's verify-active job,
    # garbage collection sees only the head, and the two merge into a start.
    ("d0136", "d0136-u5.service", "Requisite"),
    # u1.target Requires= (with a target's implicit After=) an exit-fail oneshot:
    # the oneshot's start job fails, and with it the target's.
    ("d0620", "d0620-u5.timer", "-did not become active"),
    # u1 Requires= an exit-fail oneshot without After=: u1's job was dispatched
    # long before the oneshot's command failed, so u1 starts.
    ("d0675", "d0675-u5.service", "Requires"),
    # u4 BindsTo= u5 (no After=), u5 Requisite= the stopped u1: u1's verify-active
    # job runs first (the run queue orders by name), fails, and the failure
    # cascades at once through u5 to u4, whose job fails before it is dispatched:
    # u4 never runs, so its OnSuccess= never fires (variants d9001/d9002).
    ("d0563", "d0563-u4.service", "-did not become active"),
    # A socket's oneshot (/bin/true) never accepts the connection: the socket
    # triggers it again until its start limit fails it, which starts its
    # OnFailure=, the target (variants d9003/d9004).
    ("d0992", "d0992-u5.socket", "OnFailure"),
)


@pytest.mark.parametrize(("case_id", "source", "via"), REGRESSIONS)
def test_fixed_disagreements_stay_fixed(dataset, case_id, source, via):
    from wizard.analysis.liveness import fired_liveness

    recorded = next(r for r in dataset.cases if r.case.id == case_id)
    outcome = next(o for o in recorded.outcomes if o.unit == source)
    truth = recorded_truth(recorded, outcome, "source")
    assert truth != via.startswith("-"), "the recording says whether the fire started it"
    assert recorded.post_stop is not None
    verdict = fired_liveness(recorded.post_stop, recorded.case.target, source,
                             kind=outcome.kind)
    assert verdict.live == truth
    if truth:
        assert via in [step.via for step in verdict.chain]
    else:
        assert via[1:] in verdict.dormant + str(verdict.transaction)


def test_an_onsuccess_hook_that_waits_on_its_own_stop_is_refused(dataset):
    # d0569: u8 has OnSuccess=u1 and After=u1, and is PartOf=u1. Stopping u1
    # stops u8 first (stop jobs run in reverse After= order); u8's clean stop
    # asks for u1/start in OnSuccessJobMode=fail while u1/stop is still queued:
    # "Transaction for d0569-u1.target/start is destructive" (its journal), and
    # u1 stays down.
    from wizard.analysis.liveness import revived_at_once

    recorded = next(r for r in dataset.cases if r.case.id == "d0569")
    assert recorded_revival(recorded) is False
    assert any("is destructive" in line for line in recorded.journal)
    assert recorded.pre_stop is not None
    verdict = revived_at_once(recorded.pre_stop, recorded.case.target)
    assert not verdict.live
    assert any("transaction_is_destructive" in fact for fact in verdict.facts)


def _sample(dataset: Dataset) -> list[RecordedCase]:
    # Cases whose every outcome was the same each time, where systemd logged no
    # refused start or rate limit (those can depend on which of two unordered
    # units stopped first), short enough (at most five sources) that the
    # sample stays near a minute.
    steady = [r for r in dataset.cases
              if not r.racy and not r.journal and len(r.outcomes) <= 5]
    return sorted(random.Random(SAMPLE_SEED).sample(steady, SAMPLE_SIZE),
                  key=lambda r: r.case.seed)


@pytest.mark.lab
def test_lab_sample_reproduces_recorded_outcomes(dataset, lab_factory):
    chosen = _sample(dataset)
    lab = boot_batch([r.case for r in chosen], lab_factory)
    lines = run_in_lab(lab, [r.case for r in chosen], workers=SAMPLE_SIZE)
    mismatches = []
    for recorded, line in zip(chosen, lines, strict=True):
        if line["after_stop"] != recorded.after_stop:
            mismatches.append(f"{recorded.case.id}: after the stop {line['after_stop']}, "
                              f"recorded {recorded.after_stop}")
        for outcome, run in zip(recorded.outcomes, line["runs"], strict=True):
            now = (run["live"], run["before_fire"])
            if now != (outcome.live, outcome.before_fire):
                mismatches.append(
                    f"{recorded.case.id} {outcome.kind} {outcome.unit}: live, before_fire "
                    f"{now}, recorded {(outcome.live, outcome.before_fire)}"
                    + (f" ({run['racy']})" if run.get("racy") else "")
                )
    assert not mismatches, "\n".join(mismatches)



@pytest.mark.lab
def test_lab_variants_confirm_the_rules_learnt_from_disagreements(lab_factory):
    # A contrasting pair per rule (tests/differential/variants.py): systemd does
    # what its source says, and the model agrees, on both sides of each pair.
    cases = [v.case for v in VARIANTS]
    lines = run_in_lab(boot_batch(cases, lab_factory), cases, workers=len(cases))
    wrong = []
    for variant, line in zip(VARIANTS, lines, strict=True):
        assert "error" not in line, line.get("error")
        expected = (variant.revived, variant.started)
        if observed(line, variant.case) != expected:
            wrong.append(f"{variant.case.id} {variant.title}: systemd "
                         f"{observed(line, variant.case)}, expected {expected}")
        if predicted(line, variant.case) != expected:
            wrong.append(f"{variant.case.id} {variant.title}: model "
                         f"{predicted(line, variant.case)}, expected {expected}")
    assert not wrong, "\n".join(wrong)
