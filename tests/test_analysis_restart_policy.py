"""Restart= on snapshots recorded from the restart-always scenario.

Restart=always is armed while the daemon runs (a kill, a crash or the daemon
exiting would bring it back), live once restarts are seen, and never after a
clean stop, which is respected.
"""

from __future__ import annotations

import dataclasses

from tests.test_analysis_recorded import load, summary
from wizard.analysis import FindingKind, diagnose
from wizard.analysis.liveness import restart_verdict
from wizard.analysis.unit_graph import restarts_by_itself

TARGET = "respawn-daemon.service"


def test_running_restart_always_daemon_that_never_restarted_is_armed_not_live():
    # Nothing revives it: a clean stop is respected and no restart was ever
    # seen (NRestarts=0). It would act after a crash or a kill (issue 10).
    diagnosis = diagnose(load("restart-always-running"))
    assert summary(diagnosis) == [
        ("restart-policy", TARGET, (TARGET,), False),
        ("boot", "multi-user.target", ("multi-user.target", TARGET), False),
    ]
    restart = diagnosis.findings[0]
    assert "It is armed" in restart.explanation
    assert "if its process is killed or exits it is back within 1 s" in restart.explanation
    assert "no restart has been seen" in restart.dormant
    assert "crashes, exits or is killed" in restart.wakes


def test_cleanly_stopped_restart_always_daemon_stays_down():
    diagnosis = diagnose(load("restart-always-stopped"))
    assert diagnosis.live_findings == ()
    (restart,) = [f for f in diagnosis.findings if f.kind == FindingKind.RESTART_POLICY]
    assert restart.live is False
    assert "red herring" in restart.explanation


def test_killed_daemon_came_back_and_says_it_is_crashing():
    diagnosis = diagnose(load("restart-always-killed"))
    restart = diagnosis.findings[0]
    assert (restart.kind, restart.live) == (FindingKind.RESTART_POLICY, True)
    assert "restarted 1 time(s)" in restart.explanation


def test_on_failure_is_armed_and_live_only_once_it_has_restarted():
    # The article's daemon (Restart=on-failure, never restarted) is armed: the walk
    # keeps it as a root, and the verdict calls it not live (the red herring).
    # The same daemon after a crash and a restart is crash-looping, hence live.
    # One idea of restart liveness: the walk's root is the verdict's "armed".
    snapshot = load("article-booted")
    daemon = snapshot.units["widget-daemon.service"]
    assert daemon.service is not None
    assert restarts_by_itself(daemon)
    assert (restart_verdict(daemon).armed, restart_verdict(daemon).live) == (True, False)
    crashed = dataclasses.replace(
        daemon, service=dataclasses.replace(daemon.service, n_restarts=2)
    )
    assert restarts_by_itself(crashed)
    assert restart_verdict(crashed).live
    armed = dataclasses.replace(daemon, active_state="activating", sub_state="auto-restart")
    assert restarts_by_itself(armed)
    assert restart_verdict(armed).live
    stopped = dataclasses.replace(daemon, active_state="inactive", sub_state="dead")
    assert restart_verdict(stopped).armed
    assert not restarts_by_itself(stopped), "a clean stop is respected"
