"""The attribution question, declared once: a table of what its asker may set, and the
:class:`Options` it makes.

:data:`PARAMETERS` is the one list of a question's parameters. The options of ``utmost
attribute`` and ``utmost journey``, the query API's parameters and their OpenAPI docs, the Python
API's keywords and the dashboard's form are all made from it, and :func:`make_options` parses
through it (``tests/engine/test_question.py`` fails when an interface misses a parameter or
shows another default). Adding a parameter is one row here, plus its meaning in the engine: a
field of :class:`Options` and the query or model that reads it.

Pure: parsing what users type, with errors that name the bad value and suggest the fix.
docs/semantics.md §3 to §12 give the meaning of every option.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from utmost.engine.channels import CHANNEL, Channels, default_channels
from utmost.engine.experiments import Experiment
from utmost.engine.models import MODELS, NAMES, Model, parse_model
from utmost.errors import InputError
from utmost.ingest.keys import key_problem
from utmost.models import MAX_MARKOV_ORDER

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

SCOPES = ("user", "session")
#: More rounds than this add nothing a person can read, and would hold a server for hours.
MAX_BOOTSTRAP = 10_000
#: Durations are compared in microseconds as 64-bit integers; a century is more than any question needs.
MAX_DURATION = dt.timedelta(days=36_525)
FORMATS = ("table", "json", "csv")
#: The periods ``utmost report --interval`` cuts time into: UTC calendar days, ISO weeks (from
#: Monday), calendar months (docs/semantics.md §16).
INTERVALS = ("day", "week", "month")


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


def _number(kind: type[int] | type[float], value: object, option: str) -> Any:
    """``int`` or ``float`` of what a user typed, or an error naming the option."""
    try:
        return kind(value)  # type: ignore[call-overload, arg-type]  # any value: what it is not is caught below
    except (TypeError, ValueError, OverflowError):
        what = "a whole number" if kind is int else "a number"
        raise InputError(f"{option}: {value!r} is not {what}") from None


def _as_given(value: Any) -> Any:
    return value


def _keys(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",")) if isinstance(value, str) else tuple(value)


def _duration(option: str) -> Callable[[Any], dt.timedelta]:
    return lambda value: value if isinstance(value, dt.timedelta) else parse_duration(value, option)


def _whole(option: str) -> Callable[[Any], int]:
    return lambda value: _number(int, value, option)


def _level(value: Any) -> float | None:
    return None if value in (None, "") else _number(float, value, "ci")


#: The questions one may ask: credit per key, one person's journey, or the campaign report.
ATTRIBUTE, JOURNEY, REPORT = "attribute", "journey", "report"
#: The questions most parameters belong to.
_ALL = (ATTRIBUTE, JOURNEY, REPORT)


class _Required:
    """The default of a parameter without one: the question cannot be asked without it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Parameter:
    """One thing an attribution question lets its asker set, as every interface offers it."""

    name: str  # the Python keyword, and the field of Options it sets
    default: Any  # as a user would type it; REQUIRED if there is none
    help: str  # one sentence for --help, the API docs and the Python docstring
    label: str  # its words on the dashboard's form
    parse: Callable[[Any], Any]  # what was typed (text, or a Python value) → the field's value
    type: type = str  # what the CLI and HTTP check before parsing: str, int, float, or bool (a flag)
    many: bool = False  # a list: comma-separated, or a query parameter given several times
    alias: str = ""  # its name in a query and on the command line, where the keyword cannot be
    choices: tuple[str, ...] = ()
    bounds: tuple[int, int] | None = None  # the smallest and largest whole number it takes
    questions: tuple[str, ...] = _ALL  # the questions that offer it
    defaults: Mapping[str, Any] = field(default_factory=dict)  # a question's own default, where it differs

    @property
    def query(self) -> str:
        """Its name in a query string and in a form."""
        return self.alias or self.name

    @property
    def option(self) -> str:
        """Its name on the command line."""
        return "--" + self.query.replace("_", "-")

    def default_for(self, question: str) -> Any:
        return self.defaults.get(question, self.default)


