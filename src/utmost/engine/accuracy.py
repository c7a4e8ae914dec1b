"""How far each model's credit is from what a simulated world truly caused (docs/semantics.md §20).

:func:`score` is pure: the totals rows an attribution question returns (one per model and key)
and the simulation's :class:`~utmost.engine.truth.Truth` in, each model's scores and a row per
channel out. :func:`evaluate` asks that question on a backend, with what the truth fixes of it
(:func:`evaluation_options`), and scores the answer.

A channel is a key over ``truth.by``: the truth's channels, and every key a model credits but
``(none)`` and ``(baseline)`` (a key the truth lacks caused nothing; a channel a model does not
credit got nothing). Shares are over those keys. Every number is computed exactly (rational
arithmetic over the totals and the truth's values) and rounded once to 15 significant digits, as
every number utmost prints (§12).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from utmost.engine.models import MODELS, Model, Rule
from utmost.engine.options import ATTRIBUTE, PARAMETERS_BY_NAME, Options, Parameter, make_options, parameters
from utmost.engine.queries import NONE_KEY
from utmost.engine.truth import Truth
from utmost.errors import InputError

if TYPE_CHECKING:
    from utmost.backends import Backend

# The question's options are read by ``utmost --help``; scoring loads Arrow and scipy (through
# the engine's runner), so those are imported when a score is computed.

#: The key of the conversions a model says would have happened anyway (``incremental``'s).
BASELINE_KEY = "(baseline)"
#: What the truth fixes of the question: the conversion, the keys, the revenue, the dates.
FROM_TRUTH = ("conversion", "by", "revenue_property", "start", "end")
#: What scoring has no use for: the bootstrap's intervals.
LEFT_OUT = ("ci", "bootstrap", "seed")


def splits(model: Model) -> bool:
    """Whether ``model`` splits each conversion's 1 among keys: every model but one whose rule
    counts a key once per conversion it touched (``participation``, whose totals exceed the
    conversions)."""
    return not (isinstance(model.computes, Rule) and model.computes.combine == "max")


#: The models scored when none are named: every model a name picks (not the ``position:F/M/L``
#: family) that splits conversions, in the table's order — a new row is scored with the rest.
DEFAULT_MODELS = tuple(m.name for m in MODELS if not m.pattern and splits(m))


def evaluation_parameters() -> tuple[Parameter, ...]:
    """The question's parameters ``utmost evaluate`` takes: ``utmost attribute``'s but those the
    truth fixes and the bootstrap's, ``models`` defaulting to :data:`DEFAULT_MODELS`."""
    models = dataclasses.replace(PARAMETERS_BY_NAME["models"], default=",".join(DEFAULT_MODELS), defaults={})
    return tuple(models if p.name == "models" else p for p in parameters(ATTRIBUTE)
                 if p.name not in FROM_TRUTH + LEFT_OUT)


def evaluation_options(truth: Truth, *, project: str = "default", where: str = "truth", **values: Any) -> Options:
    """The question a truth asks (its conversion, keys, revenue property and days), with the
    other parameters as given (``values``: :func:`evaluation_parameters`' keywords)."""
    for name in values:
        if name in FROM_TRUTH + LEFT_OUT:
            parameter = PARAMETERS_BY_NAME[name]
            why = "takes it from the truth file" if name in FROM_TRUTH else "has no intervals"
            raise InputError(f"{parameter.query}: utmost evaluate {why}")
    fixed: dict[str, Any] = dict(by=list(truth.by), revenue_property=truth.revenue_property, start=truth.start,
                                 end=truth.end)
    try:
        make_options(truth.conversion, project=project, **fixed)
    except InputError as error:
        raise InputError(f"{where}: {error}") from None
    check_truth(truth, where)
    options = make_options(truth.conversion, project=project, **fixed,
                           **{"models": ",".join(DEFAULT_MODELS), **values})
    once = tuple({m.name: m for m in options.models}.values())  # a model named twice is scored once
    return options if once == options.models else dataclasses.replace(options, models=once)


def check_truth(truth: Truth, where: str = "truth") -> None:
    """Refuse a truth that cannot be scored against: a channel not named by ``by``, or twice, a
    number that is not finite."""
    numbers = [("conversions", truth.conversions), ("baseline", truth.baseline)]
    keys = set()
    for channel in truth.channels:
        if sorted(channel.key) != sorted(truth.by):
            raise InputError(f"{where}: channel {channel.key} must name exactly the properties {truth.by}")
        key = channel_key(channel.key, truth.by)
        if key in keys:
            raise InputError(f"{where}: channel {channel.key} is listed twice")
        keys.add(key)
        numbers += [(f"shapley of channel {channel.key}", channel.shapley),
                    (f"removal of channel {channel.key}", channel.removal)]
    for name, value in numbers:
        if not math.isfinite(value):
            raise InputError(f"{where}: {name} is {value}, not a finite number")


