"""The docs hold together: citations of ``docs/semantics.md`` exist, links resolve, the README stays short,
and ``docs/cli.md`` names every command and option that ``--help`` does.

The meaning of each number once lived in a document outside the repository; a reference to it
is a reference a clone cannot follow. These tests keep such references from coming back and
keep each ``docs/semantics.md §N`` pointing at a section the document has. Every relative link
in the README and under ``docs/`` must reach a file of the repository (and, with a ``#``, a
heading of it), and the README stays a front page a newcomer reads in five minutes.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from utmost.cli import cli

ROOT = Path(__file__).parents[1]
SEMANTICS = ROOT / "docs" / "semantics.md"
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
#: The README is the front page; everything longer belongs under docs/.
README_MAX_LINES = 250
#: ``[text](target)`` and ``![alt](target)``; a target has no spaces (an optional "title" may follow).
LINK = re.compile(r"!?\[[^\]]*\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
CODE_DIRS = ("src", "tests", "benchmarks", "scripts")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".hypothesis", "node_modules"}
#: Written in two pieces so that this file does not match itself.
OUTSIDE_REFERENCES = ("DESIGN" + " §", "../" + "shared")
#: ``docs/semantics.md §4``, ``… §2 to §10``, ``… §8, §9, §10``, ``… §5 and §6``.
CITATION = re.compile(r"docs/semantics\.md((?:(?:\s*,\s*|\s+to\s+|\s+and\s+|\s*[–-]\s*|\s+)§\d+)+)")


def _files(dirs: tuple[str, ...] = CODE_DIRS) -> list[Path]:
    """Every text file under ``dirs`` (build output such as ``*.egg-info`` is not ours)."""
    found = []
    for name in dirs:
        for path in sorted((ROOT / name).rglob("*")):
            parts = set(path.relative_to(ROOT).parts)
            if not path.is_file() or parts & SKIPPED_DIRS or any(p.endswith(".egg-info") for p in parts):
                continue
            try:
                found.append((path, path.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                continue  # binary fixtures
    return found


def sections() -> set[int]:
    """The numbers of the document's ``## N. Title`` headings."""
    return {int(n) for n in re.findall(r"^## (\d+)\. ", SEMANTICS.read_text(encoding="utf-8"), re.MULTILINE)}


def test_the_document_numbers_its_sections_from_one() -> None:
    numbers = sections()
    assert numbers and numbers == set(range(1, max(numbers) + 1))


@pytest.mark.parametrize("reference", OUTSIDE_REFERENCES)
def test_no_file_points_outside_the_repository(reference: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path, text in [*_files(), *((doc, doc.read_text(encoding="utf-8")) for doc in DOCUMENTS)]
        for number, line in enumerate(text.splitlines(), 1)
        if reference in line
    ]
    assert not offenders, f"{reference!r} cited; point to docs/semantics.md instead: {offenders}"


def test_every_cited_section_exists() -> None:
    known = sections()
    cited = [
        (f"{path.relative_to(ROOT)}", int(n))
        for path, text in _files()
        for match in CITATION.finditer(text)
        for n in re.findall(r"§(\d+)", match.group(1))
    ]
    assert any(path.startswith("src") for path, _ in cited), "src/ cites no section of docs/semantics.md"
    missing = [f"{path}: §{n}" for path, n in cited if n not in known]
    assert not missing, f"docs/semantics.md has no such section: {missing}"


def test_the_citation_pattern_reads_lists_and_ranges() -> None:
    text = "(docs/semantics.md §8, §9, §10) and docs/semantics.md §2 to §10 and docs/semantics.md §5 and §6"
    numbers = [re.findall(r"§(\d+)", m.group(1)) for m in CITATION.finditer(text)]
    assert numbers == [["8", "9", "10"], ["2", "10"], ["5", "6"]]


def anchors(document: Path) -> set[str]:
    """The ``#fragment`` of each heading of a Markdown file, as GitHub makes them: lower case,
    punctuation dropped, spaces to hyphens, ``-1``, ``-2`` … after a repeated heading."""
    found: set[str] = set()
    text = re.sub(r"^```.*?^```", "", document.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        unique, n = slug, 0
        while unique in found:
            n += 1
            unique = f"{slug}-{n}"
        found.add(unique)
    return found


def links(document: Path) -> list[tuple[int, str]]:
    """(line number, target) of every relative link, outside code blocks and code spans."""
    found, fenced = [], False
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            prose = re.sub(r"`[^`]*`", "", line)
            found += [(number, t) for t in LINK.findall(prose) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]
    return found


def test_headings_become_the_anchors_github_makes(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# 11. Uncertainty (bootstrap)\n## Collector (`utmost serve`)\n## Notes\n## Notes\n"
                    "```\n# not a heading\n```\n", encoding="utf-8")
    assert anchors(page) == {"11-uncertainty-bootstrap", "collector-utmost-serve", "notes", "notes-1"}


def test_the_link_pattern_reads_links_and_images_but_not_code() -> None:
    line = "See [cli](docs/cli.md#errors), ![shot](docs/a.png \"A\"), [web](https://x.example) and `[no](b.md)`"
    assert LINK.findall(re.sub(r"`[^`]*`", "", line)) == ["docs/cli.md#errors", "docs/a.png", "https://x.example"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_and_heading_that_exist(document: Path) -> None:
    broken = []
    for number, target in links(document):
        path, _, fragment = target.partition("#")
        found = (document.parent / path).resolve() if path else document
        if not found.exists():
            broken.append(f"{document.relative_to(ROOT)}:{number}: {target} (no such file)")
        elif fragment and found.suffix == ".md" and fragment not in anchors(found):
            broken.append(f"{document.relative_to(ROOT)}:{number}: {target} (no such heading)")
    assert not broken, broken


def test_the_readme_is_a_front_page() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES}): move detail to docs/"


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    """Every command that does something, by its full name (``utmost project create``)."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= commands(command, (*path, name))
        else:
            found[" ".join(("utmost", *path, name))] = command
    return found


def documented_options() -> dict[str, set[str]]:
    """The options in the first column of each ``## utmost …`` section's table of docs/cli.md."""
    sections = re.split(r"^## ", (ROOT / "docs" / "cli.md").read_text(encoding="utf-8"), flags=re.MULTILINE)
    found = {}
    for section in sections[1:]:
        title, _, body = section.partition("\n")
        if title.startswith("utmost "):
            cells = re.findall(r"^\| `([^`]*)`", body, re.MULTILINE)
            found[title.strip()] = {option for cell in cells for option in re.findall(r"--[a-z][a-z-]*", cell)}
    return found


def test_docs_cli_has_every_command_and_option_and_no_other() -> None:
    """docs/cli.md is written from ``--help``; this keeps it so when an option comes or goes."""
    documented = documented_options()
    assert set(documented) == set(commands()), "docs/cli.md needs one '## utmost …' section per command"
    wrong = []
    for name, command in commands().items():
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")} - {"--help"}
        if missing := options - documented[name]:
            wrong.append(f"{name}: not in docs/cli.md: {sorted(missing)}")
        if gone := documented[name] - options:
            wrong.append(f"{name}: in docs/cli.md but not in --help: {sorted(gone)}")
    assert not wrong, wrong
