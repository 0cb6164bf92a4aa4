"""The real data the home devices' physics runs on: :mod:`flexcem.data` (CityLearn 2023, MIT licence).

``HomeData`` is :class:`flexcem.data.CityLearnData` (weather, building demands, prices in one reader); kept
under this name for the device modules.
"""

from __future__ import annotations

from flexcem.data.citylearn import DATA_CLOCK, DATA_START, SITE, CityLearnData, FloatArray, Site

__all__ = ["DATA_CLOCK", "HOURLY_START", "SITE", "FloatArray", "HomeData", "Site"]

HomeData = CityLearnData
HOURLY_START = DATA_START
"""Start of the first hour of the data."""
