"""CSV files imported whole (ad spend, experiments): each file as given, and what its import did.

A file's bad lines are reported as ``FILE:LINE: reason`` (``line N: reason`` for a request
body), the first :data:`~utmost.store.inserts.REPORTED_REJECTIONS` of them in full and the rest
counted, as an event import's are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from utmost.errors import BadLineError
from utmost.store.inserts import REPORTED_REJECTIONS


@dataclass(frozen=True)
class CsvFile:
    """A file's bytes, and how messages name it (``FILE`` in ``FILE:LINE``; ``""`` for a
    request body, whose problems read ``line 3: …``)."""

    name: str
    data: bytes

    def where(self, line: int) -> str:
        return f"line {line}" if not self.name else f"{self.name}:{line}"


@dataclass
class CsvReport:
    """What an import did: rows stored, stored rows they replaced, bad lines (the first
    ``REPORTED_REJECTIONS`` in full as ``FILE:LINE: reason``)."""

    imported: int = 0
    replaced: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    #: ``strict`` found bad lines, and nothing was stored.
    checked_only: bool = False

    def add_problems(self, file: CsvFile, problems: list[tuple[int, str]]) -> None:
        """Count ``file``'s bad lines, (line, reason) each, and keep the first in full."""
        self.rejected += len(problems)
        room = max(REPORTED_REJECTIONS - len(self.problems), 0)
        self.problems += [str(BadLineError(file.where(line), reason)) for line, reason in problems[:room]]
