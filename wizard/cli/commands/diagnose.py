"""staydown diagnose: every mechanism that can start the unit again, read or as JSON."""

from __future__ import annotations

import argparse

from wizard.cli.arguments import console_for, diagnosed, fleet_inventory
from wizard.environment import Environment
from wizard.errors import ExitCode
from wizard.output.report_json import diagnosis_document, render_json


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown diagnose UNIT: exit 1 when a live source was found."""
    if fleet_inventory(args):
        return run_fleet(args, env)
    connection, snapshot, diagnosis = diagnosed(args, timeline_since=args.since)
    if args.json:
        env.stdout.write(
            render_json(diagnosis_document(diagnosis, snapshot.manager, connection.label))
        )
    else:
        from wizard.output.report_terminal import render_terminal

        render_terminal(console_for(env, args), diagnosis, teach=args.explain)
    return ExitCode.LIVE_SOURCES if diagnosis.live_findings else ExitCode.OK


def run_fleet(args: argparse.Namespace, env: Environment) -> int:
    """Staydown diagnose --inventory FILE UNIT: one report for every host (docs/fleet.md).

    Exit 1 when a live source was found on any host; else 4 when a host could
    not be diagnosed; else 0.
    """
    from wizard.analysis.fleet import fleet_report, host_result
    from wizard.model.unit_names import normalise_unit_name
    from wizard.output.fleet_report import fleet_document, write_fleet_report
    from wizard.system.fleet import run_fleet as run_playbook

    unit = normalise_unit_name(args.unit)
    documents = [d.document for d in run_playbook(
        args.inventory, args.limit, unit, ansible_arguments=args.ansible_arg)]
    report = fleet_report(unit, [host_result(d) for d in documents])
    if args.json:
        env.stdout.write(render_json(fleet_document(report, documents, args.inventory,
                                                    args.limit)))
    else:
        write_fleet_report(env.stdout, report)
    if report.live:
        return ExitCode.LIVE_SOURCES
    if report.with_outcome("unreachable") or report.with_outcome("error"):
        return ExitCode.SYSTEMD_UNREACHABLE
    return ExitCode.OK
