"""What an attribution question asks: the options shared by the CLI, the Python API and HTTP.

Pure: parsing durations and model names, with errors that name the bad value and suggest the
fix. docs/semantics.md §3 to §12 give the meaning of every option.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from utmost.engine.models import Model, parse_model
from utmost.errors import InputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

SCOPES = ("user", "session")
#: Columns of the answers beside the ``--by`` keys (totals, per-conversion rows, a journey's
#: touchpoints): a key property of the same name could not be told apart from them.
RESULT_COLUMNS = (
    "model", "conversions", "revenue", "conversions_low", "conversions_high", "revenue_low", "revenue_high",
    "insert_id", "person", "time", "credit", "conversion", "conversion_time", "session", "status",
)
#: More rounds than this add nothing a person can read, and would hold a server for hours.
MAX_BOOTSTRAP = 10_000
#: Durations are compared in microseconds as 64-bit integers; a century is more than any question needs.
MAX_DURATION = dt.timedelta(days=36_525)
FORMATS = ("table", "json", "csv")


def parse_duration(text: str, option: str = "duration") -> dt.timedelta:
    """``90s``, ``30m``, ``12h``, ``30d`` or ``2w`` as a timedelta.

    >>> parse_duration("30d")
    datetime.timedelta(days=30)
    """
    match = _DURATION.match(str(text))
    if not match:
        raise InputError(f"{option}: {text!r} is not a duration (use e.g. 90s, 30m, 12h, 30d, 2w)")
    amount, unit = match.groups()
    try:
        return dt.timedelta(seconds=float(amount) * _UNIT_SECONDS[unit])
    except OverflowError:
        raise InputError(f"{option}: {text!r} is longer than any calendar holds") from None


def parse_date(text: str | dt.datetime | dt.date | None, option: str) -> dt.datetime | None:
    """A date or timestamp (ISO 8601, UTC); a bare date means its midnight."""
    if text is None or isinstance(text, dt.datetime):
        return text
    if isinstance(text, dt.date):
        return dt.datetime(text.year, text.month, text.day)
    try:
        parsed = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InputError(f"{option}: {text!r} is not a date (use YYYY-MM-DD or an ISO timestamp)") from None
    return parsed


def _after(end: str | dt.datetime | dt.date | None) -> dt.datetime | None:
    """``--to`` is inclusive: a bare date covers its whole day, a timestamp its instant."""
    parsed = parse_date(end, "to")
    if parsed is None:
        return None
    bare_date = not isinstance(end, dt.datetime) and (isinstance(end, dt.date) or len(str(end).strip()) == 10)
    try:
        return parsed + (dt.timedelta(days=1) if bare_date else dt.timedelta(microseconds=1))
    except OverflowError:  # the last day a datetime holds: nothing can come after it
        return None


def parse_models(text: str | list[str] | tuple[str, ...]) -> tuple[Model, ...]:
    """Comma-separated names, or a list of them: at least one, each a name :func:`parse_model` knows."""
    names = text.split(",") if isinstance(text, str) else list(text)
    models = tuple(parse_model(n) for n in names if n.strip())
    if not models:
        raise InputError("models: name at least one model")
    return models


@dataclass(frozen=True)
class Options:
    """One attribution question (``utmost attribute``; docs/semantics.md §5 and §6)."""

    conversion: str
    models: tuple[Model, ...] = field(default_factory=lambda: parse_models("last_touch"))
    by: tuple[str, ...] = ("utm_source",)
    lookback: dt.timedelta = dt.timedelta(days=30)
    scope: str = "user"
    session_timeout: dt.timedelta = dt.timedelta(minutes=30)
    half_life: dt.timedelta = dt.timedelta(days=7)
    revenue_property: str = "amount"
    split_on_key: bool = False  # a touchpoint with a new key also starts a session
    markov_order: int = 1
    ci: float | None = None  # bootstrap interval level, e.g. 0.95
    bootstrap: int = 200
    seed: int = 0
    start: dt.datetime | None = None  # conversions at or after
    end: dt.datetime | None = None  # conversions strictly before
    project: str = "default"

    def __post_init__(self) -> None:
        if not self.conversion:
            raise InputError("conversion: name the conversion event")
        if self.scope not in SCOPES:
            raise InputError(f"scope: {self.scope!r} is not one of {', '.join(SCOPES)}")
        if not self.by or any(not p.strip() for p in self.by):
            raise InputError("by: name at least one property")
        for index, prop in enumerate(self.by):
            if prop in self.by[:index]:
                raise InputError(f"by: {prop!r} is named twice")
            if prop in RESULT_COLUMNS:
                raise InputError(f"by: {prop!r} is also a column of the answer ({', '.join(RESULT_COLUMNS[:3])}, …)")
        if not self.revenue_property:
            raise InputError("revenue property: name the property that holds the revenue")
        for name, value in (("session timeout", self.session_timeout), ("half-life", self.half_life)):
            if value <= dt.timedelta(0):
                raise InputError(f"{name} must be positive")
        for name, value in (("lookback", self.lookback), ("session timeout", self.session_timeout),
                            ("half-life", self.half_life)):
            if value > MAX_DURATION:
                raise InputError(f"{name}: {value.days:,} days is more than a century")
        if self.lookback < dt.timedelta(0):
            raise InputError("lookback must not be negative")
        if self.ci is not None and not 0 < self.ci < 1:
            raise InputError(f"ci: {self.ci} is not a level between 0 and 1 (e.g. 0.95)")
        if not 1 <= self.bootstrap <= MAX_BOOTSTRAP:
            raise InputError(f"bootstrap: {self.bootstrap} rounds (from 1 to {MAX_BOOTSTRAP:,})")
        if self.seed < 0:
            raise InputError(f"seed: {self.seed} is negative")
        if not 1 <= self.markov_order <= 4:
            raise InputError(f"markov order must be 1, 2, 3 or 4, not {self.markov_order}")


def _number(kind: type[int] | type[float], value: object, option: str) -> Any:
    """``int`` or ``float`` of what a user typed, or an error naming the option."""
    try:
        return kind(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        what = "a whole number" if kind is int else "a number"
        raise InputError(f"{option}: {value!r} is not {what}") from None


def make_options(
    conversion: str,
    *,
    models: str | list[str] | tuple[str, ...] = "last_touch",
    by: str | list[str] | tuple[str, ...] = "utm_source",
    lookback: str | dt.timedelta = "30d",
    scope: str = "user",
    session_timeout: str | dt.timedelta = "30m",
    half_life: str | dt.timedelta = "7d",
    revenue_property: str = "amount",
    split_on_key: bool = False,
    markov_order: int = 1,
    ci: float | str | None = None,
    bootstrap: int = 200,
    seed: int = 0,
    start: str | dt.datetime | dt.date | None = None,
    end: str | dt.datetime | dt.date | None = None,
    project: str = "default",
) -> Options:
    """Options from the strings a user types (CLI flags, query parameters, Python keywords).

    ``by`` as one string is comma-separated and each name stripped; as a list, each name is
    taken literally (a property named ``" a,b"`` can be asked for only that way).
    """

    def duration(value: str | dt.timedelta, option: str) -> dt.timedelta:
        return value if isinstance(value, dt.timedelta) else parse_duration(value, option)

    return Options(
        conversion=conversion,
        models=parse_models(models),
        by=tuple(p.strip() for p in by.split(",")) if isinstance(by, str) else tuple(by),
        lookback=duration(lookback, "lookback"),
        scope=scope,
        session_timeout=duration(session_timeout, "session timeout"),
        half_life=duration(half_life, "half-life"),
        revenue_property=revenue_property,
        split_on_key=split_on_key,
        markov_order=_number(int, markov_order, "markov order"),
        ci=None if ci in (None, "") else _number(float, ci, "ci"),
        bootstrap=_number(int, bootstrap, "bootstrap"),
        seed=_number(int, seed, "seed"),
        start=parse_date(start, "from"),
        end=_after(end),
        project=project,
    )
