"""Where the simulator gets its real data: :mod:`flexcem.data` (CityLearn 2023, MIT licence).

Kept so that ``from flexcem.sim.datasets import CityLearnData`` goes on working; new code imports
:mod:`flexcem.data`.
"""

from __future__ import annotations

from flexcem.data.citylearn import DATA_CLOCK, DATA_START, CityLearnData

__all__ = ["DATA_START", "DATA_TIMEZONE", "CityLearnData"]

DATA_TIMEZONE = DATA_CLOCK
"""The data set's clock (UTC−6, no daylight saving)."""
