"""staydown plan: write the recommended fix and its undo for review; change nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from wizard.cli.arguments import connection_from, console_for, diagnosed, plan_layout
from wizard.environment import Environment
from wizard.errors import ExitCode
from wizard.output.terminal_text import printable
from wizard.system.access import file_reader, parse_destination


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown plan UNIT: write the recommended fix and its undo; change nothing."""
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