#: Every parameter of the question, in the order the interfaces list them. ``utmost journey``
#: does without the bootstrap's three (one person's credit has no interval); the query API's
#: journey still takes them, unlisted, so that an attribution's address leads to its journeys.
#: ``utmost report`` credits by one ``model`` and may cut time by ``interval``; it has no
#: bootstrap either.
PARAMETERS: tuple[Parameter, ...] = (
    Parameter("conversion", REQUIRED, "The conversion event, e.g. 'Reservation Completed'.", "Conversion event",
              _as_given),
    Parameter("models", "last_touch", f"Comma-separated: {', '.join(m.name for m in MODELS)}.", "Models",
              parse_models, many=True, defaults={JOURNEY: ",".join(NAMES)}, questions=(ATTRIBUTE, JOURNEY)),
    Parameter("model", "last_touch", "The one model that credits conversions (see Models below).", "Model",
              parse_model, questions=(REPORT,)),
    Parameter("interval", None, "Also per period: day, week (ISO, from Monday) or month, in UTC.", "Per period",
              _as_given, choices=INTERVALS, questions=(REPORT,)),
    Parameter("by", "utm_source", "Comma-separated key properties.", "Credit by", _keys, many=True),
    Parameter("lookback", "30d", "How far back a touchpoint counts (inclusive).", "Lookback window",
              _duration("lookback")),
    Parameter("scope", "user", "user: across sessions and devices; session: only the conversion's session.",
              "Touchpoints that count", _as_given, choices=SCOPES),
    Parameter("session_timeout", "30m", "Gap that starts a new session.", "Session timeout",
              _duration("session timeout")),
    Parameter("half_life", "7d", "time_decay's half-life.", "Half-life (time_decay)", _duration("half-life")),
    Parameter("min_lag", "1h", "incremental: a touch counts as a cause only this long before a conversion.",
              "Minimum lag (incremental)", _duration("min lag")),
    Parameter("revenue_property", "amount", "Property holding the revenue.", "Revenue property", _as_given),
    Parameter("split_on_key", False, "Also start a session at a touchpoint whose key differs from the session's "
              "first.", "A new campaign starts a new session", _as_given, type=bool),
    Parameter("exclude_direct", False, "Leave Direct touchpoints out (with --by channel) and share the credit "
              "among the rest; a conversion with only Direct goes to (none).", "Leave Direct out", _as_given,
              type=bool),
    Parameter("markov_order", 1, "markov's order: how many previous keys a state remembers.", "Markov order",
              _whole("markov order"), type=int, bounds=(1, MAX_MARKOV_ORDER)),
    Parameter("ci", None, "Add bootstrap intervals at this level (e.g. 0.95) to every row.", "Confidence intervals",
              _level, type=float, questions=(ATTRIBUTE,)),
    Parameter("bootstrap", 200, "Bootstrap rounds (persons resampled).", "Bootstrap rounds", _whole("bootstrap"),
              type=int, questions=(ATTRIBUTE,)),
    Parameter("seed", 0, "Seed of the bootstrap.", "Bootstrap seed", _whole("seed"), type=int,
              questions=(ATTRIBUTE,)),
    Parameter("start", None, "First conversion date (YYYY-MM-DD, inclusive).", "From",
              lambda value: parse_date(value, "from"), alias="from"),
    Parameter("end", None, "Last conversion date (YYYY-MM-DD, inclusive).", "To", _after, alias="to"),
)
PARAMETERS_BY_NAME = {p.name: p for p in PARAMETERS}


def parameters(question: str) -> tuple[Parameter, ...]:
    """The parameters ``question`` offers (``attribute``, ``journey`` or ``report``), in the table's order."""
    return tuple(p for p in PARAMETERS if question in p.questions)


