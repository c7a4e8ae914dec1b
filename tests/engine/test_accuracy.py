"""Scoring a model against a simulation's truth (docs/semantics.md §20), worked by hand.

The truth: 10 conversions, 2 of which would have happened anyway (baseline), so the channels
caused 8. Shapley values: newsletter 4, ads 3, social 1 — shares ½, ⅜, ⅛.

    model        newsletter  ads  social  video  (none)  (baseline)
    last_touch        5       1     ·       2      2         ·        video: not in the truth
    incremental       3       3     1       ·      ·         3        a model with a baseline row
    nothing           ·       ·     ·       ·     10         ·        credits no channel

last_touch: its channel keys are the truth's three and video; it credits 8 to them, shares ⅝, ⅛,
0, ¼. Gaps: ⅛, ¼, ⅛, ¼ → TVD = 50 × ¾ = 37.5 pp; the largest, 25 pp, is ads' and video's: ads,
the first of equals (the truth's channels first, in its order). Spearman over (5, 1, 0, 2) and
(4, 3, 1, 0): ranks (4, 2, 1, 3) and (4, 3, 2, 1), Σd² = 6, ρ = 1 − 6·6 ÷ (4·15) = 0.4.
Inflation 8 ÷ 8 = 1.

incremental: (baseline) is no channel; it credits 7 to channels, shares 3⁄7, 3⁄7, 1⁄7. Gaps:
1⁄14, 3⁄56, 1⁄56 → Σ 1⁄7, TVD = 50⁄7 pp; largest newsletter's 1⁄14 = 50⁄7 pp too. Ranks of (3, 3,
1) are (2.5, 2.5, 1) against (3, 2, 1): ρ = 1.5 ÷ √(1.5 · 2) = √3⁄2. Inflation 7 ÷ 8 = 0.875.
"""

from __future__ import annotations

import math

import pytest

from utmost.engine.accuracy import DEFAULT_MODELS, evaluation_options, evaluation_parameters, score
from utmost.engine.models import MODELS, NAMES
from utmost.engine.truth import FORMAT, ChannelTruth, Truth
from utmost.errors import InputError


def truth(channels: list[tuple[str, float, float]], conversions: int = 10, baseline: float = 2.0,
          by: tuple[str, ...] = ("utm_source",)) -> Truth:
    return Truth(FORMAT, "hand", 7, 20, "Purchase", "amount", list(by), "2024-01-01", "2024-01-31", conversions,
                 1000.0, baseline, 200.0, [ChannelTruth({by[0]: name}, removal, shapley)
                                           for name, removal, shapley in channels])


TRUTH = truth([("newsletter", 3.5, 4.0), ("ads", 2.0, 3.0), ("social", 1.0, 1.0)])
ROWS = [
    *({"model": "last_touch", "utm_source": k, "conversions": v, "revenue": 0.0}
      for k, v in [("newsletter", 5.0), ("video", 2.0), ("(none)", 2.0), ("ads", 1.0)]),
    *({"model": "incremental", "utm_source": k, "conversions": v, "revenue": 0.0}
      for k, v in [("newsletter", 3.0), ("ads", 3.0), ("(baseline)", 3.0), ("social", 1.0)]),
    {"model": "nothing", "utm_source": "(none)", "conversions": 10.0, "revenue": 0.0},
]
MODELS_ASKED = ["last_touch", "incremental", "nothing"]


def scored() -> dict:
    scores, _ = score(ROWS, TRUTH, MODELS_ASKED, seen={("newsletter",), ("ads",), ("video",)})
    return {s.model: s for s in scores}


def test_last_touch_scores_exactly_as_worked_by_hand():
    found = scored()["last_touch"]
    assert (found.tvd_pp, found.max_error_pp, found.max_error_channel) == (37.5, 25.0, {"utm_source": "ads"})
    assert (found.rank_correlation, found.inflation) == (0.4, 1.0)
    assert (found.credited, found.none, found.baseline, found.why_null) == (8.0, 2.0, 0.0, {})


