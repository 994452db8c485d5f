"""Practice challenges as data: a seed and a level in, a scenario's files and secret catalogue out.

Pure: no lab, no file system (the one exception is reading the D-Bus name holder
script shipped with the bus-activation scenario, a package resource). The same
(level, seed) always gives the same challenge. Every source template copies a
unit pattern the shipped scenarios (wizard/lab/scenarios/) prove on this
systemd; each one revives the one generated target unit.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from wizard.lab.catalogue import RevivalSource, source_from_json, source_to_json
from wizard.practice import LEVELS

# Timers fire often enough that a 30 s check (or a short one in the tests) sees them.
TIMER_PERIODS = (3, 4, 5)
PORTS = range(8100, 8999)
HOLDER = "/usr/local/lib/staydown-lab/bus-name-holder.py"
_BASES = (
    "ledger", "relay", "courier", "harbor", "quartz", "atlas", "orbit", "meridian", "pylon",
    "tally", "cinder", "falcon", "mosaic", "nimbus", "ember", "juniper", "sentry", "prism",
    "lumen", "tundra", "kestrel", "marlin", "copper", "basalt",
)
_SUFFIXES = ("agent", "daemon", "worker", "sync", "gateway", "indexer", "collector", "broker")


@dataclass(frozen=True)
class Challenge:
    """A generated scenario: the files to boot it from and its secret catalogue.

    ``files`` maps a path inside the scenario directory (``units/NAME``,
    ``files/etc/...``) to its text. ``distractors`` are units that look related
    but revive nothing: breaking them fails the check.
    """

    level: int
    seed: int
    target: str
    sources: tuple[RevivalSource, ...]
    files: tuple[tuple[str, str], ...]
    enable: tuple[tuple[str, tuple[str, ...]], ...]
    distractors: tuple[str, ...] = ()

    @property
    def templates(self) -> tuple[str, ...]:
        """The source templates used, in catalogue order."""
        return tuple(s.template for s in self.sources)

    @property
    def involved_units(self) -> frozenset[str]:
        """The target and every unit on a source's chain: what a fix may touch."""
        return frozenset({self.target, *(u for s in self.sources for u in s.units)})

    @property
    def unit_names(self) -> tuple[str, ...]:
        """Every unit file the challenge installs."""
        return tuple(path.removeprefix("units/") for path, _ in self.files
                     if path.startswith("units/"))


def challenge_document(challenge: Challenge) -> dict[str, Any]:
    """scenario.json for the lab (wizard.lab.nspawn reads its keys), plus the practice secrets."""
    return {
        "description": "A practice challenge (staydown lab challenge).",
        "target": challenge.target,
        "enable": {wanting: list(units) for wanting, units in challenge.enable},
        "sources": [source_to_json(s) for s in challenge.sources],
        "practice": {
            "level": challenge.level,
            "seed": challenge.seed,
            "distractors": list(challenge.distractors),
        },
    }


def challenge_from_document(document: Mapping[str, Any],
                            files: tuple[tuple[str, str], ...] = ()) -> Challenge:
    """The challenge a scenario.json written by :func:`challenge_document` describes."""
    practice = document["practice"]
    return Challenge(
        level=int(practice["level"]),
        seed=int(practice["seed"]),
        target=str(document["target"]),
        sources=tuple(source_from_json(s) for s in document["sources"]),
        files=files,
        enable=tuple((k, tuple(v)) for k, v in document.get("enable", {}).items()),
        distractors=tuple(practice.get("distractors", ())),
    )


# --- unit text -------------------------------------------------------------------

Section = tuple[str, tuple[tuple[str, str], ...]]


