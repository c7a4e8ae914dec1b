"""A simulated world's parameters: typed, read from TOML, checked, each error naming its file and field.

A world is what ``utmost simulate`` plays (docs/semantics.md §17): persons with their organic
demand, optional in-market periods and repeat purchases, up to :data:`MAX_CHANNELS` channels and
optional synergies between pairs of them. The named scenarios are files of the same shape shipped
beside this module (``scenarios/NAME.toml``); a ``--params`` file is either a complete world or
``base = "SCENARIO"`` plus what differs (:func:`merge`).

Pure: no I/O but reading the files it is given and the package's own scenario files.

Example:
    >>> world = scenario("independent")
    >>> [channel.source for channel in world.channel]
    ['newsletter', 'facebook', 'display', 'google']
    >>> world.repeat is None and world.in_market is None
    True
"""

from __future__ import annotations

import functools
import math
import tomllib
from importlib import resources
from typing import Annotated, Any

import msgspec

from utmost.errors import InputError, did_you_mean

#: Exact Shapley values take every subset of the channels: 2^10 = 1024 at most.
MAX_CHANNELS = 10
#: The key property that names a channel in the events and in the truth.
BY = ("utm_source",)

Share = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]


class Persons(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Who the site's potential buyers are and what they buy without any ad."""

    #: Mean organic purchases per 1,000 persons per day at full demand (in market, before any purchase).
    organic: NonNegative
    #: Gamma shape of a person's organic demand: below 1, most persons have almost none.
    shape: Annotated[float, msgspec.Meta(gt=0.0)]
    #: Direct visits (no UTMs) per organic purchase: a person's daily visit hazard is this times
    #: their organic purchase hazard. Visible only; they cause nothing.
    visits: NonNegative = 0.0
    #: Median amount of a purchase, and the spread (σ of its logarithm) of the lognormal it is drawn from.
    amount: Annotated[float, msgspec.Meta(gt=0.0, le=1e6)] = 80.0
    amount_spread: Annotated[float, msgspec.Meta(ge=0.0, le=3.0)] = 0.5


class InMarket(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Each person is in or out of the market, a two-state chain from day to day."""

    enter: Share  # daily probability that a person out of the market enters it
    leave: Share  # daily probability that a person in the market leaves it
    out: Share  # demand out of the market, as a share of full demand (ads' effects too)


class Repeat(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Purchases after the first. Without this table a person buys at most once."""

    refractory: Annotated[int, msgspec.Meta(ge=0, le=10_000)]  # days after a purchase with no purchase
    factor: NonNegative  # demand from then on, times what it was before any purchase (0: no repeat)


class Channel(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A channel: who it reaches, how often, the share of its exposures clicked, and their effect."""

    source: Name  # utm_source of its landings: the channel's name
    medium: Name  # utm_medium
    campaign: Name  # utm_campaign
    reach: Share  # share of persons in its audience
    rate: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]  # exposures per audience member per day, on average
    ctr: Share  # share of exposures that are clicks (landings); the rest are unclicked views
    #: Extra purchases per 1,000 exposures at full demand: the area under one exposure's decaying
    #: effect, before saturation.
    lift: NonNegative = 0.0
    half_life: Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)] = 0.0  # days; 0: the effect lasts its day
    saturation: NonNegative = 0.0  # s: an adstock a acts as (1 − e^(−s·a))/s exposures; 0: as a
    targeting: Annotated[float, msgspec.Meta(ge=0.0, le=4.0)] = 0.0  # exposures ∝ current organic demand^this
    harvest: Share = 0.0  # share of purchases with a click of this channel minutes before (no effect)


class Synergy(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Extra effect while both channels act: ``strength`` times the smaller of their two effects."""

    channels: Annotated[list[Name], msgspec.Meta(min_length=2, max_length=2)]
    strength: Annotated[float, msgspec.Meta(ge=-1.0)]


class World(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A whole world. ``in_market`` and ``repeat`` are optional; ``channel`` lists at most 10."""

    persons: Persons
    channel: Annotated[list[Channel], msgspec.Meta(max_length=MAX_CHANNELS)]
    description: str = ""
    in_market: InMarket | None = None
    repeat: Repeat | None = None
    synergy: list[Synergy] = []

    def index(self, source: str) -> int:
        """The position of the channel named ``source`` (its utm_source)."""
        return [channel.source for channel in self.channel].index(source)


#: Keys of a ``--params`` file that are not parameters: the scenario it starts from, the channels it removes.
BASE, DROP = "base", "drop"


@functools.cache
def scenario_names() -> tuple[str, ...]:
    """The shipped scenarios, by name."""
    folder = resources.files(__package__).joinpath("scenarios")
    return tuple(sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir()
                        if entry.name.endswith(".toml")))


def scenario(name: str) -> World:
    """The shipped scenario ``name``, or an :class:`InputError` suggesting the one meant."""
    return to_world(scenario_data(name), f"scenario {name}")


def scenario_data(name: str, seen: tuple[str, ...] = (), where: str | None = None) -> dict[str, Any]:
    """Scenario ``name`` as plain data, its ``base`` chain resolved; ``where`` names the file
    whose ``base`` it is, for errors."""
    if name not in scenario_names():
        hint = did_you_mean(name, scenario_names(), " (`utmost simulate --list` lists them)")
        raise InputError(f"{where + ': base: ' if where else ''}unknown scenario {name!r}{hint}")
    if name in seen:
        raise InputError(f"scenario {name}: its base chain loops ({' -> '.join((*seen, name))})")
    text = resources.files(__package__).joinpath("scenarios", f"{name}.toml").read_text(encoding="utf-8")
    return resolve(parse_toml(text, f"scenario {name}"), f"scenario {name}", (*seen, name))


def parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{where}: not TOML: {error}") from None


def resolve(data: dict[str, Any], where: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """``data`` as a complete world's data: merged over its ``base`` scenario when it names one."""
    base = data.get(BASE)
    if base is None:
        if DROP in data:
            raise InputError(f"{where}: `{DROP}` needs a `{BASE}` scenario to drop channels from")
        return data
    if not isinstance(base, str):
        raise InputError(f"{where}: `{BASE}` must be a scenario's name, got {base!r}")
    return merge(scenario_data(base, seen, where), data, where)


def merge(base: dict[str, Any], changes: dict[str, Any], where: str) -> dict[str, Any]:
    """``base`` with ``changes``: a table's keys replace the base's one by one; a ``[[channel]]``
    whose ``source`` is a base channel's changes that channel's fields, another is added;
    ``drop = [SOURCE, …]`` removes channels; ``synergy``, if given, replaces the base's list.

    >>> merged = merge({"persons": {"organic": 1, "shape": 2}, "channel": [{"source": "a", "lift": 1}]},
    ...                {"base": "x", "persons": {"shape": 3}, "channel": [{"source": "a", "lift": 2}]}, "f")
    >>> merged["persons"], merged["channel"]
    ({'organic': 1, 'shape': 3}, [{'source': 'a', 'lift': 2}])
    """
    merged = {key: value for key, value in base.items() if key != DROP}
    for key, value in changes.items():
        if key in (BASE, DROP, "channel"):
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    channels = [dict(channel) for channel in base.get("channel", [])]
    drop = changes.get(DROP, [])
    if not isinstance(drop, list) or not all(isinstance(source, str) for source in drop):
        raise InputError(f"{where}: `{DROP}` must be a list of channels' sources")
    sources = [str(channel.get("source")) for channel in channels]
    for source in drop:
        if source not in sources:
            raise InputError(f"{where}: drop: no channel {source!r} in the base{did_you_mean(source, sources)}")
    channels = [channel for channel in channels if channel.get("source") not in drop]
    added = changes.get("channel", [])
    if not isinstance(added, list) or not all(isinstance(channel, dict) for channel in added):
        raise InputError(f"{where}: `channel` must be an array of tables ([[channel]])")
    for change in added:
        same = [channel for channel in channels if channel.get("source") == change.get("source")]
        if same:
            same[0].update(change)
        else:
            channels.append(dict(change))
    merged["channel"] = channels
    return merged


def to_world(data: dict[str, Any], where: str) -> World:
    """``data`` (a resolved world) as a checked :class:`World`."""
    try:
        world = msgspec.convert(data, World)
    except msgspec.ValidationError as error:
        raise InputError(f"{where}: {str(error).replace('`$.', '`').replace('`$`', 'the file')}") from None
    check(world, where)
    return world


def check(world: World, where: str) -> None:
    """What the types cannot say: names that are unique and known, harvest shares that fit."""
    sources = [channel.source for channel in world.channel]
    for source in sources:
        if sources.count(source) > 1:
            raise InputError(f"{where}: channel {source!r} is listed twice (a channel is named by its source)")
    for n, synergy in enumerate(world.synergy):
        a, b = synergy.channels
        for name in (a, b):
            if name not in sources:
                raise InputError(f"{where}: synergy[{n}]: no channel {name!r}{did_you_mean(name, sources)}")
        if a == b:
            raise InputError(f"{where}: synergy[{n}]: a synergy is between two different channels")
        pair = {a, b}
        if any(set(other.channels) == pair for other in world.synergy[:n]):
            raise InputError(f"{where}: synergy[{n}]: {a} and {b} already have a synergy")
    harvest = math.fsum(channel.harvest for channel in world.channel)
    if harvest > 1.0 + 1e-12:
        raise InputError(f"{where}: the channels' harvest shares add up to {harvest:g}, more than 1 "
                         f"(each purchase is preceded by at most one harvest click)")
    if world.in_market is not None and world.in_market.enter + world.in_market.leave == 0:
        raise InputError(f"{where}: in_market: enter and leave cannot both be 0 (no one would ever change)")


def load_params(text: str, where: str, scenario_name: str | None = None) -> World:
    """A ``--params`` file's world. Without ``base`` it is complete, unless ``scenario_name`` is
    given: then it changes that scenario. A ``base`` that differs from ``scenario_name`` is an error."""
    data = parse_toml(text, where)
    base = data.get(BASE)
    if scenario_name is not None:
        if base is not None and base != scenario_name:
            raise InputError(f"{where}: its base is {base!r}, but the scenario named is {scenario_name!r}")
        data = {**data, BASE: scenario_name}
    return to_world(resolve(data, where), where)


def describe(name: str) -> str:
    """A scenario's one-line description."""
    return scenario(name).description.strip().split("\n")[0]