def channel_key(key: dict[str, str], by: Sequence[str]) -> tuple[str, ...]:
    return tuple(key[p] for p in by)


@dataclass(frozen=True)
class Score:
    """One model against the truth (docs/semantics.md §20). A score that cannot be computed is
    None, and ``why_null`` says why, by the score's name."""

    model: str
    tvd_pp: float | None  # total variation distance of the shares, in percentage points
    max_error_pp: float | None  # the largest |model share − truth share|, in percentage points
    max_error_channel: dict[str, str] | None  # … of this channel
    rank_correlation: float | None  # Spearman's ρ of credit and truth's Shapley over the channels
    inflation: float | None  # credited to channels ÷ conversions the channels caused
    credited: float  # credit to channel keys
    none: float  # credit to (none)
    baseline: float  # credit to (baseline)
    why_null: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Channel:
    """One channel: what the truth says it caused, and what each model credits it."""

    key: dict[str, str]
    in_truth: bool
    seen: bool  # some landing of the question's project carries this key
    shapley: float
    removal: float
    truth_share: float | None
    clicks: int
    views: int
    credit: dict[str, float]  # model → conversions credited
    share: dict[str, float | None]  # model → share of its channel credit


@dataclass(frozen=True)
class Evaluation:
    """Every model asked for, scored against one truth, and the channels side by side."""

    conversion: str
    by: list[str]
    models: list[str]  # as asked
    scenario: str
    seed: int
    truth_conversions: int
    truth_baseline: float
    truth_caused: float
    conversions: int  # what the database counts for the question
    converted_without_touchpoints: int
    scores: list[Score]  # by TVD, the closest first; a model without one last
    channels: list[Channel]  # by the truth's Shapley value, the largest first, then by key


_NO_CAUSE = "the truth's channels caused no conversion (their Shapley values sum to 0)"
Key = tuple[str, ...]


def score(rows: Iterable[dict[str, Any]], truth: Truth, models: Sequence[str],
          seen: Collection[Key] = ()) -> tuple[list[Score], list[Channel]]:
    """Score each of ``models`` on its totals ``rows`` (``model``, a field per ``truth.by``
    property, ``conversions``) against ``truth``; ``seen``: the keys some landing carries."""
    by = list(truth.by)
    told = {channel_key(c.key, by): c for c in truth.channels}
    credit: dict[str, dict[Key, list[float]]] = {m: {} for m in models}
    for row in rows:
        if row["model"] in credit:
            credit[row["model"]].setdefault(tuple(row[p] for p in by), []).append(row["conversions"])
    summed = {m: {k: math.fsum(v) for k, v in keys.items()} for m, keys in credit.items()}
    caused = sum((Fraction(c.shapley) for c in truth.channels), Fraction(0))
    truth_share = {k: Fraction(c.shapley) / caused for k, c in told.items()} if caused else None
    judged = {m: _Credit(summed[m], list(told)) for m in models}
    scores = [_score(m, judged[m], truth, told, truth_share) for m in models]
    order = {m: n for n, m in enumerate(models)}
    scores.sort(key=lambda s: (s.tvd_pp is None, s.tvd_pp or 0.0, order[s.model]))
    channels = []
    for key in dict.fromkeys([*told, *sorted(k for j in judged.values() for k in j.keys[len(told):])]):
        found = told.get(key)
        channels.append(Channel(
            dict(zip(by, key)), found is not None, key in seen, found.shapley if found else 0.0,
            found.removal if found else 0.0, None if truth_share is None else _round(truth_share.get(key, 0)),
            found.clicks if found else 0, found.views if found else 0,
            {m: judged[m].credit.get(key, 0.0) for m in models}, {m: _round(judged[m].share(key)) for m in models},
        ))
    channels.sort(key=lambda c: (-c.shapley, channel_key(c.key, by)))
    return scores, channels


def _special(key: Key) -> bool:
    """``(none)`` or ``(baseline)``: each fills every field of its key."""
    return len(set(key)) == 1 and key[0] in (NONE_KEY, BASELINE_KEY)


def decimal(value: float) -> float:
    """As :func:`utmost.engine.run.decimal`: 15 significant digits (docs/semantics.md §12)."""
    from utmost.engine.run import decimal as rounded

    return rounded(value)


class _Credit:
    """One model's credit per key, over its channel keys: the truth's, in its order, then those
    it credits beside them."""

    def __init__(self, credit: dict[Key, float], truth_keys: list[Key]) -> None:
        known = set(truth_keys)
        self.credit = credit
        self.keys = [*truth_keys, *sorted(k for k in credit if not _special(k) and k not in known)]
        self.total = sum((Fraction(credit.get(k, 0.0)) for k in self.keys), Fraction(0))

    def share(self, key: Key) -> Fraction | None:
        return Fraction(self.credit.get(key, 0.0)) / self.total if self.total else None

    def special(self, name: str) -> float:
        return math.fsum(v for k, v in self.credit.items() if _special(k) and k[0] == name)


