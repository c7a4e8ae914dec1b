"""Every error utmost raises on purpose.

    UtmostError
     ├── InputError (also ValueError)   bad input a user can fix: a file, an option, a payload
     │    ├── BadLineError              one line of an import file
     │    └── DatabaseFileError         a --db path that is missing, not a utmost database, or held
     │         └── DatabaseHeldError    held by another process (``pid``): perhaps a `utmost serve`
     ├── ProjectError (also LookupError) unknown project, or a name already taken
     └── UnavailableError               the file cannot be written now (a full disk): retry later

Each carries structured fields and builds its message from them, so the CLI can print one
clear line and an HTTP handler can turn the same fields into its JSON error shape.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UtmostError(Exception):
    """Root of utmost's errors."""


class InputError(UtmostError, ValueError):
    """Input that utmost cannot accept; the message says what and where."""


class BadLineError(InputError):
    """One rejected record: ``FILE:LINE: reason`` (``where`` is ``FILE:LINE``)."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(f"{where}: {reason}")


class DatabaseFileError(InputError):
    """A database path utmost will not open as asked: ``PATH: problem``.

    Missing (a read never creates one), not a utmost database, held by another process, or
    (for ``utmost demo``) not a database the demo made. Nothing was created or changed.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path}: {problem}")


class DatabaseHeldError(DatabaseFileError):
    """The file is locked by process ``pid``: the commands ask that process instead if it is a
    ``utmost serve`` (:mod:`utmost.access`), and otherwise show this."""

    def __init__(self, path: object, problem: str, pid: int) -> None:
        self.pid = pid
        super().__init__(path, problem)


class ProjectError(UtmostError, LookupError):
    """A project that does not exist, or a name or token already taken."""


class UnavailableError(UtmostError):
    """A write that failed for a reason of the machine's, not the caller's (a full disk):
    nothing of it was committed, and the same write may succeed later (``retry_after`` s)."""

    def __init__(self, reason: str, retry_after: int) -> None:
        self.reason, self.retry_after = reason, retry_after
        super().__init__(f"the database cannot be written now, nothing was stored; retry later ({reason})")


def did_you_mean(name: str, known: Iterable[object], otherwise: str = "") -> str:
    """The end of a message that refuses ``name``: ``. Did you mean X?`` with the closest of the
    names ``known`` (difflib's ratio at least 0.6), else ``otherwise``.

    Example:
        >>> "unknown model 'lienar'" + did_you_mean("lienar", ["linear", "first_touch"])
        "unknown model 'lienar'. Did you mean linear?"
        >>> "unknown model 'zzz'" + did_you_mean("zzz", ["linear"], " (known: linear)")
        "unknown model 'zzz' (known: linear)"
    """
    if len(name) > _SUGGESTED_LENGTH:
        return otherwise
    names = [k for k in known if isinstance(k, str) and len(k) <= _SUGGESTED_LENGTH]
    close = difflib.get_close_matches(name, names, n=1)
    return f". Did you mean {close[0]}?" if close else otherwise


#: Longer names are neither suggested nor given suggestions: difflib's comparison grows with the
#: product of the two lengths, and the names may be anyone's (a sender's event names). 500
#: near-identical names of 64 characters take 0.22 s to compare; of 100, 1,000 took 1.0 s.
_SUGGESTED_LENGTH = 64
