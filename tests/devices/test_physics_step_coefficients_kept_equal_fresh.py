"""The exact step's coefficients are kept once worked out (a simulation asks for the same few steps hundreds of
thousands of times): kept ones equal fresh ones, and a step that is not allowed is refused every time."""

from __future__ import annotations

import math

import pytest

from flexcem.physics import exact_step
from flexcem.physics.exact_step import step_coefficients


@pytest.mark.parametrize(("rate", "dt"), [(0.0, 1 / 12), (1e-14, 0.25), (0.0013, 1 / 12), (2.5, 1.0)])
def test_kept_coefficients_equal_fresh_ones(rate: float, dt: float) -> None:
    exact_step._CACHE.clear()
    first = step_coefficients(rate, dt)
    assert step_coefficients(rate, dt) is first
    if rate * dt < 1e-12:
        assert (first.decay, first.gain) == (1.0, dt)
    else:
        assert first.decay == math.exp(-rate * dt) and first.gain == -math.expm1(-rate * dt) / rate


def test_a_step_not_allowed_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="rate_per_h must be"):
            step_coefficients(-1.0, 0.1)
        with pytest.raises(ValueError, match="rate_per_h must be"):
            step_coefficients(0.1, 0.0)