def _score(model: str, judged: _Credit, truth: Truth, told: dict[Key, Any],
           truth_share: dict[Key, Fraction] | None) -> Score:
    keys = judged.keys
    why: dict[str, str] = {}
    tvd: Fraction | None = None
    largest: Fraction | None = None
    channel: dict[str, str] | None = None
    if not keys:
        why["tvd_pp"] = why["max_error_pp"] = "no channel: the truth names none and the model credits none"
    elif truth_share is None:
        why["tvd_pp"] = why["max_error_pp"] = _NO_CAUSE
    elif not judged.total:
        why["tvd_pp"] = why["max_error_pp"] = "the model credits no channel"
    else:
        errors = [abs(Fraction(judged.credit.get(k, 0.0)) / judged.total - truth_share.get(k, 0)) for k in keys]
        tvd = 50 * sum(errors, Fraction(0))
        worst = max(range(len(keys)), key=lambda n: (errors[n], -n))  # the first of equals
        largest, channel = 100 * errors[worst], dict(zip(truth.by, keys[worst]))
    rho = _rank_correlation([judged.credit.get(k, 0.0) for k in keys],
                            [told[k].shapley if k in told else 0.0 for k in keys], why)
    inflation: Fraction | None = None
    caused = Fraction(truth.conversions) - Fraction(truth.baseline)
    if caused > 0:
        inflation = judged.total / caused
    elif caused == 0:
        why["inflation"] = f"the truth's channels caused no conversion (baseline {truth.baseline:g} of {truth.conversions:,})"
    else:
        why["inflation"] = f"the truth's baseline ({truth.baseline:g}) exceeds its {truth.conversions:,} conversions"
    found = {"tvd_pp": _round(tvd), "max_error_pp": _round(largest), "inflation": _round(inflation)}
    for name, value in (("tvd_pp", tvd), ("max_error_pp", largest), ("inflation", inflation)):
        if value is not None and found[name] is None:
            why[name] = "beyond the largest number a double holds (the truth's channels caused next to nothing)"
    return Score(model, found["tvd_pp"], found["max_error_pp"], channel, _round(rho), found["inflation"],
                 decimal(float(judged.total)), decimal(judged.special(NONE_KEY)), decimal(judged.special(BASELINE_KEY)),
                 why)


def _rank_correlation(credit: list[float], shapley: list[float], why: dict[str, str]) -> float | None:
    """Spearman's ρ (ties ranked by their average), or None with the reason it is undefined."""
    if len(credit) < 2:
        why["rank_correlation"] = f"{len(credit)} channel{'' if len(credit) == 1 else 's'}: ranks need two"
        return None
    if len(set(credit)) == 1:
        why["rank_correlation"] = "the model credits every channel alike: its credit has no ranks"
        return None
    if len(set(shapley)) == 1:
        why["rank_correlation"] = "the truth's Shapley value is the same for every channel: it has no ranks"
        return None
    from scipy.stats import spearmanr  # scipy only when scoring

    return float(spearmanr(credit, shapley).statistic)


def _round(value: Fraction | float | None) -> float | None:
    """A number as utmost prints it: the double nearest the exact value, to 15 significant
    digits; None for none, or for one beyond the largest double."""
    if value is None:
        return None
    try:
        return decimal(float(value))
    except OverflowError:
        return None


def evaluate(backend: Backend, options: Options, truth: Truth) -> Evaluation:
    """Ask ``options`` (made by :func:`evaluation_options`) on ``backend`` and score each of its
    models against ``truth``. A truth none of whose channels any landing carries is refused: it
    is not this database's."""
    from utmost.engine.run import attribute

    result = attribute(backend, options, per_conversion=False, steps=True)
    names = ", ".join(f"k{i}" for i in range(len(options.by)))
    seen = {tuple(row.values()) for row in backend.arrow(f"SELECT DISTINCT {names} FROM touchpoints").to_pylist()}
    by = list(truth.by)
    if truth.channels and not any(channel_key(c.key, by) in seen for c in truth.channels):
        named = ", ".join(" · ".join(channel_key(c.key, by)) for c in truth.channels[:5])
        more = f" and {len(truth.channels) - 5:,} more" if len(truth.channels) > 5 else ""
        raise InputError(
            f"no landing in project {options.project!r} carries any of the truth's channels by {', '.join(by)}"
            f" ({named}{more}): import the events of this simulation (`utmost import`), or give its truth file"
        )
    models = [m.name for m in options.models]
    scores, channels = score(result.totals.to_pylist(), truth, models, seen)
    caused = _round(Fraction(truth.conversions) - Fraction(truth.baseline))
    return Evaluation(options.conversion, by, models, truth.scenario, truth.seed, truth.conversions, truth.baseline,
                      caused or 0.0, result.conversions, result.converted_without_touchpoints, scores, channels)
