"""JWG1124/1125 — heat pump with a real-time tariff (TR A.3.8; uc-home §7).

"EMS requests HP on/increase operating power or off/decrease depending on real-time price and customer
threshold"; 1125: "PV operation does not affect the EMS–HP interaction". For a load, cheap means on.
Acceptance: "Real-time price crossing the threshold toggles HP on vs off at the price change"; "with PV
producing, the HP command sequence for a given price trace is identical to the no-PV case".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flexcem.cem import CemSettings
from flexcem.cem.threshold_control import PriceThresholdRule, RunWhen
from flexcem.model import CommandKind, DeviceKind, PriceSlot
from home_harness import DATA, DOMAIN, Home, local, run_home, settle, switched_device

START = local(2021, 7, 2, 0)
THRESHOLD = 0.045
"""[USD/kWh]: between CityLearn's off-peak and peak prices."""


def real_time_prices(start: datetime, end: datetime) -> Sequence[PriceSlot]:
    """CityLearn's real prices, cut into 15-minute real-time slots."""
    slots = []
    for hourly in DATA.price_slots(start, end):
        for quarter in range(4):
            slots.append(
                PriceSlot(
                    start=hourly.start + timedelta(minutes=15 * quarter),
                    duration=timedelta(minutes=15),
                    price_per_kwh=hourly.price_per_kwh,
                )
            )
    return slots


SETTINGS = CemSettings(
    tariff_sources=(f"{DOMAIN}/retailer",),
    price_thresholds=(PriceThresholdRule(device_id="heatpump", threshold_per_kwh=THRESHOLD, run_when=RunWhen.BELOW),),
)


def run_day(with_pv: bool) -> list[tuple[datetime, CommandKind]]:
    async def scenario(home: Home) -> list[tuple[datetime, CommandKind]]:
        heat_pump = await switched_device(home, "heatpump", DeviceKind.HEAT_PUMP)
        if with_pv:
            await switched_device(home, "der", DeviceKind.PV)
        await home.retailer.endpoint.start()
        await home.retailer.publish_period(START)
        await home.clock.sleep_until(START + timedelta(hours=23, minutes=50))
        await settle(home)
        return [(at, command.command) for at, command in heat_pump.received]

    return run_home(scenario, start=START, prices=real_time_prices, settings=SETTINGS, publish_tariff=False)


def test_heat_pump_is_on_while_the_real_time_price_is_below_the_threshold() -> None:
    sent = run_day(with_pv=False)
    prices = {slot.start: slot.price_per_kwh for slot in real_time_prices(START, START + timedelta(hours=24))}
    assert len({price > THRESHOLD for price in prices.values()}) == 2, "the day's prices do not cross the threshold"
    assert len(sent) == 24 * 4  # one per 15-minute interval: the tariff arrived at 00:00, a boundary
    for at, command in sent:
        interval = max(start for start in prices if start <= at)
        assert at - interval < timedelta(seconds=5), "a command went out mid-interval"
        assert command is (CommandKind.ON if prices[interval] < THRESHOLD else CommandKind.OFF)


def test_pv_does_not_change_the_heat_pump_commands_jwg1125() -> None:
    assert run_day(with_pv=True) == run_day(with_pv=False)
