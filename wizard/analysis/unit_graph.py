"""The graph of who can start whom, and the walk from a unit to its live roots.

Edges point from a starter to the unit it starts. They come from the reverse
dependency properties systemd computes (WantedBy=, TriggeredBy=, ...), from
Exec lines and crontabs that run systemctl, and from D-Bus activation files.
A root is *live* when it fires on its own without anybody starting it: an
active timer, a listening socket, a watched path, an active automount, an
active upholder, a running service whose restart policy is armed
(liveness.restart_verdict; whether it is live is the verdict's to say), a cron
job with a cron daemon running, a bus name with an activation file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from wizard.analysis.liveness import restart_verdict
from wizard.analysis.systemctl_calls import cron_callers, unit_callers
from wizard.model.frozen import frozen
from wizard.model.snapshots import SystemSnapshot, UnitSnapshot

# systemd.service(5), table "Exit causes and the effect of the Restart= settings".
RESTARTS_AFTER: dict[str, str] = {
    "no": "never",
    "on-success": "only after a clean exit",
    "on-failure": "after a non-zero exit, a fatal signal, a timeout or the watchdog",
    "on-abnormal": "after a fatal signal, a timeout or the watchdog, not after an exit code",
    "on-watchdog": "only when the watchdog times out",
    "on-abort": "only after an uncaught signal",
    "always": "after every exit, clean or not, crash, kill or OOM",
}
RESTARTING_POLICIES = frozenset(RESTARTS_AFTER) - {"no"}


def restarts_by_itself(unit: UnitSnapshot) -> bool:
    """Whether the restart policy can bring this service back with nobody asking.

    The walk's side of liveness.restart_verdict: a root when the policy is
    *armed* (it would restart the service after a kill or a crash, or a
    restart is scheduled right now). Whether it is *live* (restarts are
    seen) is the verdict's to say, through the transaction model, never the
    walk's. A clean stop is always respected (service.c service_stop()), so
    a stopped service never counts.
    """
    if unit.service is None or not restart_verdict(unit).armed:
        return False
    return unit.sub_state == "auto-restart" or unit.active_state in (
        "active", "activating", "reloading")


class EdgeKind(StrEnum):
    """How a starter starts the unit below it."""

    WANTS = "Wants"
    REQUIRES = "Requires"
    BINDS_TO = "BindsTo"
    UPHOLDS = "Upholds"
    TRIGGERS = "Triggers"
    ON_FAILURE = "OnFailure"
    ON_SUCCESS = "OnSuccess"
    CALLS = "ExecStart"
    CRON = "cron"
    BUS = "bus"


# The edges that pull a unit in along with the starter (not triggers, not hooks).
PULL_EDGES = frozenset({EdgeKind.WANTS, EdgeKind.REQUIRES, EdgeKind.BINDS_TO})
# Reverse property on the started unit -> the edge it stands for.
PULL_PROPERTIES: tuple[tuple[str, EdgeKind], ...] = (
    ("TriggeredBy", EdgeKind.TRIGGERS),
    ("WantedBy", EdgeKind.WANTS),
    ("RequiredBy", EdgeKind.REQUIRES),
    ("BoundBy", EdgeKind.BINDS_TO),
    ("UpheldBy", EdgeKind.UPHOLDS),
    ("OnFailureOf", EdgeKind.ON_FAILURE),
    ("OnSuccessOf", EdgeKind.ON_SUCCESS),
)
# Reverse relations list-dependencies --reverse shows that never start the unit.
NON_PULL_PROPERTIES: dict[str, str] = {
    "RequisiteOf": "Requisite= only checks that the unit is already active; it never starts it",
    "ConsistsOf": "PartOf= only passes stop and restart on; a restart of a stopped unit "
    "is a no-op for it",
}
REVERSE_PROPERTIES = tuple(p for p, _ in PULL_PROPERTIES) + tuple(NON_PULL_PROPERTIES)
MAX_DEPTH = 16
MAX_CHAINS = 256


@frozen
class Edge:
    """``starter`` can start ``started``, in the way ``kind`` says."""

    starter: str
    started: str
    kind: EdgeKind
    detail: str = ""
    revives: bool = True
    """False for calls like try-restart that only act on a running unit."""
    written: str = ""
    """The setting as the file says it, which may name the unit by an alias."""


@frozen
class Chain:
    """A path from a root (first) to the target (last), with its edges."""

    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]
    live: bool
    root_facts: tuple[str, ...]


class UnitGraph:
    """Starters of every unit in a snapshot, with the liveness of roots."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot
        self._unit_callers = unit_callers(snapshot)
        self._cron_callers = cron_callers(snapshot)
        self._pseudo_live: dict[str, tuple[bool, tuple[str, ...]]] = {}

    def unit(self, name: str) -> UnitSnapshot | None:
        """The snapshot of a unit in the graph, by name or alias."""
        return self.snapshot.unit(name)

    def starters(self, name: str) -> list[Edge]:
        """Every edge that ends at this unit."""
        unit = self.unit(name)
        names = unit.names if unit else (name,)
        edges: list[Edge] = []
        if unit is not None:
            for prop, kind in PULL_PROPERTIES:
                edges.extend(Edge(s, unit.name, kind) for s in unit.related(prop))
        for alias in names:
            for caller in self._unit_callers.get(alias, ()):
                edges.append(
                    Edge(
                        caller.caller,
                        name,
                        EdgeKind.CALLS,
                        f"{caller.command.setting}={' '.join(caller.command.argv)}",
                        caller.call.revives_stopped,
                    )
                )
            for cron in self._cron_callers.get(alias, ()):
                self._pseudo_live[cron.node] = (
                    self.snapshot.cron_daemon_active and cron.call.revives_stopped,
                    (
                        f"{cron.entry.schedule} {cron.entry.user} {cron.entry.command}",
                        "a cron daemon is running"
                        if self.snapshot.cron_daemon_active
                        else "no cron daemon is running",
                    ),
                )
                edges.append(
                    Edge(
                        cron.node,
                        name,
                        EdgeKind.CRON,
                        cron.entry.command,
                        cron.call.revives_stopped,
                    )
                )
        for service_file in self.snapshot.dbus_services:
            if service_file.systemd_service in names:
                node = service_file.bus_name or service_file.file
                # Always live: dbus-daemon activates on the first call to the name.
                # The facts are the file's lines, told by the edge.
                self._pseudo_live[node] = (True, ())
                edges.append(
                    Edge(
                        node,
                        name,
                        EdgeKind.BUS,
                        service_file.file,
                        written=f"SystemdService={service_file.systemd_service}",
                    )
                )
        # Keep one edge per (starter, kind): systemd lists aliases too.
        unique: dict[tuple[str, EdgeKind], Edge] = {}
        for edge in edges:
            unique.setdefault((edge.starter, edge.kind), edge)
        return list(unique.values())

    def is_masked(self, name: str) -> bool:
        """Whether systemd refuses to start this unit because it is masked."""
        unit = self.unit(name)
        return unit is not None and unit.load_state == "masked"

    def _is_target(self, name: str) -> bool:
        return name.endswith(".target")

    def fires_by_itself(self, name: str, via: Edge | None = None) -> tuple[bool, tuple[str, ...]]:
        """Whether a starter fires without being started, and the facts saying so."""
        if name in self._pseudo_live:
            return self._pseudo_live[name]
        unit = self.unit(name)
        if unit is None:
            return False, ()
        state = f"ActiveState={unit.active_state} ({unit.sub_state})"
        if via is not None and via.kind == EdgeKind.UPHOLDS:
            return unit.is_active, (state,)
        if unit.timer is not None:
            return unit.active_state == "active", (
                state,
                *timer_facts(unit, self.snapshot.manager.captured_realtime_usec),
            )
        if unit.socket is not None:
            listen = ", ".join(f"{t} {a}" for t, a in unit.socket.listen)
            return unit.active_state == "active", (state, f"Listen={listen}")
        if unit.path is not None:
            paths = ", ".join(f"{t}={p}" for t, p in unit.path.paths)
            return unit.active_state == "active", (state, f"Paths: {paths}")
        if unit.automount is not None:
            return unit.active_state == "active", (state, f"Where={unit.automount.where}")
        service = unit.service
        if service is not None and restarts_by_itself(unit):
            facts = (state, f"Restart={service.restart}", f"NRestarts={service.n_restarts}")
            if unit.sub_state == "auto-restart":
                return True, (*facts, "a restart is scheduled right now")
            return True, facts
        return False, (state,)

    def _restarts_only(self, name: str) -> bool:
        """A service that counts as a root only through its own restart policy."""
        unit = self.unit(name)
        return (name not in self._pseudo_live and unit is not None
                and unit.service is not None and restarts_by_itself(unit))

    def walk(self, target: str) -> list[Chain]:
        """Every chain from a root to the target, bounded in depth and number."""
        chains: list[Chain] = []

        def visit(node: str, path: list[str], edges: list[Edge]) -> None:
            if len(chains) >= MAX_CHAINS:
                return
            starters = [e for e in self.starters(node) if e.starter not in path]
            if node != target and self._is_target(node):
                # Targets pull each other in at boot (graphical -> multi-user ->
                # basic -> sockets); past the first one that only adds noise.
                # A target started by a real unit (a timer's service that Wants=
                # it) is still followed to that unit.
                starters = [e for e in starters if not self._is_target(e.starter)]
            if node != target:
                live, facts = self.fires_by_itself(node, edges[0] if edges else None)
                if live or not starters or len(path) >= MAX_DEPTH:
                    revives = all(e.revives for e in edges)
                    # A masked unit cannot be started (systemctl(1), mask), so a
                    # chain through one is blocked, the target included. The
                    # root is exempt: masking does not stop what already runs.
                    blocked = any(self.is_masked(n) for n in path[1:])
                    chains.append(
                        Chain(tuple(path), tuple(edges), live and revives and not blocked, facts)
                    )
                    if not (live and starters and len(path) < MAX_DEPTH
                            and self._restarts_only(node)):
                        return
                    # A service that restarts by itself is a root, but what starts
                    # it is one too: its restart policy may be only armed (the
                    # transaction model decides), and a timer that starts it
                    # still pulls in its Wants= each time.
            for edge in starters:
                visit(edge.starter, [edge.starter, *path], [edge, *edges])

        visit(target, [target], [])
        return chains


