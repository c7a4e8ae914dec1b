"""``utmost evaluate`` end to end: events written by hand and imported with ``utmost import``, a
truth file written by hand, scored through the real command on a real DuckDB file
(docs/semantics.md §20), directly and through the `utmost serve` that holds the file.

By ``utm_source``, in January 2024 (UTC):

    p1  day 1 lands newsletter; day 2 lands ads, buys 100
    p2  day 3 lands ads, buys 50
    p3  day 4 lands social, buys 20
    p4  day 5 buys 10, no touchpoint              → (none)
    p5  day 6 lands social, buys nothing
    p6  day 7 lands newsletter, buys 30

The truth: 5 conversions, 1.5 of them would have happened anyway, so the channels caused 3.5.
Shapley: ads 1, newsletter 1.5, social 0.5, and tv 0.5 — tv was only ever seen (views), never
clicked, so no landing carries it. Truth shares: ads 2⁄7, newsletter 3⁄7, social 1⁄7, tv 1⁄7.

last_touch credits ads 2, newsletter 1, social 1, (none) 1: shares ½, ¼, ¼, 0 over the four
channel keys. Gaps: ads 3⁄14, newsletter 5⁄28, social 3⁄28, tv 4⁄28; Σ 18⁄28 = 9⁄14, so
TVD = 50 × 9⁄14 = 32.142857… pp, the largest gap ads' 3⁄14 = 21.428571… pp. Ranks of the credit
(2, 1, 1, 0) are (4, 2.5, 2.5, 1), of the truth (1, 1.5, 0.5, 0.5) (3, 4, 1.5, 1.5): ρ = 2.25 ÷ 4.5
= 0.5. Inflation: 4 credited to channels ÷ 3.5 caused = 8⁄7.

first_touch credits newsletter 2, ads 1, social 1: gaps 1⁄28, 2⁄28, 3⁄28, 4⁄28, TVD = 50 × 10⁄28
= 17.857142… pp, the largest tv's 1⁄7 = 14.285714… pp; ρ = 3.75 ÷ 4.5 = ⅚. linear credits
newsletter 1.5, ads 1.5, social 1: gaps 5⁄56, 3⁄56, 6⁄56, 8⁄56, TVD = 50 × 22⁄56 = 19.642857… pp.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from test_access import served
from test_cli import utmost

DAY = 86_400
T0 = 1_704_067_200  # 2024-01-01 00:00:00 UTC


def events() -> list[dict]:
    def event(name: str, day: float, who: str, **properties: object) -> dict:
        time = T0 + round(day * DAY)
        return {"event": name, "properties": {"time": time, "distinct_id": who,
                                              "$insert_id": f"{who}-{time}-{name[:4].lower()}", **properties}}

    minute = 60 / DAY
    return [
        event("Page View", 1, "p1", utm_source="newsletter"), event("Page View", 2, "p1", utm_source="ads"),
        event("Purchase", 2 + minute, "p1", amount=100),
        event("Page View", 3, "p2", utm_source="ads"), event("Purchase", 3 + minute, "p2", amount=50),
        event("Page View", 4, "p3", utm_source="social"), event("Purchase", 4 + minute, "p3", amount=20),
        event("Purchase", 5, "p4", amount=10),
        event("Page View", 6, "p5", utm_source="social"),
        event("Page View", 7, "p6", utm_source="newsletter"), event("Purchase", 7 + minute, "p6", amount=30),
    ]


TRUTH = {
    "format": "utmost-truth/1", "scenario": "by hand", "seed": 1, "persons": 6, "conversion": "Purchase",
    "revenue_property": "amount", "by": ["utm_source"], "start": "2024-01-01", "end": "2024-01-31",
    "conversions": 5, "revenue": 210.0, "baseline": 1.5, "baseline_revenue": 40.0,
    "channels": [
        {"key": {"utm_source": "ads"}, "removal": 0.8, "shapley": 1.0, "clicks": 3},
        {"key": {"utm_source": "newsletter"}, "removal": 1.5, "shapley": 1.5, "clicks": 2},
        {"key": {"utm_source": "social"}, "removal": 0.5, "shapley": 0.5, "clicks": 2},
        {"key": {"utm_source": "tv"}, "removal": 0.5, "shapley": 0.5, "views": 12},
    ],
}


def exactly(value: float) -> float:
    """``value`` as utmost prints every number: 15 significant digits (docs/semantics.md §12)."""
    return float(f"{value:.15g}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    found = tmp_path_factory.mktemp("evaluate")
    (found / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events()))
    (found / "truth.json").write_text(json.dumps(TRUTH, indent=2))
    done = utmost("import", "events.jsonl", "--db", "e.duckdb", cwd=found)
    assert done.returncode == 0 and "imported 11 · duplicates 0 · rejected 0" in done.stdout, done.stderr
    return found


def evaluate(folder: Path, *args: str, status: int = 0) -> str:
    done = utmost("evaluate", "--db", "e.duckdb", *args, cwd=folder)
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout if status == 0 else done.stderr


def test_json_holds_the_hand_worked_scores_exactly(folder):
    answer = json.loads(evaluate(folder, "--truth", "truth.json", "--models", "last_touch,first_touch,linear",
                                 "--format", "json"))
    assert (answer["conversion"], answer["by"], answer["models"]) == (
        "Purchase", ["utm_source"], ["last_touch", "first_touch", "linear"])
    assert answer["truth"] == {"scenario": "by hand", "seed": 1, "conversions": 5, "baseline": 1.5, "caused": 3.5}
    assert answer["database"] == {"conversions": 5, "converted_without_touchpoints": 1}
    scores = {s["model"]: s for s in answer["scores"]}
    assert [s["model"] for s in answer["scores"]] == ["first_touch", "linear", "last_touch"]  # closest first
    assert scores["last_touch"] == {
        "model": "last_touch", "tvd_pp": exactly(50 * 9 / 14), "max_error_pp": exactly(100 * 3 / 14),
        "max_error_channel": {"utm_source": "ads"}, "rank_correlation": 0.5, "inflation": exactly(8 / 7),
        "credited": 4.0, "none": 1.0, "baseline": 0.0, "why_null": {},
    }
    assert scores["last_touch"]["tvd_pp"] == 32.1428571428571 and scores["last_touch"]["max_error_pp"] == 21.4285714285714
    first = scores["first_touch"]
    assert (first["tvd_pp"], first["max_error_pp"], first["max_error_channel"], first["rank_correlation"]) == (
        17.8571428571429, 14.2857142857143, {"utm_source": "tv"}, 0.833333333333333)
    assert scores["linear"]["tvd_pp"] == exactly(50 * 22 / 56) == 19.6428571428571
    tv = next(c for c in answer["channels"] if c["key"] == {"utm_source": "tv"})
    assert tv == {"key": {"utm_source": "tv"}, "in_truth": True, "seen": False, "shapley": 0.5, "removal": 0.5,
                  "truth_share": exactly(1 / 7), "clicks": 0, "views": 12,
                  "credit": {"last_touch": 0.0, "first_touch": 0.0, "linear": 0.0},
                  "share": {"last_touch": 0.0, "first_touch": 0.0, "linear": 0.0}}
    assert [c["key"]["utm_source"] for c in answer["channels"]] == ["newsletter", "ads", "social", "tv"]
    assert answer["channels"][1]["credit"] == {"last_touch": 2.0, "first_touch": 1.0, "linear": 1.5}


def test_every_model_but_participation_by_default(folder):
    answer = json.loads(evaluate(folder, "--truth", "truth.json", "--format", "json"))
    assert answer["models"] == ["first_touch", "last_touch", "last_non_direct", "linear", "u_shaped", "j_shaped",
                                "inverse_j", "time_decay", "markov", "shapley", "incremental"]
    assert {s["model"] for s in answer["scores"]} == set(answer["models"])
    by_tvd = [s["tvd_pp"] for s in answer["scores"]]
    assert by_tvd == sorted(by_tvd)


def test_the_table_rounds_for_people_and_sorts_by_tvd(folder):
    printed = evaluate(folder, "--truth", "truth.json", "--models", "last_touch,first_touch,linear,participation")
    lines = [line.split() for line in printed.splitlines()]
    assert lines[0] == ["model", "TVD", "(pp)", "largest", "error", "(pp)", "on", "utm_source", "rank", "ρ",
                        "inflation", "(none)", "(baseline)"]
    # participation: newsletter 2, ads 2, social 1; shares 2⁄5, 2⁄5, 1⁄5, 0; gaps 1⁄35, 4⁄35, 2⁄35, 5⁄35:
    # TVD 50 × 12⁄35 = 17.14 pp, the closest split here, but 5 credited for 3.5 caused: 1.43×.
    assert lines[1:5] == [["participation", "17.1", "14.3", "tv", "0.89", "1.43×", "1.00", "·"],
                          ["first_touch", "17.9", "14.3", "tv", "0.83", "1.14×", "1.00", "·"],
                          ["linear", "19.6", "14.3", "tv", "0.89", "1.14×", "1.00", "·"],
                          ["last_touch", "32.1", "21.4", "ads", "0.50", "1.14×", "1.00", "·"]]
    assert "1.50 would have happened anyway, 3.50 caused by the channels" in " ".join(printed.split())
    channels = lines[lines.index(["utm_source", "truth", "removal", "last_touch", "first_touch", "linear",
                                  "participation"]) + 1:]
    assert channels[:5] == [["newsletter", "1.50", "1.50", "1.00", "2.00", "1.50", "2.00"],
                            ["ads", "1.00", "0.80", "2.00", "1.00", "1.50", "2.00"],
                            ["social", "0.50", "0.50", "1.00", "1.00", "1.00", "1.00"],
                            ["tv", "0.50", "0.50", "·", "·", "·", "·", "no", "landing"],
                            ["total", "3.50", "4.00", "4.00", "4.00", "5.00"]]


def test_the_question_takes_attributes_options(folder):
    answer = json.loads(evaluate(folder, "--truth", "truth.json", "--models", "first_touch", "--scope", "session",
                                 "--format", "json"))
    # Session scope: p1's newsletter landing was a day before the purchase, in another session.
    assert answer["channels"][0]["credit"] == {"first_touch": 1.0}
    assert answer["scores"][0]["tvd_pp"] == exactly(50 * 18 / 28)  # the same split as last_touch's


@pytest.mark.parametrize(("args", "message"), [
    (["--truth", "missing.json"], "error: missing.json: cannot read the truth file (No such file or directory)"),
    (["--truth", "events.jsonl"], "error: events.jsonl: not a truth file written by `utmost simulate`: Object "
                                  "contains unknown field `event`"),
    (["--truth", "garbled.json"], "error: garbled.json: not JSON: "),
    (["--truth", "wrong-format.json"], "error: wrong-format.json: format 'utmost-truth/0'; this utmost reads "
                                       "'utmost-truth/1'"),
    (["--truth", "no-shapley.json"], "error: no-shapley.json: not a truth file written by `utmost simulate`: "
                                     "Object missing required field `shapley` - at `$.channels[0]`"),
    (["--truth", "elsewhere.json"], "error: no landing in project 'default' carries any of the truth's channels "
                                    "by utm_source (radio, tv): import the events of this simulation"),
    (["--truth", "signup.json"], "error: conversion event 'Signup' never occurs; most frequent events: "
                                 "Page View, Purchase"),
    (["--truth", "truth.json", "--by", "utm_medium"], "error: no such option '--by'"),
    (["--truth", "truth.json", "--models", "lienar"], "error: unknown model 'lienar'. Did you mean linear?"),
    (["--truth", "truth.json", "--project", "nope"], "error: no project 'nope'"),
])
def test_errors_are_one_line_with_status_2(folder, args, message):
    channels = TRUTH["channels"]
    (folder / "wrong-format.json").write_text(json.dumps({**TRUTH, "format": "utmost-truth/0"}))
    (folder / "no-shapley.json").write_text(json.dumps({**TRUTH, "channels": [{"key": {"utm_source": "a"},
                                                                               "removal": 1.0}]}))
    (folder / "elsewhere.json").write_text(json.dumps({**TRUTH, "channels": [
        {**channels[0], "key": {"utm_source": "radio"}}, {**channels[3]}]}))
    (folder / "signup.json").write_text(json.dumps({**TRUTH, "conversion": "Signup"}))
    (folder / "garbled.json").write_text(json.dumps(TRUTH)[:-20])
    shown = evaluate(folder, *args, status=2)
    assert shown.startswith(message), shown
    assert len(shown.strip().splitlines()) == 1


def test_through_the_server_holding_the_file_the_same_bytes(folder):
    commands = [["--truth", "truth.json", "--models", "last_touch,markov,shapley"],
                ["--truth", "truth.json", "--format", "json", "--models", "linear,time_decay", "--half-life", "1d"],
                ["--truth", "signup.json"]]
    (folder / "signup.json").write_text(json.dumps({**TRUTH, "conversion": "Signup"}))

    def run() -> list[tuple[int, str, str]]:
        found = [utmost("evaluate", "--db", "e.duckdb", *args, cwd=folder) for args in commands]
        return [(done.returncode, done.stdout, done.stderr) for done in found]

    direct = run()
    assert [status for status, _, _ in direct] == [0, 0, 2]
    with served(folder / "e.duckdb"):
        assert run() == direct
