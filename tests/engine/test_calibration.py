"""Moving credit between a key and the baseline (docs/semantics.md §18, "Experiments"), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from utmost.engine.calibration import Move, Shares
from utmost.models import incremental as hazard


def person_time() -> hazard.PersonTime:
    """Three conversions; the first was touched by key 0 ("mail"), the others by nothing."""
    return hazard.PersonTime(
        persons=3, keys=("mail",), base_person=np.arange(3), base_stratum=np.zeros(3, dtype=np.int64),
        base_days=np.ones(3), touch_person=np.asarray([0]), touch_key=np.asarray([0]), touch_days=np.ones((1, 3)),
        conversion_person=np.arange(3), conversion_stratum=np.zeros(3, dtype=np.int64),
        pair_conversion=np.asarray([0]), pair_key=np.asarray([0]), pair_kernel=np.ones((1, 3)),
    )


def test_a_test_that_measured_more_takes_from_the_baseline_in_proportion():
    data = person_time()
    shares = Shares(baseline=np.asarray([0.5, 1.0, 1.0]), pairs=np.asarray([0.5]))
    days = np.asarray([True, True, False])
    # The baseline holds 0.5 + 1 = 1.5 of those days; one conversion moves, a third from the first.
    assert Move(0, days, 1.0).apply(data, shares) == 1.0
    assert shares.baseline == pytest.approx([0.5 - 1 / 3, 1 - 2 / 3, 1.0])
    assert shares.moved[0] == pytest.approx([1 / 3, 2 / 3, 0.0])
    assert shares.caused(data) == pytest.approx([1.5])
    assert shares.in_days(data, 0, days) == pytest.approx(1.5)
    each = shares.baseline + shares.moved[0] + np.bincount(data.pair_conversion, shares.pairs, minlength=3)
    assert each == pytest.approx([1.0, 1.0, 1.0])  # every conversion still adds up to 1


def test_no_more_moves_than_the_baseline_or_the_key_holds():
    data = person_time()
    shares = Shares(baseline=np.asarray([0.5, 1.0, 1.0]), pairs=np.asarray([0.5]))
    assert Move(0, np.asarray([True, False, False]), 5.0).apply(data, shares) == 0.5
    assert shares.baseline == pytest.approx([0.0, 1.0, 1.0])
    shares = Shares(baseline=np.asarray([0.5, 1.0, 1.0]), pairs=np.asarray([0.5]))
    assert Move(0, np.ones(3, dtype=bool), -0.25).apply(data, shares) == -0.25
    assert shares.pairs == pytest.approx([0.25]) and shares.baseline == pytest.approx([0.75, 1.0, 1.0])
    assert Move(0, np.ones(3, dtype=bool), -9.0).apply(data, shares) == -0.25
    assert shares.caused(data) == pytest.approx([0.0]) and shares.baseline == pytest.approx([1.0, 1.0, 1.0])
