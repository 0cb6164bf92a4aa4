"""The data of a scenario: each building's :class:`~flexcem.data.CityLearnData`, and the prices the homes pay.

The prices are the data's hourly prices (times the scenario's ``price_factor``) with the scenario's tariff
corrections applied: exactly what the retailer publishes, so the bill of both runs (with and without control)
is computed at the final prices of every slot.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flexcem.data.citylearn import CityLearnData
from flexcem.sim.scenario import DataSpec, Scenario
from flexcem.sim.scenario_signals import TariffCorrectionEvent

__all__ = ["load_buildings", "slot_prices"]


@lru_cache(maxsize=32)
def _building(directory: Path | None, building: str) -> CityLearnData:
    if directory is None:
        return CityLearnData.embedded()
    return CityLearnData.from_directory(directory, building)


def load_buildings(spec: DataSpec) -> dict[str, CityLearnData]:
    """Every building the scenario names, read once per process."""
    directory = spec.directory if spec.source == "directory" else None
    return {name: _building(directory, name) for name in spec.buildings}


def slot_prices(scenario: Scenario, data: CityLearnData) -> tuple[list[datetime], list[float], list[float]]:
    """Per slot of the period: its start, the final price [currency/kWh] and carbon intensity [g/kWh]."""
    period = scenario.period
    starts = [period.start + k * period.slot for k in range(period.slot_count)]
    prices, co2 = [], []
    for start in starts:
        price = data.value_at(data.price_per_kwh, start) * scenario.data.price_factor
        for event in scenario.timeline:
            if isinstance(event, TariffCorrectionEvent) and event.start <= start < event.end:
                price *= event.factor
        prices.append(round(price, 6))
        co2.append(data.value_at(data.co2_g_per_kwh, start))
    return starts, prices, co2
