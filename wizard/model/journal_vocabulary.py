"""The journal's vocabulary: the message IDs and code functions systemd logs with.

The reader asks journalctl for them and the timeline classifies by them; both
take the names from here. Plain constants, no I/O.
"""

from __future__ import annotations

# Catalogued message IDs, from systemd 252's sd-messages.h (the same IDs since
# systemd 232 at the latest; `journalctl --list-catalog` shows their text).
UNIT_STARTING = "7d4958e842da4a758f6c1cdc7b36dcc5"
UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"
UNIT_FAILED = "be02cf6855d2428ba40df7e9d022f03d"
UNIT_STOPPING = "de5b426a63be47a7b6ac3eaac82e2f6f"
UNIT_STOPPED = "9d1aaa27d60140bd96365438aad20286"
UNIT_RESTART_SCHEDULED = "5eb03494b6584870a536b337290809b3"
UNIT_SUCCESS = "7ad2d189f7e94e70a38c781354912448"
UNIT_FAILURE_RESULT = "d9b373ed55a64feb8242e02dbe79a49c"
UNIT_PROCESS_EXIT = "98e322203f7a4ed290d09fe03c09fe15"
UNIT_OUT_OF_MEMORY = "fe6faa94e7774663a0da52717891d8ef"
UNIT_OOMD_KILL = "d989611b15e44c9dbf31e3c81256e4ed"

# Debug-level lines carry UNIT= and CODE_FUNC= but no MESSAGE_ID, and the
# function names are systemd's internals: 257 renamed two of them. So every
# spelling of every supported version is listed, with the systemd versions it
# was seen on in the lab (tests/test_lab_versions.py provokes each one on every
# tree and fails when a spelling stops matching); a version that renames one
# again loses that evidence only, and the cause falls back to inference.
SEEN_ON: dict[str, tuple[int, ...]] = {
    "socket_dispatch_io": (252, 257, 262),  # "Incoming traffic"
    "timer_dispatch": (252, 257, 262),  # "Timer elapsed."
    "path_enter_waiting": (252, 257, 262),  # "Got triggered by '/run/x'."
    "path_dispatch_io": (252,),
    "automount_dispatch_io": (252,),  # "Got automount request for /x, triggered by PID (comm)"
    "manager_dispatch_start_when_upheld_queue": (252, 257, 262),
    "unit_start_on_failure": (252,),
    "unit_start_on_termination_deps": (257, 262),
    "manager_add_job": (252,),
    "manager_add_job_full": (257, 262),
    "process_message": (252, 257, 262),
}
"""Code function -> the systemd major versions whose journal showed it (Debian 252.39,
257.13, 262.1; src/core/unit.c, manager.c, socket.c, timer.c, path.c, automount.c)."""

TRIGGER_FUNCTIONS: dict[str, str] = {
    "socket_dispatch_io": "incoming traffic",
    "timer_dispatch": "timer elapsed",
    "path_enter_waiting": "path triggered",
    "path_dispatch_io": "path changed",
    # "Got automount request for /x, triggered by PID (comm)": info level.
    "automount_dispatch_io": "automount request",
}
UPHELD_FUNCTIONS = frozenset({"manager_dispatch_start_when_upheld_queue"})
"""Log "Unit is started because upheld by active unit X." on the upheld unit (debug)."""
ON_FAILURE_FUNCTIONS = frozenset({"unit_start_on_failure", "unit_start_on_termination_deps"})
"""Log "Triggering OnFailure=/OnSuccess= dependencies." (info level): 252's name, then
257's (unit_start_on_failure became unit_start_on_termination_deps)."""
ENQUEUE_FUNCTIONS = frozenset({"manager_add_job", "manager_add_job_full"})
"""Log "Trying to enqueue job UNIT/TYPE/MODE" for the unit a request names (debug):
manager_add_job up to 256, manager_add_job_full from 257."""
BUS_CALL_FUNCTION = "process_message"
"""sd-bus logs every incoming message at debug level, without UNIT=."""

# dbus-daemon logs "Activating via systemd: service name=... unit=... requested
# by ..." through syslog; it is how a bus activation shows up in the journal.
# dbus-broker logs nothing of the kind: its launcher (dbus-broker-launch, in
# dbus-broker.service) asks systemd with a StartUnit call, which systemd logs
# only at debug level, with the launcher's unique bus name as the sender.
BUS_DAEMON_IDENTIFIERS = ("dbus-daemon",)
BUS_DAEMON_UNITS = frozenset({"dbus.service", "dbus-broker.service"})
"""The system bus's own units: a start asked for by their processes is a bus activation."""
