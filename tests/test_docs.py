"""The code cites the project's own semantics (``docs/semantics.md``), and every citation exists;
``docs/cli.md`` names every command and option that ``--help`` does.

The meaning of each number once lived in a document outside the repository; a reference to it
is a reference a clone cannot follow. These tests keep such references from coming back and
keep each ``docs/semantics.md §N`` pointing at a section the document has.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from utmost.cli import cli

ROOT = Path(__file__).parents[1]
SEMANTICS = ROOT / "docs" / "semantics.md"
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
        for path, text in [*_files(), (ROOT / "README.md", (ROOT / "README.md").read_text(encoding="utf-8"))]
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
