"""``utmost simulate`` end to end: through the real command, into a real DuckDB file by ``utmost import``."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from utmost.engine import read_truth
from utmost.simulation import scenario, scenario_names, simulate
from utmost.simulation.draw import draw
from utmost.store import Store


def utmost(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "utmost", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def events(folder: Path) -> list[dict]:
    return [orjson.loads(line) for line in gzip.decompress((folder / "events.jsonl.gz").read_bytes()).splitlines()]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """The `all` scenario, small, with a holdout: one run that several tests read."""
    folder = tmp_path_factory.mktemp("sim")
    result = utmost("simulate", "all", "--persons", "4000", "--days", "60", "--seed", "3", "--out", "out",
                    "--holdout", "newsletter=0.25", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "conversions" in result.stdout and "brand_search" in result.stdout
    return folder


def test_the_events_import_and_hold_the_truths_conversions(simulated: Path):
    truth = read_truth(simulated / "out" / "truth.json")
    result = utmost("import", "out/events.jsonl.gz", "--db", "sim.duckdb", "--strict", cwd=simulated)
    assert result.returncode == 0, result.stderr
    assert "rejected 0" in result.stdout and "duplicates 0" in result.stdout
    with Store(simulated / "sim.duckdb") as store:
        reader = store.reader()
        count, revenue = reader.execute(
            "SELECT count(*), sum(CAST(json_extract(properties, '$.amount') AS DECIMAL(18, 2))) "
            "FROM events WHERE event = 'Purchase'").fetchone()
        landings = dict(reader.execute(
            "SELECT utm_source, count(*) FROM events WHERE utm_source IS NOT NULL GROUP BY 1").fetchall())
    assert truth.conversions > 0 and count == truth.conversions
    assert float(revenue) == pytest.approx(truth.revenue, abs=0.005)
    assert landings == {c.key["utm_source"]: c.clicks for c in truth.channels if c.clicks}
    assert truth.format == "utmost-truth/1" and truth.by == ["utm_source"] and truth.conversion == "Purchase"
    assert (truth.start, truth.end, truth.persons, truth.seed) == ("2026-01-01", "2026-03-01", 4000, 3)


def test_the_events_are_what_a_site_records(simulated: Path):
    lines = events(simulated / "out")
    times = [e["properties"]["time"] for e in lines]
    assert times == sorted(times)
    assert {e["event"] for e in lines} == {"Page View", "Purchase"}
    assert len({e["properties"]["$insert_id"] for e in lines}) == len(lines)
    persons = {e["properties"]["distinct_id"] for e in lines}
    assert len(persons) < 4000 / 2  # most persons do nothing visible
    # Every purchase has a page view of the same person at most ten minutes before it.
    last_page: dict[str, int] = {}
    for e in lines:
        p = e["properties"]
        if e["event"] == "Page View":
            last_page[p["distinct_id"]] = p["time"]
        else:
            assert 60 <= p["time"] - last_page[p["distinct_id"]] <= 600
            assert p["amount"] > 0 and p["currency"] == "EUR"


def test_the_holdout_counts_agree_with_the_events(simulated: Path):
    rows = list(csv.DictReader((simulated / "out" / "experiments.csv").read_text().splitlines()))
    assert [list(row) for row in rows] == [["utm_source", "start", "end", "test_persons", "test_conversions",
                                            "control_persons", "control_conversions"]]
    row = rows[0]
    assert (row["utm_source"], row["start"], row["end"]) == ("newsletter", "2026-01-01", "2026-03-01")
    # Who was held out is the simulator's draw; what they did is in the events.
    held = draw(scenario("all"), 4000, 60, 3, {"newsletter": 0.25}).exposures[0].held_out
    lines = events(simulated / "out")
    buyers = {int(e["properties"]["distinct_id"].removeprefix("person-")) for e in lines if e["event"] == "Purchase"}
    clicked = {int(e["properties"]["distinct_id"].removeprefix("person-")) for e in lines
               if e["properties"].get("utm_source") == "newsletter"}
    assert not any(held[p] for p in clicked)
    assert int(row["control_persons"]) == held.sum() and int(row["test_persons"]) == 4000 - held.sum()
    assert int(row["control_conversions"]) == sum(held[p] for p in buyers)
    assert int(row["test_conversions"]) == sum(not held[p] for p in buyers)


def test_the_loop_closes_through_experiments_and_incremental(simulated: Path):
    """Events and the holdout test import, and the incremental model answers on them with the test."""
    for args in (["import", "out/events.jsonl.gz"], ["experiments", "import", "out/experiments.csv"]):
        result = utmost(*args, "--db", "loop.duckdb", cwd=simulated)
        assert result.returncode == 0, result.stderr
    shown = utmost("experiments", "show", "--db", "loop.duckdb", "--format", "json", cwd=simulated)
    assert shown.returncode == 0 and "newsletter" in shown.stdout, shown.stderr
    answer = utmost("attribute", "--db", "loop.duckdb", "--conversion", "Purchase", "--models", "incremental",
                    "--format", "json", cwd=simulated)
    assert answer.returncode == 0, answer.stderr
    rows = orjson.loads(answer.stdout)
    total = sum(row["conversions"] for row in (rows["rows"] if isinstance(rows, dict) else rows))
    assert total == pytest.approx(read_truth(simulated / "out" / "truth.json").conversions)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_ones(tmp_path: Path):
    for folder, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        result = utmost("simulate", "harvest", "--persons", "1500", "--days", "30", "--seed", seed, "--out", folder,
                        cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    for name in ("events.jsonl.gz", "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()
    assert not (tmp_path / "a" / "experiments.csv").exists()
    truth = read_truth(tmp_path / "a" / "truth.json")
    brand = [c for c in truth.channels if c.key == {"utm_source": "brand_search"}][0]
    assert (brand.removal, brand.shapley, brand.revenue_shapley) == (0.0, 0.0, 0.0) and brand.clicks > 0


def test_list_names_every_scenario(tmp_path: Path):
    result = utmost("simulate", "--list", cwd=tmp_path)
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == list(scenario_names())
    assert set(listed) >= {"independent", "decay", "saturation", "synergy", "targeting", "harvest", "repeat",
                           "in_market", "all"}


def test_params_change_a_scenario(tmp_path: Path):
    (tmp_path / "more_email.toml").write_text('base = "independent"\ndrop = ["display"]\n'
                                              '[[channel]]\nsource = "newsletter"\nlift = 3.0\n')
    result = utmost("simulate", "--params", "more_email.toml", "--persons", "500", "--days", "10", "--out", "o",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    truth = read_truth(tmp_path / "o" / "truth.json")
    assert truth.scenario == "more_email"
    assert [c.key["utm_source"] for c in truth.channels] == ["newsletter", "facebook", "google"]
    assert truth.parameters["world"]["channel"][0]["lift"] == 3.0


HOSTILE = {
    "unknown field": ('base = "all"\n[persons]\ncolour = 1\n', "unknown field `colour` - at `persons`"),
    "negative share": ('base = "all"\n[[channel]]\nsource = "google"\nctr = -0.1\n', "`channel[3].ctr`"),
    "share above 1": ('base = "all"\n[[channel]]\nsource = "google"\nreach = 1.5\n', "<= 1.0 - at `channel[3].reach`"),
    "a string for a number": ('base = "all"\n[[channel]]\nsource = "google"\nctr = "high"\n', "got `str`"),
    "eleven channels": ('base = "all"\n' + "".join(
        f'[[channel]]\nsource = "x{i}"\nmedium = "m"\ncampaign = "c"\nreach = 0.1\nrate = 0.1\nctr = 0.1\n'
        for i in range(5)), "length <= 10 - at `channel`"),
    "a channel twice": ('[persons]\norganic = 1\nshape = 1\n' + 2 * (
        '[[channel]]\nsource = "a"\nmedium = "m"\ncampaign = "c"\nreach = 0.1\nrate = 0.1\nctr = 0.1\n'),
        "channel 'a' is listed twice"),
    "missing persons": ('[[channel]]\nsource = "a"\nmedium = "m"\ncampaign = "c"\nreach = 0.1\nrate = 0.1\n'
                        'ctr = 0.1\n', "missing required field `persons`"),
    "unknown base": ('base = "al"\n', "base: unknown scenario 'al'. Did you mean all?"),
    "synergy with no such channel": ('base = "all"\n[[synergy]]\nchannels = ["facebook", "tiktok"]\nstrength = 1\n',
                                     "synergy[0]: no channel 'tiktok'"),
    "harvest above all purchases": ('base = "all"\n[[channel]]\nsource = "newsletter"\nharvest = 0.8\n',
                                    "harvest shares add up to 1.2"),
    "drop of no channel": ('base = "all"\ndrop = ["tv"]\n', "drop: no channel 'tv'"),
    "not TOML": ("this is = not toml =\n", "not TOML"),
    "a seed in the file": ('base = "all"\nseed = 4\n', "unknown field `seed`"),
    "a name a URL would mangle": ('base = "all"\n[[channel]]\nsource = "new&one"\n', "`channel[6].source`"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_params_are_one_line_of_error(tmp_path: Path, case: str):
    text, expected = HOSTILE[case]
    (tmp_path / "p.toml").write_text(text)
    result = utmost("simulate", "--params", "p.toml", "--persons", "10", "--out", "o", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr, result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["all", "--holdout", "tiktok=0.1"], "--holdout: no channel 'tiktok'"),
    (["all", "--holdout", "newsletter=1.5"], "between 0 and 1"),
    (["all", "--holdout", "newsletter"], "expected CHANNEL=SHARE"),
    (["all", "--persons", "0"], "--persons must be between 1"),
    (["all", "--days", "0"], "--days must be between 1"),
    (["repat"], "unknown scenario 'repat'. Did you mean repeat?"),
    ([], "name a scenario"),
    (["--params", "missing.toml"], "missing.toml: cannot read the parameters"),
])
def test_bad_options_are_one_line_of_error(tmp_path: Path, args: list[str], expected: str):
    result = utmost("simulate", *args, "--out", "o", cwd=tmp_path)
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "o").exists()


def test_a_hundred_thousand_persons_in_under_a_minute(tmp_path: Path):
    """The issue's bound, for the richest scenario, truth and writing included (measured: ~8 s)."""
    started = time.perf_counter()
    simulation = simulate(scenario("all"), "all", tmp_path, persons=100_000, days=90, seed=1)
    assert time.perf_counter() - started < 60
    assert simulation.truth.conversions == simulation.written.purchases
