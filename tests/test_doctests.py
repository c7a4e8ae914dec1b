"""The ``>>>`` examples in the package's docstrings run, and say what they print.

An example that no longer holds is a docstring that lies; ``# doctest: +SKIP`` marks the few
that need a database file.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import utmost

PACKAGE = Path(utmost.__file__).parent
MODULES = sorted(
    ".".join(("utmost", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for path in PACKAGE.rglob("*.py")
    if ">>> " in path.read_text() and path.name != "__main__.py"
)


def test_the_examples_are_found():
    assert "utmost.dialect" in MODULES and len(MODULES) >= 5


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    failures, tried = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert tried and not failures
