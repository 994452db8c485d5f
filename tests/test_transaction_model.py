"""The transaction model's pure logic, on recorded snapshots and small hand-made graphs.

Every rule here is also provoked in a real systemd by tests/test_lab_transaction_model.py;
these tests pin the details (reasons, chains, the edge cases) without a lab.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from wizard.analysis.chain_sources import source_for_chain
from wizard.analysis.liveness import Source, SourceKind, liveness, restart_verdict
from wizard.analysis.stop_model import after_stop
from wizard.analysis.transaction import Outcome, UnitStates, start_transaction
from wizard.analysis.unit_graph import UnitGraph
from wizard.model.snapshots import (
    FileFacts,
    ManagerSnapshot,
    PathDetails,
    ServiceDetails,
    SocketDetails,
    SystemSnapshot,
    UnitSnapshot,
    snapshot_from_json,
    snapshot_to_json,
)
from wizard.system.transaction_inputs import file_facts

SNAPSHOTS = Path(__file__).parent / "snapshots"
# systemd.unit(5), "Mapping of unit properties to their inverses".
INVERSE = {
    "Wants": "WantedBy", "Requires": "RequiredBy", "Requisite": "RequisiteOf",
    "BindsTo": "BoundBy", "PartOf": "ConsistsOf", "Upholds": "UpheldBy",
    "Triggers": "TriggeredBy", "PropagatesStopTo": "StopPropagatedFrom",
    "OnFailure": "OnFailureOf", "OnSuccess": "OnSuccessOf", "After": "Before",
}


def graph(target: str, spec: dict[str, dict[str, Any]]) -> SystemSnapshot:
    """A snapshot from forward dependencies; the reverse ones are filled in like systemd does."""
    deps: dict[str, dict[str, list[str]]] = {name: {} for name in spec}
    for name, fields in spec.items():
        for prop, inverse in INVERSE.items():
            for other in fields.get(prop, ()):
                deps[name].setdefault(prop, []).append(other)
                deps.setdefault(other, {}).setdefault(inverse, []).append(name)
    units = {}
    for name in deps:
        fields = {k: v for k, v in spec.get(name, {}).items() if k not in INVERSE}
        state = fields.pop("state", "inactive")
        sub = fields.pop("sub_state", {"active": "running", "inactive": "dead"}.get(state, state))
        kind = name.rpartition(".")[2]
        defaults: dict[str, Any] = {}
        if kind == "service":
            defaults["service"] = ServiceDetails()
        if kind == "socket":
            defaults["socket"] = SocketDetails()
        units[name] = UnitSnapshot(
            name=name, names=(name, *fields.pop("aliases", ())), active_state=state,
            sub_state=sub,
            dependencies={p: tuple(v) for p, v in deps[name].items()},
            **{**defaults, **fields},
        )
    return SystemSnapshot(target=target, manager=ManagerSnapshot(), units=units)


# -- recorded snapshots: the model on what diagnose reads from a real systemd --------


@pytest.mark.parametrize("path", sorted(SNAPSHOTS.glob("*.json")), ids=lambda p: p.stem)
def test_recorded_chains_agree_with_the_lab_proven_verdicts(path: Path) -> None:
    # These recordings hold none of the cases the old reachability got wrong, and
    # their live chains are provoked in the lab by test_lab_kinds: both must agree.
    snapshot = snapshot_from_json(path.read_text())
    outcome = after_stop(snapshot, snapshot.target)
    for chain in UnitGraph(snapshot).walk(snapshot.target):
        verdict = liveness(snapshot, snapshot.target, source_for_chain(snapshot, chain),
                           outcome=outcome)
        assert verdict.live == chain.live, (chain.nodes, verdict)
        assert verdict.live or verdict.dormant


def test_the_article_timer_walks_through_the_reconcile_service() -> None:
    snapshot = snapshot_from_json((SNAPSHOTS / "article-booted.json").read_text())
    verdict = liveness(snapshot, "widget-daemon.service", "widget-reconcile.timer")
    assert verdict.live
    assert [(s.unit, s.via) for s in verdict.chain] == [
        ("widget-reconcile.service", "anchor"), ("widget-daemon.service", "Wants")]


# -- start transactions ------------------------------------------------------------------


def test_a_redundant_job_takes_what_only_it_pulled_in_with_it() -> None:
    snapshot = graph("u.service", {
        "job.service": {"Wants": ["stay.target"]},
        "stay.target": {"state": "active", "Wants": ["u.service"]},
        "u.service": {"state": "active"},
    })
    verdict = liveness(snapshot, "u.service", Source("job.service", SourceKind.UNIT))
    assert not verdict.live
    assert verdict.dormant.startswith("stay.target is active, so the start job")
    assert verdict.wakes.endswith("after stay.target stops)")


def test_a_wants_cycle_keeps_its_jobs_after_the_redundant_puller_is_dropped() -> None:
    snapshot = graph("u.service", {
        "job.service": {"Wants": ["stay.target"]},
        "stay.target": {"state": "active", "Wants": ["u.service"]},
        "u.service": {"state": "active", "Wants": ["peer.service"]},
        "peer.service": {"Wants": ["u.service"]},
    })
    verdict = liveness(snapshot, "u.service", Source("job.service", SourceKind.UNIT))
    assert verdict.live
    assert verdict.transaction is not None
    assert verdict.transaction.starts("peer.service")


def test_an_anchor_on_an_active_unit_is_kept() -> None:
    snapshot = graph("u.service", {
        "main.service": {"state": "active", "Wants": ["u.service", "other.service"]},
        "other.service": {"state": "active"},
        "u.service": {"state": "active"},
    })
    transaction = start_transaction(after_stop(snapshot, "u.service").after(), "main.service")
    assert transaction.jobs["main.service"].outcome == Outcome.ALREADY_ACTIVE
    assert transaction.starts("u.service")
    assert "other.service" not in transaction.jobs


def test_requires_on_a_masked_unit_refuses_the_anchor_but_not_a_wanting_puller() -> None:
    snapshot = graph("u.service", {
        "src.service": {"Wants": ["mid.service"]},
        "mid.service": {"Requires": ["masked.service"], "Wants": ["u.service"]},
        "masked.service": {"load_state": "masked"},
        "u.service": {"state": "active"},
    })
    states = UnitStates.of(snapshot)
    assert "masked.service is masked" in start_transaction(states, "mid.service").failed
    transaction = start_transaction(states, "src.service")
    assert transaction.failed == ""
    assert transaction.starts("mid.service")  # added before its Requires= failed
    assert "u.service" not in transaction.jobs  # its Wants= were never reached


def test_a_requisite_that_is_not_active_fails_an_ordered_or_later_queued_puller() -> None:
    spec: dict[str, dict[str, Any]] = {
        "z-ordered.service": {"Requisite": ["need.service"], "After": ["need.service"]},
        "a-first.service": {"Requisite": ["need.service"]},
        "z-last.service": {"Requisite": ["need.service"]},
        "need.service": {},
    }
    states = UnitStates.of(graph("z-ordered.service", spec))
    ordered = start_transaction(states, "z-ordered.service")
    assert ordered.jobs["need.service"].outcome == Outcome.VERIFY_FAILED
    assert ordered.jobs["z-ordered.service"].outcome == Outcome.DEPENDENCY_FAILED
    # Unordered, the run queue decides: same type, so the name; a- runs before need.
    first = start_transaction(states, "a-first.service")
    assert first.starts("a-first.service")
    assert any("run queue" in note for note in first.notes)
    last = start_transaction(states, "z-last.service")
    assert last.jobs["z-last.service"].outcome == Outcome.DEPENDENCY_FAILED


def test_refuse_manual_start_only_refuses_manual_starts() -> None:
    snapshot = graph("u.service", {
        "u.service": {"state": "active", "refuse_manual_start": True},
        "t.timer": {"state": "active", "Triggers": ["u.service"]},
    })
    manual = liveness(snapshot, "u.service", Source("cron", SourceKind.MANUAL, "u.service"))
    assert not manual.live
    assert "RefuseManualStart=yes" in manual.dormant
    assert liveness(snapshot, "u.service", "t.timer").live


def test_a_failing_condition_from_the_files_keeps_the_unit_inactive(tmp_path: Path) -> None:
    snapshot = graph("u.service", {
        "u.service": {"state": "active", "conditions": (
            ("ConditionPathExists", False, False, "/etc/flag", 0),)},
        "t.timer": {"state": "active", "Triggers": ["u.service"]},
    })
    files = file_facts(str(tmp_path), snapshot)
    verdict = liveness(snapshot, "u.service", "t.timer", files=files)
    assert not verdict.live
    assert "ConditionPathExists=/etc/flag" in verdict.dormant
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "flag").touch()
    assert liveness(snapshot, "u.service", "t.timer",
                    files=file_facts(str(tmp_path), snapshot)).live


def test_trigger_conditions_need_only_one_to_hold(tmp_path: Path) -> None:
    (tmp_path / "b").touch()
    snapshot = graph("u.service", {"u.service": {"conditions": (
        ("ConditionPathExists", True, False, "/a", 0),
        ("ConditionPathExists", True, False, "/b", 0),
        ("ConditionPathExists", False, True, "/c", 0),
    )}})
    assert file_facts(str(tmp_path), snapshot).conditions["u.service"] == (True, "")
    (tmp_path / "c").touch()
    assert file_facts(str(tmp_path), snapshot).conditions["u.service"] == (
        False, "ConditionPathExists=!/c")


def test_capability_and_ac_power_conditions_are_read_like_systemd(tmp_path: Path) -> None:
    # e2scrub_all.service (Debian 12): nspawn does not grant CAP_SYS_RAWIO, so
    # systemd skips it (condition.c condition_test_capability reads PID 1's CapBnd).
    snapshot = graph("u.service", {"u.service": {"conditions": (
        ("ConditionCapability", False, False, "CAP_SYS_RAWIO", 0),
        ("ConditionACPower", False, False, "true", 0),
    )}})
    (tmp_path / "proc" / "1").mkdir(parents=True)
    status = tmp_path / "proc" / "1" / "status"
    # Every capability up to CAP_CHECKPOINT_RESTORE (40) but SYS_RAWIO (17).
    status.write_text(f"Name:\tsystemd\nCapBnd:\t{((1 << 41) - 1) & ~(1 << 17):016x}\n")
    assert file_facts(str(tmp_path), snapshot).conditions["u.service"] == (
        False, "ConditionCapability=CAP_SYS_RAWIO")
    status.write_text(f"CapBnd:\t{(1 << 41) - 1:016x}\n")
    # No power supply at all: on_ac_power() says AC.
    assert file_facts(str(tmp_path), snapshot).conditions["u.service"] == (True, "")
    (tmp_path / "sys" / "class" / "power_supply" / "BAT0").mkdir(parents=True)
    assert "u.service" not in file_facts(str(tmp_path), snapshot).conditions, "unknown"


def test_a_start_limit_hit_refuses_the_start() -> None:
    snapshot = graph("u.service", {
        "u.service": {"state": "failed", "service": ServiceDetails(result="start-limit-hit")},
        "t.timer": {"state": "active", "Triggers": ["u.service"]},
    })
    verdict = liveness(snapshot, "u.service", "t.timer")
    assert not verdict.live
    assert "start limit" in verdict.dormant


# -- the stop --------------------------------------------------------------------------------


def test_stop_propagates_with_a_reason_per_unit() -> None:
    snapshot = graph("u.service", {
        "u.service": {"state": "active", "PropagatesStopTo": ["p.service"]},
        "req.service": {"state": "active", "Requires": ["u.service"]},
        "bound.service": {"state": "active", "BindsTo": ["req.service"]},
        "part.socket": {"state": "active", "PartOf": ["u.service"]},
        "p.service": {"state": "active"},
        "idle.service": {"Requires": ["u.service"]},
    })
    stopped = after_stop(snapshot, "u.service").stopped_units()
    assert stopped == {
        "u.service": "u.service: stopped as asked",
        "req.service": "req.service: Requires=u.service",
        "bound.service": "bound.service: BindsTo=req.service",
        "part.socket": "part.socket: PartOf=u.service",
        "p.service": "p.service: u.service has PropagatesStopTo=p.service",
    }


def test_stop_when_unneeded_waits_for_the_last_active_user() -> None:
    spec: dict[str, dict[str, Any]] = {
        "u.service": {"state": "active", "Wants": ["helper.service"]},
        "other.service": {"state": "active", "Wants": ["helper.service"]},
        "helper.service": {"state": "active", "stop_when_unneeded": True},
    }
    assert "helper.service" not in after_stop(graph("u.service", spec), "u.service").stopped_units()
    spec["other.service"]["state"] = "inactive"
    assert "helper.service" in after_stop(graph("u.service", spec), "u.service").stopped_units()


def test_a_socket_returns_to_listening_when_its_service_stops() -> None:
    snapshot = graph("u.service", {
        "u.socket": {"state": "active", "sub_state": "running", "Triggers": ["u.service"]},
        "u.service": {"state": "active"},
    })
    outcome = after_stop(snapshot, "u.service")
    assert outcome.after().sub_state("u.socket") == "listening"
    assert liveness(snapshot, "u.service", "u.socket", outcome=outcome).live


def test_refuse_manual_stop_leaves_everything_running() -> None:
    snapshot = graph("u.service", {"u.service": {"state": "active", "refuse_manual_stop": True},
                                   "t.timer": {"state": "active", "Triggers": ["u.service"]}})
    verdict = liveness(snapshot, "u.service", "t.timer")
    assert not verdict.live
    assert "RefuseManualStop=yes" in verdict.dormant


# -- sources --------------------------------------------------------------------------------


def test_an_alias_is_the_same_unit_and_never_its_own_source() -> None:
    snapshot = graph("u.service", {
        "u.service": {"state": "active", "aliases": ("alias.service",)},
        "t.timer": {"state": "active", "Triggers": ["u.service"]},
    })
    by_alias = liveness(snapshot, "alias.service", "t.timer")
    by_name = liveness(snapshot, "u.service", "t.timer")
    assert by_alias.live
    assert (by_alias.target, by_alias.chain) == (by_name.target, by_name.chain)
    itself = liveness(snapshot, "alias.service", Source("u.service", SourceKind.UNIT))
    assert not itself.live
    assert itself.dormant == "u.service is u.service itself"


def test_an_accept_socket_starts_instances_of_its_template() -> None:
    snapshot = graph("echo@.service", {
        "echo.socket": {"state": "active", "sub_state": "listening",
                        "socket": SocketDetails(accept=True)},
    })
    verdict = liveness(snapshot, "echo@.service", "echo.socket")
    assert verdict.anchor == "echo@.service"


def test_a_cron_line_needs_a_cron_daemon() -> None:
    snapshot = graph("u.service", {"u.service": {"state": "active"}})
    cron = Source("/etc/cron.d/x:1", SourceKind.CRON, "u.service")
    assert not liveness(snapshot, "u.service", cron).live
    running = dataclasses.replace(snapshot, cron_daemon_active=True)
    assert liveness(running, "u.service", cron).live


def test_restart_policy_is_armed_until_a_restart_is_seen() -> None:
    running = UnitSnapshot("d.service", active_state="active", sub_state="running",
                           service=ServiceDetails(restart="always"))
    armed = restart_verdict(running)
    assert (armed.armed, armed.live) == (True, False)
    crashed = dataclasses.replace(running, service=ServiceDetails(restart="always", n_restarts=2))
    assert restart_verdict(crashed).live
    assert restart_verdict(running, restart_records=1).live
    never = UnitSnapshot("n.service", service=ServiceDetails())
    assert (restart_verdict(never).armed, restart_verdict(never).live) == (False, False)


def test_upholds_fires_only_while_the_upholder_is_active() -> None:
    spec: dict[str, dict[str, Any]] = {
        "keeper.service": {"state": "active", "Upholds": ["u.service"]},
        "u.service": {"state": "active"},
    }
    source = Source("keeper.service", SourceKind.UPHOLDS, "u.service")
    outcome = after_stop(graph("u.service", spec), "u.service")
    assert outcome.upheld == (("u.service", "keeper.service"),)
    verdict = liveness(graph("u.service", spec), "u.service", source, outcome=outcome)
    assert verdict.live
    assert verdict.immediate
    spec["keeper.service"]["state"] = "inactive"
    assert not liveness(graph("u.service", spec), "u.service", source).live


def test_file_facts_know_which_watched_paths_hold(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "flag").touch()
    snapshot = graph("u.service", {"u.service": {}})
    units = dict(snapshot.units)
    units["u.path"] = UnitSnapshot("u.path", path=PathDetails(
        unit="u.service", paths=(("PathExists", "/run/flag"), ("PathChanged", "/run/other"))))
    facts = file_facts(str(tmp_path), dataclasses.replace(snapshot, units=units))
    assert facts == FileFacts(("/run/flag",), {}, {})


def test_a_chain_root_acts_only_through_its_own_restarts() -> None:
    spec: dict[str, dict[str, Any]] = {
        "loop.service": {"state": "activating", "sub_state": "auto-restart",
                         "service": ServiceDetails(restart="always", n_restarts=3),
                         "Wants": ["u.service"]},
        "idle.service": {"Wants": ["u.service"]},
        "u.service": {"state": "active"},
    }
    snapshot = graph("u.service", spec)
    by_root = {c.nodes[0]: source_for_chain(snapshot, c)
               for c in UnitGraph(snapshot).walk("u.service")}
    assert by_root["loop.service"].kind == SourceKind.RESTART
    assert by_root["idle.service"].kind == SourceKind.IDLE
    assert liveness(snapshot, "u.service", by_root["loop.service"]).live
    idle = liveness(snapshot, "u.service", by_root["idle.service"])
    assert not idle.live
    assert "nothing here starts idle.service by itself" in idle.dormant
    spec["loop.service"].update(state="active", sub_state="running",
                                service=ServiceDetails(restart="always"))
    armed = liveness(graph("u.service", spec), "u.service",
                     Source("loop.service", SourceKind.RESTART))
    assert not armed.live
    assert "armed" in armed.dormant


def test_the_new_unit_fields_survive_json_and_old_recordings_load_without_them() -> None:
    snapshot = graph("u.service", {"u.service": {
        "stop_when_unneeded": True, "refuse_manual_start": True, "condition_result": False,
        "condition_timestamp_realtime_usec": 5,
        "conditions": (("ConditionPathExists", False, True, "/x", -1),)}})
    again = snapshot_from_json(snapshot_to_json(snapshot))
    assert again.units["u.service"] == snapshot.units["u.service"]
    old = snapshot_from_json((SNAPSHOTS / "article-booted.json").read_text())
    unit = old.units["widget-daemon.service"]
    assert (unit.stop_when_unneeded, unit.conditions, unit.can_start) == (False, (), True)
