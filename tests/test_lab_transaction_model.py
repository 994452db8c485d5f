"""The transaction model against the real systemd: each rule provoked in the lab.

Every test asks the model first, on a snapshot read from the lab before anything
is stopped, then stops and fires for real and compares. The expected verdict is
asserted too, so a test documents the rule it proves (docs/systemd-model.md).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import lab_unavailable_reason
from tests.lab_helpers import wait_until
from wizard.analysis.chain_sources import source_for_chain
from wizard.analysis.liveness import (
    Source,
    SourceKind,
    fire,
    liveness,
    restart_verdict,
    source_of,
)
from wizard.analysis.stop_model import after_stop
from wizard.analysis.transaction import Outcome, UnitStates, start_transaction
from wizard.analysis.unit_graph import UnitGraph
from wizard.lab import nspawn as lab_module
from wizard.lab.nspawn import Lab, scenario_from_directory
from wizard.model.snapshots import FileFacts, SystemSnapshot
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import systemd_client
from wizard.system.transaction_inputs import complete_for_model, file_facts

pytestmark = pytest.mark.lab

SCENARIO = scenario_from_directory(Path(__file__).parent / "scenarios" / "transactions")
# The timers fire 6 s after they are started (OnActiveSec=6s, AccuracySec=1ms).
TIMER_WAIT = 15.0


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """One lab for every case: each case has its own units (a-*, b-*, ...)."""
    reason = lab_unavailable_reason()
    if reason is not None:
        if os.environ.get("STAYDOWN_REQUIRE_LAB"):
            pytest.fail(f"lab required but unavailable: {reason}")
        pytest.skip(reason)
    name = f"tm{os.getpid()}"
    booted = lab_module.up(SCENARIO, name)
    try:
        yield booted
    finally:
        lab_module.down(name)


def read(lab: Lab, target: str, *sources: str) -> tuple[SystemSnapshot, FileFacts]:
    """What diagnose would read: the neighbourhood, completed for the model, and the files."""
    with systemd_client(lab.connection) as client:
        snap = complete_for_model(client, collect_neighbourhood(client, target), sources)
    root = lab.connection.files_root
    assert root is not None
    return snap, file_facts(root, snap)


def state(lab: Lab, unit: str) -> str:
    return lab.exec(["systemctl", "is-active", "--", unit]).stdout.strip()


def prop(lab: Lab, unit: str, name: str) -> str:
    return lab.systemctl("show", "-P", name, "--", unit).strip()


def ran(lab: Lab, unit: str) -> bool:
    """Whether a oneshot ran: each one touches /run/NAME-ran (systemd may unload it after)."""
    return lab.exec(["test", "-e", f"/run/{unit.removesuffix('.service')}-ran"]).returncode == 0


def elapsed(lab: Lab, timer: str) -> bool:
    return prop(lab, timer, "LastTriggerUSecMonotonic") not in ("", "0")


def connect(lab: Lab, port: int) -> int:
    return lab.exec(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"]).returncode


def test_a_redundant_target_drops_the_jobs_it_pulled_in(lab: Lab) -> None:
    # timer -> oneshot -> Wants= an active target -> Wants= the unit.
    lab.systemctl("start", "a-stay.target")
    assert state(lab, "a-unit.service") == "active"
    lab.systemctl("start", "a.timer")
    snap, files = read(lab, "a-unit.service")
    verdict = liveness(snap, "a-unit.service", "a.timer", files=files)
    assert not verdict.live
    assert "a-stay.target is active" in verdict.dormant
    assert "after a-stay.target stops" in verdict.wakes

    lab.systemctl("stop", "a-unit.service")
    assert wait_until(lambda: ran(lab, "a-job.service"), timeout=TIMER_WAIT)
    time.sleep(1)
    assert state(lab, "a-unit.service") == "inactive"
    assert state(lab, "a-stay.target") == "active"


def test_b_a_socket_whose_service_runs_starts_nothing(lab: Lab) -> None:
    lab.systemctl("start", "b.socket", "b.service")
    assert state(lab, "b-dep.service") == "active"
    snap, files = read(lab, "b-dep.service")
    verdict = liveness(snap, "b-dep.service", "b.socket", files=files)
    assert not verdict.live
    assert "b.socket is running because b.service runs" in verdict.dormant
    assert verdict.wakes == "b.service stops"

    lab.systemctl("stop", "b-dep.service")
    assert connect(lab, 7101) == 0
    time.sleep(2)
    assert state(lab, "b-dep.service") == "inactive"
    assert state(lab, "b.service") == "active"


def test_c_a_partof_socket_stops_with_its_service(lab: Lab) -> None:
    lab.systemctl("start", "c.socket", "c.service")
    snap, files = read(lab, "c.service")
    outcome = after_stop(snap, "c.service", files=files)
    assert outcome.stopped_units()["c.socket"] == "c.socket: PartOf=c.service"
    verdict = liveness(snap, "c.service", "c.socket", outcome=outcome, files=files)
    assert not verdict.live
    assert "stopping c.service stops c.socket too" in verdict.dormant

    lab.systemctl("stop", "c.service")
    assert state(lab, "c.socket") == "inactive"
    assert connect(lab, 7102) != 0
    time.sleep(1)
    assert state(lab, "c.service") == "inactive"


def test_d_an_anchor_on_an_active_unit_still_pulls_in_its_wants(lab: Lab) -> None:
    lab.systemctl("start", "d-main.service")
    assert state(lab, "d-unit.service") == "active"
    lab.systemctl("start", "d.timer")
    snap, files = read(lab, "d-unit.service")
    verdict = liveness(snap, "d-unit.service", "d.timer", files=files)
    assert verdict.live
    assert [(s.unit, s.via) for s in verdict.chain] == [
        ("d-main.service", "anchor"), ("d-unit.service", "Wants")]

    lab.systemctl("stop", "d-unit.service")
    assert wait_until(lambda: state(lab, "d-unit.service") == "active", timeout=TIMER_WAIT)
    assert elapsed(lab, "d.timer")


def test_e_stop_when_unneeded_follows_the_stop(lab: Lab) -> None:
    lab.systemctl("start", "e-user.service")
    assert state(lab, "e-helper.service") == "active"
    snap, files = read(lab, "e-user.service")
    outcome = after_stop(snap, "e-user.service", files=files)
    assert "StopWhenUnneeded=yes" in outcome.stopped_units()["e-helper.service"]

    lab.systemctl("stop", "e-user.service")
    assert wait_until(lambda: state(lab, "e-helper.service") == "inactive", timeout=10)


def test_f_an_active_upholder_starts_the_unit_again_at_once(lab: Lab) -> None:
    lab.systemctl("start", "f-upholder.service")
    assert state(lab, "f-kept.service") == "active"
    snap, files = read(lab, "f-kept.service")
    outcome = after_stop(snap, "f-kept.service", files=files)
    assert outcome.upheld == (("f-kept.service", "f-upholder.service"),)
    verdict = liveness(snap, "f-kept.service",
                       Source("f-upholder.service", SourceKind.UPHOLDS, "f-kept.service"),
                       outcome=outcome, files=files)
    assert verdict.live
    assert verdict.immediate

    before = prop(lab, "f-kept.service", "InvocationID")
    lab.systemctl("stop", "f-kept.service")
    assert wait_until(lambda: state(lab, "f-kept.service") == "active"
                      and prop(lab, "f-kept.service", "InvocationID") != before, timeout=10)


def test_g_a_requires_on_a_masked_unit_ends_the_chain(lab: Lab) -> None:
    lab.systemctl("mask", "g-masked.service")
    lab.systemctl("start", "g-unit.service")
    snap, files = read(lab, "g-unit.service", "g-src.service")
    verdict = liveness(snap, "g-unit.service", Source("g-src.service", SourceKind.UNIT),
                       files=files)
    assert not verdict.live
    assert verdict.transaction is not None
    # The job for g-mid.service was added before its Requires= failed, and it stays:
    # transaction.c's "goto fail" returns without removing it.
    assert verdict.transaction.starts("g-mid.service")

    lab.systemctl("stop", "g-unit.service")
    lab.systemctl("start", "g-src.service")
    time.sleep(2)
    assert state(lab, "g-unit.service") == "inactive"
    assert state(lab, "g-mid.service") == "active"
    assert state(lab, "g-masked.service") == "inactive"


def test_h_a_failing_condition_keeps_the_unit_inactive(lab: Lab) -> None:
    lab.systemctl("start", "h-unit.service")  # checks the condition once: it fails
    assert state(lab, "h-unit.service") == "inactive"
    lab.systemctl("start", "h.timer")
    snap, files = read(lab, "h-unit.service")
    verdict = liveness(snap, "h-unit.service", "h.timer", files=files)
    assert not verdict.live
    assert "ConditionPathExists=/run/h-missing" in verdict.dormant

    lab.systemctl("stop", "h-unit.service")
    assert wait_until(lambda: elapsed(lab, "h.timer"), timeout=TIMER_WAIT)
    time.sleep(1)
    assert state(lab, "h-unit.service") == "inactive"
    assert prop(lab, "h-unit.service", "ConditionResult") == "no"


def test_i_a_path_whose_file_exists_fires_right_after_the_stop(lab: Lab) -> None:
    lab.exec(["touch", "/run/i-flag"], check=True)
    lab.systemctl("start", "i.path")
    assert wait_until(lambda: state(lab, "i-unit.service") == "active", timeout=10)
    snap, files = read(lab, "i-unit.service")
    assert "/run/i-flag" in files.existing_paths
    verdict = liveness(snap, "i-unit.service", "i.path", files=files)
    assert verdict.live
    assert verdict.immediate

    before = prop(lab, "i-unit.service", "InvocationID")
    lab.systemctl("stop", "i-unit.service")
    assert wait_until(lambda: state(lab, "i-unit.service") == "active"
                      and prop(lab, "i-unit.service", "InvocationID") != before, timeout=10)


def test_j_a_wants_cycle_survives_garbage_collection(lab: Lab) -> None:
    lab.systemctl("start", "j-stay.target")
    lab.systemctl("stop", "j-peer.service")
    assert state(lab, "j-unit.service") == "active"
    snap, files = read(lab, "j-unit.service", "j-src.service")
    verdict = liveness(snap, "j-unit.service", Source("j-src.service", SourceKind.UNIT),
                       files=files)
    assert verdict.live
    assert verdict.transaction is not None
    assert verdict.transaction.dropped_job("j-stay.target") is not None

    lab.systemctl("stop", "j-unit.service")
    lab.systemctl("start", "j-src.service")
    assert wait_until(lambda: state(lab, "j-unit.service") == "active", timeout=10)
    assert state(lab, "j-peer.service") == "active"


def test_k_a_clean_stop_starts_the_on_success_hook(lab: Lab) -> None:
    lab.systemctl("start", "k-owner.service")
    snap, files = read(lab, "k-owner.service")
    outcome = after_stop(snap, "k-owner.service", files=files)
    assert outcome.on_success == (("k-hook.service", "k-owner.service"),)

    lab.systemctl("stop", "k-owner.service")
    assert wait_until(lambda: state(lab, "k-hook.service") == "active", timeout=10)


def test_l_refuse_manual_start_refuses_systemctl_but_not_a_timer(lab: Lab) -> None:
    lab.systemctl("start", "l.timer")
    snap, files = read(lab, "l-unit.service")
    manual = liveness(snap, "l-unit.service",
                      Source("cron", SourceKind.MANUAL, "l-unit.service"), files=files)
    assert not manual.live
    assert "RefuseManualStart=yes" in manual.dormant
    assert liveness(snap, "l-unit.service", "l.timer", files=files).live

    refused = lab.exec(["systemctl", "start", "l-unit.service"])
    assert refused.returncode != 0
    assert "refuse" in refused.stderr
    assert state(lab, "l-unit.service") == "inactive"
    assert wait_until(lambda: state(lab, "l-unit.service") == "active", timeout=TIMER_WAIT)


def test_n_the_stop_reaches_exactly_the_units_the_model_names(lab: Lab) -> None:
    units = ("n-unit", "n-req", "n-bound", "n-part", "n-requisite", "n-prop", "n-wants")
    lab.systemctl("start", *(f"{u}.service" for u in units))
    snap, files = read(lab, "n-unit.service")
    outcome = after_stop(snap, "n-unit.service", files=files)
    assert outcome.stopped_units() == {
        "n-unit.service": "n-unit.service: stopped as asked",
        "n-req.service": "n-req.service: Requires=n-unit.service",
        "n-bound.service": "n-bound.service: BindsTo=n-req.service",
        "n-part.service": "n-part.service: PartOf=n-unit.service",
        "n-requisite.service": "n-requisite.service: Requisite=n-unit.service",
        "n-prop.service": "n-prop.service: n-unit.service has PropagatesStopTo=n-prop.service",
    }

    lab.systemctl("stop", "n-unit.service")
    time.sleep(1)
    really_stopped = {f"{u}.service" for u in units if state(lab, f"{u}.service") != "active"}
    assert really_stopped == set(outcome.stopped_units())


def test_o_a_requisite_on_an_inactive_unit_fails_what_runs_after_it(lab: Lab) -> None:
    # o-ordered has After=o-need; o-unordered has none, but "o-need" sorts before
    # "o-unordered" in systemd's run queue, so the verify job still runs first;
    # "a-unordered" sorts before it and starts.
    lab.exec(["sh", "-c", "printf '[Unit]\\nRequisite=o-need.service\\n[Service]\\n"
              "ExecStart=/usr/bin/sleep infinity\\n' > /run/systemd/system/a-unordered.service"],
             check=True)
    lab.systemctl("daemon-reload")
    snap, files = read(lab, "o-need.service", "o-ordered.service", "o-unordered.service",
                       "a-unordered.service")
    states = UnitStates.of(snap, files)
    predicted = {name: start_transaction(states, name).starts(name) for name in (
        "o-ordered.service", "o-unordered.service", "a-unordered.service")}
    assert predicted == {"o-ordered.service": False, "o-unordered.service": False,
                         "a-unordered.service": True}

    for name, starts in predicted.items():
        result = lab.exec(["systemctl", "start", name])
        assert (result.returncode == 0) == starts, (name, result.stderr)
        assert (state(lab, name) == "active") == starts, name
    assert state(lab, "o-need.service") == "inactive"


def test_p_an_accept_socket_starts_an_instance_of_its_template(lab: Lab) -> None:
    lab.systemctl("start", "p.socket")
    snap, files = read(lab, "p.socket")
    outcome = after_stop(snap, "p.socket", files=files)
    # Stopping nothing relevant: ask the socket what it starts in the lab's state.
    firing = fire(dataclasses.replace(outcome, stopped={}, states=UnitStates.of(snap, files)),
                  source_of(snap, "p.socket"))
    assert firing.anchor == "p@.service"

    assert connect(lab, 7103) == 0
    instances = lab.systemctl("list-units", "--all", "--plain", "--no-legend", "p@*.service")
    assert instances.split()[0].startswith("p@")


def test_q_a_timer_started_owner_that_fails_starts_its_hook(lab: Lab) -> None:
    lab.systemctl("start", "q.timer")
    snap, files = read(lab, "q-hook.service", "q-owner.service")
    source = Source("q-owner.service", SourceKind.ON_FAILURE, "q-hook.service",
                    started_by=Source("q.timer", SourceKind.TIMER))
    verdict = liveness(snap, "q-hook.service", source, files=files)
    assert verdict.live
    assert [(s.unit, s.via) for s in verdict.chain] == [
        ("q-owner.service", "anchor"), ("q-hook.service", "OnFailure")]

    assert wait_until(lambda: state(lab, "q-hook.service") == "active", timeout=TIMER_WAIT)


def test_r_an_alias_gets_the_verdict_of_its_unit(lab: Lab) -> None:
    lab.systemctl("start", "r-unit.service", "r.timer")
    snap, files = read(lab, "r-alias.service")
    by_alias = liveness(snap, "r-alias.service", "r.timer", files=files)
    by_name = liveness(*read(lab, "r-unit.service")[:1], "r-unit.service", "r.timer")
    assert by_alias.live
    assert by_name.live
    assert [s.unit for s in by_alias.chain] == [by_alias.target]
    itself = liveness(snap, "r-alias.service", Source("r-unit.service", SourceKind.UNIT),
                      files=files)
    assert not itself.live

    # OnActiveSec= fires once, 6 s after the timer starts; reading the snapshots
    # above can take longer than that on a loaded machine, so count from now.
    lab.systemctl("stop", "r-alias.service")
    lab.systemctl("restart", "r.timer")
    assert state(lab, "r-unit.service") == "inactive"
    assert wait_until(lambda: state(lab, "r-unit.service") == "active", timeout=TIMER_WAIT)


def test_s_restart_always_is_armed_until_it_restarts(lab: Lab) -> None:
    lab.systemctl("start", "s-daemon.service")
    snap, _files = read(lab, "s-daemon.service")
    armed = restart_verdict(snap.units["s-daemon.service"])
    assert (armed.armed, armed.live) == (True, False)

    lab.systemctl("kill", "--signal=KILL", "s-daemon.service")
    assert wait_until(lambda: prop(lab, "s-daemon.service", "NRestarts") == "1", timeout=10)
    snap, _files = read(lab, "s-daemon.service")
    assert restart_verdict(snap.units["s-daemon.service"]).live


def test_t_a_socket_listens_again_once_its_service_stops(lab: Lab) -> None:
    lab.systemctl("start", "t.socket", "t.service")
    assert prop(lab, "t.socket", "SubState") == "running"
    snap, files = read(lab, "t.service")
    outcome = after_stop(snap, "t.service", files=files)
    assert outcome.after().sub_state("t.socket") == "listening"
    assert liveness(snap, "t.service", "t.socket", outcome=outcome, files=files).live

    lab.systemctl("stop", "t.service")
    assert prop(lab, "t.socket", "SubState") == "listening"
    assert connect(lab, 7104) == 0
    assert wait_until(lambda: state(lab, "t.service") == "active", timeout=10)


def test_u_a_start_limit_that_was_hit_refuses_the_next_start(lab: Lab) -> None:
    # An unreferenced inactive unit is unloaded, and its start counter with it:
    # u-holder's After= keeps it loaded, as a timer or a dependency would.
    lab.systemctl("start", "u-holder.service")
    for _ in range(2):
        lab.systemctl("start", "u-limited.service")
        lab.systemctl("stop", "u-limited.service")
    assert lab.exec(["systemctl", "start", "u-limited.service"]).returncode != 0
    assert prop(lab, "u-limited.service", "Result") == "start-limit-hit"
    snap, files = read(lab, "u-limited.service")
    verdict = liveness(snap, "u-limited.service",
                       Source("cron", SourceKind.MANUAL, "u-limited.service"), files=files)
    assert not verdict.live
    assert "start limit" in verdict.dormant

    assert lab.exec(["systemctl", "start", "u-limited.service"]).returncode != 0
    assert state(lab, "u-limited.service") == "failed"


def test_v_a_timers_default_dependency_on_sysinit_target_revives_nothing(lab: Lab) -> None:
    # The case: apt-daily.timer -> apt-daily.service -> (Requires=)
    # sysinit.target -> (Wants=) lvm2-monitor.service. sysinit.target is active.
    assert state(lab, "v-unit.service") == "active"
    lab.systemctl("start", "v.timer")
    snap, files = read(lab, "v-unit.service")
    verdict = liveness(snap, "v-unit.service", "v.timer", files=files)
    assert not verdict.live
    assert verdict.dormant.startswith("sysinit.target is active")

    lab.systemctl("stop", "v-unit.service")
    assert wait_until(lambda: ran(lab, "v-job.service"), timeout=TIMER_WAIT)
    time.sleep(1)
    assert state(lab, "v-unit.service") == "inactive"


def test_w_each_restart_of_a_crashing_service_pulls_its_wants_in_again(lab: Lab) -> None:
    lab.systemctl("start", "w-loop.service")
    assert wait_until(lambda: int(prop(lab, "w-loop.service", "NRestarts") or 0) >= 1,
                      timeout=15)
    snap, files = read(lab, "w-unit.service")
    chains = [c for c in UnitGraph(snap).walk("w-unit.service") if c.nodes[0] == "w-loop.service"]
    source = source_for_chain(snap, chains[0])
    assert source == Source("w-loop.service", SourceKind.RESTART)
    verdict = liveness(snap, "w-unit.service", source, files=files)
    assert verdict.live

    lab.systemctl("stop", "w-unit.service")
    assert state(lab, "w-unit.service") == "inactive"
    assert wait_until(lambda: state(lab, "w-unit.service") == "active", timeout=15)


def test_x_a_failing_assert_fails_the_start_and_what_requires_it(lab: Lab) -> None:
    lab.systemctl("start", "x.timer")
    snap, files = read(lab, "x-needer.service", "x.timer")
    verdict = liveness(snap, "x-needer.service", "x.timer", files=files)
    assert not verdict.live
    assert "Requires=x-unit.service" in verdict.dormant
    assert verdict.transaction is not None
    assert verdict.transaction.jobs["x-unit.service"].outcome == Outcome.ASSERT_FAILED

    assert wait_until(lambda: elapsed(lab, "x.timer"), timeout=TIMER_WAIT)
    time.sleep(1)
    assert state(lab, "x-needer.service") == "inactive"
    assert prop(lab, "x-unit.service", "AssertResult") == "no"


def test_a_neighbourhood_cut_short_says_so(lab: Lab) -> None:
    with systemd_client(lab.connection) as client:
        whole = collect_neighbourhood(client, "a-unit.service")
        walked = dataclasses.replace(
            whole, units={n: u for n, u in whole.units.items() if n in whole.walked})
        short = complete_for_model(client, walked, max_units=len(walked.units) + 1)
    assert not any("stopped" in note for note in whole.notes), whole.notes
    assert len(short.units) == len(walked.units) + 1 < len(whole.units)
    assert any("read" in note and "stopped" in note for note in short.notes), short.notes


def test_y_an_active_target_a_timer_starts_is_read_whole_and_one_nothing_fires_is_not(
    lab: Lab,
) -> None:
    # The timer's start job is on an active target: the anchor's job is kept
    # (transaction_drop_redundant spares it), so what the target wants starts.
    # y-crowd.target wants the unit too, but nothing gives it a job of its own.
    lab.systemctl("start", "y-crowd.target", "y-group.target")
    lab.systemctl("start", "y.timer")
    assert state(lab, "y-extra.service") == "inactive"  # its condition fails
    with systemd_client(lab.connection) as client:
        snap = collect_neighbourhood(client, "y-unit.service")
    assert "y-crowd.target" in snap.walked
    assert snap.unit("y-crowd.target") is not None
    assert snap.unit("y-extra.service") is None, "an active target's Wants= were read"
    verdict = liveness(snap, "y-unit.service", "y.timer")
    assert verdict.live, verdict.dormant
    assert verdict.anchor == "y-group.target"

    lab.systemctl("stop", "y-unit.service")
    assert state(lab, "y-unit.service") == "inactive"
    assert wait_until(lambda: state(lab, "y-unit.service") == "active", timeout=TIMER_WAIT)
    assert state(lab, "y-extra.service") == "inactive"


def test_z_a_masked_unit_behind_an_active_targets_requires_fails_the_whole_start(
    lab: Lab,
) -> None:
    # transaction_add_job_and_dependencies() checks the load state of every
    # unit it adds, active ones too, and a failure goes up every Requires=:
    # the timer's start of z-job is refused, so the unit it wants stays down.
    lab.systemctl("start", "z-base.target", "z-unit.service")
    # Its file is in /etc/systemd/system, above a --runtime mask: set it aside.
    saved = "/run/z-gone.service.saved"
    assert lab.exec(["mv", "/etc/systemd/system/z-gone.service", saved]).returncode == 0
    try:
        lab.systemctl("mask", "z-gone.service")
        lab.systemctl("daemon-reload")
        assert prop(lab, "z-gone.service", "LoadState") == "masked"
        assert state(lab, "z-gone.service") == "active"
        lab.systemctl("start", "z.timer")
        with systemd_client(lab.connection) as client:
            snap = collect_neighbourhood(client, "z-unit.service")
        verdict = liveness(snap, "z-unit.service", "z.timer")
        assert not verdict.live
        assert "z-gone.service is masked" in verdict.dormant, verdict.dormant

        lab.systemctl("stop", "z-unit.service")
        assert wait_until(lambda: state(lab, "z.timer") != "active"
                          or elapsed(lab, "z.timer"), timeout=TIMER_WAIT)
        time.sleep(1)
        assert state(lab, "z-unit.service") == "inactive"
        assert not ran(lab, "z-job.service")
    finally:
        lab.systemctl("unmask", "z-gone.service")
        lab.exec(["mv", saved, "/etc/systemd/system/z-gone.service"])
        lab.systemctl("daemon-reload")
