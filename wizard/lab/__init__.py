"""The nspawn lab: a real systemd booted in a container, and its scenarios.

The names the command line offers live here, so that building the parser does
not import the lab's machinery (nspawn, the OS-tree builder) on every run.
"""

DEFAULT_LAB = "default"
BUSES = ("dbus-daemon", "dbus-broker")
DEFAULT_BUS = "dbus-daemon"
# The OS trees lab.os_trees can build, in its order (it checks they match).
TREE_NAMES = ("bookworm", "bookworm-server", "trixie", "sid")
