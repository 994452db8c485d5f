"""A fleet through Ansible: its inventory in, one document per host out (docs/fleet.md).

Ansible is the engine: ``ansible-playbook`` reads the inventory (groups,
patterns, host and group variables, vault), picks the hosts with
``--limit`` and runs them ``--forks`` at a time. The shipped playbook
(``templates/fleet-hosts.yml``) runs one task per host *on the controller*
(``delegate_to: localhost``): ``staydown fleet-host`` with that host's
connection variables, which reaches the host through ``--host`` (one ssh
master, nothing installed there) and prints one JSON document. This module
turns those variables into a ``--host`` connection, runs the playbook and
reads the documents back.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from wizard.errors import FleetError, UsageError
from wizard.model.connection import Connection, host_connection

FLEET_PLAYBOOK = "fleet-hosts.yml"
ANSIBLE_TIMEOUT = 3600.0

# ssh options that take a value and have an -o spelling, as ssh(1) lists them.
_FLAG_OPTIONS = {"-i": "IdentityFile", "-l": "User", "-p": "Port", "-J": "ProxyJump",
                 "-c": "Ciphers", "-m": "MACs"}
_BOOLEAN_FLAGS = {"-4": "AddressFamily=inet", "-6": "AddressFamily=inet6",
                  "-A": "ForwardAgent=yes", "-a": "ForwardAgent=no", "-C": "Compression=yes",
                  "-x": "ForwardX11=no", "-T": "", "-q": "LogLevel=QUIET"}


def _vars_text(variables: Mapping[str, Any], name: str) -> str:
    value = variables.get(name)
    return "" if value is None else str(value)


def ssh_options_from_arguments(text: str, where: str) -> list[str]:
    """``ansible_ssh_common_args``-style ssh arguments as ``-o`` options.

    Only what has an ``-o`` spelling is taken; anything else (``-F FILE``,
    a bare word) is refused by name, so nothing the inventory says is dropped
    silently.
    """
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise UsageError(f"{where} is not valid shell words: {error}") from error
    options: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        flag, attached = word[:2], word[2:]
        if flag == "-o" or flag in _FLAG_OPTIONS:
            if attached:
                value = attached
            elif index + 1 < len(words):
                index += 1
                value = words[index]
            else:
                raise UsageError(f"{where}: {word} needs a value")
            options.append(value if flag == "-o" else f"{_FLAG_OPTIONS[flag]}={value}")
        elif word in _BOOLEAN_FLAGS:
            if _BOOLEAN_FLAGS[word]:
                options.append(_BOOLEAN_FLAGS[word])
        else:
            raise UsageError(
                f"{where}: {word!r} has no ssh -o spelling, so staydown cannot pass it on",
                "give ssh settings as -o NAME=VALUE (or in ~/.ssh/config) for fleet diagnosis",
            )
        index += 1
    return options


def connection_from_ansible(variables: Mapping[str, Any]) -> Connection:
    """The ``--host`` connection an inventory host's connection variables describe.

    Read: ``ansible_host`` (else the inventory name), ``ansible_port``,
    ``ansible_user``, ``ansible_ssh_private_key_file``,
    ``ansible_ssh_common_args`` and ``ansible_ssh_extra_args`` (their ``-o``
    options), and the older ``ansible_ssh_host/port/user`` spellings.
    Refused: another connection plugin than ssh, and password logins
    (``--host`` asks no password; use a key or an agent).
    """
    name = _vars_text(variables, "inventory_hostname")
    plugin = _vars_text(variables, "ansible_connection") or "ssh"
    if plugin not in ("ssh", "ansible.builtin.ssh", "smart", "paramiko", "paramiko_ssh"):
        raise UsageError(f"{name} is reached with ansible_connection={plugin}, not ssh",
                         "fleet diagnosis reaches hosts over ssh only (docs/fleet.md)")
    if variables.get("ansible_password_set"):
        raise UsageError(f"{name} logs in with a password (ansible_password)",
                         "staydown --host asks no password: use a key or an ssh agent")
    address = (_vars_text(variables, "ansible_host") or _vars_text(variables, "ansible_ssh_host")
               or name)
    user = _vars_text(variables, "ansible_user") or _vars_text(variables, "ansible_ssh_user")
    port = _vars_text(variables, "ansible_port") or _vars_text(variables, "ansible_ssh_port")
    options: list[str] = []
    key = _vars_text(variables, "ansible_ssh_private_key_file") \
        or _vars_text(variables, "ansible_private_key_file")
    if key:
        options.append(f"IdentityFile={key}")
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        options += ssh_options_from_arguments(_vars_text(variables, var), f"{name}: {var}")
    host = f"[{address}]" if ":" in address else address
    target = f"{user}@{host}" if user else host
    if port:
        target += f":{port}"
    connection = host_connection(target, tuple(options))
    return connection


@dataclass(frozen=True)
class HostDocument:
    """What ``staydown fleet-host`` printed for one inventory host, or why it printed nothing."""

    host: str
    document: dict[str, Any]
    index: int = 0
    """The host's place among the play's hosts (inventory order)."""


def _playbook_path(directory: Path) -> Path:
    text = resources.files("wizard.templates").joinpath(FLEET_PLAYBOOK).read_text()
    path = directory / FLEET_PLAYBOOK
    path.write_text(text)
    return path


def run_fleet(
    inventory: str, limit: str | None, unit: str, *, plan: bool = False,
    persistent: bool = False, ansible_arguments: Sequence[str] = (),
    ansible_playbook: str = "ansible-playbook",
) -> list[HostDocument]:
    """Run the fleet playbook over the inventory; each host's document, in inventory order.

    ``ansible_arguments`` go to ansible-playbook as they are (``--forks 20``,
    ``--vault-password-file FILE``, ``-e @vars.yml``).
    """
    if not Path(inventory).exists() and "," not in inventory:
        raise UsageError(f"no inventory at {inventory}", "give --inventory FILE (or a directory)")
    program = shutil.which(ansible_playbook) or shutil.which(
        "ansible-playbook", path=str(Path(sys.executable).parent))
    if program is None:
        raise FleetError("ansible-playbook is not installed here, so --inventory cannot work",
                         "install Ansible on this machine (apt-get install ansible-core); "
                         "nothing is needed on the managed hosts")
    with tempfile.TemporaryDirectory(prefix="staydown-fleet-") as scratch:
        directory = Path(scratch)
        results = directory / "hosts"
        results.mkdir()
        extra = {
            "staydown_command": [sys.executable, "-m", "wizard", "fleet-host"],
            "staydown_unit": unit,
            "staydown_results": str(results),
            "staydown_plan": plan,
            "staydown_persistent": persistent,
        }
        (directory / "vars.json").write_text(json.dumps(extra))
        argv = [program, "-i", inventory, *(["--limit", limit] if limit else []),
                "-e", f"@{directory / 'vars.json'}", *ansible_arguments,
                str(_playbook_path(directory))]
        env = {**os.environ, "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_LOCAL_TEMP": str(directory / "ansible-tmp")}
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False,
                              timeout=ANSIBLE_TIMEOUT)
        documents = [_read_document(path) for path in results.glob("*.json")]
        documents.sort(key=lambda d: (d.index, d.host))
        if not documents:
            said = [line.strip() for line in (done.stderr + done.stdout).splitlines()
                    if line.startswith(("[WARNING]", "[ERROR]", "ERROR!"))]
            tail = "; ".join(said[-3:]) or f"exit status {done.returncode}"
            if done.returncode == 0 or "no hosts to target" in tail:
                raise UsageError(
                    f"no host of {inventory} matches{' --limit ' + limit if limit else ''} "
                    f"(ansible-playbook: {tail})",
                    "ansible-inventory -i INVENTORY --graph shows the hosts and groups")
            raise FleetError(f"ansible-playbook failed: {tail}",
                             "run it again with --ansible-arg=-v to see more")
        return documents


def _read_document(path: Path) -> HostDocument:
    """One result file the playbook wrote: the command's status, stdout and stderr."""
    raw = json.loads(path.read_text())
    host = str(raw.get("host", path.stem))
    try:
        document = json.loads(raw.get("stdout") or "")
        if not isinstance(document, dict):
            raise ValueError("not an object")
    except ValueError:
        lines = str(raw.get("stderr") or "").strip().splitlines()
        errors = [line for line in lines if line.startswith("staydown: ")]
        message = (errors or lines or [f"staydown fleet-host: exit status {raw.get('rc')}"])[-1]
        document = {"host": host, "outcome": "error", "error": message, "hint": "",
                    "exit_code": raw.get("rc")}
    document["host"] = host
    index = raw.get("index")
    return HostDocument(host, document, index if isinstance(index, int) else 1 << 30)

