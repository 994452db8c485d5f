"""The oracle on a whole lab: for every unit systemd has loaded, everything
`systemctl list-dependencies --reverse` shows is in diagnose's findings or in
its examined list. The scenario units alone are covered in test_lab_kinds.py;
this also walks the host's own units (targets, getty, dbus, logind, ...).
"""

from __future__ import annotations

import pytest

from wizard.analysis import diagnose
from wizard.analysis.findings import Diagnosis
from wizard.lab.nspawn import Lab
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import systemd_client

pytestmark = pytest.mark.lab

SEPARATOR = "### "


def loaded_units(lab: Lab) -> list[str]:
    """Every unit systemd holds, except names it was asked about but cannot find."""
    rows = lab.systemctl("list-units", "--all", "--plain", "--no-legend").splitlines()
    return sorted(row.split()[0] for row in rows if row.split() and row.split()[1] != "not-found")


def reverse_dependencies(lab: Lab, units: list[str]) -> dict[str, set[str]]:
    """list-dependencies --reverse --all for many units, in one trip into the lab."""
    script = (
        'while IFS= read -r unit; do printf "%s%s\\n" "$0" "$unit"; '
        'systemctl list-dependencies --reverse --plain --all --no-pager -- "$unit" | tail -n +2; '
        "done"
    )
    out = lab.exec(["bash", "-c", script, SEPARATOR], input_text="\n".join(units) + "\n",
                   check=True).stdout
    shown: dict[str, set[str]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith(SEPARATOR):
            current = line.removeprefix(SEPARATOR)
            shown[current] = set()
        elif line.strip():
            shown[current].add(line.split()[-1])
    return shown


def covered(diagnosis: Diagnosis) -> set[str]:
    """Every unit the diagnosis accounts for: sources, chains, examined units."""
    names = {diagnosis.unit}
    for finding in diagnosis.findings:
        names.add(finding.source)
        names.update(finding.chain)
    names.update(examined.unit for examined in diagnosis.examined)
    return names


@pytest.mark.parametrize("scenario", ["article"])
def test_every_loaded_unit_has_its_reverse_dependencies_covered(lab_factory, scenario):
    lab = lab_factory(scenario)
    units = loaded_units(lab)
    assert len(units) > 50  # the host's units are in it, not just the scenario's
    shown = reverse_dependencies(lab, units)
    assert sorted(shown) == units
    missing: dict[str, list[str]] = {}
    with systemd_client(lab.connection) as client:
        for unit in units:
            diagnosis = diagnose(collect_neighbourhood(client, unit))
            if shown[unit] - covered(diagnosis):
                missing[unit] = sorted(shown[unit] - covered(diagnosis))
    assert missing == {}
