"""Imports point one way: interfaces use the engine and the store, never each other's insides.

    pure modules, store ─▶ engine, models ─▶ interfaces (api, cli, collector, web)

The web app mounts the collector (``utmost.collector.create_app``) and nothing more of it; the
collector knows nothing of the web; the layers below know nothing of any interface.
"""

from __future__ import annotations

import ast
from pathlib import Path

import utmost

PACKAGE = Path(utmost.__file__).parent
INTERFACES = ("utmost.api", "utmost.cli", "utmost.collector", "utmost.web")
#: The package's front doors: ``import utmost`` is the Python API, ``python -m utmost`` the CLI.
ENTRIES = ("utmost", "utmost.__main__")


def imports() -> list[tuple[str, str]]:
    """(importing module, imported module) for every ``import`` / ``from … import`` in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(("utmost", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.append((module, node.module))
            elif isinstance(node, ast.Import):
                found += [(module, alias.name) for alias in node.names]
    return found


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_nothing_below_the_interfaces_imports_one():
    wrong = [(a, b) for a, b in imports() if a not in ENTRIES and not any(_under(a, i) for i in INTERFACES)
             and any(_under(b, i) for i in INTERFACES)]
    assert not wrong


def test_the_web_mounts_the_collector_and_uses_nothing_else_of_it():
    wrong = [(a, b) for a, b in imports() if _under(a, "utmost.web") and _under(b, "utmost.collector")
             and (a, b) != ("utmost.web.app", "utmost.collector")]
    assert not wrong


def test_the_collector_knows_nothing_of_the_web():
    assert not [(a, b) for a, b in imports() if _under(a, "utmost.collector") and _under(b, "utmost.web")]
