"""Exact step of ``dx/dt = −λ·x + b`` over Δt for an input ``b`` held constant within the step.

x[k+1] = decay · x[k] + gain · b_k,     decay = e^{−λΔt},   gain = (1 − e^{−λΔt})/λ  (Δt when λ = 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["StepCoefficients", "step", "step_coefficients"]


@dataclass(frozen=True)
class StepCoefficients:
    """``decay`` (dimensionless) and ``gain`` [h] of one exact step."""

    decay: float
    gain: float


_CACHE: dict[tuple[float, float], StepCoefficients] = {}
_CACHE_SIZE = 4096
"""Coefficients already worked out, by (rate, step): a simulation asks for the same few steps of the same few
devices hundreds of thousands of times (the values are immutable, so sharing them is safe)."""


def step_coefficients(rate_per_h: float, dt_h: float) -> StepCoefficients:
    """Coefficients for decay rate λ [1/h] ≥ 0 and step Δt [h] > 0."""
    key = (rate_per_h, dt_h)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    if rate_per_h < 0.0 or dt_h <= 0.0:
        raise ValueError(f"rate_per_h must be ≥ 0 and dt_h > 0, got {rate_per_h}, {dt_h}")
    if rate_per_h * dt_h < 1e-12:
        coefficients = StepCoefficients(decay=1.0, gain=dt_h)
    else:
        decay = math.exp(-rate_per_h * dt_h)
        coefficients = StepCoefficients(decay=decay, gain=-math.expm1(-rate_per_h * dt_h) / rate_per_h)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[key] = coefficients
    return coefficients


def step(x0: float, inputs: npt.ArrayLike, coefficients: StepCoefficients) -> npt.NDArray[np.float64]:
    """States x[0..n] (n + 1 values) from x0 and the inputs b[0..n−1] (units of x per hour)."""
    b = np.asarray(inputs, dtype=np.float64)
    x = np.empty(b.size + 1)
    x[0] = x0
    for k in range(b.size):
        x[k + 1] = coefficients.decay * x[k] + coefficients.gain * b[k]
    return x