def unit_text(*sections: Section) -> str:
    """An INI unit file from sections of (key, value) pairs, in order."""
    blocks = []
    for name, settings in sections:
        lines = [f"[{name}]", *(f"{key}={value}" for key, value in settings)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _timer(description: str, period: int, unit: str | None = None) -> str:
    # The shipped timer scenarios' schedule: calendar seconds, 100 ms accuracy.
    timer: list[tuple[str, str]] = [("OnCalendar", f"*:*:0/{period}"), ("AccuracySec", "100ms")]
    if unit:
        timer.append(("Unit", unit))
    return unit_text(
        ("Unit", (("Description", description),)),
        ("Timer", tuple(timer)),
        ("Install", (("WantedBy", "timers.target"),)),
    )


def _oneshot(description: str, command: str, unit_settings: tuple[tuple[str, str], ...] = ()
             ) -> str:
    return unit_text(
        ("Unit", (("Description", description), *unit_settings)),
        ("Service", (("Type", "oneshot"), ("ExecStart", command))),
    )


def _daemon(description: str, unit_settings: tuple[tuple[str, str], ...] = (),
            wanted_by: str | None = None) -> str:
    sections: list[Section] = [
        ("Unit", (("Description", description), *unit_settings)),
        ("Service", (("ExecStart", "/usr/bin/sleep infinity"),)),
    ]
    if wanted_by:
        sections.append(("Install", (("WantedBy", wanted_by),)))
    return unit_text(*sections)


def _tcp_provoke(port: int) -> tuple[str, ...]:
    return ("bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}")


# --- composing one challenge -------------------------------------------------------


@dataclass
class _Composer:
    """The challenge being built: names taken, ports taken, what the target needs."""

    rng: random.Random
    base: str
    target: str
    files: dict[str, str] = field(default_factory=dict)
    enable: dict[str, list[str]] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)
    target_service: dict[str, str] = field(default_factory=dict)
    bus_name: str = ""
    needs_holder: bool = False

    def taken(self, unit: str) -> bool:
        return unit == self.target or f"units/{unit}" in self.files

    def name(self, roles: tuple[str, ...], *suffixes: str) -> str | None:
        """``BASE-ROLE`` for a role whose units (one per suffix) are all still free."""
        free = [r for r in roles
                if not any(self.taken(f"{self.base}-{r}.{s}") for s in suffixes)]
        return f"{self.base}-{self.rng.choice(free)}" if free else None

    def add(self, unit: str, text: str, enabled_by: str | None = None) -> None:
        self.files[f"units/{unit}"] = text
        if enabled_by:
            self.enable.setdefault(enabled_by, []).append(unit)

    def port(self) -> int:
        port = self.rng.choice([p for p in PORTS if p not in self.ports])
        self.ports.append(port)
        return port

    def period(self) -> int:
        return self.rng.choice(TIMER_PERIODS)

    @property
    def stem(self) -> str:
        return self.target.removesuffix(".service")


_Builder = Callable[[_Composer], "RevivalSource | None"]


@dataclass(frozen=True)
class SourceTemplate:
    """A way to revive the target, and how hard it is to find.

    ``tier`` is ``basic`` (the article's: triggers, a timer-started Wants=, the
    restart policy) or ``chain`` (through targets, Upholds=, D-Bus, an external
    caller) or ``hook`` (OnFailure=/OnSuccess=).
    """

    name: str
    kind: str
    tier: str
    build: _Builder


def _socket_own(c: _Composer) -> RevivalSource | None:
    socket = f"{c.stem}.socket"
    if c.taken(socket):
        return None
    port = c.port()
    c.add(socket, unit_text(
        ("Unit", (("Description", f"{c.stem} socket"),)),
        ("Socket", (("ListenStream", f"127.0.0.1:{port}"),)),
        ("Install", (("WantedBy", "sockets.target"),)),
    ), "sockets.target")
    return RevivalSource("socket", "socket-own", socket, (socket, c.target),
                         f"listens on 127.0.0.1:{port} and starts it on every connection",
                         _tcp_provoke(port))


def _socket_named(c: _Composer) -> RevivalSource | None:
    stem = c.name(("api", "admin", "rpc", "ingest"), "socket")
    if stem is None:
        return None
    socket = f"{stem}.socket"
    port = c.port()
    c.add(socket, unit_text(
        ("Unit", (("Description", f"{stem.replace('-', ' ')} endpoint"),)),
        ("Socket", (("ListenStream", f"127.0.0.1:{port}"), ("Service", c.target))),
        ("Install", (("WantedBy", "sockets.target"),)),
    ), "sockets.target")
    return RevivalSource("socket", "socket-named", socket, (socket, c.target),
                         f"listens on 127.0.0.1:{port} with Service={c.target}",
                         _tcp_provoke(port))


