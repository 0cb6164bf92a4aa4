"""Grid-side actors (Actor A and B): tariff programs so far."""

from flexcem.grid.tariff_program import PriceSource, TariffProgram

__all__ = ["PriceSource", "TariffProgram"]
