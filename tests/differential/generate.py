"""Seeded generator of small unit graphs for differential testing (pure: no I/O).

A case is 3 to 10 units named ``dNNNN-uK.<type>``, so that hundreds of cases can
be loaded side by side in one lab without touching each other. It says which
units to start (in order) to reach its initial state, which unit is the target
that gets ``systemctl stop``, and every source: a unit with a way to fire,
together with what the runner does to fire it. The same seed always gives the
same case.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Unit kinds. Each becomes one unit file (or a mask) in unit_files().
SIMPLE = "simple"  # Type=simple, sleep infinity
ONESHOT = "oneshot"  # Type=oneshot, /bin/true, inactive again after each run
ONESHOT_RAE = "oneshot-rae"  # Type=oneshot, RemainAfterExit=yes
TARGET = "target"  # a .target
UNNEEDED = "unneeded"  # sleep infinity with StopWhenUnneeded=yes
CONDFAIL = "condfail"  # sleep infinity with a ConditionPathExists= that never holds
MASKED = "masked"  # a .service linked to /dev/null
EXIT_FAIL = "exit-fail"  # oneshot that exits 1: an OnFailure= owner
EXIT_OK = "exit-ok"  # oneshot that exits 0: an OnSuccess= owner
SOCKET = "socket"  # ListenStream=/run/dtest/<unit>.sock
PATH = "path"  # PathChanged=/run/dtest/<unit>.trigger
TIMER = "timer"  # OnActiveSec=1s, started by the runner

TRIGGER_KINDS = (SOCKET, PATH, TIMER)
SERVICE_KINDS = (SIMPLE, ONESHOT, ONESHOT_RAE, UNNEEDED, CONDFAIL, MASKED, EXIT_FAIL, EXIT_OK)
KINDS = (*SERVICE_KINDS, TARGET, *TRIGGER_KINDS)
SUFFIX = {TARGET: "target", SOCKET: "socket", PATH: "path", TIMER: "timer"}

# Edge kinds: "A Wants B" is written in A's file. Triggers is Service=/Unit= of a
# socket, path or timer. After is an ordering only.
PULLS = ("Wants", "Requires", "Requisite", "BindsTo")
EDGE_KINDS = (*PULLS, "PartOf", "Upholds", "OnFailure", "OnSuccess", "Triggers", "After")
# Edges that start the unit they point at (Requisite= and PartOf= never do).
STARTING_EDGES = ("Wants", "Requires", "BindsTo", "Upholds", "OnFailure", "OnSuccess", "Triggers")

# Source kinds and what the runner does to fire them.
SOURCE_KINDS = ("socket", "path", "timer", "on-failure", "on-success", "upholds", "manual")

DTEST_DIR = "/run/dtest"
NEVER_PATH = f"{DTEST_DIR}/never-there"


@dataclass(frozen=True)
class Unit:
    """One unit of a case."""

    name: str
    kind: str
    refuse_manual_start: bool = False


@dataclass(frozen=True)
class Edge:
    """``owner`` has ``kind=dest`` in its unit file (Triggers: Service=/Unit=)."""

    owner: str
    kind: str
    dest: str


@dataclass(frozen=True)
class Source:
    """A unit with a way to fire, and how it is fired."""

    unit: str
    kind: str

    def action(self) -> tuple[str, ...]:
        """The command run inside the lab to fire it; () when it fires by itself."""
        match self.kind:
            case "socket":
                return ("python3", "-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); "
                        "s.connect(sys.argv[1])", socket_path(self.unit))
            case "path":
                return ("touch", trigger_path(self.unit))
            case "upholds":
                return ()
            case _:
                # timer: start it and wait for OnActiveSec=1s to elapse (the runner
                # waits); on-failure/on-success: start the owner, which exits 1/0;
                # manual: an external caller's systemctl start.
                return ("systemctl", "start", "--no-block", "--", self.unit)


@dataclass(frozen=True)
class Case:
    """A small unit graph, its initial state, its target and its sources."""

    id: str
    seed: int
    units: tuple[Unit, ...]
    edges: tuple[Edge, ...]
    start: tuple[str, ...]
    target: str
    sources: tuple[Source, ...]

    def unit(self, name: str) -> Unit:
        """The unit of that name."""
        return next(u for u in self.units if u.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        """Every unit name of the case."""
        return tuple(u.name for u in self.units)


def socket_path(unit: str) -> str:
    """Where a generated socket listens."""
    return f"{DTEST_DIR}/{unit.rpartition('.')[0]}.sock"


def trigger_path(unit: str) -> str:
    """The file a generated path unit watches (PathChanged=)."""
    return f"{DTEST_DIR}/{unit.rpartition('.')[0]}.trigger"


def case_id(index: int) -> str:
    """The name prefix of case number ``index``."""
    return f"d{index:04d}"


_TARGET_WEIGHTS = {SIMPLE: 35, ONESHOT: 10, ONESHOT_RAE: 15, TARGET: 15, UNNEEDED: 15,
                   CONDFAIL: 4}
_OTHER_WEIGHTS = {SIMPLE: 14, ONESHOT: 7, ONESHOT_RAE: 8, TARGET: 8, UNNEEDED: 6, CONDFAIL: 3,
                  MASKED: 2, EXIT_FAIL: 7, EXIT_OK: 6, SOCKET: 11, PATH: 9, TIMER: 9}
# Edge kinds from a unit towards the part of the graph already built.
_LINK_WEIGHTS = {"Wants": 30, "Requires": 16, "Requisite": 6, "BindsTo": 10, "PartOf": 10,
                 "Upholds": 10, "OnSuccess": 3, "OnFailure": 2}
# Extra edges between any two units, in either direction.
_EXTRA_WEIGHTS = {"Wants": 12, "Requires": 10, "Requisite": 4, "BindsTo": 8, "PartOf": 12,
                  "Upholds": 4, "OnSuccess": 3, "After": 6}


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate_case(index: int) -> Case:
    """Case number ``index``; its seed is the index itself."""
    rng = random.Random(f"staydown-differential-{index}")
    prefix = case_id(index)
    count = rng.randint(3, 10)
    kinds = [_pick(rng, _TARGET_WEIGHTS)]
    kinds += [_pick(rng, _OTHER_WEIGHTS) for _ in range(count - 1)]
    for position, kind in enumerate(kinds):
        # A socket can only trigger a service placed before it.
        if kind == SOCKET and not any(k in SERVICE_KINDS for k in kinds[:position]):
            kinds[position] = SIMPLE
    units: list[Unit] = []
    for number, kind in enumerate(kinds, start=1):
        name = f"{prefix}-u{number}.{SUFFIX.get(kind, 'service')}"
        refuse = kind in (SIMPLE, ONESHOT_RAE, TARGET) and number > 1 and rng.random() < 0.08
        units.append(Unit(name, kind, refuse))
    target = units[0].name
    kind_of = {u.name: u.kind for u in units}
    # Placement order: unit k only links to units placed before it, so After=
    # along that order can never form an ordering cycle.
    rank = {u.name: position for position, u in enumerate(units)}
    edges: list[Edge] = []

    def add(owner: str, kind: str, dest: str, *, after: float = 0.0) -> None:
        if owner == dest or kind_of[owner] == MASKED:
            return  # a masked unit has no file to write its dependencies in
        if Edge(owner, kind, dest) not in edges:
            edges.append(Edge(owner, kind, dest))
        if (after and rank[owner] > rank[dest] and rng.random() < after
                and Edge(owner, "After", dest) not in edges):
            edges.append(Edge(owner, "After", dest))

    for unit in units[1:]:
        placed = [u.name for u in units if rank[u.name] < rank[unit.name]
                  and kind_of[u.name] not in TRIGGER_KINDS]
        # Lean towards the target, so that most sources have a chain to it.
        dest = target if rng.random() < 0.45 else rng.choice(placed)
        if unit.kind in TRIGGER_KINDS:
            candidates = [n for n in placed if unit.kind != SOCKET or n.endswith(".service")]
            dest = dest if dest in candidates else rng.choice(candidates)
            add(unit.name, "Triggers", dest)
            # cups.socket and cups.path are PartOf=cups.service (issue 10).
            if unit.kind != TIMER and rng.random() < 0.25:
                add(unit.name, "PartOf", dest)
            continue
        if unit.kind == EXIT_FAIL:
            add(unit.name, "OnFailure", dest)
        elif unit.kind == EXIT_OK:
            add(unit.name, "OnSuccess", dest)
        else:
            add(unit.name, _pick(rng, _LINK_WEIGHTS), dest, after=0.45)
    ordinary = [u.name for u in units if u.kind not in TRIGGER_KINDS]
    for _ in range(rng.randint(0, count // 2)):
        owner, dest = rng.sample(ordinary, 2) if len(ordinary) > 1 else (target, target)
        add(owner, _pick(rng, _EXTRA_WEIGHTS), dest, after=0.4)
    edges = _without_endless_loops(edges, kind_of)
    start = _initial_start(rng, units, target)
    return Case(
        id=prefix,
        seed=index,
        units=tuple(units),
        edges=tuple(edges),
        start=start,
        target=target,
        sources=_sources(units, edges, target),
    )


# Units that stay active once started, by themselves.
_STABLE = (SIMPLE, TARGET, ONESHOT_RAE)


def _without_endless_loops(edges: list[Edge], kind_of: dict[str, str]) -> list[Edge]:
    """The edges minus those that would make systemd start and stop units forever.

    Two shapes keep systemd v252 busy without end, and a busy PID 1 stalls every
    other case in the lab (its D-Bus calls time out): an upholder of a unit that
    cannot stay active (upholding restarts it, it stops again, rate-limited but
    retried forever), and a failure or success hook that pulls its own owner in
    again (the owner runs, fails, the hook starts, ...). Such an Upholds= becomes
    Wants=; such a hook edge is left out. Loops bounded by a start limit (a
    socket triggering a oneshot) stay.
    """
    kept: list[Edge] = []
    unstable = {name for name, kind in kind_of.items() if kind not in _STABLE}
    for edge in edges:
        if edge.kind == "Upholds":
            leaves = any(e.owner == edge.dest and e.kind in ("BindsTo", "Requires", "Requisite")
                         for e in edges)
            if edge.dest in unstable or leaves:
                edge = Edge(edge.owner, "Wants", edge.dest)
                if edge in kept:
                    continue
        kept.append(edge)
    starts = ("Wants", "Requires", "BindsTo", "Upholds", "OnFailure", "OnSuccess", "Triggers")
    while True:
        loop = next((e for e in kept if e.kind in ("OnFailure", "OnSuccess")
                     and _reaches(kept, e.dest, e.owner, starts)), None)
        if loop is None:
            return kept
        kept.remove(loop)


def _reaches(edges: list[Edge], start: str, goal: str, kinds: tuple[str, ...]) -> bool:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for edge in edges:
            if edge.owner == node and edge.kind in kinds and edge.dest not in seen:
                seen.add(edge.dest)
                todo.append(edge.dest)
    return False


def _initial_start(rng: random.Random, units: list[Unit], target: str) -> tuple[str, ...]:
    chances = {SOCKET: 0.75, PATH: 0.75, SIMPLE: 0.35, ONESHOT_RAE: 0.35, TARGET: 0.35,
               UNNEEDED: 0.3, ONESHOT: 0.15, CONDFAIL: 0.15}
    # Timers are started by the runner when it fires them; hook owners run only
    # when fired; a masked unit cannot be started.
    chosen = [u.name for u in units[1:] if rng.random() < chances.get(u.kind, 0.0)]
    chosen.insert(rng.randint(0, len(chosen)), target)
    return tuple(chosen)


def _sources(units: list[Unit], edges: list[Edge], target: str) -> tuple[Source, ...]:
    started = {e.dest for e in edges if e.kind in STARTING_EDGES}
    owns = {(e.owner, e.kind) for e in edges}
    sources: list[Source] = []
    for unit in units:
        if unit.name == target:
            continue
        if unit.kind in TRIGGER_KINDS:
            sources.append(Source(unit.name, unit.kind))
        elif unit.kind == EXIT_FAIL and (unit.name, "OnFailure") in owns:
            sources.append(Source(unit.name, "on-failure"))
        elif unit.kind == EXIT_OK and (unit.name, "OnSuccess") in owns:
            sources.append(Source(unit.name, "on-success"))
        elif (unit.name, "Upholds") in owns:
            sources.append(Source(unit.name, "upholds"))
        elif unit.name not in started:
            sources.append(Source(unit.name, "manual"))
    return tuple(sources)


def generate_cases(first: int, count: int) -> list[Case]:
    """Cases ``first`` .. ``first + count - 1``."""
    return [generate_case(index) for index in range(first, first + count)]


def _unit_section(case: Case, unit: Unit) -> list[str]:
    lines = ["[Unit]", f"Description=differential case {case.id} {unit.kind}"]
    for edge in case.edges:
        if edge.owner == unit.name and edge.kind != "Triggers":
            lines.append(f"{edge.kind}={edge.dest}")
    if unit.kind == UNNEEDED:
        lines.append("StopWhenUnneeded=yes")
    if unit.kind == CONDFAIL:
        lines.append(f"ConditionPathExists={NEVER_PATH}")
    if unit.refuse_manual_start:
        lines.append("RefuseManualStart=yes")
    return lines


def _triggered(case: Case, unit: Unit) -> str:
    return next(e.dest for e in case.edges if e.owner == unit.name and e.kind == "Triggers")


def unit_files(case: Case) -> dict[str, str | None]:
    """Each unit's file text; None for a masked unit (a link to /dev/null)."""
    files: dict[str, str | None] = {}
    for unit in case.units:
        if unit.kind == MASKED:
            files[unit.name] = None
            continue
        lines = _unit_section(case, unit)
        match unit.kind:
            case "target":
                pass
            case "socket":
                lines += ["", "[Socket]", f"ListenStream={socket_path(unit.name)}",
                          f"Service={_triggered(case, unit)}"]
            case "path":
                lines += ["", "[Path]", f"PathChanged={trigger_path(unit.name)}",
                          f"Unit={_triggered(case, unit)}"]
            case "timer":
                # AccuracySec's default of 1min would let the elapse wander by a minute.
                lines += ["", "[Timer]", "OnActiveSec=1s", "AccuracySec=1ms",
                          f"Unit={_triggered(case, unit)}"]
            case "oneshot" | "oneshot-rae" | "exit-ok" | "exit-fail":
                command = "/bin/false" if unit.kind == EXIT_FAIL else "/bin/true"
                lines += ["", "[Service]", "Type=oneshot", f"ExecStart={command}"]
                if unit.kind == ONESHOT_RAE:
                    lines.append("RemainAfterExit=yes")
            case _:
                lines += ["", "[Service]", "ExecStart=/bin/sleep infinity"]
        files[unit.name] = "\n".join(lines) + "\n"
    return files


def case_to_dict(case: Case) -> dict[str, object]:
    """The case as plain JSON data (the dataset's ``case`` field)."""
    return {
        "id": case.id,
        "seed": case.seed,
        "units": [[u.name, u.kind, u.refuse_manual_start] for u in case.units],
        "edges": [[e.owner, e.kind, e.dest] for e in case.edges],
        "start": list(case.start),
        "target": case.target,
        "sources": [[s.unit, s.kind] for s in case.sources],
    }


def case_from_dict(data: dict[str, object]) -> Case:
    """Rebuild what :func:`case_to_dict` wrote."""
    units = data["units"]
    edges = data["edges"]
    sources = data["sources"]
    start = data["start"]
    assert isinstance(units, list)
    assert isinstance(edges, list)
    assert isinstance(sources, list)
    assert isinstance(start, list)
    return Case(
        id=str(data["id"]),
        seed=int(str(data["seed"])),
        units=tuple(Unit(str(n), str(k), bool(r)) for n, k, r in units),
        edges=tuple(Edge(str(o), str(k), str(d)) for o, k, d in edges),
        start=tuple(str(s) for s in start),
        target=str(data["target"]),
        sources=tuple(Source(str(u), str(k)) for u, k in sources),
    )