def _path_glob(c: _Composer) -> RevivalSource | None:
    stem = c.name(("inbox", "spool", "queue", "drop"), "path")
    if stem is None:
        return None
    extension = c.rng.choice(("job", "req", "task"))
    directory = f"/run/{stem}"
    path = f"{stem}.path"
    c.add(path, unit_text(
        ("Unit", (("Description", f"Start {c.stem} while work waits in {directory}"),)),
        ("Path", (("PathExistsGlob", f"{directory}/*.{extension}"), ("Unit", c.target))),
        ("Install", (("WantedBy", "paths.target"),)),
    ), "paths.target")
    return RevivalSource(
        "path", "path-glob", path, (path, c.target),
        f"starts it while a file matching {directory}/*.{extension} exists",
        ("bash", "-c", f"mkdir -p {directory} && touch {directory}/next.{extension}"))


def _path_changed(c: _Composer) -> RevivalSource | None:
    stem = c.name(("reload", "trigger", "signal"), "path")
    if stem is None:
        return None
    watched = f"/run/{c.base}/{stem.rpartition('-')[2]}-request"
    path = f"{stem}.path"
    c.add(path, unit_text(
        ("Unit", (("Description", f"Start {c.stem} when {watched} is written"),)),
        ("Path", (("PathChanged", watched), ("Unit", c.target))),
        ("Install", (("WantedBy", "paths.target"),)),
    ), "paths.target")
    return RevivalSource(
        "path", "path-changed", path, (path, c.target),
        f"starts it whenever {watched} is written and closed",
        ("bash", "-c", f"mkdir -p /run/{c.base} && echo now > {watched}"))


def _timer_own(c: _Composer) -> RevivalSource | None:
    timer = f"{c.stem}.timer"
    if c.taken(timer):
        return None
    period = c.period()
    c.add(timer, _timer(f"Run {c.stem} every {period} seconds", period), "timers.target")
    return RevivalSource("timer", "timer-own", timer, (timer, c.target),
                         f"elapses every {period} s and starts it")


def _timer_unit(c: _Composer) -> RevivalSource | None:
    stem = c.name(("watchdog", "kick", "ensure", "poke"), "timer")
    if stem is None:
        return None
    timer = f"{stem}.timer"
    period = c.period()
    c.add(timer, _timer(f"Make sure {c.stem} runs", period, c.target), "timers.target")
    return RevivalSource("timer", "timer-unit", timer, (timer, c.target),
                         f"elapses every {period} s with Unit={c.target}")


def _timer_service(c: _Composer, roles: tuple[str, ...], template: str, kind: str,
                   describe: str, settings: tuple[tuple[str, str], ...], command: str,
                   detail: str) -> RevivalSource | None:
    """A timer that runs a oneshot service of the same name; the service does the reviving."""
    stem = c.name(roles, "timer", "service")
    if stem is None:
        return None
    period = c.period()
    c.add(f"{stem}.timer", _timer(f"Run {stem} every {period} seconds", period),
          "timers.target")
    c.add(f"{stem}.service", _oneshot(describe, command, settings))
    chain = (f"{stem}.timer", f"{stem}.service", c.target)
    return RevivalSource(kind, template, chain[0], chain,
                         f"elapses every {period} s; {stem}.service {detail}")


def _dependency_wants(c: _Composer) -> RevivalSource | None:
    return _timer_service(
        c, ("reconcile", "converge", "healthcheck", "keepalive"), "dependency-wants",
        "dependency", "Keep the platform healthy", (("Wants", c.target),), "/usr/bin/true",
        f"has Wants={c.target}")


def _dependency_requires(c: _Composer) -> RevivalSource | None:
    return _timer_service(
        c, ("refresh", "heal", "settle", "verify"), "dependency-requires", "dependency",
        f"Refresh what {c.stem} serves", (("Requires", c.target), ("After", c.target)),
        "/usr/bin/true", f"has Requires={c.target}")


def _dependency_target(c: _Composer) -> RevivalSource | None:
    # The dependency scenario's pattern, one link shorter: timer -> custom target -> unit.
    stem = c.name(("stack", "platform", "online"), "timer", "target")
    if stem is None:
        return None
    period = c.period()
    target_unit = f"{stem}.target"
    c.add(f"{stem}.timer", _timer(f"Bring {target_unit} up every {period} seconds", period,
                                  target_unit), "timers.target")
    c.add(target_unit, unit_text(("Unit", (("Description", f"{c.base} {stem.rpartition('-')[2]}"),
                                           ("Wants", c.target))),))
    chain = (f"{stem}.timer", target_unit, c.target)
    return RevivalSource("dependency", "dependency-target", chain[0], chain,
                         f"elapses every {period} s and starts {target_unit}, "
                         f"which has Wants={c.target}")


