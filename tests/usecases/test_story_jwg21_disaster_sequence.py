"""Story JWG21 — control appliances in a natural disaster (user-stories §1).

"WH and storage battery have top priority. Presets: WH 90 °C, 50 %; battery quick charge. Plan: check all
appliances, normal shutdown of all except WH and battery, run those two. Auto-execution on a power alert is
enabled. Alert at 10 AM; acts at 10 AM + n. Branches: (a) no call-off → both run to finish; (b) saving request →
WH shuts down normally, battery continues; (c) power-cut info → run until the cut, shutdown done before it;
(d) alert call-off → normal shutdown of both."

The home: base load, an air conditioner cooling, a water heater with a cool tank (30 °C) and a battery at half
charge. The power alert is a severe emergency signal at 10:00; n = 10 min.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.cem.grid_settings import DisasterSettings
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK, WaterHeaterModel
from flexcem.model import AcMode, AlertLevel
from grid_side import dso, grid_settings
from home_harness import Home, local, run_home, settle
from whole_home import AirConditionerAgent, BatteryAgent, DataForecasts, WaterHeaterAgent, agent, base_load

ALERT = local(2021, 8, 10, 10)
N = timedelta(minutes=10)
MINUTE = timedelta(minutes=1)
CUT = (local(2021, 8, 10, 12), local(2021, 8, 10, 14))


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), on=True)
    model.mode, model.set_point_c = AcMode.COOL, 26.0
    return AirConditionerAgent(endpoint, cem, data, model)


def water_heater(endpoint, cem, data):  # type: ignore[no-untyped-def]
    return WaterHeaterAgent(endpoint, cem, data, WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, 30.0)))


def settings():  # type: ignore[no-untyped-def]
    base = grid_settings()
    preset = DisasterSettings(auto_execute=True, water_heaters=("waterheater",), batteries=("battery",), delay=N)
    return base.model_copy(update={"grid": base.grid.model_copy(update={"disaster": preset})})


def run(branch: str) -> dict[str, object]:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        heater = await agent(home, water_heater, "waterheater")
        battery = await agent(home, BatteryAgent, "battery")
        grid = await dso(home)
        await settle(home)
        await home.clock.sleep_until(ALERT)
        await grid.emergency.declare("home/cem", level=AlertLevel.SEVERE, emergency_id="quake", reason="earthquake")

        def state() -> dict[str, object]:
            return {
                "aircon_on": aircon.model.on,
                "heater_on": heater.enabled,
                "heater_preset": (heater.model.set_point_c, heater.model.level_percent),
                "battery_w": battery.manual_w,
            }

        out: dict[str, object] = {}
        await home.clock.sleep_until(ALERT + N - MINUTE)
        out["before_n"] = state()
        await home.clock.sleep_until(ALERT + N + MINUTE)
        out["at_n"] = state()
        await home.clock.sleep_until(ALERT + 30 * MINUTE)
        if branch == "saving":
            await grid.saving.request("home/cem", ALERT + 40 * MINUTE, ALERT + 3 * 60 * MINUTE)
        elif branch == "cut":
            await grid.emergency.announce_blackout("home/cem", *CUT)
        elif branch == "call_off":
            await grid.emergency.end("quake")
        await settle(home)
        out["after_branch"] = state()
        if branch == "cut":
            await home.clock.sleep_until(CUT[0] - 10 * MINUTE)
            out["before_cut"] = state()
            await home.clock.sleep_until(CUT[0] - MINUTE)
            out["at_cut"] = state()
        await home.clock.sleep_until(ALERT + 4 * 60 * MINUTE)
        out["end"] = {**state(), "heater_w": heater.last_power_w, "tank_c": heater.model.tank.temperature_c}
        out["soc"] = battery.model.soc
        out["steps"] = [(s.device_id, s.action) for s in home.cem.emergency.disaster.steps if s.success]
        out["active"] = home.cem.emergency.disaster.active
        for device in (aircon, heater, battery):
            await device.power_off()
        return out

    return run_home(scenario, start=ALERT - 30 * MINUTE, settings=settings(), forecasts=DataForecasts())


RUN = ["waterheater-off", "waterheater-preset", "waterheater-start", "battery-charge"]


def steps(out: dict[str, object]) -> list[str]:
    return [f"{device}-{action}" for device, action in out["steps"]]  # type: ignore[attr-defined]


def check_start(out: dict[str, object]) -> None:
    assert out["before_n"] == {
        "aircon_on": True,
        "heater_on": True,
        "heater_preset": (90.0, 100.0),
        "battery_w": None,
    }, "nothing happens before 10:00 + n"
    assert out["at_n"] == {
        "aircon_on": False,
        "heater_on": True,
        "heater_preset": (90.0, 50.0),
        "battery_w": 5000.0,
    }, "at 10:00 + n all but the water heater and battery shut down; those two run with the preset"


def test_a_no_call_off_both_run_to_finish() -> None:
    out = run("none")
    check_start(out)
    assert steps(out) == RUN, "nothing is sent after the preset run"
    end = out["end"]
    assert isinstance(end, dict) and end["heater_on"] is True and end["heater_w"] == 0.0
    assert end["tank_c"] == pytest.approx(10.0 + 0.5 * (90.0 - 10.0), abs=2.0), "heated to the preset and stopped"
    assert out["soc"] == pytest.approx(0.95, abs=0.01), "the battery charged to full"


def test_b_a_saving_request_shuts_the_water_heater_down_and_the_battery_charges_on() -> None:
    out = run("saving")
    check_start(out)
    assert steps(out) == [*RUN, "waterheater-off"]
    assert out["after_branch"] == {
        "aircon_on": False,
        "heater_on": False,
        "heater_preset": (90.0, 50.0),
        "battery_w": 5000.0,
    }
    assert out["soc"] == pytest.approx(0.95, abs=0.01)


def test_c_power_cut_information_runs_both_until_the_cut_and_shuts_them_down_before_it() -> None:
    out = run("cut")
    check_start(out)
    assert out["before_cut"]["heater_on"] is True  # type: ignore[index]
    assert out["at_cut"]["heater_on"] is False and out["at_cut"]["battery_w"] == 0.0  # type: ignore[index]
    assert steps(out) == [*RUN, "waterheater-off", "battery-standby"]


def test_d_the_alert_call_off_shuts_both_down_normally_and_the_home_returns_to_its_plans() -> None:
    out = run("call_off")
    check_start(out)
    assert steps(out) == [*RUN, "waterheater-off", "battery-standby"]
    after = out["after_branch"]
    assert isinstance(after, dict) and after["aircon_on"] is True and after["heater_on"] is False
    assert out["active"] is False
