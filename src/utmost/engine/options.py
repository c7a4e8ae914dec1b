"""What an attribution question asks: the options shared by the CLI, the Python API and HTTP.

Pure: parsing durations and model names, with errors that name the bad value and suggest the
fix. DESIGN §3 and §4 give the meaning of every option.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field

from utmost.errors import InputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

#: Position-based presets: (first, middle, last) percentages.
POSITION_PRESETS: dict[str, tuple[float, float, float]] = {
    "u_shaped": (40, 20, 40),
    "j_shaped": (20, 20, 60),
    "inverse_j": (60, 20, 20),
}
RULE_MODELS = ("first_touch", "last_touch", "linear", *POSITION_PRESETS, "time_decay", "participation")
DATA_DRIVEN_MODELS = ("markov", "shapley")
MODELS = (*RULE_MODELS, *DATA_DRIVEN_MODELS)
SCOPES = ("user", "session")
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
    return dt.timedelta(seconds=float(amount) * _UNIT_SECONDS[unit])


def parse_date(text: str | dt.datetime | dt.date | None, option: str) -> dt.datetime | None:
    """A date or timestamp (ISO 8601, UTC); a bare date means its midnight."""
    if text is None or isinstance(text, dt.datetime):
        return text
    if isinstance(text, dt.date):
        return dt.datetime(text.year, text.month, text.day)
    try:
        parsed = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{option}: {text!r} is not a date (use YYYY-MM-DD or an ISO timestamp)") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _after(end: str | dt.datetime | dt.date | None) -> dt.datetime | None:
    """``--to`` is inclusive: a bare date covers its whole day, a timestamp its instant."""
    parsed = parse_date(end, "to")
    if parsed is None:
        return None
    bare_date = not isinstance(end, dt.datetime) and (isinstance(end, dt.date) or len(str(end).strip()) == 10)
    return parsed + (dt.timedelta(days=1) if bare_date else dt.timedelta(microseconds=1))


@dataclass(frozen=True)
class Model:
    """A rule-based model as the user named it, with its position weights when it has them."""

    name: str
    kind: str  # a name in RULE_MODELS, or "position"
    position: tuple[float, float, float] | None = None


def parse_model(text: str) -> Model:
    """A model name: one of ``RULE_MODELS`` or ``position:F/M/L`` (percentages summing to 100)."""
    name = text.strip()
    if name in POSITION_PRESETS:
        return Model(name, "position", POSITION_PRESETS[name])
    if name in MODELS:
        return Model(name, name)
    if name.startswith("position:"):
        parts = name.removeprefix("position:").split("/")
        try:
            weights = tuple(float(p) for p in parts)
        except ValueError:
            weights = ()
        if len(weights) != 3 or any(w < 0 for w in weights) or abs(sum(weights) - 100) > 1e-9:
            raise InputError(f"model {name!r}: position:F/M/L needs three percentages that sum to 100")
        return Model(name, "position", weights)  # type: ignore[arg-type]
    choices = [*MODELS, "position:F/M/L"]
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f"Did you mean {close[0]}?" if close else f"Models: {', '.join(choices)}."
    raise InputError(f"unknown model {name!r}. {hint}")


def parse_models(text: str | list[str] | tuple[str, ...]) -> tuple[Model, ...]:
    names = text.split(",") if isinstance(text, str) else list(text)
    models = tuple(parse_model(n) for n in names if n.strip())
    if not models:
        raise InputError("models: name at least one model")
    return models


@dataclass(frozen=True)
class Options:
    """One attribution question (DESIGN §4 ``utmost attribute``)."""

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
        for name, value in (("session timeout", self.session_timeout), ("half-life", self.half_life)):
            if value <= dt.timedelta(0):
                raise InputError(f"{name} must be positive")
        if self.lookback < dt.timedelta(0):
            raise InputError("lookback must not be negative")
        if self.ci is not None and not 0 < self.ci < 1:
            raise InputError(f"ci: {self.ci} is not a level between 0 and 1 (e.g. 0.95)")
        if self.bootstrap < 1:
            raise InputError("bootstrap: at least one round")
        if not 1 <= self.markov_order <= 4:
            raise InputError(f"markov order must be 1, 2, 3 or 4, not {self.markov_order}")


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
    """Options from the strings a user types (CLI flags, query parameters, Python keywords)."""

    def duration(value: str | dt.timedelta, option: str) -> dt.timedelta:
        return value if isinstance(value, dt.timedelta) else parse_duration(value, option)

    return Options(
        conversion=conversion,
        models=parse_models(models),
        by=tuple(p.strip() for p in (by.split(",") if isinstance(by, str) else by)),
        lookback=duration(lookback, "lookback"),
        scope=scope,
        session_timeout=duration(session_timeout, "session timeout"),
        half_life=duration(half_life, "half-life"),
        revenue_property=revenue_property,
        split_on_key=split_on_key,
        markov_order=int(markov_order),
        ci=None if ci in (None, "") else float(ci),
        bootstrap=int(bootstrap),
        seed=int(seed),
        start=parse_date(start, "from"),
        end=_after(end),
        project=project,
    )
