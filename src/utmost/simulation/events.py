"""The simulated world as it happened, as a Mixpanel export: what ``utmost import`` reads.

Only what a site sees is written (docs/semantics.md §17): a ``Page View`` for each click of a
channel (a landing whose ``$current_url`` carries its UTMs), for each direct visit and before each
purchase, and the ``Purchase`` itself with its ``amount``. Unclicked views write nothing, and most
persons nothing at all. Times are whole seconds; the file is in time order and byte-identical for
the same world, persons, days and seed (gzip without a timestamp).

Within a day: clicks fall in its first :data:`CLICK_HOURS` hours; a purchase comes at least
:data:`AFTER_CLICK` after the person's last click of the day (or that long after midnight), its
page view one to ten minutes before it, and a harvest click one to five minutes before that page
view, so everything a purchase's day shows of a channel precedes it.
"""

from __future__ import annotations

import datetime
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from utmost.simulation.draw import EVENTS, HARVEST, VISITS, Draws, generator, uniforms
from utmost.simulation.world import World

START = datetime.date(2026, 1, 1)
SITE = "https://shop.example"
CONVERSION = "Purchase"
REVENUE = "amount"
CURRENCY = "EUR"
DAY = 86_400
CLICK_HOURS = 22
AFTER_CLICK = 20 * 60
PAGE_BEFORE_PURCHASE = (60, 600)
HARVEST_BEFORE_PAGE = (60, 300)

# What each row of the event table is; also the order of events of one person at one second.
HARVEST_CLICK, CLICK, VISIT, CHECKOUT, PURCHASE = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Written:
    """What the events file holds."""

    events: int
    clicks: list[int]  # per channel: its landings, harvest clicks included
    visible: int  # persons with at least one event
    purchases: int


def start_epoch(start: datetime.date = START) -> int:
    return int(datetime.datetime(start.year, start.month, start.day, tzinfo=datetime.UTC).timestamp())


def events_of(world: World, draws: Draws, purchases: np.ndarray) -> dict[str, np.ndarray]:
    """The world's events as columns, in the file's order: time (epoch s), person, kind, channel
    (−1: none), cents. ``purchases`` are (person, day, cents) rows."""
    table = event_table(world, draws, purchases)
    order = np.lexsort((table["kind"], table["person"], table["time"]))
    return {name: column[order] for name, column in table.items()}


def written(world: World, table: dict[str, np.ndarray]) -> Written:
    """What :func:`write_events` writes of ``table``."""
    landing = table["kind"] <= CLICK
    clicks = np.bincount(table["channel"][landing], minlength=len(world.channel)).tolist()
    return Written(int(table["time"].size), clicks, int(np.unique(table["person"]).size),
                   int(np.count_nonzero(table["kind"] == PURCHASE)))


def event_table(world: World, draws: Draws, purchases: np.ndarray) -> dict[str, np.ndarray]:
    """Every event as columns: time (epoch s), person, kind, channel (−1: none), cents."""
    rng = generator(draws.seed, EVENTS)
    epoch = start_epoch()
    parts = [_clicks(draws, rng, epoch), _visits(world, draws, epoch)]
    parts += _purchases(world, draws, rng, epoch, purchases, parts[0])
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _columns(time: np.ndarray, person: np.ndarray, kind: int, channel: np.ndarray | int = -1,
             cents: np.ndarray | int = 0) -> dict[str, np.ndarray]:
    n = time.size
    return {"time": time.astype(np.int64), "person": person.astype(np.int64),
            "kind": np.full(n, kind, dtype=np.int8), "channel": np.broadcast_to(channel, n).astype(np.int64),
            "cents": np.broadcast_to(cents, n).astype(np.int64)}


def _clicks(draws: Draws, rng: np.random.Generator, epoch: int) -> dict[str, np.ndarray]:
    """A landing per click, at a second of the day's first CLICK_HOURS hours."""
    persons, days, channels = [], [], []
    for index, exposures in enumerate(draws.exposures):
        times = exposures.click_counts
        persons.append(np.repeat(exposures.persons[exposures.click_members], times))
        days.append(np.repeat(exposures.click_days, times))
        channels.append(np.full(int(times.sum()), index))
    person, day = np.concatenate([np.zeros(0, np.int64), *persons]), np.concatenate([np.zeros(0, np.int64), *days])
    second = rng.integers(0, CLICK_HOURS * 3600, person.size)
    return _columns(epoch + day * DAY + second, person, CLICK, np.concatenate([np.zeros(0, np.int64), *channels]))


