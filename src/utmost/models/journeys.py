"""Journeys aggregated to distinct paths, the only input the data-driven models see."""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str, ...]


@dataclass(frozen=True)
class Journeys:
    """Per distinct non-empty path (keys in order, repeats kept): converting journeys, their
    revenue, and non-converting journeys (DESIGN §3 Journeys). Sorted, so results are
    reproducible to the last bit whatever order the engine produced them in."""

    paths: tuple[Path, ...]
    conversions: tuple[int, ...]
    revenue: tuple[float, ...]
    non_conversions: tuple[int, ...]

    @classmethod
    def from_rows(cls, rows: list[tuple[Path, int, float, int]]) -> Journeys:
        merged: dict[Path, list] = {}
        for path, converted, revenue, lost in rows:
            if not path:
                continue
            entry = merged.setdefault(tuple(path), [0, 0.0, 0])
            entry[0] += converted
            entry[1] += revenue
            entry[2] += lost
        ordered = sorted((p, v) for p, v in merged.items() if v[0] or v[2])
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
    def converted(self) -> int:
        return sum(self.conversions)
