"""JWG2122 — a severe emergency re-plans with the battery charging first, and appliances waiting for a planned
start do not start during an emergency (uc-market §2 acceptance 7 and 9; story JWG8).

"On a severe level the CEM may change its plan (e.g. prioritise battery charging)": the battery charges at full
power instead of going to standby, so the home has stored energy if the blackout comes, while every other device
is in standby. An appliance that waits for its planned start is idle, so standby has nothing to stop; its start
is held back to the end of the emergency instead (at most to its latest start) and it runs after.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.model import AcMode, AlertLevel, CommandKind, DeviceState, StartTimeAssignment
from grid_side import dso, grid_settings
from home_harness import Home, local, run_home, settle
from whole_home import AirConditionerAgent, BatteryAgent, DataForecasts, agent, base_load

START = local(2021, 8, 10, 9)
HOUR = timedelta(hours=1)


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), on=True)
    model.mode, model.set_point_c = AcMode.COOL, 26.0
    return AirConditionerAgent(endpoint, cem, data, model)


@pytest.mark.parametrize("level", [AlertLevel.SEVERE, AlertLevel.NORMAL])
def test_a_severe_emergency_charges_the_battery_first_while_the_rest_is_in_standby(level: AlertLevel) -> None:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        battery = await agent(home, BatteryAgent, "battery")
        grid = await dso(home)
        await settle(home)
        soc_before = battery.model.soc
        await grid.emergency.declare("home/cem", level=level, duration=HOUR, emergency_id="em-severe")
        await settle(home)
        await home.clock.sleep(960)  # the devices' physics steps on at its next boundary (15 min at most)
        during = {"aircon_on": aircon.model.on, "battery_w": battery.power.power_w}
        await home.clock.sleep(840)
        during["soc_gain"] = battery.model.soc - soc_before
        await home.clock.sleep(1800)
        await settle(home, 30.0)
        after = {"aircon_on": aircon.model.on, "held": "battery" in home.cem.home.dispatcher.held_until}
        commands = {(c.device_id, c.command) for c in home.cem.emergency.commands}
        for device in (aircon, battery):
            await device.power_off()
        return {"during": during, "after": after, "commands": commands}

    out = run_home(scenario, start=START, settings=grid_settings(), forecasts=DataForecasts())
    during = out["during"]
    assert isinstance(during, dict) and during["aircon_on"] is False
    if level is AlertLevel.SEVERE:
        assert during["battery_w"] == pytest.approx(5000.0, rel=0.01), "quick charge at the battery's full power"
        assert during["soc_gain"] > 0.2, "half an hour at 5 kW adds about a quarter of 10 kWh"
        assert ("battery", CommandKind.CHARGE) in out["commands"]  # type: ignore[operator]
    else:
        assert abs(during["battery_w"]) <= 10.0, "a normal emergency puts the battery in standby"
        assert ("battery", CommandKind.STANDBY) in out["commands"]  # type: ignore[operator]
    assert out["after"] == {"aircon_on": True, "held": False}, "after the duration the plans take over again"


def test_an_idle_appliance_with_a_planned_start_in_the_emergency_starts_after_it() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=START + 14 * HOUR)
        await washer.activate()
        grid = await dso(home)
        await settle(home)
        planned = home.messages(StartTimeAssignment)[-1].body.start
        now = home.clock.now()
        until = planned + HOUR
        await grid.emergency.declare("home/cem", duration=until - now, emergency_id="em-held")
        await settle(home)
        job = home.cem.jobs.current("washer")
        moved = job.confirmed.start if job and job.confirmed else None
        await home.clock.sleep_until(until - timedelta(minutes=1))
        state_in_emergency = washer.state
        await home.clock.sleep_until(START + 14 * HOUR)
        return {
            "planned": planned,
            "moved": moved,
            "until": until,
            "state_in_emergency": state_in_emergency,
            "started": washer.job.started_at,
            "final": washer.state,
            "held_after": dict(home.cem.emergency.held_jobs),
        }

    out = run_home(scenario, start=START, settings=grid_settings())
    assert out["planned"] > START + timedelta(minutes=10), "the first plan starts the washer later"  # type: ignore[operator]
    assert out["moved"] >= out["until"], "the start is moved out of the emergency"  # type: ignore[operator]
    assert out["state_in_emergency"] is not DeviceState.RUNNING
    assert out["started"] >= out["until"] and out["final"] is DeviceState.FINISHED  # type: ignore[operator]
    assert out["held_after"] == {}