def _dependency_target_bindsto(c: _Composer) -> RevivalSource | None:
    # The shipped dependency scenario: timer -> target Requires= sidecar BindsTo= unit.
    stem = c.name(("fleet", "cluster", "mesh"), "timer", "target")
    sidecar_stem = c.name(("sidecar", "proxy", "shipper"), "service")
    if stem is None or sidecar_stem is None:
        return None
    period = c.period()
    target_unit, sidecar = f"{stem}.target", f"{sidecar_stem}.service"
    c.add(f"{stem}.timer", _timer(f"Bring {target_unit} up every {period} seconds", period,
                                  target_unit), "timers.target")
    c.add(target_unit, unit_text(("Unit", (("Description", f"{c.base} services"),
                                           ("Requires", sidecar))),))
    c.add(sidecar, _daemon(f"{c.stem} {sidecar_stem.rpartition('-')[2]}, bound to it",
                           (("BindsTo", c.target), ("After", c.target))))
    chain = (f"{stem}.timer", target_unit, sidecar, c.target)
    return RevivalSource("dependency", "dependency-target-bindsto", chain[0], chain,
                         f"elapses every {period} s and starts {target_unit}, which has "
                         f"Requires={sidecar}, which has BindsTo={c.target}")


def _upholds(c: _Composer) -> RevivalSource | None:
    stem = c.name(("guardian", "supervisor", "keeper", "minder"), "service")
    if stem is None:
        return None
    guardian = f"{stem}.service"
    c.add(guardian, _daemon(f"{stem.replace('-', ' ').title()}", (("Upholds", c.target),),
                            "multi-user.target"), "multi-user.target")
    return RevivalSource("upholds", "upholds", guardian, (guardian, c.target),
                         f"runs with Upholds={c.target}: systemd starts it again the "
                         "moment it stops")


def _upholds_target(c: _Composer) -> RevivalSource | None:
    stem = c.name(("core", "essentials", "baseline"), "target")
    if stem is None:
        return None
    target_unit = f"{stem}.target"
    c.add(target_unit, unit_text(
        ("Unit", (("Description", f"{c.base} {stem.rpartition('-')[2]}"),
                  ("Upholds", c.target))),
        ("Install", (("WantedBy", "multi-user.target"),)),
    ), "multi-user.target")
    return RevivalSource("upholds", "upholds-target", target_unit, (target_unit, c.target),
                         f"is active with Upholds={c.target}: systemd starts it again "
                         "the moment it stops")


def _restart_always(c: _Composer) -> RevivalSource | None:
    if "Restart" in c.target_service:
        return None
    c.target_service.update(Restart="always", RestartSec="1")
    return RevivalSource(
        "restart-policy", "restart-always", c.target, (c.target,),
        "has Restart=always: a kill or a crash brings it back after 1 s "
        "(a clean systemctl stop is respected)",
        ("systemctl", "kill", "--signal=SIGKILL", c.target), stop_target=False)


def _on_failure(c: _Composer) -> RevivalSource | None:
    return _timer_service(
        c, ("probe", "selftest", "canary"), "on-failure", "on-failure",
        "Probe the platform, page on failure",
        (("OnFailure", c.target), ("StartLimitIntervalSec", "0")), "/usr/bin/false",
        f"fails every time and has OnFailure={c.target}")


def _on_success(c: _Composer) -> RevivalSource | None:
    return _timer_service(
        c, ("backup", "export", "snapshot"), "on-success", "on-success",
        "Export the data, report on success",
        (("OnSuccess", c.target), ("StartLimitIntervalSec", "0")), "/usr/bin/true",
        f"succeeds every time and has OnSuccess={c.target}")


