"""Story JWG16 — Manage DER (user-stories.md).

"Alt 1: CEM checks the DER and starts it at 10:00, stops at 14:00. Alt 2: the DER runs when the tariff is
≥ XX.XX cent/kWh. At 10:30 the supplier offers a price for 11:00–14:00. The CEM starts the DER if price ≥
set point AND DER ready. After 14:00 it stops once the tariff no longer exceeds the threshold."
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

import pytest
from pydantic import ValidationError

from flexcem.cem import CemSettings
from flexcem.cem.threshold_control import PriceThresholdRule, RunWhen
from flexcem.cem.timer_control import TimedRun
from flexcem.model import CommandKind, DeviceKind, DeviceState, DeviceStatus, PriceSlot
from home_harness import DOMAIN, ZONE, Home, SwitchedDevice, local, run_home, settle, switched_device

MORNING = local(2021, 7, 6, 8)
SET_POINT = 0.30


def flat_prices(start: datetime, end: datetime) -> Sequence[PriceSlot]:
    """An hourly tariff at 0.12/kWh."""
    hours = int((end - start) / timedelta(hours=1))
    return [
        PriceSlot(start=start + timedelta(hours=h), duration=timedelta(hours=1), price_per_kwh=0.12)
        for h in range(hours)
    ]


def commands(device: SwitchedDevice) -> list[tuple[int, int, CommandKind]]:
    return [(at.astimezone(ZONE).hour, at.astimezone(ZONE).minute, c.command) for at, c in device.received]


def test_alternative_1_the_timer_starts_at_ten_and_stops_at_two() -> None:
    settings = CemSettings(
        tariff_sources=(f"{DOMAIN}/retailer",),
        timezone="America/Chicago",
        timed_runs=(TimedRun(device_id="der", start=time(10), stop=time(14)),),
    )

    async def scenario(home: Home) -> SwitchedDevice:
        der = await switched_device(home, "der", DeviceKind.FUEL_CELL)
        await home.clock.sleep_until(local(2021, 7, 6, 15))
        await settle(home)
        return der

    der = run_home(scenario, start=MORNING, prices=flat_prices, settings=settings)
    assert commands(der) == [(10, 0, CommandKind.ON), (14, 0, CommandKind.OFF)]


def test_a_timer_that_stops_before_it_starts_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="stop"):
        TimedRun(device_id="der", start=time(14), stop=time(10))


def offered_price_run(ready: bool) -> SwitchedDevice:
    settings = CemSettings(
        tariff_sources=(f"{DOMAIN}/retailer",),
        price_thresholds=(
            PriceThresholdRule(device_id="der", threshold_per_kwh=SET_POINT, run_when=RunWhen.AT_OR_ABOVE),
        ),
    )

    async def scenario(home: Home) -> SwitchedDevice:
        der = await switched_device(home, "der", DeviceKind.FUEL_CELL)
        if not ready:
            status = DeviceStatus(
                device_id="der", state=DeviceState.FAILED, at=home.clock.now(), reason="inverter fault"
            )
            await der.endpoint.deliver(home.cem_address, status)
        await home.retailer.endpoint.start()
        await home.retailer.publish_period(local(2021, 7, 6, 0))  # today's tariff, 0.12/kWh all day
        await home.clock.sleep_until(local(2021, 7, 6, 10, 30))
        offer = [
            PriceSlot(start=local(2021, 7, 6, hour), duration=timedelta(hours=1), price_per_kwh=SET_POINT)
            for hour in (11, 12, 13)
        ]
        await home.retailer.publish_correction(offer)
        await home.clock.sleep_until(local(2021, 7, 6, 15, 30))
        await settle(home)
        return der

    return run_home(scenario, start=MORNING, prices=flat_prices, settings=settings, publish_tariff=False)


def test_alternative_2_the_offered_price_at_the_set_point_runs_the_der_from_eleven_to_two() -> None:
    der = offered_price_run(ready=True)
    on_hours = [hour for hour, _, command in commands(der) if command is CommandKind.ON]
    assert on_hours == [11, 12, 13]  # price 0.30 ≥ set point 0.30
    assert (14, 0, CommandKind.OFF) in commands(der)  # the tariff no longer reaches the set point
    assert all(command is CommandKind.OFF for hour, _, command in commands(der) if hour < 11 or hour >= 14)


def test_alternative_2_a_der_that_is_not_ready_is_not_started() -> None:
    der = offered_price_run(ready=False)
    assert all(command is CommandKind.OFF for _, _, command in commands(der))
    assert commands(der), "the CEM sent nothing at all"
