"""The article's scenario on a real systemd: socket plus reconcile timer, restart policy idle."""

from __future__ import annotations

import pytest

from tests.lab_helpers import connect_tcp, diagnose_json, findings_by, is_active, wait_until

pytestmark = pytest.mark.lab


def test_socket_revives_the_stopped_daemon_and_diagnose_names_it(lab_factory):
    lab = lab_factory("article")
    lab.systemctl("stop", "widget-daemon.service")
    assert not is_active(lab, "widget-daemon.service")
    connect_tcp(lab, 8080)
    assert wait_until(lambda: is_active(lab, "widget-daemon.service"), timeout=5)

    code, document = diagnose_json(lab, "widget-daemon.service")

    assert code == 1
    assert document["unit"] == "widget-daemon.service"
    assert document["live"] is True
    sockets = findings_by(document, "socket")
    assert [(f["source"], f["chain"], f["live"]) for f in sockets] == [
        ("widget-daemon.socket", ["widget-daemon.socket", "widget-daemon.service"], True)
    ]


def test_reconcile_timer_revives_it_even_with_the_socket_stopped(lab_factory):
    lab = lab_factory("article")
    lab.systemctl("stop", "widget-daemon.socket", "widget-daemon.service")
    assert not is_active(lab, "widget-daemon.service")
    # The timer fires every 5 s; the service must come back without any client.
    assert wait_until(lambda: is_active(lab, "widget-daemon.service"), timeout=15)

    code, document = diagnose_json(lab, "widget-daemon.service")

    assert code == 1
    dependency = [f for f in findings_by(document, "dependency") if f["live"]]
    assert [(f["source"], f["chain"]) for f in dependency] == [
        (
            "widget-reconcile.timer",
            ["widget-reconcile.timer", "widget-reconcile.service", "widget-daemon.service"],
        )
    ]
    # The stopped socket is reported, but not as live.
    assert [f["live"] for f in findings_by(document, "socket")] == [False]


def test_restart_policy_is_the_red_herring(lab_factory):
    lab = lab_factory("article")
    _code, document = diagnose_json(lab, "widget-daemon.service")
    (restart,) = findings_by(document, "restart-policy")
    assert restart["live"] is False
    assert {"subject": "widget-daemon.service", "fact": "Restart=on-failure",
            "source": "property"} in restart["evidence"]
    assert "red herring" in restart["explanation"]


def test_control_unit_comes_out_clean(lab_factory):
    lab = lab_factory("control")
    lab.systemctl("stop", "quiet.service")
    code, document = diagnose_json(lab, "quiet.service")
    assert code == 0
    assert document["live"] is False
    assert [f for f in document["findings"] if f["live"]] == []
    # Enabled at boot: reported, but not live.
    (boot,) = findings_by(document, "boot")
    assert boot["chain"][-2:] == ["multi-user.target", "quiet.service"]
    assert not is_active(lab, "quiet.service")
