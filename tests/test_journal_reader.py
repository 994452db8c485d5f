"""The journal reader's choices that need no lab: where each journal is, what is matched."""

from __future__ import annotations

import time

import pytest

from tests.conftest import run_cli
from wizard.cli.parser import build_parser
from wizard.errors import ExitCode
from wizard.model.connection import (
    address_connection,
    host_connection,
    machine_connection,
    system_connection,
    user_connection,
)
from wizard.system.journal import journal_source, match_arguments, parse_entry, read_journal


def test_each_connection_reads_its_own_journal():
    assert journal_source(system_connection()).options == ()
    user = journal_source(user_connection())
    assert (user.options, user.user) == (("--user",), True)
    assert journal_source(machine_connection("box", "/proc/7/root")).options == (
        "--machine=box",)
    lab = address_connection("unix:path=/x", files_root="/proc/42/root", label="lab a")
    assert journal_source(lab).options == ("--root=/proc/42/root",)


@pytest.mark.parametrize("connection", [host_connection("example.org"),
                                        address_connection("unix:path=/x")],
                         ids=["host", "bare-address"])
def test_journals_out_of_reach_say_so_and_run_nothing(connection):
    source = journal_source(connection)
    assert source.unavailable
    read = read_journal(source, ["a.service"], 0)
    assert read.entries == ()
    assert read.notes == (source.unavailable,)


def test_host_journal_note_names_the_host():
    note = journal_source(host_connection("example.org")).unavailable
    assert "over ssh is not supported yet" in note
    assert "host example.org" in note


def test_system_matches_are_pid1_units_or_bus_calls_or_dbus_daemon():
    args = match_arguments(["b.service", "a.socket", "a.socket"],
                           journal_source(system_connection()))
    assert args == ["_PID=1", "UNIT=a.socket", "UNIT=b.service",
                    "+", "_PID=1", "CODE_FUNC=process_message",
                    "+", "SYSLOG_IDENTIFIER=dbus-daemon"]


def test_user_matches_use_user_unit():
    args = match_arguments(["a.service"], journal_source(user_connection()))
    assert args[0] == "USER_UNIT=a.service"
    assert "_PID=1" not in args


def test_parse_entry_reads_journalctls_json_shapes():
    # journalctl(1), -o json: non-UTF-8 values are arrays of bytes, repeated
    # fields arrays of values, numbers strings.
    entry = parse_entry({
        "__REALTIME_TIMESTAMP": "1795854437775208",
        "MESSAGE": [104, 105, 255],
        "UNIT": ["a.service", "b.service"],
        "JOB_ID": "17",
        "N_RESTARTS": "x",
    })
    assert entry.realtime_usec == 1795854437775208
    assert entry.message == "hi\ufffd"
    assert entry.unit == "a.service"
    assert (entry.job_id, entry.n_restarts) == (17, 0)


def test_parse_entry_of_a_user_manager_uses_user_fields():
    entry = parse_entry({"USER_UNIT": "u.service", "USER_INVOCATION_ID": "ab",
                         "UNIT": "user@0.service"}, user=True)
    assert (entry.unit, entry.invocation_id) == ("u.service", "ab")


@pytest.mark.parametrize("since", ["yesterday-ish", "5 parsecs", "@x"])
def test_bad_since_is_a_usage_error(since):
    result = run_cli("diagnose", "--since", since, "a.service")
    assert result.code == ExitCode.USAGE
    assert "is not a time" in result.stderr


@pytest.mark.parametrize("seconds", ["0", "-3", "soon"])
def test_bad_watch_seconds_is_a_usage_error(seconds):
    result = run_cli("watch", "--seconds", seconds, "a.service")
    assert result.code == ExitCode.USAGE
    assert "positive number of seconds" in result.stderr


@pytest.mark.parametrize(("since", "seconds_back"), [
    ("90min", 5400), ("24h", 86400), ("2d", 172800), ("30s", 30), ("10 min ago", 600)])
def test_since_spans_count_back_from_now(since, seconds_back):
    before = time.time()
    args = build_parser().parse_args(["diagnose", "--since", since, "a.service"])
    assert before - seconds_back - 1 <= args.since / 1e6 <= time.time() - seconds_back


def test_since_takes_epoch_and_iso_times():
    parse = build_parser().parse_args
    assert parse(["diagnose", "--since", "@1767225600.5", "a"]).since == 1767225600_500000
    iso = parse(["diagnose", "--since", "2026-01-01T00:00:00+00:00", "a"]).since
    assert iso == 1767225600_000000
    assert parse(["diagnose", "a"]).since <= time.time() * 1e6 - 86399e6