def test_a_baseline_row_is_no_channel_and_is_reported_beside_the_truths():
    found = scored()["incremental"]
    assert found.tvd_pp == found.max_error_pp == 7.14285714285714 == float(f"{50 / 7:.15g}")
    assert found.max_error_channel == {"utm_source": "newsletter"}
    assert found.rank_correlation == 0.866025403784439 == float(f"{math.sqrt(3) / 2:.15g}")
    assert (found.inflation, found.credited, found.none, found.baseline) == (0.875, 7.0, 0.0, 3.0)


def test_a_model_that_credits_no_channel_has_no_shares_and_says_why():
    found = scored()["nothing"]
    assert (found.tvd_pp, found.max_error_pp, found.max_error_channel, found.rank_correlation) == (None,) * 4
    assert (found.inflation, found.credited, found.none) == (0.0, 0.0, 10.0)
    assert found.why_null == {"tvd_pp": "the model credits no channel", "max_error_pp": "the model credits no channel",
                              "rank_correlation": "the model credits every channel alike: its credit has no ranks"}


def test_scores_are_sorted_by_tvd_the_undefined_last():
    scores, _ = score(ROWS, TRUTH, MODELS_ASKED)
    assert [s.model for s in scores] == ["incremental", "last_touch", "nothing"]


def test_channels_the_truths_and_the_credited_side_by_side():
    _, channels = score(ROWS, TRUTH, MODELS_ASKED, seen={("newsletter",), ("ads",), ("video",)})
    assert [(c.key["utm_source"], c.in_truth, c.seen, c.shapley, c.removal, c.truth_share) for c in channels] == [
        ("newsletter", True, True, 4.0, 3.5, 0.5),
        ("ads", True, True, 3.0, 2.0, 0.375),
        ("social", True, False, 1.0, 1.0, 0.125),  # no landing: in truth, credited by incremental alone
        ("video", False, True, 0.0, 0.0, 0.0),  # credited, but the truth says it caused nothing
    ]
    assert [c.credit for c in channels] == [
        {"last_touch": 5.0, "incremental": 3.0, "nothing": 0.0},
        {"last_touch": 1.0, "incremental": 3.0, "nothing": 0.0},
        {"last_touch": 0.0, "incremental": 1.0, "nothing": 0.0},
        {"last_touch": 2.0, "incremental": 0.0, "nothing": 0.0},
    ]
    assert [c.share for c in channels] == [
        {"last_touch": 0.625, "incremental": 0.428571428571429, "nothing": None},
        {"last_touch": 0.125, "incremental": 0.428571428571429, "nothing": None},
        {"last_touch": 0.0, "incremental": 0.142857142857143, "nothing": None},
        {"last_touch": 0.25, "incremental": 0.0, "nothing": None},
    ]


def test_rank_correlation_is_undefined_with_one_channel_or_a_flat_truth():
    one = score([{"model": "m", "utm_source": "a", "conversions": 3.0}], truth([("a", 1.0, 4.0)], 6), ["m"])[0][0]
    assert (one.tvd_pp, one.rank_correlation, one.why_null) == (0.0, None, {"rank_correlation": "1 channel: ranks need two"})
    assert one.inflation == 0.75
    flat = truth([("a", 1.0, 2.0), ("b", 1.0, 2.0)], 6)
    found = score([{"model": "m", "utm_source": k, "conversions": v} for k, v in [("a", 3.0), ("b", 1.0)]],
                  flat, ["m"])[0][0]
    assert found.tvd_pp == 25.0 and found.rank_correlation is None
    assert found.why_null == {"rank_correlation": "the truth's Shapley value is the same for every channel: it has no ranks"}


def test_a_truth_whose_channels_caused_nothing_has_no_shares_nor_inflation():
    found = score([{"model": "m", "utm_source": "a", "conversions": 3.0}],
                  truth([("a", 0.0, 0.0), ("b", 0.0, 0.0)], 5, 5.0), ["m"])[0][0]
    assert (found.tvd_pp, found.inflation, found.credited) == (None, None, 3.0)
    assert found.why_null["tvd_pp"] == "the truth's channels caused no conversion (their Shapley values sum to 0)"
    assert found.why_null["inflation"] == "the truth's channels caused no conversion (baseline 5 of 5)"


