"""Programmes of washing machines, dishwashers and dryers as phase-by-phase power sequences.

Figures follow the shape of measured appliance load curves (EU energy-label programmes of 7 kg washers and
13-place dishwashers): a short fill, one or two heating phases at the heater's power, long low-power
washing or drying phases with the drum motor or the circulation pump, and a spin at the end. Each programme
may come in variants the CEM chooses among — here a "low power" variant that heats with half the element
power for twice as long (the same energy, a lower peak), which a CEM uses to stay under a site limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flexcem.model import PowerSequence, ProfileSlot

__all__ = ["DISHWASHER_PROGRAMMES", "DRYER_PROGRAMMES", "WASHER_PROGRAMMES", "Programme", "phase"]


def phase(label: str, minutes: float, power_w: float, peak_w: float | None = None) -> ProfileSlot:
    """One phase of ``minutes`` at an average of ``power_w`` [W] (peak ``peak_w`` [W])."""
    return ProfileSlot(label=label, duration=timedelta(minutes=minutes), power_w=power_w, max_power_w=peak_w)


@dataclass(frozen=True)
class Programme:
    """A named programme with its variants; the first variant is the device's preference."""

    name: str
    label: str
    variants: tuple[PowerSequence, ...]

    @property
    def longest(self) -> timedelta:
        """Running time of the longest variant."""
        return max(variant.duration for variant in self.variants)


def _programme(name: str, label: str, **variants: tuple[ProfileSlot, ...]) -> Programme:
    return Programme(
        name=name,
        label=label,
        variants=tuple(
            PowerSequence(sequence_id=f"{name}.{variant}", label=f"{label} ({variant.replace('_', ' ')})", slots=slots)
            for variant, slots in variants.items()
        ),
    )


WASHER_PROGRAMMES: dict[str, Programme] = {
    programme.name: programme
    for programme in (
        _programme(
            "cotton_40",
            "Cotton 40 °C",
            standard=(
                phase("fill", 8, 100, 150),
                phase("heating", 22, 2000, 2100),
                phase("washing", 55, 180, 450),
                phase("rinsing", 25, 120, 400),
                phase("spinning", 10, 450, 650),
            ),
            low_power=(
                phase("fill", 8, 100, 150),
                phase("heating", 44, 1000, 1100),
                phase("washing", 55, 180, 450),
                phase("rinsing", 25, 120, 400),
                phase("spinning", 10, 450, 650),
            ),
        ),
        _programme(
            "cotton_60",
            "Cotton 60 °C",
            standard=(
                phase("fill", 8, 100, 150),
                phase("heating", 38, 2000, 2100),
                phase("washing", 55, 180, 450),
                phase("rinsing", 25, 120, 400),
                phase("spinning", 12, 450, 650),
            ),
        ),
        _programme(
            "eco_40_60",
            "Eco 40-60",
            standard=(
                phase("fill", 10, 100, 150),
                phase("heating", 25, 1000, 2000),
                phase("washing", 120, 120, 450),
                phase("rinsing", 40, 100, 400),
                phase("spinning", 10, 450, 650),
            ),
        ),
        _programme(
            "quick_30",
            "Quick 30 °C",
            standard=(
                phase("fill", 4, 100, 150),
                phase("heating", 8, 2000, 2100),
                phase("washing", 12, 200, 450),
                phase("spinning", 6, 450, 650),
            ),
        ),
    )
}
"""Washing-machine programmes (7 kg drum, 2 kW heater)."""

DISHWASHER_PROGRAMMES: dict[str, Programme] = {
    programme.name: programme
    for programme in (
        _programme(
            "eco_50",
            "Eco 50 °C",
            standard=(
                phase("pre-rinse", 12, 35),
                phase("heating", 16, 2000, 2100),
                phase("main wash", 45, 80),
                phase("intermediate rinse", 10, 40),
                phase("rinse heating", 10, 2000, 2100),
                phase("final rinse", 12, 60),
                phase("drying", 60, 10),
            ),
            low_power=(
                phase("pre-rinse", 12, 35),
                phase("heating", 32, 1000, 1100),
                phase("main wash", 45, 80),
                phase("intermediate rinse", 10, 40),
                phase("rinse heating", 20, 1000, 1100),
                phase("final rinse", 12, 60),
                phase("drying", 60, 10),
            ),
        ),
        _programme(
            "auto_65",
            "Auto 45-65 °C",
            standard=(
                phase("pre-rinse", 10, 40),
                phase("heating", 22, 2100, 2200),
                phase("main wash", 30, 90),
                phase("rinse heating", 14, 2100, 2200),
                phase("final rinse", 10, 60),
                phase("drying", 30, 15),
            ),
        ),
    )
}
"""Dishwasher programmes (13 place settings, 2 kW heater)."""

DRYER_PROGRAMMES: dict[str, Programme] = {
    programme.name: programme
    for programme in (
        _programme(
            "cotton_dry",
            "Cotton cupboard dry",
            standard=(
                phase("warm-up", 10, 900),
                phase("drying", 110, 700, 1000),
                phase("cool-down", 10, 120),
            ),
        ),
    )
}
"""Heat-pump tumble-dryer programmes."""
