"""Every revival kind of the sources catalogue, caught by watch and read back by diagnose.

For each live source: boot its scenario, quiet the other sources, start a watch,
stop the target, provoke the source, and check that the watch attributes the
revival to that source with the catalogue's chain as it happens, and that the
timeline of `diagnose --json` says the same afterwards.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from tests.lab_helpers import diagnose_json, is_active, skip_unless_the_kernel_runs, wait_until
from tests.test_lab_kinds import LIVE_SOURCES, REVIVAL_TIMEOUT, _is_unit
from tests.test_lab_watch import assert_prompt, is_start, watching
from wizard.lab.catalogue import RevivalSource
from wizard.lab.nspawn import Scenario

pytestmark = pytest.mark.lab

# A finding's kind is the link that touches the unit; the timeline's cause says
# the same in its own words (docs/timeline.md).
CAUSE_OF_KIND = {
    "socket": "triggered",
    "path": "triggered",
    "timer": "triggered",
    "automount": "triggered",
    "dependency": "pulled-in",
    "upholds": "upholds",
    "on-failure": "on-failure",
    "on-success": "on-success",
    "external": "external",
    "bus-activation": "bus-activation",
    "restart-policy": "restart-policy",
}


def attribution(event: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    return event["cause"], event["source"], tuple(event["chain"])


@pytest.mark.parametrize(("scenario", "source"), LIVE_SOURCES)
def test_watch_and_timeline_name_the_source_of_each_kind(
    lab_factory, scenario: Scenario, source: RevivalSource
):
    skip_unless_the_kernel_runs(scenario)
    lab = lab_factory(scenario.name)
    target = scenario.target
    expected = (CAUSE_OF_KIND[source.kind], source.source, source.chain)
    others = [s.source for s in scenario.sources
              if s is not source and s.live and _is_unit(s.source)]
    if others:
        lab.systemctl("stop", *others)
    if not source.stop_target:
        assert wait_until(lambda: is_active(lab, target), timeout=REVIVAL_TIMEOUT)

    with watching(lab, unit=target) as watch:
        watch.next(lambda d: d.get("type") == "watch")
        mark = time.time_ns() // 1000
        if source.stop_target:
            lab.systemctl("stop", target)
        if source.provoke is not None:
            provoked = lab.exec(list(source.provoke), timeout=30)
            assert provoked.returncode == 0, provoked.stderr
        revival = watch.next(is_start, timeout=REVIVAL_TIMEOUT + 3)
        watch.process.send_signal(signal.SIGINT)
        watch.finish()

    assert attribution(revival.data) == expected, revival.data
    assert_prompt(revival)

    _code, document = diagnose_json(lab, target)
    starts = [e for e in document["timeline"]["events"]
              if e["event"] == "start" and e["at_usec"] >= mark]
    assert starts, document["timeline"]
    assert attribution(starts[0]) == expected, starts[0]
