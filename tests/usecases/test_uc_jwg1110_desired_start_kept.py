"""JWG1110 acceptance test 1 — each device finishes by its desired finish time and does not start before its
desired start time (uc-home §5).

The tariff issued at noon (1 h slots, local time) is cheapest at night before 05:00, so a plan free to choose
would heat the water and pre-cool the room then. The user's time conditions are: water heater 90 °C, level
50 % (T = 15 + 0.5·(90 − 15) = 52.5 °C) from 05:00 to 07:00; air conditioner cooling to 27 °C (band [26, 28] °C)
done by 10:00, not started before 08:00. The plan has no power for either before its start, even where the price
is lower; the agents, following the committed plan on their physics, draw nothing before it (element,
compressor and fan); the tank reaches its temperature by 07:00 and the room its band by 10:00.

The control case — the same day without the start times — plans power in the cheap hours before them, so the
first test can fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.bus import Endpoint
from flexcem.cem import CemSettings, OperatingConditions
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, FAN_POWER_W, AirConditionerModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK, WaterHeaterModel
from flexcem.model import AcMode, AirConditionerSettings, FanSpeed, PriceSlot, WaterHeaterSettings
from flexcem.planner import Plan
from home_harness import DOMAIN, ZONE, Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, WaterHeaterAgent, agent, base_load

NOON = local(2021, 7, 6, 12)
WATER_FROM, WATER_BY = local(2021, 7, 7, 5), local(2021, 7, 7, 7)
COOL_FROM, COOL_BY = local(2021, 7, 7, 8), local(2021, 7, 7, 10)
TARGET_C = 15.0 + 0.5 * (90.0 - 15.0)
SETTINGS = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",), commit_required=True)
HOUR = timedelta(hours=1)


def night_cheap_prices(start: datetime, end: datetime) -> list[PriceSlot]:
    """Hourly prices [USD/kWh] by local hour: 0.05 before 05:00, 0.15 until 08:00, 0.30 by day, 0.50 from 16 to
    21, 0.20 in the late evening."""

    def price(hour: int) -> float:
        if hour < 5:
            return 0.05
        if hour < 8:
            return 0.15
        if hour < 16:
            return 0.30
        return 0.50 if hour < 21 else 0.20

    slots, cursor = [], start
    while cursor < end:
        slots.append(PriceSlot(start=cursor, duration=HOUR, price_per_kwh=price(cursor.astimezone(ZONE).hour)))
        cursor += HOUR
    return slots


def water_heater(endpoint: Endpoint, cem: str, data: CityLearnData) -> WaterHeaterAgent:
    """Tank at 45 °C; its own control is set low (30 %), so on its own it does not heat."""
    model = WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, 45.0), set_point_c=90.0, level_percent=30.0)
    return WaterHeaterAgent(endpoint, cem, data, model)


def air_conditioner(endpoint: Endpoint, cem: str, data: CityLearnData) -> AirConditionerAgent:
    """Switched off, room at 26 °C."""
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 26.0), on=False)
    return AirConditionerAgent(endpoint, cem, data, model)


@dataclass
class Day:
    """The committed plan and what the appliances did."""

    plan: Plan
    committed_at: datetime
    heater_before_wh: float
    aircon_before_wh: float
    tank: dict[datetime, float]
    room: dict[datetime, float]


def run_day(*, with_start: bool, until: datetime) -> Day:
    """The user's conditions (with or without the start times), the proposal committed after an hour, the home
    run to ``until``."""

    async def scenario(home: Home) -> Day:
        await base_load(home)
        heater = await agent(home, water_heater, "waterheater")
        aircon = await agent(home, air_conditioner, "aircon")
        home.cem.set_operating_conditions(
            OperatingConditions(
                device_id="waterheater",
                settings=WaterHeaterSettings(device_id="waterheater", set_point_c=90.0, level_percent=50.0),
                desired_start=WATER_FROM if with_start else None,
                desired_finish=WATER_BY,
            )
        )
        home.cem.set_operating_conditions(
            OperatingConditions(
                device_id="aircon",
                settings=AirConditionerSettings(
                    device_id="aircon", on=True, mode=AcMode.COOL, fan=FanSpeed.AUTO, set_point_c=27.0
                ),
                desired_start=COOL_FROM if with_start else None,
                desired_finish=COOL_BY,
            )
        )
        await settle(home)
        await home.clock.sleep(3600)
        proposal = home.cem.proposal
        assert proposal is not None and proposal.plan is not None
        committed_at = home.clock.now()
        await home.cem.commit(proposal.proposal_id)
        await settle(home)
        await home.clock.sleep_until(until)
        day = Day(
            plan=proposal.plan,
            committed_at=committed_at,
            heater_before_wh=heater.power.energy_wh(committed_at, min(until, WATER_FROM)),
            aircon_before_wh=aircon.power.energy_wh(committed_at, min(until, COOL_FROM)),
            tank={entry.at: entry.hot_water_c for entry in heater.history},
            room={entry.at: entry.room_c for entry in aircon.history},
        )
        await heater.power_off()
        await aircon.power_off()
        return day

    return run_home(scenario, start=NOON, settings=SETTINGS, forecasts=DataForecasts(), prices=night_cheap_prices)


def planned_before(plan: Plan, device_id: str, instant: datetime) -> list[tuple[datetime, float, float]]:
    """``(slot start, power [W], price)`` of the slots that start before ``instant`` with power planned."""
    device = plan.device(device_id)
    found = []
    for k, (power, price) in enumerate(zip(device.power_w, plan.price_per_kwh, strict=True)):
        at = plan.start + k * plan.slot_duration
        if at < instant and power > 1e-6:
            found.append((at, power, price))
    return found


def planned_energy_wh(plan: Plan, device_id: str, begin: datetime, end: datetime) -> float:
    """Energy the plan gives ``device_id`` in the slots starting in ``[begin, end)`` [Wh]."""
    hours = plan.slot_duration / HOUR
    return sum(
        power * hours
        for k, power in enumerate(plan.device(device_id).power_w)
        if begin <= plan.start + k * plan.slot_duration < end
    )


def test_without_start_times_the_plan_uses_the_cheap_hours_before_them() -> None:
    day = run_day(with_start=False, until=NOON + 2 * HOUR)
    assert planned_before(day.plan, "waterheater", WATER_FROM), "the control case heats at the night price"
    assert planned_before(day.plan, "aircon", COOL_FROM), "the control case runs the unit before 08:00"


def test_nothing_is_planned_or_drawn_before_the_desired_start_and_the_conditions_hold_by_the_finish() -> None:
    day = run_day(with_start=True, until=NOON + timedelta(days=1))
    assert not planned_before(day.plan, "waterheater", WATER_FROM), planned_before(day.plan, "waterheater", WATER_FROM)
    assert not planned_before(day.plan, "aircon", COOL_FROM), planned_before(day.plan, "aircon", COOL_FROM)[:3]
    prices = day.plan.price_per_kwh
    assert min(prices) < min(p for p, w in zip(prices, day.plan.device("waterheater").power_w, strict=True) if w > 0)
    assert planned_energy_wh(day.plan, "waterheater", WATER_FROM, WATER_BY) > 1_000.0, "it heats in its window"
    assert planned_energy_wh(day.plan, "aircon", COOL_FROM, COOL_BY) > 100.0, "it cools in its window"
    # executed on the agents' physics: nothing runs before the start (element; compressor — the fan: below)
    assert day.heater_before_wh < 1.0, f"the water heater drew {day.heater_before_wh:.1f} Wh before 05:00"
    fan_wh = FAN_POWER_W[FanSpeed.AUTO] * (COOL_FROM - day.committed_at) / HOUR
    assert day.aircon_before_wh < fan_wh + 1.0, f"the compressor drew {day.aircon_before_wh - fan_wh:.1f} Wh early"
    assert day.tank[WATER_BY] >= TARGET_C - 0.3, f"the tank is at {day.tank[WATER_BY]:.1f} °C at 07:00"
    after = [c for at, c in day.room.items() if COOL_BY <= at <= NOON + timedelta(days=1)]
    assert after and max(after) <= 28.0 + 0.3, f"the room reaches {max(after):.1f} °C after 10:00"


def test_the_air_conditioners_fan_stays_off_before_the_desired_start() -> None:
    day = run_day(with_start=True, until=COOL_FROM)
    assert day.aircon_before_wh < 1.0, f"the air conditioner drew {day.aircon_before_wh:.1f} Wh before 08:00"
