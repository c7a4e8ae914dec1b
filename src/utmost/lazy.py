"""A package's public names, each imported from its module when first used.

``utmost --help`` and a small question should not wait for pyarrow, scipy and FastAPI to load
(~0.8 s of the CLI's start before this). A package lists where each of its names lives and
gets them on demand; type checkers read the same imports under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``name`` from ``where[name]``, a
    module's name, or ``module:attribute`` for a name the module gives another.

    >>> getattr_ = exports("pkg", {"sqrt": "math", "tau_": "math:tau"})
    >>> getattr_("sqrt")(9.0), round(getattr_("tau_"), 2)
    (3.0, 6.28)
    """

    def __getattr__(name: str) -> Any:
        found = where.get(name)
        if found is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = found.partition(":")
        return getattr(importlib.import_module(module), attribute or name)

    return __getattr__
