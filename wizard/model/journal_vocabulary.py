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

# Debug-level lines carry UNIT= and CODE_FUNC= but no MESSAGE_ID. These are
# systemd 252's functions, as seen in the lab (src/core/socket.c, timer.c,
# path.c, automount.c, manager.c); another version may rename them, and then
# the evidence is simply not found and the cause falls back to inference.
TRIGGER_FUNCTIONS: dict[str, str] = {
    "socket_dispatch_io": "incoming traffic",  # "Incoming traffic"
    "timer_dispatch": "timer elapsed",  # "Timer elapsed."
    "path_enter_waiting": "path triggered",  # "Got triggered by '/run/x'."
    "path_dispatch_io": "path changed",
    # "Got automount request for /x, triggered by PID (comm)": info level.
    "automount_dispatch_io": "automount request",
}
UPHELD_FUNCTION = "manager_dispatch_start_when_upheld_queue"
"""Logs "Unit is started because upheld by active unit X." on the upheld unit (debug)."""
ON_FAILURE_FUNCTION = "unit_start_on_failure"
"""Logs "Triggering OnFailure=/OnSuccess= dependencies." (info level)."""
ENQUEUE_FUNCTION = "manager_add_job"
"""Logs "Trying to enqueue job UNIT/TYPE/MODE" for the unit a request names (debug)."""
BUS_CALL_FUNCTION = "process_message"
"""sd-bus logs every incoming message at debug level, without UNIT=."""
# dbus-daemon logs "Activating via systemd: service name=... unit=... requested
# by ..." through syslog; it is how a bus activation shows up in the journal.
BUS_DAEMON_IDENTIFIERS = ("dbus-daemon",)
