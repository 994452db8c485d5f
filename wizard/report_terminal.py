"""The readable diagnosis, in the article's order, drawn with rich."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from wizard.analysis.findings import REPORT_STEPS, Diagnosis, Finding
from wizard.terminal_text import printable


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


def render_terminal(console: Console, diagnosis: Diagnosis) -> None:
    """Write the report: status, triggers, reverse dependencies, the rest, verdict."""
    console.print(Text(f"staydown: who brings {printable(diagnosis.unit)} back?", style="bold"))
    console.print()
    for number, (title, kinds) in enumerate(REPORT_STEPS, start=1):
        console.rule(Text(f"{number}. {title}", style="bold cyan"), align="left")
        if number == 1:
            console.print(Text(printable(diagnosis.state.summary)))
            if diagnosis.state.fragment_path:
                console.print(
                    Text(f"   unit file: {printable(diagnosis.state.fragment_path)}", style="dim")
                )
            for drop_in in diagnosis.state.drop_in_paths:
                console.print(Text(f"   drop-in: {printable(drop_in)}", style="dim"))
            console.print()
        found = [f for f in diagnosis.findings if f.kind in kinds]
        if not found:
            console.print(Text("   nothing found here", style="green"))
            console.print()
        for finding in found:
            _finding(console, finding)
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
