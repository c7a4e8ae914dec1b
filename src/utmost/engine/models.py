"""Every model a user can name, as one table: what computes its credit, what it reads, what it means.

A model is computed one of two ways (docs/semantics.md §7 to §10):

- a :class:`Rule` weighs each attributable touchpoint of a conversion in SQL, from its number
  (``touch_number``), how many the conversion has (``touches``) and, if the rule reads them, its
  time decay (``decay``, ``decay_total``) or its number among the touchpoints that are not
  Direct (``indirect_number``, ``indirect_touches``); a key's credit is the sum of its
  touchpoints' weights, or their maximum;
- a :class:`Learned` model is fitted to every journey (:mod:`utmost.models` holds the
  mathematics): each conversion's 1 is split over its own path, and the model may have totals
  of its own.

``--help``, the query API's docs, the dashboard's checkboxes and the error for a name not here
all read :data:`MODELS`. A new model is one row (and, if learned, its fit in :mod:`utmost.models`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from utmost.dialect import double
from utmost.errors import InputError, did_you_mean
from utmost.models.journeys import Journeys, Path

if TYPE_CHECKING:
    from utmost.models.markov import Markov

Position = tuple[float, float, float]
#: Credit and revenue per key.
Totals = dict[str, tuple[float, float]]


@dataclass(frozen=True)
class Rule:
    """A rule-based model: a touchpoint's weight as SQL, and how one key's weights add up."""

    weight: Callable[[Model], str]
    combine: str = "sum"  # or "max": each key counted once per conversion, however often it recurs
    #: The measures the weight reads beyond ``touch_number`` and ``touches`` (``queries.MEASURES``):
    #: a question computes only those its rules read.
    reads: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fitted:
    """A learned model fitted to the journeys of one question."""

    split: Callable[[Path], dict[str, float]]  # one conversion's 1 over the keys of its own path
    totals: Totals | None = None  # the model's own totals; None: the sums of the splits
    explanation: dict[str, Any] = field(default_factory=dict)  # for ``--explain-model``


@dataclass(frozen=True)
class Learned:
    """A data-driven model: a fit for the answer, and a cheaper refit for the bootstrap's rounds.

    Both take the journeys and, as keywords, the question's parameters the model reads.
    ``rounds(paths, …)`` prepares what every round over those paths shares (Markov's chain) and
    returns the function that totals one round's weighted journeys.
    """

    fit: Callable[..., Fitted]
    rounds: Callable[..., Callable[[Journeys], Totals]]


@dataclass(frozen=True)
class Caused:
    """A model of what touches caused, fitted to person-time — every person's touches and
    conversions over the question's window, with the time between them — not to journeys
    (docs/semantics.md §18; :mod:`utmost.engine.incremental` builds its data)."""


@dataclass(frozen=True)
class Model:
    """A model as the user named it: what computes it, what it means, which of the question's
    parameters it reads (``--half-life``, ``--markov-order``), and its position weights if any."""

    name: str
    meaning: str
    computes: Rule | Learned | Caused
    parameters: tuple[str, ...] = ()
    position: Position | None = None
    #: A family named by a pattern (``position:F/M/L``), not a name to type as it is.
    pattern: bool = False

    @property
    def learned(self) -> bool:
        return isinstance(self.computes, Learned)

    @property
    def rule_based(self) -> bool:
        return isinstance(self.computes, Rule)

    def fit(self, journeys: Journeys, options: Any) -> Fitted:
        """A learned model fitted to ``journeys``, with the parameters it reads from ``options``."""
        return self._learned().fit(journeys, **self._reading(options))

    def rounds(self, paths: tuple[Path, ...], options: Any) -> Callable[[Journeys], Totals]:
        """What totals one bootstrap round over ``paths`` (see :class:`Learned`)."""
        return self._learned().rounds(paths, **self._reading(options))

    def _learned(self) -> Learned:
        if not isinstance(self.computes, Learned):
            raise TypeError(f"{self.name} is a rule: its credit is SQL, not fitted")
        return self.computes

    def _reading(self, options: Any) -> dict[str, Any]:
        return {name: getattr(options, name) for name in self.parameters}


def _always(sql: str) -> Callable[[Model], str]:
    return lambda model: sql


def _position(model: Model) -> str:
    """First, middle and last shares (docs/semantics.md §7): two touchpoints split first and last
    in proportion, one takes everything."""
    first, middle, last = (w / 100 for w in model.position or (0, 0, 0))
    two = first + last
    first_of_two, last_of_two = (first / two, last / two) if two else (0.5, 0.5)
    return (
        f"CASE WHEN touches = 1 THEN {double(1)} "
        f"WHEN touches = 2 THEN CASE WHEN touch_number = 1 THEN {double(first_of_two)} "
        f"ELSE {double(last_of_two)} END "
        f"WHEN touch_number = 1 THEN {double(first)} WHEN touch_number = touches THEN {double(last)} "
        f"ELSE {double(middle)} / (touches - 2) END"
    )


# The learned models' mathematics (numpy, scipy) is imported when one is fitted, not when the
# table is read (by ``utmost --help``, say).


def _fit_markov(journeys: Journeys, markov_order: int) -> Fitted:
    """Each conversion split by its keys' removal effects; the totals are the chain's own
    (docs/semantics.md §9)."""
    from utmost.models.markov import markov

    chain = markov(journeys, markov_order)
    return Fitted(chain.split, _chain_totals(chain), {"markov": _explained(chain, markov_order)})


def _markov_rounds(paths: tuple[Path, ...], markov_order: int) -> Callable[[Journeys], Totals]:
    from utmost.models.markov import Chain, markov

    chain = Chain(paths, markov_order)
    return lambda journeys: _chain_totals(markov(journeys, chain=chain))


def _chain_totals(chain: Markov) -> Totals:
    return {key: (chain.credit[key], chain.revenue[key]) for key in chain.credit}


def _explained(chain: Markov, order: int) -> dict[str, Any]:
    """The Markov chain behind the credit: P, removal effects, every counted transition."""
    def state(s: Any) -> Any:
        return "start" if s == () else s if isinstance(s, str) else list(s)

    leaving: dict[Any, float] = {}
    for (a, _), n in chain.transitions.items():
        leaving[a] = leaving.get(a, 0) + n
    transitions = [
        {"from": state(a), "to": state(b), "count": n, "probability": n / leaving[a]}
        for (a, b), n in sorted(chain.transitions.items(), key=lambda item: (str(item[0][0]), str(item[0][1])))
    ]
    return {"order": order, "conversion_probability": chain.probability,
            "removal_effects": dict(sorted(chain.removal_effects.items())), "transitions": transitions}


def _fit_shapley(journeys: Journeys) -> Fitted:
    """Each conversion split by its channel set's Shapley values; the totals are their
    sums (docs/semantics.md §10)."""
    from utmost.models.shapley import shapley

    by_set = shapley(journeys)
    return Fitted(lambda path: by_set.get(frozenset(path)) or _equal(path))


def _shapley_rounds(paths: tuple[Path, ...]) -> Callable[[Journeys], Totals]:
    return _shapley_totals


def _shapley_totals(journeys: Journeys) -> Totals:
    totals: dict[str, list[float]] = {}
    from utmost.models.shapley import shapley

    splits = shapley(journeys)
    for path, converted, revenue in zip(journeys.paths, journeys.conversions, journeys.revenue):
        for key, share in splits.get(frozenset(path), {}).items():
            entry = totals.setdefault(key, [0.0, 0.0])
            entry[0] += share * converted
            entry[1] += share * revenue
    return {k: (v[0], v[1]) for k, v in totals.items()}


def _equal(path: Path) -> dict[str, float]:
    """A set no converting journey had (cannot happen for a conversion's own): equal shares."""
    return {k: 1 / len(set(path)) for k in set(path)}


_BY_POSITION = Rule(_position)
POSITION_PREFIX = "position:"
#: In the order ``--help`` lists them.
MODELS: tuple[Model, ...] = (
    Model("first_touch", "all of a conversion to its first touchpoint",
          Rule(_always(f"CASE WHEN touch_number = 1 THEN {double(1)} ELSE {double(0)} END"))),
    Model("last_touch", "all of a conversion to its last touchpoint (Mixpanel's default)",
          Rule(_always(f"CASE WHEN touch_number = touches THEN {double(1)} ELSE {double(0)} END"))),
    Model("last_non_direct", "all of a conversion to its last touchpoint that is not Direct (GA4's and "
          "Universal Analytics' last click; Direct only when nothing else touched it; with --by channel)",
          Rule(_always(f"CASE WHEN indirect_touches = 0 THEN CASE WHEN touch_number = touches THEN {double(1)} "
                       f"ELSE {double(0)} END WHEN NOT direct AND indirect_number = indirect_touches THEN {double(1)} "
                       f"ELSE {double(0)} END"), reads=frozenset({"indirect"}))),
    Model("linear", "equal shares to every touchpoint", Rule(_always(f"{double(1)} / touches"))),
    Model("u_shaped", "40% to the first touchpoint, 40% to the last, 20% shared by those between",
          _BY_POSITION, position=(40, 20, 40)),
    Model("j_shaped", "20% to the first touchpoint, 60% to the last, 20% shared by those between",
          _BY_POSITION, position=(20, 20, 60)),
    Model("inverse_j", "60% to the first touchpoint, 20% to the last, 20% shared by those between",
          _BY_POSITION, position=(60, 20, 20)),
    Model(f"{POSITION_PREFIX}F/M/L", "F% to the first touchpoint, L% to the last, M% shared by those between "
          "(percentages summing to 100)", _BY_POSITION, pattern=True),
    Model("time_decay", "shares halving with each half-life a touchpoint lies before the conversion",
          Rule(_always("decay / decay_total"), reads=frozenset({"decay"})), parameters=("half_life",)),
    Model("participation", "1 to every key that touched the conversion, however often",
          Rule(_always(double(1)), combine="max")),
    Model("markov", "removal effects in a Markov chain over every journey, converting or not",
          Learned(_fit_markov, _markov_rounds), parameters=("markov_order",)),
    Model("shapley", "Shapley values of the channel sets' conversion rates",
          Learned(_fit_shapley, _shapley_rounds)),
    Model("incremental", "the conversions each key caused, beyond a (baseline) of those that would have happened "
          "anyway: an additive hazard over every person's time, touched or not", Caused(),
          parameters=("lookback", "min_lag")),
)
#: Every model a name picks: what "every model" means (``utmost journey``, the dashboard).
NAMES = tuple(m.name for m in MODELS if not m.pattern)
_NAMED = {m.name: m for m in MODELS if not m.pattern}
_POSITION_FAMILY = next(m for m in MODELS if m.pattern)


def parse_model(text: str) -> Model:
    """A model name from :data:`MODELS`, or ``position:F/M/L`` (percentages summing to 100)."""
    name = text.strip()
    if name in _NAMED:
        return _NAMED[name]
    if name.startswith(POSITION_PREFIX):
        parts = name.removeprefix(POSITION_PREFIX).split("/")
        try:
            weights = tuple(float(p) for p in parts)
        except ValueError:
            weights = ()
        if len(weights) != 3 or not all(0 <= w <= 100 for w in weights) or abs(sum(weights) - 100) > 1e-9:
            raise InputError(f"model {name!r}: position:F/M/L needs three percentages that sum to 100")
        return Model(name, _POSITION_FAMILY.meaning, _BY_POSITION, position=weights)  # type: ignore[arg-type]
    choices = [*NAMES, _POSITION_FAMILY.name]
    listed = ", ".join(choices)
    raise InputError(f"unknown model {name!r}{did_you_mean(name, choices, f'. Models: {listed}.')}")
