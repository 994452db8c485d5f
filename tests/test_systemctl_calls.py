"""The pre-scan's reading of unit files: which units a systemctl line could start."""

from __future__ import annotations

from wizard.analysis.systemctl_calls import unit_file_call_names


def test_words_of_systemctl_lines_name_the_units_they_could_start():
    text = (
        "[Unit]\nDescription=starts things, see systemctl(1)\n"
        "[Service]\nExecStart=/bin/systemctl --no-block start widget-daemon\n"
        "ExecStartPost=/bin/sh -c 'sleep 1; systemctl restart other.socket'\n"
        "ExecStop=/usr/bin/true nothing.service\n"
    )
    names = unit_file_call_names(text)
    assert names is not None
    assert {"widget-daemon.service", "other.socket"} <= names
    # Only lines that call systemctl count.
    assert "nothing.service" not in names


def test_continuation_lines_are_one_line():
    names = unit_file_call_names("ExecStart=/bin/systemctl \\\n    start far-away.service\n")
    assert names is not None
    assert "far-away.service" in names


def test_escaped_unit_names_keep_their_escapes():
    names = unit_file_call_names("ExecStart=systemctl start dev-disk-by\\x2dlabel-x.device\n")
    assert names is not None
    assert "dev-disk-by\\x2dlabel-x.device" in names


def test_words_that_expand_may_name_any_unit():
    assert unit_file_call_names("ExecStart=systemctl start worker@%i.service\n") is None
    assert unit_file_call_names("ExecStart=/bin/sh -c 'systemctl start $UNIT'\n") is None
    assert unit_file_call_names("ExecStart=/bin/sh -c 'systemctl start app-*.service'\n") is None
    # The same characters elsewhere in the file do not matter.
    assert unit_file_call_names("Description=100% $cheap\nExecStart=systemctl start a\n") == (
        frozenset({"ExecStart=systemctl.service", "systemctl.service", "start.service",
                   "a.service"}))