def test_keys_over_several_properties_and_none_filling_each():
    two = Truth(FORMAT, "hand", 7, 20, "Purchase", "amount", ["utm_source", "utm_medium"], "2024-01-01",
                "2024-01-31", 4, 0.0, 0.0, 0.0,
                [ChannelTruth({"utm_medium": "cpc", "utm_source": "g"}, 1.0, 3.0),
                 ChannelTruth({"utm_source": "g", "utm_medium": "email"}, 1.0, 1.0)])
    rows = [{"model": "m", "utm_source": s, "utm_medium": m, "conversions": v}
            for s, m, v in [("g", "cpc", 2.0), ("g", "email", 1.0), ("(none)", "(none)", 1.0)]]
    found, channels = score(rows, two, ["m"])
    assert (found[0].tvd_pp, found[0].none, found[0].inflation) == (float(f"{50 / 6:.15g}"), 1.0, 0.75)
    assert [c.key for c in channels] == [{"utm_source": "g", "utm_medium": "cpc"}, {"utm_source": "g", "utm_medium": "email"}]


def test_the_default_models_are_every_named_model_that_splits_conversions():
    assert DEFAULT_MODELS == tuple(n for n in NAMES if n != "participation")
    assert "participation" in NAMES and not any(m.pattern and m.name in DEFAULT_MODELS for m in MODELS)


def test_the_question_is_the_truths_and_the_rest_as_given():
    options = evaluation_options(TRUTH, lookback="7d", models="linear,linear,shapley")
    assert (options.conversion, options.by, options.revenue_property) == ("Purchase", ("utm_source",), "amount")
    assert (str(options.start), str(options.end)) == ("2024-01-01 00:00:00", "2024-02-01 00:00:00")  # --to inclusive
    assert [m.name for m in options.models] == ["linear", "shapley"] and options.lookback.days == 7
    assert [m.name for m in evaluation_options(TRUTH).models] == list(DEFAULT_MODELS)
    assert [p.name for p in evaluation_parameters()] == ["models", "lookback", "scope", "session_timeout",
                                                         "half_life", "min_lag", "split_on_key", "exclude_direct", "markov_order"]


@pytest.mark.parametrize(("change", "values", "message"), [
    ({}, {"by": "utm_medium"}, "by: utmost evaluate takes it from the truth file"),
    ({}, {"start": "2024-01-02"}, "from: utmost evaluate takes it from the truth file"),
    ({}, {"ci": 0.9}, "ci: utmost evaluate has no intervals"),
    ({}, {"models": "lienar"}, "unknown model 'lienar'. Did you mean linear?"),
    ({"start": "January"}, {}, "truth.json: from: 'January' is not a date"),
    ({"by": []}, {}, "truth.json: by: name at least one property"),
    ({"baseline": math.inf}, {}, "truth.json: baseline is inf, not a finite number"),
    ({"channels": [ChannelTruth({"utm_source": "a"}, 1.0, 1.0)] * 2}, {},
     "truth.json: channel {'utm_source': 'a'} is listed twice"),
])
def test_a_question_that_cannot_be_asked_is_refused(change, values, message):
    wrong = Truth(**{**{f: getattr(TRUTH, f) for f in TRUTH.__struct_fields__}, **change})
    with pytest.raises(InputError) as error:
        evaluation_options(wrong, where="truth.json", **values)
    assert str(error.value).startswith(message)


def test_a_score_beyond_the_largest_double_is_null_and_says_why():
    """Conversions − baseline = 5e-324: 4 credited ÷ that has no double."""
    tiny = truth([("a", 0.0, 1.0)], 0, -5e-324)
    found = score([{"model": "m", "utm_source": "a", "conversions": 4.0}], tiny, ["m"])[0][0]
    assert (found.tvd_pp, found.inflation) == (0.0, None)
    assert found.why_null["inflation"].startswith("beyond the largest number a double holds")
