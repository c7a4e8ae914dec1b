"""Imports point one way, down the flow of an event: the folders read as the layers.

    floor      errors, dialect, credentials, limits   pure helpers any layer may use
    ingest     decode and judge lines                  models   data-driven models, pure
    store      the file, its schema, the one writer
    backends   where a question runs (DuckDB, Spark)
    engine     the question, its SQL, running it
    interfaces api, cli, collector, web (and access, formats, demo, which serve them)

A module imports only from its own layer or those above it in this table, and no two modules
import each other, even through others. The web app mounts the collector
(``utmost.collector.create_app``) and nothing more of it; the collector knows nothing of the web.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import utmost

PACKAGE = Path(utmost.__file__).parent
INTERFACES = ("utmost.access", "utmost.api", "utmost.cli", "utmost.collector", "utmost.web", "utmost.formats", "utmost.demo",
              "utmost.simulation")
#: Lowest first. The package's front doors (``import utmost`` is the Python API, ``python -m
#: utmost`` the CLI) are interfaces too.
LAYERS = (
    ("utmost.errors", "utmost.dialect", "utmost.credentials", "utmost.limits", "utmost.lazy"),
    ("utmost.ingest", "utmost.models"),
    ("utmost.store",),
    ("utmost.backends",),
    ("utmost.engine",),
    (*INTERFACES, "utmost.__main__"),
)


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name)."""
    return {
        ".".join(("utmost", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): path
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def imports() -> list[tuple[str, str]]:
    """(importing module, imported module) for every ``import`` / ``from … import`` in the package;
    ``from package import module`` counts as importing the module."""
    known = modules()
    found = []
    for module, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found += [(module, f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known
                           else node.module) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(module, alias.name) for alias in node.names]
    return found


def layer(module: str) -> int:
    """The index of ``module``'s layer in :data:`LAYERS`; the package itself is an interface."""
    if module == "utmost":
        return len(LAYERS) - 1
    for index, packages in enumerate(LAYERS):
        if any(_under(module, package) for package in packages):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_every_module_has_a_layer():
    assert all(layer(module) >= 0 for module in modules())


def test_imports_point_down_the_layers():
    wrong = [(a, b) for a, b in imports() if b.startswith("utmost") and layer(b) > layer(a)]
    assert not wrong


def test_no_module_imports_itself_through_others():
    """No cycle among modules. A package's ``__init__`` re-exporting its own modules is not one:
    the modules it names never import it back for anything but those names."""
    graph: dict[str, set[str]] = {}
    for a, b in imports():
        if b.startswith("utmost") and a != b and not _under(b, a):
            graph.setdefault(a, set()).add(b)
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path[path.index(module):], module))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


#: The packages below the interfaces, each with the public names its ``__init__`` exports.
PACKAGES_BELOW = ("utmost.ingest", "utmost.models", "utmost.store", "utmost.backends", "utmost.engine")


def test_interfaces_use_the_layers_below_by_their_public_names():
    """``from utmost.engine import PARAMETERS``, never ``utmost.engine.options``: what a package
    offers the interfaces is its ``__all__``, and its modules may move behind it."""
    wrong = [(a, b) for a, b in imports() if layer(a) == len(LAYERS) - 1 and a != "utmost"
             and any(_under(b, package) and b != package for package in PACKAGES_BELOW)]
    assert not wrong


def test_the_web_mounts_the_collector_and_uses_nothing_else_of_it():
    wrong = [(a, b) for a, b in imports() if _under(a, "utmost.web") and _under(b, "utmost.collector")
             and (a, b) != ("utmost.web.app", "utmost.collector")]
    assert not wrong


def test_the_collector_knows_nothing_of_the_web():
    assert not [(a, b) for a, b in imports() if _under(a, "utmost.collector") and _under(b, "utmost.web")]


def _type_checking_names(tree: ast.Module) -> set[str]:
    """Names a module imports only under ``if TYPE_CHECKING:`` (for annotations)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    names |= {alias.asname or alias.name for alias in statement.names}
    return names


def test_names_imported_for_annotations_are_not_used_at_run_time():
    """A name imported under ``TYPE_CHECKING`` (to keep a heavy module out of ``utmost --help``)
    does not exist when the code runs: a function that uses it imports it itself."""
    wrong = []
    for module, path in modules().items():
        tree = ast.parse(path.read_text())
        annotation_only = _type_checking_names(tree)
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            body = [n for statement in function.body for n in ast.walk(statement)]
            used = {n.id for n in body if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            local = {a.asname or a.name for n in body if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
            wrong += [f"{module}.{function.name}: {name}" for name in sorted((used & annotation_only) - local)]
    assert not wrong


@pytest.mark.parametrize("package", ["utmost", "utmost.engine", "utmost.store", "utmost.ingest", "utmost.backends"])
def test_every_public_name_of_a_package_resolves(package):
    """A package lists its names twice, for type checkers (``TYPE_CHECKING``) and for
    :func:`utmost.lazy.exports`: a name in ``__all__`` that the second list lacks fails here."""
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing
