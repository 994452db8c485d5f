"""The documentation stays true to the code: a page per kind, links that resolve, real scenarios."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wizard.analysis.findings import FindingKind
from wizard.lab import nspawn as lab

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def prose(page: Path) -> str:
    """The page without its fenced code blocks (output there may contain brackets)."""
    return FENCE.sub("", page.read_text())


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {github_anchor(h) for h in HEADING.findall(prose(page))}


def relative_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


@pytest.mark.parametrize("kind", list(FindingKind), ids=lambda k: k.value)
def test_every_finding_kind_has_a_reference_page(kind):
    page = DOCS / "kinds" / f"{kind.value}.md"
    assert page.is_file(), f"docs/kinds/{kind.value}.md is missing"
    text = page.read_text()
    assert text.startswith(f"# {kind.value}:"), "the title names the kind as the JSON does"
    for section in ("## How it works", "## The evidence", "## Neutralising it", "## In the lab",
                    "## See also"):
        assert section in text, f"{page.name} has no {section!r}"
    assert "https://www.freedesktop.org/software/systemd/man/" in text
    index = (DOCS / "kinds" / "README.md").read_text()
    assert f"[{kind.value}]({kind.value}.md)" in index, "the index links every page"


def test_kinds_pages_are_exactly_the_finding_kinds():
    pages = {p.stem for p in (DOCS / "kinds").glob("*.md")} - {"README"}
    assert pages == {k.value for k in FindingKind}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    for target in relative_links(page):
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve()
        assert resolved.exists(), f"{page.relative_to(ROOT)} links to missing {target}"
        if fragment and resolved.suffix == ".md":
            assert fragment in anchors(resolved), (
                f"{page.relative_to(ROOT)} links to {target}, but {path} has no such heading"
            )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_anchor_within_a_page_exists(page):
    for fragment in re.findall(r"\]\(#([^)\s]+)\)", prose(page)):
        assert fragment in anchors(page), f"{page.relative_to(ROOT)} has no heading #{fragment}"


def test_every_lab_scenario_named_in_the_docs_exists():
    known = {s.name for s in lab.list_scenarios()}
    named: dict[str, set[str]] = {}
    for page in PAGES:
        text = page.read_text()  # commands in code blocks count here
        for name in re.findall(r"--scenario[ =]([A-Za-z0-9_-]+)", text):
            named.setdefault(name, set()).add(str(page.relative_to(ROOT)))
    assert named, "the docs name no scenario at all"
    unknown = {n: sorted(p) for n, p in named.items() if n not in known and n != "NAME"}
    assert not unknown, f"scenarios named in the docs but not in wizard/lab/scenarios: {unknown}"


def test_the_kinds_index_names_only_real_scenarios():
    known = {s.name for s in lab.list_scenarios()}
    rows = [line for line in (DOCS / "kinds" / "README.md").read_text().splitlines()
            if line.startswith("| [")]
    assert len(rows) == len(FindingKind)
    for row in rows:
        scenarios = re.findall(r"`([a-z-]+)`", row.split("|")[3])
        assert scenarios, row
        assert set(scenarios) <= known, row


@pytest.mark.parametrize("kind", list(FindingKind), ids=lambda k: k.value)
def test_every_kind_page_boots_a_real_scenario(kind):
    known = {s.name for s in lab.list_scenarios()}
    text = (DOCS / "kinds" / f"{kind.value}.md").read_text()
    booted = set(re.findall(r"lab up --scenario ([A-Za-z0-9_-]+)", text))
    assert booted, f"{kind.value}.md shows no lab scenario"
    assert booted <= known


def test_readme_links_the_tutorial_in_its_first_paragraph():
    readme = (ROOT / "README.md").read_text()
    first = readme.split("\n\n")[2]  # title, tagline, then the paragraph naming the article
    assert "Refused to Stay Dead" in first
    assert "(docs/tutorial.md)" in first
