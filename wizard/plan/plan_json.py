"""A plan as JSON and back, so a plan made for one host of a fleet reaches the controller.

``staydown fleet-host --plan`` builds each host's plan where that host's
diagnosis is (docs/fleet.md) and prints it in this form; the fleet playbook
is rendered from the plans read back. The format follows the dataclasses
(``snapshots.from_jsonable`` rebuilds them from their type hints).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from wizard.model.snapshots import from_jsonable
from wizard.plan.build import Plan


def plan_to_jsonable(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON data."""
    return dataclasses.asdict(plan)


def plan_from_jsonable(value: Any) -> Plan:
    """A plan from :func:`plan_to_jsonable` data (ValueError/KeyError/TypeError if malformed)."""
    return from_jsonable(Plan, value)