@dataclass(frozen=True)
class Options:
    """One attribution question, parsed and checked (``utmost attribute``; docs/semantics.md §5 and §6)."""

    conversion: str
    models: tuple[Model, ...]
    model: Model  # the report's one model; its question's ``models`` are this one alone
    interval: str | None  # the report's periods, one of INTERVALS; None: the whole range at once
    by: tuple[str, ...]
    lookback: dt.timedelta
    scope: str
    session_timeout: dt.timedelta
    half_life: dt.timedelta
    min_lag: dt.timedelta  # incremental: touches closer than this before a conversion are not its causes
    revenue_property: str
    split_on_key: bool  # a touchpoint with a new key also starts a session
    exclude_direct: bool  # Direct touchpoints do not count (channel mode)
    markov_order: int
    ci: float | None  # bootstrap interval level, e.g. 0.95
    bootstrap: int
    seed: int
    start: dt.datetime | None  # conversions at or after
    end: dt.datetime | None  # conversions strictly before
    project: str
    #: The channel rules in effect (GA4's unless the project has its own); read with ``by`` channel.
    channels: Channels = field(default_factory=default_channels)
    #: The project's holdout tests; ``incremental`` is calibrated by those on the question's keys.
    experiments: tuple[Experiment, ...] = ()

    @property
    def by_channel(self) -> bool:
        """Channel mode (docs/semantics.md §13): every session is a touchpoint, Direct included."""
        return CHANNEL in self.by

    def __post_init__(self) -> None:
        if not self.conversion:
            raise InputError("conversion: name the conversion event")
        if self.interval is not None and self.interval not in INTERVALS:
            raise InputError(f"interval: {self.interval!r} is not one of {', '.join(INTERVALS)}")
        if self.scope not in SCOPES:
            raise InputError(f"scope: {self.scope!r} is not one of {', '.join(SCOPES)}")
        if problem := key_problem(self.by):
            raise InputError(f"by: {problem}")
        if not self.revenue_property:
            raise InputError("revenue property: name the property that holds the revenue")
        for name, value in (("session timeout", self.session_timeout), ("half-life", self.half_life)):
            if value <= dt.timedelta(0):
                raise InputError(f"{name} must be positive")
        for name, value in (("lookback", self.lookback), ("session timeout", self.session_timeout),
                            ("half-life", self.half_life), ("min lag", self.min_lag)):
            if value > MAX_DURATION:
                raise InputError(f"{name}: {value.days:,} days is more than a century")
        if self.lookback < dt.timedelta(0):
            raise InputError("lookback must not be negative")
        if self.min_lag < dt.timedelta(0):
            raise InputError("min lag must not be negative")
        if self.ci is not None and not 0 < self.ci < 1:
            raise InputError(f"ci: {self.ci} is not a level between 0 and 1 (e.g. 0.95)")
        if not 1 <= self.bootstrap <= MAX_BOOTSTRAP:
            raise InputError(f"bootstrap: {self.bootstrap} rounds (from 1 to {MAX_BOOTSTRAP:,})")
        if self.seed < 0:
            raise InputError(f"seed: {self.seed} is negative")
        if not 1 <= self.markov_order <= MAX_MARKOV_ORDER:
            raise InputError(f"markov order must be 1, 2, 3 or 4, not {self.markov_order}")


def _asks(question: str, parameter: Parameter) -> bool:
    """Whether ``question`` takes ``parameter``: its own, and a journey also the attribution's
    (so that an attribution's address leads to its journeys)."""
    return question in parameter.questions or (question == JOURNEY and ATTRIBUTE in parameter.questions)


def make_options(conversion: str, *, project: str = "default", question: str = ATTRIBUTE, **values: Any) -> Options:
    """Options from what a user typed (CLI flags, query parameters, Python keywords), each value
    parsed by its row of :data:`PARAMETERS`; a parameter not given takes ``question``'s default.

    ``by`` as one string is comma-separated and each name stripped; as a list, each name is
    taken literally (a property named ``" a,b"`` can be asked for only that way).
    """
    for name in values:
        if name not in PARAMETERS_BY_NAME:
            raise TypeError(f"make_options() got an unexpected keyword argument {name!r}")
        if not _asks(question, PARAMETERS_BY_NAME[name]):
            parameter = PARAMETERS_BY_NAME[name]
            offered = " or ".join(f"utmost {q}" for q in parameter.questions)
            raise InputError(f"{parameter.query}: utmost {question} does not take it ({offered} does)")
    given = {**values, "conversion": conversion}
    options = Options(**{p.name: p.parse(given.get(p.name, p.default_for(question))) for p in PARAMETERS},
                      project=project)
    if question == REPORT:
        options = dataclasses.replace(options, models=(options.model,))
    if options.start is not None and options.end is not None and options.end <= options.start:
        # Checked here, where the dates are still as typed: ``end`` is already past its day.
        raise InputError(f"from {given['start']} is after to {given['end']}: no conversion can be between them")
    return options
