"""staydown plan: write the recommended fix and its undo for review; change nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from wizard.cli.arguments import (
    connection_from,
    console_for,
    diagnosed,
    fleet_inventory,
    plan_layout,
)
from wizard.environment import Environment
from wizard.errors import ExitCode, UsageError
from wizard.output.terminal_text import printable
from wizard.system.access import file_reader, parse_destination


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown plan UNIT: write the recommended fix and its undo; change nothing."""
    if fleet_inventory(args):
        return run_fleet(args, env)
    from wizard.model.unit_names import normalise_unit_name
    from wizard.output.files import write_outputs
    from wizard.output.formats import default_output
    from wizard.output.render import render_outputs
    from wizard.output.report_json import plan_document, render_json
    from wizard.plan.assembly import assemble_plan
    from wizard.plan.build import default_choices, side_effects
    from wizard.plan.protected_units import caller_context

    # Before connecting: root must not even reach for a user's manager.
    layout = plan_layout(connection_from(args), env)
    connection, snapshot, diagnosis = diagnosed(args)
    context = caller_context(connection.transport, env.cgroup, env.ssh_session)
    allowed = frozenset(normalise_unit_name(u) for u in args.allow_protected)
    choices = default_choices(diagnosis, snapshot, args.persistent, context, allowed)
    plan, notes = assemble_plan(diagnosis, snapshot, choices, args.format,
                                file_reader(connection),
                                layout, context)
    output = Path(args.output) if args.output else default_output(diagnosis.unit, args.format)
    outputs = render_outputs(plan, args.format, output, Path(args.undo) if args.undo else None,
                             script_mode=int(args.mode, 8))
    results = write_outputs(outputs, force=args.force)
    if args.json:
        env.stdout.write(render_json(plan_document(
            plan, args.format, [str(r.path) for r in results], notes, connection.label)))
        return ExitCode.OK
    console = console_for(env, args)
    for result in results:
        console.print(f"{result.status.value:<11} {printable(str(result.path))}")
    for use in plan.protected_named:
        console.print(f"  WARNING: acts on {printable(use.unit)}, which you named although "
                      f"it is {printable(use.reason)}")
    if not diagnosis.live_findings:
        console.print(
            f"  {printable(diagnosis.unit)} has no live revival source: nothing else needs "
            f"neutralising; the script only {'disables and ' if args.persistent else ''}"
            f"stops {printable(diagnosis.unit)}."
            + ("" if args.persistent else " (--persistent also covers the next boot.)")
        )
    for step in plan.steps[:-1]:
        console.print(f"  neutralises {printable(step.title)}: {printable(step.does)}")
    for left in plan.left_out:
        console.print(f"  left out: {printable(left.unit)} (source {printable(left.source)}) "
                      f"is {printable(left.reason)}; instead: {printable(left.instead)}")
    for action, effect in side_effects(plan):
        console.print(f"  side effect of \"{printable(action.why)}\": {effect.effect.value} "
                      f"{printable(effect.unit)} ({printable(effect.reason)})")
    for note in notes:
        console.print(f"  note: {printable(note)}")
    script = next(p for p in outputs if p.suffix in (".sh", ".yml") and ".undo." not in p.name)
    if args.format == "ansible":
        how = f"ansible-playbook -i {connection.target or 'HOST'}, {script}"
    elif connection.transport == "host":
        # The script checks the host's own files: it is meant to run there.
        where = parse_destination(connection.target)
        port = ("", "") if where.port is None else (f"-P {where.port} ", f"-p {where.port} ")
        how = (f"scp {port[0]}{script} {where.login}: && "
               f"ssh {port[1]}{where.login} sudo bash {script.name}")
    elif connection.transport == "machine":
        # The script checks the machine's own files: it is meant to run inside.
        how = (f"machinectl copy-to {connection.target} {script} /root/{script.name} && "
               f"systemd-run -M {connection.target} --wait --pipe --quiet /bin/bash "
               f"/root/{script.name}")
    elif connection.transport == "user":
        how = f"bash {script} (as yourself, not root)"
    else:
        how = f"sudo bash {script}"
    console.print(f"Review it, then run: {printable(how)}")
    return ExitCode.OK


def run_fleet(args: argparse.Namespace, env: Environment) -> int:
    """Staydown plan --inventory FILE UNIT: one playbook, each host's block its own plan."""
    from datetime import UTC, datetime

    from wizard.model.unit_names import normalise_unit_name
    from wizard.output.files import write_outputs
    from wizard.output.formats import default_output
    from wizard.output.render import FleetHostPlan, has_jinja_delimiters, render_fleet_outputs
    from wizard.output.report_json import render_json
    from wizard.plan.plan_json import plan_from_jsonable
    from wizard.system.fleet import run_fleet as run_playbook

    if args.format not in ("script", "ansible"):
        raise UsageError("plan --inventory writes one Ansible playbook; --format "
                         f"{args.format} is for one system")
    if args.allow_protected:
        raise UsageError("--allow-protected is for one host's plan, not a fleet's",
                         "plan that host alone: staydown plan --host HOST --format ansible")
    unit = normalise_unit_name(args.unit)
    documents = [d.document for d in run_playbook(
        args.inventory, args.limit, unit, plan=True, persistent=args.persistent,
        ansible_arguments=args.ansible_arg)]
    hosts: list[FleetHostPlan] = []
    for document in documents:
        host = str(document["host"])
        if has_jinja_delimiters(host):
            # It would be code in the playbook's host conditions.
            raise UsageError(f"the inventory host {host!r} holds Jinja delimiters",
                             "rename it in the inventory (ansible_host keeps the address)")
        outcome = document.get("outcome")
        if outcome == "diagnosed" and document.get("plan"):
            try:
                hosts.append(FleetHostPlan(host, plan=plan_from_jsonable(document["plan"])))
            except (KeyError, TypeError, ValueError) as error:
                hosts.append(FleetHostPlan(host, why=f"its plan could not be read: {error}"))
        elif outcome == "absent":
            hosts.append(FleetHostPlan(host, absent=True))
        else:
            hosts.append(FleetHostPlan(host, why=f"{outcome}: {document.get('error', '')}"))
    output = Path(args.output) if args.output else default_output(unit, "ansible")
    outputs = render_fleet_outputs(
        unit, hosts, output, Path(args.undo) if args.undo else None,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        inventory=args.inventory, limit=args.limit)
    results = write_outputs(outputs, force=args.force)
    if args.json:
        env.stdout.write(render_json({
            "unit": unit, "inventory": args.inventory, "limit": args.limit,
            "files": [str(r.path) for r in results],
            "hosts": [{"host": h.host, "planned": h.planned, "absent": h.absent,
                       "plan_id": h.plan.plan_id if h.plan else None,
                       "changes": len(h.plan.actions) if h.plan else 0, "why": h.why}
                      for h in hosts],
        }))
        return ExitCode.OK
    console = console_for(env, args)
    for result in results:
        console.print(f"{result.status.value:<11} {printable(str(result.path))}")
    for h in hosts:
        if h.plan is not None:
            count = len(h.plan.actions)
            what = f"its own plan {h.plan.plan_id}, {count} change{'s' if count != 1 else ''}"
        elif h.absent:
            what = f"no {unit} there: checked, nothing changed"
        else:
            what = f"NO PLAN, refused by the playbook ({h.why})"
        console.print(f"  {printable(h.host)}: {printable(what)}")
    script = next(p for p in outputs if ".undo." not in p.name)
    console.print(f"Review it, then run: ansible-playbook -i {printable(args.inventory)} "
                  f"{printable(str(script))}")
    return ExitCode.OK