def _bus_activation(c: _Composer) -> RevivalSource | None:
    # The bus-activation scenario: an activation file, a policy, a Type=dbus unit.
    if c.bus_name:
        return None
    name = "org.staydown." + "".join(p.capitalize() for p in c.stem.split("-"))
    c.bus_name = name
    c.needs_holder = True
    c.target_service.update(Type="dbus", BusName=name,
                            ExecStart=f"/usr/bin/python3 {HOLDER} {name}")
    c.files[f"files/usr/share/dbus-1/system-services/{name}.service"] = (
        f"[D-BUS Service]\nName={name}\nExec=/bin/false\nUser=root\nSystemdService={c.target}\n"
    )
    c.files[f"files/etc/dbus-1/system.d/{name}.conf"] = (
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        "<busconfig>\n"
        '  <policy user="root">\n'
        f'    <allow own="{name}"/>\n'
        "  </policy>\n"
        '  <policy context="default">\n'
        f'    <allow send_destination="{name}"/>\n'
        "  </policy>\n"
        "</busconfig>\n"
    )
    path = "/" + name.replace(".", "/")
    return RevivalSource(
        "bus-activation", "bus-activation", name, (name, c.target),
        f"is a D-Bus name whose activation file says SystemdService={c.target}: any call "
        "to the name starts it",
        ("dbus-send", "--system", "--type=method_call", f"--dest={name}", path,
         "org.freedesktop.DBus.Peer.Ping"))


def _external_start(c: _Composer) -> RevivalSource | None:
    return _timer_service(
        c, ("nudge", "ensure-up", "revive"), "external-start", "external",
        f"Start {c.stem} if it is down", (), f"/usr/bin/systemctl start {c.target}",
        f"runs systemctl start {c.target}")


def _external_shell(c: _Composer) -> RevivalSource | None:
    return _timer_service(
        c, ("watchman", "autoheal", "janitor"), "external-shell", "external",
        f"Bring {c.stem} back if it is down", (),
        f"/bin/sh -c 'systemctl is-active --quiet {c.target} || systemctl start {c.target}'",
        f"runs a shell line that calls systemctl start {c.target} when it is down")


TEMPLATES: tuple[SourceTemplate, ...] = (
    SourceTemplate("socket-own", "socket", "basic", _socket_own),
    SourceTemplate("socket-named", "socket", "basic", _socket_named),
    SourceTemplate("path-glob", "path", "basic", _path_glob),
    SourceTemplate("path-changed", "path", "basic", _path_changed),
    SourceTemplate("timer-own", "timer", "basic", _timer_own),
    SourceTemplate("timer-unit", "timer", "basic", _timer_unit),
    SourceTemplate("dependency-wants", "dependency", "basic", _dependency_wants),
    SourceTemplate("dependency-requires", "dependency", "basic", _dependency_requires),
    SourceTemplate("restart-always", "restart-policy", "basic", _restart_always),
    SourceTemplate("dependency-target", "dependency", "chain", _dependency_target),
    SourceTemplate("dependency-target-bindsto", "dependency", "chain",
                   _dependency_target_bindsto),
    SourceTemplate("upholds", "upholds", "chain", _upholds),
    SourceTemplate("upholds-target", "upholds", "chain", _upholds_target),
    SourceTemplate("bus-activation", "bus-activation", "chain", _bus_activation),
    SourceTemplate("external-start", "external", "chain", _external_start),
    SourceTemplate("external-shell", "external", "chain", _external_shell),
    SourceTemplate("on-failure", "on-failure", "hook", _on_failure),
    SourceTemplate("on-success", "on-success", "hook", _on_success),
)
TEMPLATE_NAMES = tuple(t.name for t in TEMPLATES)


def _distractor(c: _Composer) -> str | None:
    """A unit that looks part of the story but revives nothing; returns its main unit."""
    choice = c.rng.choice(("timer", "service", "socket"))
    if choice == "timer":
        stem = c.name(("logrotate", "cleanup", "report"), "timer", "service")
        if stem is None:
            return None
        period = c.period() + 5
        c.add(f"{stem}.timer", _timer(f"Tidy up after {c.stem} every {period} seconds",
                                      period), "timers.target")
        c.add(f"{stem}.service", _oneshot(f"Tidy up after {c.stem}", "/usr/bin/true"))
        return f"{stem}.timer"
    if choice == "service":
        stem = c.name(("metrics", "exporter", "audit"), "service")
        if stem is None:
            return None
        c.add(f"{stem}.service", _daemon(f"Export {c.stem} metrics",
                                         wanted_by="multi-user.target"), "multi-user.target")
        return f"{stem}.service"
    stem = c.name(("console", "status", "debug"), "socket", "service")
    if stem is None:
        return None
    port = c.port()
    c.add(f"{stem}.socket", unit_text(
        ("Unit", (("Description", f"{c.stem} {stem.rpartition('-')[2]} page"),)),
        ("Socket", (("ListenStream", f"127.0.0.1:{port}"),)),
        ("Install", (("WantedBy", "sockets.target"),)),
    ), "sockets.target")
    c.add(f"{stem}.service", _daemon(f"{c.stem} {stem.rpartition('-')[2]} page"))
    return f"{stem}.socket"


