"""What a simulated world truly caused, as a file: written by ``utmost simulate``, read by ``utmost evaluate``.

The truth is the one thing click data cannot give: how many conversions each channel caused.
The simulator knows it by counterfactuals (docs/semantics.md §17); this module holds the
file's shape, so the writer and the reader cannot drift apart. A channel is named by the values
of the key properties in ``by`` (e.g. ``{"utm_source": "newsletter"}``), exactly as its
landings carry them, so a question ``--by`` those properties has one row per channel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from utmost.errors import InputError

FORMAT = "utmost-truth/1"


class ChannelTruth(msgspec.Struct, forbid_unknown_fields=True):
    """One channel: its key, and the conversions it caused two ways."""

    key: dict[str, str]  # one value per property of ``Truth.by``
    removal: float  # conversions lost when only this channel's exposures are removed
    shapley: float  # its Shapley value over channel subsets; the channels' values sum to conversions − baseline
    revenue_shapley: float = 0.0  # the same, for revenue
    clicks: int = 0  # its exposures that were landings (visible in the events)
    views: int = 0  # its exposures that were not (invisible)


class Truth(msgspec.Struct, forbid_unknown_fields=True):
    """A simulation's truth. ``conversions`` and ``revenue`` are what the events hold;
    ``baseline`` is what would have happened with every channel removed."""

    format: str
    scenario: str
    seed: int
    persons: int
    conversion: str  # the conversion event's name
    revenue_property: str
    by: list[str]  # the key properties that name a channel
    start: str  # first day of the events, ISO date
    end: str  # last day of the events, ISO date (inclusive)
    conversions: int
    revenue: float
    baseline: float
    baseline_revenue: float
    channels: list[ChannelTruth]
    parameters: dict[str, Any] = {}  # the world as simulated, for the record

    @property
    def caused(self) -> float:
        """Conversions the channels caused together: all of them but the baseline."""
        return self.conversions - self.baseline


def write_truth(truth: Truth, path: Path) -> None:
    path.write_bytes(msgspec.json.format(msgspec.json.encode(truth), indent=2) + b"\n")


def read_truth(path: Path | str) -> Truth:
    """The truth in ``path``, or an :class:`InputError` that names the file and what is wrong."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read the truth file ({error.strerror})") from None
    return parse_truth(data, str(path))


def parse_truth(data: bytes, where: str = "truth") -> Truth:
    try:
        truth = msgspec.json.decode(data, type=Truth)
    except msgspec.ValidationError as error:
        raise InputError(f"{where}: not a truth file written by `utmost simulate`: {error}") from None
    except msgspec.DecodeError as error:
        raise InputError(f"{where}: not JSON: {error}") from None
    if truth.format != FORMAT:
        raise InputError(f"{where}: format {truth.format!r}; this utmost reads {FORMAT!r}")
    if _too_large(msgspec.to_builtins(truth)):  # answers echo it, and their JSON holds 64-bit integers at most
        raise InputError(f"{where}: an integer beyond 64 bits")
    for channel in truth.channels:
        if sorted(channel.key) != sorted(truth.by):
            raise InputError(f"{where}: channel {channel.key} must name exactly the properties {truth.by}")
    return truth


def _too_large(value: Any) -> bool:
    """Whether ``value`` (decoded JSON) holds an integer outside the signed 64-bit range."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**63
    if isinstance(value, dict):
        return any(_too_large(v) for v in value.values())
    if isinstance(value, list):
        return any(_too_large(v) for v in value)
    return False
