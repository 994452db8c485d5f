"""staydown watch: attribute every revival of the unit as it happens."""

from __future__ import annotations

import argparse
import time

from wizard.cli.arguments import connection_from, console_for
from wizard.environment import Environment
from wizard.errors import ExitCode
from wizard.model.unit_names import normalise_unit_name
from wizard.output.report_json import (
    watch_end_line,
    watch_event_line,
    watch_note_line,
    watch_start_line,
)
from wizard.system.neighbourhood import diagnose_unit
from wizard.system.systemd import systemd_client


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown watch UNIT: exit 1 when a revival was seen."""
    from wizard.output.report_terminal import (
        render_watch_end,
        render_watch_event,
        render_watch_note,
        render_watch_start,
    )
    from wizard.system.watch import watch_unit

    unit = normalise_unit_name(args.unit)
    connection = connection_from(args)
    console = console_for(env, args)

    def write(line: str) -> None:
        env.stdout.write(line)
        env.stdout.flush()

    # The bus, not systemd's private socket: watch also asks the bus daemon who a
    # peer is (an activated service's starter), which a peer-to-peer socket has not.
    with systemd_client(connection, direct=False) as client:
        snapshot, diagnosis = diagnose_unit(client, unit)
        if args.json:
            write(watch_start_line(diagnosis, connection.label, time.time_ns() // 1000))
        else:
            render_watch_start(console, diagnosis, connection.label, args.seconds)
        outcome = watch_unit(
            client, connection, snapshot, seconds=args.seconds, stop=args.stop,
            debug_log=args.debug_log,
            on_event=(lambda seen: write(watch_event_line(seen))) if args.json
            else (lambda seen: render_watch_event(console, seen)),
            on_note=(lambda note: write(watch_note_line(note))) if args.json
            else (lambda note: render_watch_note(console, note)),
        )
    if args.json:
        write(watch_end_line(outcome))
    else:
        render_watch_end(console, outcome)
    return ExitCode.LIVE_SOURCES if outcome.revivals else ExitCode.OK
