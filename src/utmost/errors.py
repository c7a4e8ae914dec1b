"""Every error utmost raises on purpose.

    UtmostError
     ├── InputError (also ValueError)   bad input a user can fix: a file, an option, a payload
     │    ├── BadLineError              one line of an import file
     │    └── StrictImportError         --strict met bad lines; nothing was imported
     └── ProjectError (also LookupError) unknown project, or a name already taken

Each carries structured fields and builds its message from them, so the CLI can print one
clear line and an HTTP handler can turn the same fields into its JSON error shape.
"""

from __future__ import annotations


class UtmostError(Exception):
    """Root of utmost's errors."""


class InputError(UtmostError, ValueError):
    """Input that utmost cannot accept; the message says what and where."""


class BadLineError(InputError):
    """One rejected record: ``FILE:LINE: reason`` (``where`` is ``FILE:LINE``)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(f"{where}: {reason}")


class StrictImportError(InputError):
    """``--strict`` import that met bad lines: nothing was imported."""

    def __init__(self, rejected: int) -> None:
        self.rejected = rejected
        super().__init__(f"{rejected:,} bad line(s); --strict imported nothing")


class ProjectError(UtmostError, LookupError):
    """A project that does not exist, or a name or token already taken."""
