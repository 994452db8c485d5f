"""socket, path, timer, automount: trigger units that start the unit on an event."""

from __future__ import annotations

import posixpath
import re

from wizard.analysis.findings import FindingKind, Remedy
from wizard.analysis.kinds.base import no_unit_findings, quoted, root_remedies
from wizard.analysis.unit_graph import Chain, EdgeKind, UnitGraph, describe_chain, timer_facts
from wizard.model.snapshots import UnitSnapshot

KINDS = (FindingKind.SOCKET, FindingKind.PATH, FindingKind.TIMER, FindingKind.AUTOMOUNT)
find = no_unit_findings

TRIGGER_KINDS = {
    "socket": FindingKind.SOCKET,
    "path": FindingKind.PATH,
    "timer": FindingKind.TIMER,
    "automount": FindingKind.AUTOMOUNT,
}


# A Varlink socket is named after its interface, reverse-domain style
# (/run/systemd/io.systemd.Hostname, systemd 257's hostnamed; systemd links it
# into /run/varlink/registry/). D-Bus sockets and ordinary services' sockets are not.
_VARLINK_INTERFACE = re.compile(r"[a-z][a-z0-9]*(\.[A-Za-z][A-Za-z0-9]*){2,}")


def varlink_interfaces(socket: UnitSnapshot | None) -> tuple[str, ...]:
    """The Varlink interfaces a socket unit listens for; empty for any other socket."""
    if socket is None or socket.socket is None:
        return ()
    return tuple(
        posixpath.basename(address) for kind, address in socket.socket.listen
        if kind == "Stream" and address.startswith("/")
        and _VARLINK_INTERFACE.fullmatch(posixpath.basename(address))
    )


def claim(chain: Chain, graph: UnitGraph) -> FindingKind | None:
    """A trigger unit of a known type right before the target."""
    last = chain.edges[-1]
    if last.kind != EdgeKind.TRIGGERS:
        return None
    return TRIGGER_KINDS.get(last.starter.rpartition(".")[2])


def explain(kind: FindingKind, chain: Chain, graph: UnitGraph) -> str:
    """Plain words for a trigger unit, in the article's spirit."""
    trigger_name = chain.nodes[-2]
    target = chain.nodes[-1]
    trigger = graph.unit(trigger_name)
    trigger_type = trigger_name.rpartition(".")[2]
    varlink = varlink_interfaces(trigger)
    if varlink and trigger is not None and trigger.socket is not None:
        listen = ", ".join(a for _, a in trigger.socket.listen)
        text = (
            f"{trigger_name} is {target}'s Varlink socket ({', '.join(varlink)} on {listen}), "
            "which newer systemd versions add beside the D-Bus interface: a Varlink client "
            f"connecting to it starts {target}. It is not a D-Bus activation, and nothing "
            f"else listens there. A mask or hold of {target} keeps the unit down against "
            "it too (the socket then fails on the next client), so it need not be stopped."
        )
    elif trigger_type == "socket" and trigger is not None and trigger.socket is not None:
        listen = ", ".join(a for _, a in trigger.socket.listen) or "its sockets"
        text = (
            f"{trigger_name} listens on {listen} on behalf of {target}. The moment any "
            f"client connects (a health check, a stray client), systemd starts {target} "
            "to answer it. Stopping only the service is a suggestion the next connection "
            "overrules: the socket is what holds the door open. Stop the socket and the "
            "service together, or mask the socket to keep it down."
        )
        if trigger.socket.n_accepted or trigger.socket.n_connections:
            text += (
                f" It has accepted {trigger.socket.n_accepted} connection(s) so far."
            )
    elif trigger_type == "path" and trigger is not None and trigger.path is not None:
        watched = ", ".join(f"{t}={p}" for t, p in trigger.path.paths)
        text = (
            f"{trigger_name} watches {watched} and starts {target} whenever the "
            "condition holds. While it keeps holding (a file that exists, a directory "
            "that is not empty), it starts the unit again right after every stop. Stop "
            "the path unit first, then the unit."
        )
    elif trigger_type == "timer" and trigger is not None:
        when = (
            ", ".join(timer_facts(trigger, graph.snapshot.manager.captured_realtime_usec))
            or "on its schedule"
        )
        text = (
            f"{trigger_name} fires ({when}) and starts {target} every time it elapses, "
            "whether or not you stopped it in between. Stop the timer, or disable it to "
            "keep it from coming back at boot."
        )
    elif trigger_type == "automount" and trigger is not None and trigger.automount is not None:
        text = (
            f"{trigger_name} watches {trigger.automount.where}: any access to that "
            f"directory (an ls, a backup job, a shell's tab completion) mounts {target} "
            "again. Stop the automount unit as well as the mount."
        )
    else:
        text = f"{trigger_name} triggers {target} when its event happens."
    if len(chain.nodes) > 2:
        text += f" The trigger itself is started from further up: {describe_chain(chain)}."
    if not chain.live:
        text += f" {trigger_name} is not active now, so it cannot fire until it is started"
        root = graph.unit(chain.nodes[0])
        if root is not None and root.type == "target":
            text += f"; {chain.nodes[0]} starts it at the next boot"
        text += "."
    return text


def remedies(kind: FindingKind, chain: Chain, graph: UnitGraph) -> tuple[Remedy, ...]:
    """Stop the trigger together with the unit; mask the trigger to keep it down."""
    trigger_name, target = chain.nodes[-2], chain.nodes[-1]
    found = [
        Remedy(
            "stop",
            (trigger_name, target),
            f"stop {trigger_name} and {target} together (trigger first)",
        ),
        Remedy("mask", (trigger_name,), f"mask {trigger_name} so it cannot start again"),
        Remedy("disable", (trigger_name,), f"disable {trigger_name} for good", "persistent"),
    ]
    if chain.nodes[0] != trigger_name:
        found.extend(r for r in root_remedies(chain) if r.action != "mask")
    return tuple(found)


def check_commands(kind: FindingKind, unit: str) -> tuple[str, ...]:
    """TriggeredBy= names the trigger; the list of that type shows whether it is active."""
    name, _stem = quoted(unit)
    listing = {
        FindingKind.SOCKET: "systemctl list-sockets --all",
        FindingKind.PATH: "systemctl list-units --type=path --all",
        FindingKind.TIMER: "systemctl list-timers --all",
        FindingKind.AUTOMOUNT: "systemctl list-units --type=automount --all",
    }[kind]
    return (f"systemctl show -p TriggeredBy {name}", listing)
