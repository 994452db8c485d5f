"""staydown plan: write the recommended fix and its undo for review; change nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from wizard.cli.arguments import console_for, diagnosed
from wizard.environment import Environment
from wizard.errors import ExitCode
from wizard.output.terminal_text import printable


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown plan UNIT: write the recommended fix and its undo; change nothing."""
    from wizard.output.files import write_outputs
    from wizard.output.formats import default_output
    from wizard.output.render import render_outputs
    from wizard.plan.assembly import assemble_plan
    from wizard.plan.build import default_choices

    connection, snapshot, diagnosis = diagnosed(args)
    choices = default_choices(diagnosis, snapshot, args.persistent)
    console = console_for(env, args)
    if not choices.sources:
        console.print(
            f"{printable(diagnosis.unit)}: no live revival source; systemctl stop is enough, "
            "so no plan was written."
            + ("" if args.persistent else " (--persistent also covers the next boot.)")
        )
        return ExitCode.OK
    plan, notes = assemble_plan(diagnosis, snapshot, choices, args.format,
                                connection.files_root)
    output = Path(args.output) if args.output else default_output(diagnosis.unit, args.format)
    outputs = render_outputs(plan, args.format, output, Path(args.undo) if args.undo else None,
                             script_mode=int(args.mode, 8))
    for result in write_outputs(outputs, force=args.force):
        console.print(f"{result.status.value:<11} {printable(str(result.path))}")
    for step in plan.steps[:-1]:
        console.print(f"  neutralises {printable(step.title)}: {printable(step.does)}")
    for note in notes:
        console.print(f"  note: {printable(note)}")
    script = next(p for p in outputs if p.suffix in (".sh", ".yml") and ".undo." not in p.name)
    how = ("ansible-playbook -i HOST, " if args.format == "ansible" else "sudo bash ")
    console.print(f"Review it, then run: {how}{printable(str(script))}")
    return ExitCode.OK
