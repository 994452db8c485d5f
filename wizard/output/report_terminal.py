"""The readable diagnosis, in the article's order, drawn with rich."""

from __future__ import annotations

import re
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from wizard.analysis.findings import (
    REPORT_STEPS,
    Diagnosis,
    Finding,
    SeenEvent,
    Timeline,
    TimelineEvent,
    WatchOutcome,
)
from wizard.analysis.kinds.all_kinds import check_commands
from wizard.output.terminal_text import printable

TIMELINE_ROWS = 20

# The longer teaching text of --explain, one per step, in the article's voice.
STEP_LESSONS = (
    "First look at the unit itself. If it failed, the restart policy (Restart=) may be "
    "bringing it back; if it stopped cleanly and came back with a clean start, something "
    "else started it. That one question splits the problem in half. Remember that a clean "
    "`systemctl stop` is respected even with Restart=always.",
    "A stopped service can be started without anyone failing: a .socket listening on its "
    "port starts it on the next connection, a .path unit when a file appears, a .timer when "
    "it elapses, an .automount when the directory is touched, dbus-daemon when its bus name "
    "is called. Treat the service and its trigger as a pair.",
    "systemd is a dependency graph: any unit whose Wants=, Requires= or BindsTo= names this "
    "one starts it whenever it starts itself. Walk each of them up to what keeps firing: "
    "in the article, a reconcile timer started a oneshot service that wanted the daemon.",
    "The rest: Upholds= restarts it at once after every stop; OnFailure=/OnSuccess= start it "
    "when another unit finishes; scripts and cron jobs may run `systemctl start` on it, which "
    "no dependency shows; and enablement brings it back at the next boot.",
)


def _finding(console: Console, finding: Finding) -> None:
    marker = Text(" LIVE ", style="bold white on red") if finding.live else Text(
        " not live ", style="black on grey70"
    )
    title = Text.assemble(
        marker, " ", (finding.kind.value, "bold"), "  ", printable(finding.source)
    )
    console.print(title)
    if len(finding.chain) > 1:
        console.print(Text("   chain: " + "  →  ".join(printable(n) for n in finding.chain)))
    console.print(Text(printable(finding.explanation)), style=None, soft_wrap=False)
    for evidence in finding.evidence:
        console.print(
            Text(f"   · {printable(evidence.subject)}: {printable(evidence.fact)}", style="dim")
        )
    if finding.remedies:
        console.print(Text("   how to stop it:", style="italic"))
        for remedy in finding.remedies:
            lasts = "for good" if remedy.lasts == "persistent" else "until reboot"
            console.print(Text(f"     - {printable(remedy.summary)} ({lasts})"))
    console.print()


def short_precise(usec: int) -> str:
    """A timestamp as ``journalctl -o short-precise`` prints it, in local time."""
    seconds, micro = divmod(usec, 1_000_000)
    return datetime.fromtimestamp(seconds).strftime("%b %d %H:%M:%S") + f".{micro:06d}"


def event_cause(event: TimelineEvent) -> str:
    """The cause column: the kind, marked when it is only inferred."""
    return event.cause + (" (inferred)" if event.certainty == "inferred" else "")


def event_detail(event: TimelineEvent) -> str:
    """The last column: the chain of a start, how a stop ended."""
    if event.event == "start" and len(event.chain) > 1:
        return " → ".join(event.chain[:-1])
    if event.event == "start":
        return re.split(r"[;:(]", event.summary, maxsplit=1)[0].strip()
    return event.summary


def render_timeline(console: Console, timeline: Timeline, *, rows: int = TIMELINE_ROWS) -> None:
    """The compact, time-ordered table of recent starts and stops."""
    since = short_precise(timeline.since_usec)
    if not timeline.events:
        console.print(Text(f"   no start or stop in the journal since {since}", style="dim"))
        return
    shown = timeline.events[-rows:]
    hidden = len(timeline.events) - len(shown) + timeline.omitted
    console.print(Text(f"   journal since {since}, oldest first:", style="italic"))
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False,
                  padding=(0, 1))
    for column in ("   when", "what", "cause", "by / how"):
        table.add_column(column, no_wrap=column != "by / how")
    for event in shown:
        style = "red" if event.cause in ("failure", "killed") else (
            "yellow" if event.event == "start" else None)
        table.add_row(
            "   " + short_precise(event.at_usec), event.event, printable(event_cause(event)),
            printable(event_detail(event)), style=style,
        )
    console.print(table)
    if hidden:
        console.print(Text(f"   ({hidden} earlier event(s) not shown here)", style="dim"))


