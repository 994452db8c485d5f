"""staydown diagnose: every mechanism that can start the unit again, read or as JSON."""

from __future__ import annotations

import argparse

from wizard.cli.arguments import console_for, diagnosed
from wizard.environment import Environment
from wizard.errors import ExitCode
from wizard.output.report_json import diagnosis_document, render_json
from wizard.system.unit_history import collect_timeline, with_timeline


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown diagnose UNIT: exit 1 when a live source was found."""
    connection, snapshot, diagnosis = diagnosed(args)
    diagnosis = with_timeline(diagnosis, collect_timeline(connection, snapshot, args.since))
    if args.json:
        env.stdout.write(
            render_json(diagnosis_document(diagnosis, snapshot.manager, connection.label))
        )
    else:
        from wizard.output.report_terminal import render_terminal

        render_terminal(console_for(env, args), diagnosis, teach=args.explain)
    return ExitCode.LIVE_SOURCES if diagnosis.live_findings else ExitCode.OK