def _pick_templates(rng: random.Random, level: int) -> list[SourceTemplate]:
    """Which templates to try, best first; the composer skips any that do not fit."""
    basic = [t for t in TEMPLATES if t.tier == "basic"]
    if level == 1:
        pool = [t for t in basic if t.kind != "restart-policy"]
        return rng.sample(pool, len(pool))
    if level == 2:
        return rng.sample(basic, len(basic))
    chain = [t for t in TEMPLATES if t.tier == "chain"]
    first = rng.choice(chain)
    rest = [t for t in TEMPLATES if t is not first]
    return [first, *rng.sample(rest, len(rest))]


def _source_count(rng: random.Random, level: int) -> int:
    return {1: 1, 2: 2}.get(level) or rng.choice((3, 4))


def _distractor_count(rng: random.Random, level: int) -> int:
    return {1: 1, 2: rng.choice((1, 2))}.get(level, 2)


def generate_challenge(level: int, seed: int) -> Challenge:
    """The challenge for this level and seed; the same arguments give the same challenge.

    Level 1: one source of the article's kinds (socket, path, timer, a timer's
    service that Wants= it). Level 2: two of different kinds, as in the article
    (the restart policy may be one). Level 3: three or four, at least one a chain
    through a target, Upholds=, D-Bus activation or an external caller.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level}")
    # Reproducible on purpose (a lead hands the same seed to the next trainee):
    # nothing here is a secret worth a cryptographic generator.
    rng = random.Random(f"staydown-challenge:{level}:{seed}")  # noqa: S311
    base = rng.choice(_BASES)
    target = f"{base}-{rng.choice(_SUFFIXES)}.service"
    composer = _Composer(rng, base, target)
    wanted = _source_count(rng, level)
    sources: list[RevivalSource] = []
    kinds: set[str] = set()
    for template in _pick_templates(rng, level):
        if len(sources) == wanted:
            break
        if level == 2 and template.kind in kinds:
            continue  # the article's two sources were of two different kinds
        built = template.build(composer)
        if built is not None:
            sources.append(built)
            kinds.add(built.kind)
    distractors = [d for d in (_distractor(composer) for _ in range(
        _distractor_count(rng, level))) if d is not None]
    composer.files[f"units/{target}"] = _target_unit(composer)
    composer.enable.setdefault("multi-user.target", []).append(target)
    if composer.needs_holder:
        composer.files[f"files{HOLDER}"] = _holder_script()
    return Challenge(
        level=level,
        seed=seed,
        target=target,
        sources=tuple(sources),
        files=tuple(sorted(composer.files.items())),
        enable=tuple((k, tuple(v)) for k, v in sorted(composer.enable.items())),
        distractors=tuple(distractors),
    )


def _target_unit(c: _Composer) -> str:
    service = {"ExecStart": "/usr/bin/sleep infinity", **c.target_service}
    if "Restart" not in service and c.rng.random() < 0.5:
        # The article's red herring: a policy that respects a clean stop.
        service.update(Restart="on-failure", RestartSec="2")
    order = ("Type", "BusName", "ExecStart", "Restart", "RestartSec")
    # Revived and stopped many times a minute, by the trainee and by the check:
    # systemd's start rate limit (5 starts in 10 s, systemd.unit(5)) would fail
    # it with start-limit-hit and hide its sources for a while, so it is off.
    return unit_text(
        ("Unit", (("Description", f"{c.stem.replace('-', ' ').title()}"),
                  ("StartLimitIntervalSec", "0"))),
        ("Service", tuple((key, service[key]) for key in order if key in service)),
        ("Install", (("WantedBy", "multi-user.target"),)),
    )


def _holder_script() -> str:
    shipped = resources.files("wizard.lab.scenarios").joinpath(
        "bus-activation", "files", HOLDER.lstrip("/"))
    return shipped.read_text()