def render_step(console: Console, diagnosis: Diagnosis, number: int, *, teach: bool) -> None:
    """One of the four steps: what was checked, what was found, why it matters."""
    title, kinds = REPORT_STEPS[number - 1]
    console.rule(Text(f"{number}. {title}", style="bold cyan"), align="left")
    if teach:
        console.print(Text(STEP_LESSONS[number - 1], style="italic"))
        console.print()
    if number == 1:
        console.print(Text(printable(diagnosis.state.summary)))
        if diagnosis.state.fragment_path:
            console.print(
                Text(f"   unit file: {printable(diagnosis.state.fragment_path)}", style="dim")
            )
        for drop_in in diagnosis.state.drop_in_paths:
            console.print(Text(f"   drop-in: {printable(drop_in)}", style="dim"))
        console.print()
        if diagnosis.timeline is not None:
            render_timeline(console, diagnosis.timeline)
            console.print()
    found = [f for f in diagnosis.findings if f.kind in kinds]
    if not found:
        console.print(Text("   nothing found here", style="green"))
        console.print()
    for finding in found:
        _finding(console, finding)
    if teach:
        console.print(Text("   check it yourself:", style="italic"))
        for command in dict.fromkeys(c for kind in kinds
                                     for c in check_commands(kind, diagnosis.unit)):
            console.print(Text(f"     $ {printable(command)}", style="bold"))
        console.print()


def render_verdict(console: Console, diagnosis: Diagnosis) -> None:
    """Notes, then one line: what can bring the unit back, or that nothing can."""
    for note in diagnosis.notes:
        console.print(Text(f"note: {printable(note)}", style="yellow"))
    live = diagnosis.live_findings
    if live:
        sources = ", ".join(dict.fromkeys(printable(f.source) for f in live))
        console.print(
            Text(
                f"{len(live)} live source(s) can bring {printable(diagnosis.unit)} back: "
                f"{sources}",
                style="bold red",
            )
        )
    else:
        console.print(
            Text(
                f"Nothing can bring {printable(diagnosis.unit)} back right now: "
                "a stop will hold.",
                style="bold green",
            )
        )


def render_terminal(console: Console, diagnosis: Diagnosis, *, teach: bool = False) -> None:
    """Write the report: status, triggers, reverse dependencies, the rest, verdict."""
    console.print(Text(f"staydown: who brings {printable(diagnosis.unit)} back?", style="bold"))
    console.print()
    for number in range(1, len(REPORT_STEPS) + 1):
        render_step(console, diagnosis, number, teach=teach)
    render_verdict(console, diagnosis)


# -- staydown watch ------------------------------------------------------------------


def render_watch_start(
    console: Console, diagnosis: Diagnosis, where: str, seconds: float | None
) -> None:
    """What is watched, for how long, and what diagnose expects to see."""
    span = f"for {seconds:g} s" if seconds is not None else "until Ctrl-C"
    console.print(Text(f"watching {printable(diagnosis.unit)} on {printable(where)} {span} "
                       "(Ctrl-C ends it)", style="bold"))
    live = diagnosis.live_findings
    if live:
        expected = ", ".join(f"{printable(f.source)} ({f.kind.value})" for f in live)
        console.print(Text(f"live sources diagnose knows of: {expected}", style="dim"))
    console.file.flush()


def render_watch_note(console: Console, note: str) -> None:
    """One note while watching (stop queued, log level raised and restored)."""
    console.print(Text(f"note: {printable(note)}", style="yellow"))
    console.file.flush()


def render_watch_event(console: Console, seen: SeenEvent) -> None:
    """One start or stop, the moment it is attributed."""
    event = seen.event
    late = f"(+{seen.latency_usec // 1000} ms)"
    if event.event == "start":
        console.print(Text.assemble(
            (short_precise(event.at_usec), "bold"), "  ", ("REVIVED", "bold white on red"),
            "  ", (printable(event_cause(event)), "bold"), "  ", (late, "dim"),
        ))
        if event.chain:
            console.print(Text("   chain: " + " → ".join(printable(n) for n in event.chain)))
        console.print(Text(f"   {printable(event.summary)}"))
        for evidence in event.evidence:
            console.print(Text(f"   · {printable(evidence.subject)}: "
                               f"{printable(evidence.fact)}", style="dim"))
    else:
        console.print(Text.assemble(
            (short_precise(event.at_usec), "bold"), "  stopped  ",
            (printable(event.cause), "red" if event.cause != "clean" else ""), "  ",
            printable(event.summary), "  ", (late, "dim"),
        ))
    console.file.flush()


def render_watch_end(console: Console, outcome: WatchOutcome) -> None:
    """One line per source that revived the unit, then the verdict."""
    seconds = (outcome.ended_usec - outcome.started_usec) / 1e6
    how = {"time": "time is up", "interrupt": "interrupted", "terminate": "terminated"}[
        outcome.ended_by]
    revivals = outcome.revivals
    console.print()
    if not revivals:
        console.print(Text(f"watch ended ({how}) after {seconds:.0f} s: "
                           f"{printable(outcome.unit)} was not brought back", style="bold green"))
        console.file.flush()
        return
    console.print(Text(f"watch ended ({how}) after {seconds:.0f} s: {len(revivals)} "
                       f"revival(s) of {printable(outcome.unit)}", style="bold red"))
    by_source: dict[tuple[str, str], list[SeenEvent]] = {}
    for seen in revivals:
        key = (seen.event.source or "(nobody on record)", seen.event.cause)
        by_source.setdefault(key, []).append(seen)
    for (source, cause), seen_list in by_source.items():
        slowest = max(s.latency_usec for s in seen_list) // 1000
        console.print(Text(f"   {printable(source)}: {len(seen_list)} × {printable(cause)} "
                           f"(reported within {slowest} ms)"))
    console.file.flush()
