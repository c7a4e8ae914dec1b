"""Parsing what users type: durations, dates, models (with suggestions), scopes."""

from __future__ import annotations

import datetime as dt

import pytest

from utmost.engine.options import make_options, parse_duration, parse_model
from utmost.errors import InputError


@pytest.mark.parametrize(("text", "expected"), [
    ("90s", dt.timedelta(seconds=90)), ("30m", dt.timedelta(minutes=30)), ("12h", dt.timedelta(hours=12)),
    ("30d", dt.timedelta(days=30)), ("2w", dt.timedelta(days=14)), ("1.5h", dt.timedelta(minutes=90)),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["30", "d30", "3x", "", "-1d", "1 day"])
def test_bad_durations(text):
    with pytest.raises(InputError, match="is not a duration"):
        parse_duration(text, "lookback")


@pytest.mark.parametrize(("text", "message"), [
    ("lienar", "unknown model 'lienar'. Did you mean linear?"),
    ("first", "unknown model 'first'. Did you mean first_touch?"),
    ("u-shaped", "unknown model 'u-shaped'. Did you mean u_shaped?"),
    ("zzz", "unknown model 'zzz'. Models: first_touch"),
    ("position:40/40", "position:F/M/L needs three percentages that sum to 100"),
    ("position:50/30/30", "position:F/M/L needs three percentages that sum to 100"),
])
def test_bad_models(text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_model(text)


def test_presets_are_position_models():
    assert parse_model("u_shaped").position == (40, 20, 40)
    assert parse_model("position:30/40/30").position == (30.0, 40.0, 30.0)


def test_a_one_day_range_is_not_reversed():
    one_day = make_options("x", start="2026-10-05", end="2026-10-05")
    assert (one_day.start, one_day.end) == (dt.datetime(2026, 10, 5), dt.datetime(2026, 10, 6))
    instant = make_options("x", start="2026-10-05T12:00:00", end="2026-10-05T12:00:00")
    assert instant.end - instant.start == dt.timedelta(microseconds=1)


def test_to_is_inclusive():
    assert make_options("x", end="2026-10-31").end == dt.datetime(2026, 11, 1)
    assert make_options("x", end="2026-10-31T12:00:00").end == dt.datetime(2026, 10, 31, 12, 0, 0, 1)
    assert make_options("x", start="2026-10-01T00:00:00+02:00").start == dt.datetime(2026, 9, 30, 22)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scope": "device"}, "scope: 'device' is not one of user, session"),
    ({"start": "yesterday"}, "from: 'yesterday' is not a date"),
    ({"session_timeout": "0m"}, "session timeout must be positive"),
    ({"by": " , "}, "by: name at least one property"),
    ({"models": ""}, "models: name at least one model"),
    ({"start": "2026-10-05", "end": "2026-10-04"},
     "from 2026-10-05 is after to 2026-10-04: no conversion can be between them"),
    ({"start": "2026-10-05T12:00:00", "end": "2026-10-05T11:59:59"}, "from 2026-10-05T12:00:00 is after to"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(InputError, match=message):
        make_options("Reservation Completed", **kwargs)
