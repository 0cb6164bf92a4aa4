"""Story JWG18 — Control appliances by price information (user-stories §1; JWG1110, uc-home §5).

"User sets: water heater 90 °C, level 50 %, finish by 7 AM; AC cooling, wind auto, 27 °C, finish cooling by
10 AM. The tariff is issued at noon daily for the next 24 h. The CEM plans the next day for relatively low
charges. The user confirms and commits, and the CEM controls the appliances." Test: "Tariff → plan that meets
deadlines at lowest cost. Nothing runs before commit."

The conditions are read as targets: the tank at the level's temperature T_cold + 50 %·(90 − T_cold) = 52.5 °C
by 07:00, the room within [26, 28] °C (the set point ± 1 K) from 10:00 on.
"""

from __future__ import annotations

from datetime import timedelta

from flexcem.cem import CemSettings, OperatingConditions
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK, WaterHeaterModel
from flexcem.model import (
    AcMode,
    AirConditionerSettings,
    FanSpeed,
    PowerSetpointSchedule,
    SettingResult,
    WaterHeaterSettings,
)
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, WaterHeaterAgent, agent, base_load, slot_prices

NOON = local(2021, 7, 6, 12)
WATER_BY = local(2021, 7, 7, 7)
COOL_BY = local(2021, 7, 7, 10)
SETTINGS = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",), commit_required=True)
TARGET_C = 15.0 + 0.5 * (90.0 - 15.0)
CONTROL = (PowerSetpointSchedule, WaterHeaterSettings, AirConditionerSettings)


def water_heater(endpoint, cem, data):  # type: ignore[no-untyped-def]
    """Tank at 45 °C; its own control is set low (30 %), so on its own it does not heat."""
    model = WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, 45.0), set_point_c=90.0, level_percent=30.0)
    return WaterHeaterAgent(endpoint, cem, data, model)


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    """Switched off, room at 26 °C."""
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 26.0), on=False)
    return AirConditionerAgent(endpoint, cem, data, model)


def test_next_day_plan_runs_nothing_before_commit_then_meets_the_users_conditions() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        heater = await agent(home, water_heater, "waterheater")
        aircon = await agent(home, air_conditioner, "aircon")
        home.cem.set_operating_conditions(
            OperatingConditions(
                device_id="waterheater",
                settings=WaterHeaterSettings(device_id="waterheater", set_point_c=90.0, level_percent=50.0),
                desired_finish=WATER_BY,
            )
        )
        home.cem.set_operating_conditions(
            OperatingConditions(
                device_id="aircon",
                settings=AirConditionerSettings(
                    device_id="aircon", on=True, mode=AcMode.COOL, fan=FanSpeed.AUTO, set_point_c=27.0
                ),
                desired_finish=COOL_BY,
            )
        )
        await settle(home)
        await home.clock.sleep(3600)  # the user looks at the proposal for an hour
        sent_before = sum(len(home.messages(kind)) for kind in CONTROL)
        energy_before = heater.power.energy_wh(NOON, home.clock.now()) + aircon.power.energy_wh(NOON, home.clock.now())
        proposal = home.cem.proposal
        assert proposal is not None and proposal.home is not None and proposal.committed_at is None
        committed_at = home.clock.now()
        await home.cem.commit(proposal.proposal_id)
        await settle(home)
        await home.clock.sleep_until(NOON + timedelta(days=1))
        out = {
            "sent_before": sent_before,
            "energy_before": energy_before,
            "schedules": [e.body for e in home.messages(PowerSetpointSchedule)],
            "settings": [type(e.body).__name__ for e in home.messages(WaterHeaterSettings | AirConditionerSettings)],
            "results": [e.body for e in home.messages(SettingResult)],
            "tank": {entry.at: entry.hot_water_c for entry in heater.history},
            "room": {entry.at: entry.room_c for entry in aircon.history},
            "heater_w": heater.power.average_power_w(committed_at, timedelta(hours=1), 23),
            "plan": proposal.plan,
            "committed_at": committed_at,
            "cost": sum(
                (h + a) * p / 4000.0
                for h, a, p in zip(
                    heater.power.average_power_w(NOON, timedelta(minutes=15), 96),
                    aircon.power.average_power_w(NOON, timedelta(minutes=15), 96),
                    slot_prices(NOON, 96),
                    strict=True,
                )
            ),
        }
        await heater.power_off()
        await aircon.power_off()
        return out

    out = run_home(scenario, start=NOON, settings=SETTINGS, forecasts=DataForecasts())
    assert out["sent_before"] == 0, "a schedule or setting went out before the user committed"
    assert out["energy_before"] < 1.0, "an appliance ran before the commit"
    assert {(s.device_id, s.circuit.value) for s in out["schedules"]} == {("waterheater", "main"), ("aircon", "main")}
    assert sorted(out["settings"]) == ["AirConditionerSettings", "WaterHeaterSettings"]
    assert out["results"] and all(result.success for result in out["results"])
    tank = out["tank"]
    assert tank[WATER_BY] >= TARGET_C - 0.3, f"the tank is at {tank[WATER_BY]:.1f} °C at 07:00"
    room = {at: c for at, c in out["room"].items() if COOL_BY <= at <= NOON + timedelta(days=1)}
    assert room and max(room.values()) <= 28.0 + 0.3, f"the room reaches {max(room.values()):.1f} °C after 10:00"
    plan = out["plan"]
    heater_plan = plan.device("waterheater")
    peak = max(plan.price_per_kwh)
    assert all(w < 1.0 for w, price in zip(heater_plan.power_w, plan.price_per_kwh, strict=True) if price == peak), (
        "the water heater is planned at the peak price"
    )
    print(
        f"JWG18: tank {tank[WATER_BY]:.1f} °C at 07:00 (target {TARGET_C:.1f}), room ≤ {max(room.values()):.1f} °C "
        f"from 10:00; plan {plan.total_cost:.4f} USD incl. base load, appliances measured {out['cost']:.4f} USD"
    )
