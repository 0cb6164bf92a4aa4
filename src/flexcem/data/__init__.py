"""Real data: the CityLearn Challenge 2023 (phase 3) set, one reader for prices, weather and building demands.

The package knows only :mod:`flexcem.model` (for the slot types); devices, CEM, simulator and benchmarks read
their data through it.
"""

from flexcem.data.citylearn import DATA_CLOCK, DATA_START, SITE, CityLearnData, Site

__all__ = ["DATA_CLOCK", "DATA_START", "SITE", "CityLearnData", "Site"]
