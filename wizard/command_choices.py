"""The fixed choices the command line offers (formats, challenge levels).

Their own tiny module so that building the parser, which every run does,
does not import the plan or the challenge generator just to list them.
"""

from __future__ import annotations

OUTPUT_FORMATS = ("script", "dropin", "ansible")
CHALLENGE_LEVELS = (1, 2, 3)
# lab up --os and --bus; wizard.lab_os_trees.TREES defines each tree
# (tests/test_lab_os_trees.py checks the two agree).
OS_TREE_NAMES = ("bookworm", "bookworm-server", "trixie", "sid")
BUSES = ("dbus-daemon", "dbus-broker")
DEFAULT_BUS = "dbus-daemon"
