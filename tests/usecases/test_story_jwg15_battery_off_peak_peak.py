"""Story JWG15 — Manage in-premises battery (user-stories §1).

"Charge 23:00–05:00 (off-peak), discharge to house loads 10:00–14:00 (peak); the goal is lowest cost. The plan
uses the tariff (cheap / expensive), expected load … and remaining charge. The CEM commands charge and
discharge in the most optimal way." Test: "With a two-level tariff, charge only in the cheap window and
discharge only at peak, limited by load and SoC. Cost ≤ cost without the battery."

The home: CityLearn Building 1's base load and a 10 kWh battery, on CityLearn's real two-level tariff
(0.03025 USD/kWh off-peak, 0.06605 USD/kWh from 15:00 to 18:00 data time on weekdays), published at noon.
Everything goes over the bus; the cost is measured from the devices' meters.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.cem import CemSettings
from flexcem.model import PowerSetpointSchedule, SettingResult
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import BatteryAgent, agent, base_load, site_cost, slot_prices

START = local(2021, 7, 6, 12)  # a Tuesday noon: the day's tariff arrives
DAYS = 2
SLOT = timedelta(minutes=15)
COUNT = DAYS * 96
SETTINGS = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",))


def test_battery_charges_off_peak_discharges_at_the_peak_and_lowers_the_measured_cost() -> None:
    async def scenario(home: Home) -> tuple[list[float], list[float], list[float], int, int]:
        meter = await base_load(home)
        battery = await agent(home, BatteryAgent, "battery")
        await settle(home)
        await home.clock.sleep_until(START + DAYS * timedelta(days=1))
        end = START + COUNT * SLOT
        battery_w = battery.power.average_power_w(START, SLOT, COUNT)
        load_w = meter.meter(START, end).average_power_w(START, SLOT, COUNT)
        measured = site_cost([battery.power, meter.meter(START, end)], START, COUNT, slot_prices(START, COUNT))
        without = site_cost([meter.meter(START, end)], START, COUNT, slot_prices(START, COUNT))
        results = [e.body for e in home.messages(SettingResult)]
        assert results and all(r.success for r in results)
        await battery.power_off()
        return battery_w, load_w, [measured, without], len(home.messages(PowerSetpointSchedule)), home.cem.plans_made

    battery_w, load_w, (measured, without), schedules, plans = run_home(scenario, start=START, settings=SETTINGS)
    prices = slot_prices(START, COUNT)
    cheap, dear = min(prices), max(prices)
    assert dear > cheap, "the tariff has two levels"
    standby = 10.0  # the system's own consumption, drawn at all times [W]
    charging = [k for k, w in enumerate(battery_w) if w > standby + 1.0]
    discharging = [k for k, w in enumerate(battery_w) if w < standby - 1.0]
    assert charging and discharging
    assert all(prices[k] == cheap for k in charging), "the battery charged at the peak price"
    assert all(prices[k] == dear for k in discharging), "the battery discharged off-peak"
    assert all(-battery_w[k] <= load_w[k] + 1.0 for k in discharging), "discharge beyond the house load (export)"
    assert schedules >= DAYS and plans >= DAYS  # a new schedule with each day's tariff
    assert measured < without
    print(f"JWG15: measured cost {measured:.4f} USD with the battery, {without:.4f} USD without, {DAYS} days")


@pytest.mark.parametrize("energy_wh", [1_000.0])
def test_an_almost_empty_battery_only_discharges_what_it_charged(energy_wh: float) -> None:
    async def scenario(home: Home) -> list[float]:
        await base_load(home)

        def make(endpoint, cem, data):  # type: ignore[no-untyped-def]
            from flexcem.devices import DEFAULT_BATTERY
            from flexcem.devices.battery import BatteryModel

            return BatteryAgent(endpoint, cem, data, BatteryModel(DEFAULT_BATTERY, energy_wh=energy_wh))

        battery = await agent(home, make, "battery")
        await settle(home)
        await home.clock.sleep_until(START + timedelta(days=1))
        soc = [entry.remaining_percent for entry in battery.history]
        await battery.power_off()
        return soc

    soc = run_home(scenario, start=START, settings=SETTINGS)
    assert min(soc) >= 10.0 - 0.01  # never below soc_min (10 %)
