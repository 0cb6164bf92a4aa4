"""JWG1111 — Fuel cell operation with fixed tariff profile (TR A.3.7; uc-home §6).

"Home customer sets a price threshold. For each interval: if price > threshold, at the beginning of the
interval the EMS sends FC turn-on …; if price ≤ threshold, it sends turn-off … The Fuel Cell Controller
replies with a status message (command successfully implemented or not) … and may override EMS requests."
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flexcem.cem import CemSettings
from flexcem.cem.threshold_control import CommandOutcome, PriceThresholdRule, RunWhen, threshold_command
from flexcem.model import (
    CommandKind,
    DeviceKind,
    PriceSlot,
)
from home_harness import DOMAIN, Home, SwitchedDevice, local, run_home, settle, switched_device

NOON = local(2021, 6, 15, 12)
HOURLY = {13: 0.30, 14: 0.25, 15: 0.20, 16: 0.32, 17: 0.35, 18: 0.24, 19: 0.31}
"""Price [USD/kWh] by local hour of the test day; other hours 0.18."""
THRESHOLD = 0.25


def hourly_prices(start: datetime, end: datetime) -> Sequence[PriceSlot]:
    """One price slot per hour from the table above."""
    slots = []
    at = start
    while at < end:
        price = HOURLY.get(at.hour, 0.18) if at.date() == NOON.date() else 0.18
        slots.append(PriceSlot(start=at, duration=timedelta(hours=1), price_per_kwh=price))
        at += timedelta(hours=1)
    return slots


async def fuel_cell(home: Home, refuse_between: tuple[datetime, datetime] | None = None) -> SwitchedDevice:
    return await switched_device(home, "fuelcell", DeviceKind.FUEL_CELL, refuse_between=refuse_between)


def settings(threshold: float = THRESHOLD) -> CemSettings:
    return CemSettings(
        tariff_sources=(f"{DOMAIN}/retailer",),
        price_thresholds=(
            PriceThresholdRule(device_id="fuelcell", threshold_per_kwh=threshold, run_when=RunWhen.ABOVE),
        ),
    )


def outcomes(home: Home) -> list[CommandOutcome]:
    return home.cem.threshold_controls["fuelcell"].outcomes


def test_rule_is_on_above_the_threshold_and_off_at_or_below_it() -> None:
    assert threshold_command(0.30, 0.25) is CommandKind.ON
    assert threshold_command(0.25, 0.25) is CommandKind.OFF
    assert threshold_command(0.20, 0.25) is CommandKind.OFF


def test_price_above_threshold_turns_on_at_the_interval_start_equal_or_below_turns_off() -> None:
    async def scenario(home: Home) -> tuple[SwitchedDevice, list[CommandOutcome]]:
        controller = await fuel_cell(home)
        await home.retailer.endpoint.start()
        await home.retailer.publish_period(NOON)  # the noon tariff, as its first interval begins
        await home.clock.sleep_until(local(2021, 6, 15, 16, 0) - timedelta(minutes=1))
        await settle(home)
        return controller, outcomes(home)

    controller, done = run_home(scenario, start=NOON, prices=hourly_prices, settings=settings(), publish_tariff=False)
    assert [(o.interval_start.astimezone(NOON.tzinfo).hour, o.command, o.success) for o in done] == [
        (12, CommandKind.OFF, True),  # 0.18 < 0.25
        (13, CommandKind.ON, True),  # 0.30 > 0.25
        (14, CommandKind.OFF, True),  # 0.25 = 0.25
        (15, CommandKind.OFF, True),  # 0.20 < 0.25
    ]
    sent_at = [at for at, _ in controller.received]
    for at, hour in zip(sent_at, (12, 13, 14, 15), strict=True):
        boundary = local(2021, 6, 15, hour)
        assert boundary <= at < boundary + timedelta(seconds=5), f"command at {at}, not at the boundary {boundary}"


def test_an_override_is_recorded_and_not_fought_within_the_interval() -> None:
    refuse = (local(2021, 6, 15, 16), local(2021, 6, 15, 17))

    async def scenario(home: Home) -> tuple[SwitchedDevice, list[CommandOutcome]]:
        controller = await fuel_cell(home, refuse_between=refuse)
        await home.clock.sleep_until(local(2021, 6, 15, 17, 30))
        await settle(home)
        return controller, outcomes(home)

    controller, done = run_home(scenario, start=NOON, prices=hourly_prices, settings=settings())
    refused = [o for o in done if not o.success]
    assert len(refused) == 1
    assert refused[0].command is CommandKind.ON
    assert refused[0].reason == "minimum off time after the last stop not reached"
    in_refused_interval = [cmd for at, cmd in controller.received if refuse[0] <= at < refuse[1]]
    assert len(in_refused_interval) == 1, "the CEM repeated a command the controller had overridden"
    assert done[-1].interval_start == refuse[1] and done[-1].command is CommandKind.ON and done[-1].success


def test_no_price_based_command_after_the_schedule_ends() -> None:
    async def scenario(home: Home) -> list[CommandOutcome]:
        await fuel_cell(home)
        await home.retailer.endpoint.start()
        await home.retailer.publish_period(NOON)  # 24 h; no further publication
        await home.clock.sleep_until(NOON + timedelta(hours=27))
        await settle(home)
        return outcomes(home)

    done = run_home(scenario, start=NOON, prices=hourly_prices, settings=settings(), publish_tariff=False)
    assert done, "no command at all"
    assert max(o.interval_start for o in done) < NOON + timedelta(hours=24)
    assert len(done) == 24  # 12:00 … 11:00 next day, one per interval


def test_a_new_schedule_replaces_the_old_from_its_start() -> None:
    async def scenario(home: Home) -> list[CommandOutcome]:
        await fuel_cell(home)
        await home.clock.sleep_until(local(2021, 6, 15, 13, 30))
        cheap = [
            PriceSlot(start=local(2021, 6, 15, hour), duration=timedelta(hours=1), price_per_kwh=0.10)
            for hour in (16, 17)
        ]
        await home.retailer.publish_correction(cheap)
        await home.clock.sleep_until(local(2021, 6, 15, 18, 30))
        await settle(home)
        return outcomes(home)

    done = run_home(scenario, start=NOON, prices=hourly_prices, settings=settings())
    by_hour = {o.interval_start.astimezone(NOON.tzinfo).hour: o for o in done}
    assert by_hour[13].command is CommandKind.ON  # before the correction
    assert by_hour[16].command is CommandKind.OFF and by_hour[16].price_per_kwh == 0.10
    assert by_hour[17].command is CommandKind.OFF
    assert by_hour[18].command is CommandKind.OFF and by_hour[18].price_per_kwh == 0.24  # old schedule again


def test_a_threshold_change_takes_effect_at_the_next_boundary() -> None:
    async def scenario(home: Home) -> tuple[SwitchedDevice, list[CommandOutcome]]:
        controller = await fuel_cell(home)
        await home.clock.sleep_until(local(2021, 6, 15, 16, 20))
        home.cem.set_price_threshold("fuelcell", 0.36)
        await home.clock.sleep_until(local(2021, 6, 15, 17, 30))
        await settle(home)
        return controller, outcomes(home)

    controller, done = run_home(scenario, start=NOON, prices=hourly_prices, settings=settings())
    by_hour = {o.interval_start.astimezone(NOON.tzinfo).hour: o for o in done}
    assert by_hour[16].command is CommandKind.ON and by_hour[16].threshold_per_kwh == THRESHOLD
    assert by_hour[17].command is CommandKind.OFF and by_hour[17].threshold_per_kwh == 0.36  # 0.35 ≤ 0.36
    in_16 = [at for at, _ in controller.received if local(2021, 6, 15, 16) <= at < local(2021, 6, 15, 17)]
    assert len(in_16) == 1, "the change was applied mid-interval"
