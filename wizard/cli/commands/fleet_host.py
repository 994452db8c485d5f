"""staydown fleet-host: one inventory host's diagnosis (and plan) as one JSON document.

What the fleet playbook (templates/fleet-hosts.yml) runs for each host, on
the controller: the host's Ansible connection variables become a ``--host``
connection (wizard/system/fleet.py), and the outcome is always a document on
stdout with exit status 0, an unreachable host or a missing unit included,
so Ansible never marks the host failed and the fleet report lists it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from wizard.environment import Environment
from wizard.errors import ExitCode, StaydownError, SystemdUnreachableError, UnitNotFoundError


def _outcome(error: StaydownError) -> str:
    if isinstance(error, UnitNotFoundError):
        return "absent"
    if isinstance(error, SystemdUnreachableError):
        return "unreachable"
    return "error"


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown fleet-host --vars JSON UNIT: print the host's document; always exit 0."""
    from wizard.analysis.fleet import source_keys
    from wizard.model.unit_names import normalise_unit_name
    from wizard.output.report_json import diagnosis_document, render_json
    from wizard.plan.assembly import assemble_plan
    from wizard.plan.build import default_choices
    from wizard.plan.plan_json import plan_to_jsonable
    from wizard.plan.protected_units import caller_context
    from wizard.system.access import close_all, file_reader
    from wizard.system.fleet import connection_from_ansible
    from wizard.system.neighbourhood import diagnose_unit
    from wizard.system.systemd import systemd_client

    document: dict[str, Any] = {"schema": 1, "host": "?", "unit": args.unit}
    try:
        try:
            variables = json.loads(args.vars)
        except ValueError as error:
            raise StaydownError(f"--vars is not JSON: {error}") from error
        if not isinstance(variables, dict):
            raise StaydownError("--vars must be a JSON object of connection variables")
        document["host"] = str(variables.get("inventory_hostname", "?"))
        unit = normalise_unit_name(args.unit)
        document["unit"] = unit
        connection = connection_from_ansible(variables)
        document["connection"] = connection.label
        with systemd_client(connection) as client:
            snapshot, diagnosis = diagnose_unit(client, unit)
        state = diagnosis.state
        document.update(
            outcome="diagnosed",
            summary={
                "active_state": state.active_state, "sub_state": state.sub_state,
                "unit_file_state": state.unit_file_state,
                "sources": [{"kind": k.kind, "chain": list(k.chain), "live": k.live}
                            for k in source_keys(diagnosis)],
            },
            diagnosis=diagnosis_document(diagnosis, snapshot.manager, connection.label),
        )
        if args.plan:
            context = caller_context(connection.transport, "", False)
            choices = default_choices(diagnosis, snapshot, args.persistent, context)
            plan, notes = assemble_plan(diagnosis, snapshot, choices, "ansible",
                                        file_reader(connection), context=context)
            document.update(plan=plan_to_jsonable(plan), plan_notes=list(notes))
    except StaydownError as error:
        document.update(outcome=_outcome(error), error=error.message, hint=error.hint or "",
                        exit_code=int(error.exit_code))
    finally:
        close_all()
    env.stdout.write(render_json(document))
    return ExitCode.OK