def _visits(world: World, draws: Draws, epoch: int) -> dict[str, np.ndarray]:
    """Direct visits: on a day, with probability 1 − e^(−visits · demand · in-market), at any second."""
    rng = generator(draws.seed, VISITS)
    persons, days = [], []
    visits = world.persons.visits
    for today in range(draws.days):
        u = rng.random(draws.persons)
        if visits > 0:
            hazard = visits * draws.demand * draws.multiplier(today)
            chosen = np.flatnonzero(u < -np.expm1(-hazard))
            persons.append(chosen)
            days.append(np.full(chosen.size, today))
    person = np.concatenate([np.zeros(0, np.int64), *persons])
    day = np.concatenate([np.zeros(0, np.int64), *days])
    return _columns(epoch + day * DAY + rng.integers(0, DAY, person.size), person, VISIT)


def _purchases(world: World, draws: Draws, rng: np.random.Generator, epoch: int, purchases: np.ndarray,
               clicks: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Each purchase, its page view before it and, for a share of them, a harvest click before that."""
    person, day, cents = purchases[:, 0], purchases[:, 1], purchases[:, 2]
    earliest = _after_last_click(clicks, person, epoch + day * DAY)
    latest = epoch + (day + 1) * DAY - 1
    time = earliest + np.floor(rng.random(person.size) * (latest - earliest + 1)).astype(np.int64)
    page = time - rng.integers(*PAGE_BEFORE_PURCHASE, person.size, endpoint=True)
    found = [_columns(time, person, PURCHASE, -1, cents), _columns(page, person, CHECKOUT)]
    shares = np.array([channel.harvest for channel in world.channel])
    if shares.any() and person.size:
        u = np.empty(person.size)
        for d in np.unique(day):
            on = day == d
            u[on] = uniforms(draws.seed, HARVEST, person[on], int(d))
        channel = np.searchsorted(np.cumsum(shares), u, side="right")
        chosen = channel < shares.size
        for c in np.unique(channel[chosen]):  # a person held out of the channel never clicks it
            on = channel == c
            chosen[on] &= ~draws.exposures[c].held_out[person[on]]
        before = rng.integers(*HARVEST_BEFORE_PAGE, person.size, endpoint=True)
        found.append(_columns((page - before)[chosen], person[chosen], HARVEST_CLICK, channel[chosen]))
    return found


def _after_last_click(clicks: dict[str, np.ndarray], person: np.ndarray, midnight: np.ndarray) -> np.ndarray:
    """AFTER_CLICK after each person's last click of that day, or after midnight."""
    day_of = (clicks["time"] - start_epoch()) // DAY
    keys = clicks["person"] * (1 << 20) + day_of
    order = np.lexsort((clicks["time"], keys))
    keys, times = keys[order], clicks["time"][order]
    wanted = person * (1 << 20) + (midnight - start_epoch()) // DAY
    at = np.searchsorted(keys, wanted, side="right") - 1
    clicked = (at >= 0) & (keys[np.maximum(at, 0)] == wanted) if keys.size else np.zeros(person.size, dtype=bool)
    last = np.where(clicked, times[np.maximum(at, 0)] if keys.size else 0, midnight)
    return last + AFTER_CLICK


def write_events(path: Path, world: World, seed: int, table: dict[str, np.ndarray],
                 progress: Callable[[int], None] | None = None) -> None:
    """Write :func:`events_of`'s table to ``path`` as gzipped JSONL; ``progress`` is told the
    events written as they go."""
    landings = [_fragment(f"{SITE}/?utm_source={c.source}&utm_medium={c.medium}&utm_campaign={c.campaign}",
                          utm_source=c.source, utm_medium=c.medium, utm_campaign=c.campaign)
                for c in world.channel]
    visit = _fragment(f"{SITE}/")
    checkout = _fragment(f"{SITE}/checkout")
    done = _fragment(f"{SITE}/checkout/complete")
    block = 20_000
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out:
        columns = [table[name].tolist() for name in ("time", "person", "kind", "channel", "cents")]
        lines = []
        for index, (time, person, kind, channel, cents) in enumerate(zip(*columns)):
            head = (f'"time":{time},"distinct_id":"person-{person}","$device_id":"person-{person}",'
                    f'"$insert_id":"{seed:x}-{index:x}"')
            if kind == PURCHASE:
                lines.append(f'{{"event":"{CONVERSION}","properties":{{{head},{done},'
                             f'"{REVENUE}":{cents // 100}.{cents % 100:02d},"currency":"{CURRENCY}"}}}}\n')
            else:
                page = landings[channel] if kind <= CLICK else visit if kind == VISIT else checkout
                lines.append(f'{{"event":"Page View","properties":{{{head},{page}}}}}\n')
            if len(lines) == block:
                out.write("".join(lines).encode())
                lines = []
                if progress:
                    progress(block)
        out.write("".join(lines).encode())
        if progress:
            progress(len(lines))


def _fragment(url: str, **properties: str) -> str:
    """``"$current_url":…`` and the properties, as JSON members."""
    return orjson.dumps({"$current_url": url, **properties}).decode()[1:-1]
