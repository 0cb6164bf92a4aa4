"""Every use-case test runs over the in-process bus and over a Mosquitto of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import home_harness


@pytest.fixture(params=["memory", "mosquitto"], autouse=True)
def bus_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test over ``memory`` and over ``mosquitto``."""
    home_harness.BUS_KIND = request.param
    yield request.param
    home_harness.BUS_KIND = "memory"
