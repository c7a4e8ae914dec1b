"""The suggestion every "unknown name" error ends with (``errors.did_you_mean``)."""

from __future__ import annotations

import pytest

from utmost.errors import did_you_mean


@pytest.mark.parametrize(("name", "known", "otherwise", "expected"), [
    ("lienar", ["first_touch", "linear", "last_touch"], "", ". Did you mean linear?"),
    ("reservation complete", ["Page View", "Reservation Completed"], "", ". Did you mean Reservation Completed?"),
    ("zzz", ["linear"], " (known: linear)", " (known: linear)"),
    ("utm_sorce", [None, 3, "utm_source"], "", ". Did you mean utm_source?"),  # names only
    ("x" * 65, ["x" * 65], "!", "!"),  # a long name gets no suggestion ...
    ("x" * 63, ["x" * 65, "x" * 64], "", f". Did you mean {'x' * 64}?"),  # ... nor is a long one suggested
])
def test_the_closest_name_or_otherwise(name, known, otherwise, expected):
    assert did_you_mean(name, known, otherwise) == expected