def timer_facts(unit: UnitSnapshot, now_usec: int) -> tuple[str, ...]:
    """What a timer is set to, in systemctl's own words, and when it fires next."""
    if unit.timer is None:
        return ()
    facts = [
        f"{base.removesuffix('USec')}Sec={format_span(value)}"
        for base, value, _ in unit.timer.monotonic
    ]
    facts += [f"{base}={spec}" for base, spec, _ in unit.timer.calendar]
    next_usec = unit.timer.next_elapse_realtime_usec
    # Guard against "never" and garbage: anything past year 9999 is not a time.
    if 0 < next_usec < 253_402_300_799_000_000:
        when = datetime.fromtimestamp(next_usec / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        facts.append(f"next elapse {when} ({format_span(next_usec - now_usec)} from the snapshot)")
    return tuple(facts)


def format_span(usec: int) -> str:
    """A duration the way systemd prints it: 2min 5s, 300ms."""
    if usec < 0:
        return "already due"
    if usec < 1_000_000:
        return f"{usec // 1000}ms"
    seconds = usec // 1_000_000
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts)


_EDGE_WORDS: dict[EdgeKind, str] = {
    EdgeKind.WANTS: "wants (Wants=)",
    EdgeKind.REQUIRES: "requires (Requires=)",
    EdgeKind.BINDS_TO: "is bound to (BindsTo=)",
    EdgeKind.UPHOLDS: "upholds (Upholds=)",
    EdgeKind.TRIGGERS: "triggers",
    EdgeKind.ON_FAILURE: "starts on failure (OnFailure=)",
    EdgeKind.ON_SUCCESS: "starts on success (OnSuccess=)",
    EdgeKind.CALLS: "runs systemctl start on",
    EdgeKind.CRON: "runs systemctl start on",
    EdgeKind.BUS: "is activated over D-Bus as",
}


def describe_chain(chain: Chain) -> str:
    """The chain as a sentence: "a.timer triggers a.service, which wants (Wants=) b"."""
    parts: list[str] = []
    for index, edge in enumerate(chain.edges):
        words = _EDGE_WORDS[edge.kind]
        parts.append(f"{edge.starter} {words} {edge.started}" if index == 0
                     else f"which {words} {edge.started}")
    return ", ".join(parts)
