"""JWG1121/1122 — extra hot water via the heat pump, and the battery behind an ad-hoc run (TR A.3.8; uc-home §7).

1121: "customer requests HP on for water heating; unless an emergency situation exists, the request overrules
an active configuration … HP activates hot-water generation and informs the CEM." 1122: "HP controller starts
heating and broadcasts its operation status; EMS receives it and requests the storage battery controller to
start discharge." Acceptance: the request reaches the pump and is answered; refused (user told why) during an
emergency; a status "running (ad hoc)" makes the CEM send the battery DISCHARGE, answered successful or not.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.cem import CemSettings
from flexcem.cem.hot_water import BatteryAssist
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.model import CommandKind, HeatPumpStatus, HotWaterRequest, SettingResult, SimpleCommand
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import BatteryAgent, DataForecasts, HeatPumpAgent, agent, base_load

START = local(2021, 7, 6, 18)
SETTINGS = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",))


def heat_pump(tank_c: float = 47.0) -> object:
    model = HeatPumpModel(DEFAULT_HEAT_PUMP, HotWaterTank(DEFAULT_HEAT_PUMP_TANK, tank_c))
    return lambda e, c, d: HeatPumpAgent(e, c, d, model)


def test_the_users_request_reaches_the_pump_which_heats_at_once_over_its_schedule() -> None:
    async def scenario(home: Home) -> tuple[SettingResult, list[float], bool]:
        await base_load(home)
        pump = await agent(home, heat_pump(), "heatpump")  # type: ignore[arg-type]
        await settle(home)
        result = await home.cem.request_extra_hot_water("heatpump")
        await home.clock.sleep(20 * 60)
        temperatures = [entry.hot_water_c for entry in pump.history]
        return result, temperatures, pump.status().extra_hot_water

    result, temperatures, boosting = run_home(scenario, start=START, settings=SETTINGS, forecasts=DataForecasts())
    assert result.success and result.ref == "HotWaterRequest"
    assert boosting or temperatures[-1] >= DEFAULT_HEAT_PUMP_TANK.max_c - 0.5  # heating, or already full
    assert temperatures[-1] > temperatures[0] + 1.0


def test_during_an_emergency_the_request_is_refused_and_nothing_is_sent() -> None:
    async def scenario(home: Home) -> int:
        await agent(home, heat_pump(), "heatpump")  # type: ignore[arg-type]
        home.cem.emergency_active = True
        with pytest.raises(PermissionError, match="emergency"):
            await home.cem.request_extra_hot_water("heatpump")
        await settle(home)
        return len(home.messages(HotWaterRequest))

    assert run_home(scenario, start=START, settings=SETTINGS, forecasts=DataForecasts()) == 0


def test_a_request_for_a_device_that_heats_no_water_is_refused_naming_it() -> None:
    async def scenario(home: Home) -> None:
        await agent(home, BatteryAgent, "battery")
        with pytest.raises(ValueError, match="device_id 'battery'"):
            await home.cem.request_extra_hot_water("battery")

    run_home(scenario, start=START, settings=SETTINGS, forecasts=DataForecasts())


def test_an_ad_hoc_run_at_the_pump_makes_the_battery_discharge_until_it_is_over() -> None:
    async def scenario(home: Home) -> tuple[list[BatteryAssist], list[float], list[HeatPumpStatus]]:
        await base_load(home)
        battery = await agent(home, BatteryAgent, "battery")
        pump = await agent(home, heat_pump(tank_c=46.0), "heatpump")  # type: ignore[arg-type]
        await settle(home)
        assert pump.extra_hot_water()  # the user presses "extra hot water" on the pump itself
        await settle(home)
        await home.clock.sleep(3 * 60)  # the battery acts at its next step
        discharging = [battery.model.power_w]
        await home.clock.sleep_until(home.clock.now() + timedelta(hours=2))  # the tank fills, the pump says so
        await settle(home)
        statuses = [e.body for e in home.messages(HeatPumpStatus)]
        return list(home.cem.hot_water.assists), discharging, statuses

    assists, discharging, statuses = run_home(scenario, start=START, settings=SETTINGS, forecasts=DataForecasts())
    assert any(s.extra_hot_water and s.running for s in statuses), "the pump did not announce its ad-hoc run"
    assert assists[0].command is CommandKind.DISCHARGE and assists[0].success, assists
    assert assists[0].power_w is not None and assists[0].power_w > 0.0
    assert discharging[0] < 0.0, "the battery did not discharge"
    assert any(a.command is CommandKind.STANDBY for a in assists[1:]), "the battery was not released"


def test_commands_go_to_batteries_only() -> None:
    async def scenario(home: Home) -> list[str]:
        await agent(home, BatteryAgent, "battery")
        pump = await agent(home, heat_pump(tank_c=46.0), "heatpump")  # type: ignore[arg-type]
        await settle(home)
        pump.extra_hot_water()
        await settle(home)
        return [e.body.device_id for e in home.messages(SimpleCommand)]

    assert set(run_home(scenario, start=START, settings=SETTINGS, forecasts=DataForecasts())) == {"battery"}
