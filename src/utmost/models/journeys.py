"""Journeys aggregated to distinct paths, the only input the data-driven models see."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Path = tuple[str, ...]


@dataclass(frozen=True)
class Journeys:
    """Per distinct non-empty path (keys in order, repeats kept): converting journeys, their
    revenue, and non-converting journeys (docs/semantics.md §8). Sorted, so results are
    reproducible to the last bit whatever order the engine produced them in."""

    paths: tuple[Path, ...]
    conversions: Sequence[float]  # counts (fractional once bootstrap weights apply)
    revenue: Sequence[float]
    non_conversions: Sequence[float]

    @classmethod
    def from_rows(cls, rows: list[tuple[Path, float, float, float]]) -> Journeys:
        """Merge rows of (path, conversions, revenue, non-conversions), in any order.

        Sums are exact (``math.fsum``), so the merged journeys — and every model fitted on
        them — do not depend on the order the rows came in.
        """
        merged: dict[Path, tuple[list, list, list]] = {}
        for path, converted, revenue, lost in rows:
            if not path:
                continue
            entry = merged.setdefault(tuple(path), ([], [], []))
            entry[0].append(converted)
            entry[1].append(revenue)
            entry[2].append(lost)
        summed = {p: tuple(math.fsum(values) for values in entry) for p, entry in merged.items()}
        ordered = sorted((p, v) for p, v in summed.items() if v[0] or v[2])
        return cls(
            tuple(p for p, _ in ordered),
            tuple(v[0] for _, v in ordered),
            tuple(v[1] for _, v in ordered),
            tuple(v[2] for _, v in ordered),
        )

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(sorted({key for path in self.paths for key in path}))

    @property
    def converted(self) -> float:
        return math.fsum(self.conversions)
