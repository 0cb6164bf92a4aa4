"""Story JWG2 — Flex start EV charging (TR A.1.3; user-stories §1).

"EV charged by 8:00 a.m. The user sets the charge level and the end time, and may pick an incentive program
('cheapest tariff', 'greenest power'). The EV sends start, end time, incentive program (if not stored) and
charging profile … If none is sent, the stored incentive program is used."
"""

from __future__ import annotations

import pytest

from flexcem.cem import CemSettings
from flexcem.model import DeviceState, IncentiveProgram
from home_harness import Home, local, run_home, settle, solar_rich_prices

EVENING = local(2021, 6, 15, 17, 45)
EIGHT_AM = local(2021, 6, 16, 8, 0)


def test_ev_is_charged_to_its_target_by_8am_and_avoids_the_peak() -> None:
    async def scenario(home: Home) -> None:
        ev = await home.ev(soc=0.30)
        offer = await ev.plug_in(target_soc=0.90, departure=EIGHT_AM)
        await home.clock.sleep_until(EIGHT_AM)
        assert ev.state is DeviceState.FINISHED
        assert ev.job.finished_at <= EIGHT_AM
        assert ev.battery.soc == pytest.approx(0.90, abs=1e-4)
        assert ev.job.energy_wh == pytest.approx(offer.energy_wh, abs=1.0)
        peak = ev.power.energy_wh(EVENING, local(2021, 6, 15, 19, 0))
        assert peak == 0.0, "the EV charged in the 16:00–19:00 peak although the night was cheaper"

    run_home(scenario, start=EVENING)


def _charged_at(incentive: IncentiveProgram | None, default: IncentiveProgram) -> tuple[float, float]:
    """Energy charged in the midday hours and outside them [Wh]."""
    settings = CemSettings(tariff_sources=("home/retailer",), default_incentive=default)

    async def scenario(home: Home) -> tuple[float, float]:
        ev = await home.ev(soc=0.40)
        await ev.plug_in(target_soc=0.70, departure=local(2021, 6, 16, 7, 0), incentive=incentive)
        await settle(home)
        await home.clock.sleep_until(local(2021, 6, 16, 7, 0))
        assert ev.state is DeviceState.FINISHED
        midday = ev.power.energy_wh(local(2021, 6, 15, 10, 0), local(2021, 6, 15, 16, 0))
        return midday, ev.job.energy_wh - midday

    return run_home(scenario, start=local(2021, 6, 15, 9, 0), prices=solar_rich_prices(10, 16), settings=settings)


def test_cheapest_and_greenest_charge_at_different_times() -> None:
    cheap_midday, cheap_other = _charged_at(IncentiveProgram.CHEAPEST, IncentiveProgram.CHEAPEST)
    green_midday, green_other = _charged_at(IncentiveProgram.GREENEST, IncentiveProgram.CHEAPEST)
    assert cheap_midday < 1.0 and cheap_other > 10_000  # Wh: night only
    assert green_other < 1.0 and green_midday > 10_000  # Wh: midday only


def test_stored_incentive_programme_is_used_when_the_ev_sends_none() -> None:
    stored_green = _charged_at(None, IncentiveProgram.GREENEST)
    stored_cheap = _charged_at(None, IncentiveProgram.CHEAPEST)
    assert stored_green[1] < 1.0 and stored_green[0] > 10_000
    assert stored_cheap[0] < 1.0 and stored_cheap[1] > 10_000
