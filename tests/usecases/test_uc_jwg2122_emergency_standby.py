"""JWG2122 / story JWG8 — emergency load control and its end (uc-market §2, 2122.1–2122.2).

"The grid sends an emergency message to all households: devices go to emergency connected off mode. A
contract-agreed pre-configured per-device profile defines who takes part. Essential devices may stay on. The
message may include a duration. It ends when the time passes or on the grid's end message." Acceptance
(uc-market §2, 7–8): all SDs to standby, the optional confirmation delivered, a duration releases them, the
end restores normal operation and is confirmed on request.

The home: base load, an air conditioner (on/off), a battery (standby) and a water heater the contract profile
exempts.
"""

from __future__ import annotations

from datetime import timedelta

from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.grid import CONFIRM_END, CONFIRM_START
from flexcem.model import AcMode, EmergencyConfirmation
from grid_side import dso, grid_settings
from home_harness import Home, local, run_home, settle
from whole_home import AirConditionerAgent, BatteryAgent, DataForecasts, WaterHeaterAgent, agent, base_load

START = local(2021, 8, 10, 9)


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), on=True)
    model.mode, model.set_point_c = AcMode.COOL, 26.0
    return AirConditionerAgent(endpoint, cem, data, model)


def run(*, duration: timedelta | None) -> dict[str, object]:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        battery = await agent(home, BatteryAgent, "battery")
        heater = await agent(home, WaterHeaterAgent, "waterheater")
        grid = await dso(home)
        await settle(home)
        plan = home.cem.plan
        record = await grid.emergency.declare("home/cem", duration=duration, confirm=True, emergency_id="em-1")
        await settle(home)
        during = {
            "aircon_on": aircon.model.on,
            "battery_w": battery.power.power_w,
            "heater_enabled": heater.enabled,
            "active": home.cem.emergency_active,
            "plan_kept": home.cem.plan is plan,
        }
        if duration is None:
            await home.clock.sleep(1800)
            await grid.emergency.end("em-1", confirm=True)
        else:
            await home.clock.sleep(duration.total_seconds())
        await settle(home, 30.0)
        after = {"aircon_on": aircon.model.on, "active": home.cem.emergency_active}
        starts = [r.body for r in record.answers(CONFIRM_START)]
        ends = [r.body for r in record.answers(CONFIRM_END)]
        for device in (aircon, battery, heater):
            await device.power_off()
        return {"during": during, "after": after, "starts": starts, "ends": ends}

    return run_home(scenario, start=START, settings=grid_settings(exempt=["waterheater"]), forecasts=DataForecasts())


def test_every_device_but_the_exempt_one_goes_to_standby_and_the_end_message_restores_them() -> None:
    out = run(duration=None)
    during, after = out["during"], out["after"]
    assert during["aircon_on"] is False and during["active"] is True
    assert during["heater_enabled"] is True, "the contract profile exempts the water heater"
    assert abs(during["battery_w"]) <= 10.0, "the battery only draws its own standby"  # type: ignore[arg-type]
    starts, ends = out["starts"], out["ends"]
    assert len(starts) == 1 and isinstance(starts[0], EmergencyConfirmation)  # type: ignore[arg-type]
    assert starts[0].devices_in_standby == 2 and starts[0].exempt_devices == ("waterheater",)  # type: ignore[index]
    assert len(ends) == 1, "the end is confirmed on request"  # type: ignore[arg-type]
    assert after == {"aircon_on": True, "active": False}


def test_a_given_duration_releases_the_devices_on_its_own() -> None:
    out = run(duration=timedelta(hours=1))
    assert out["during"]["aircon_on"] is False  # type: ignore[index]
    assert out["after"] == {"aircon_on": True, "active": False}
    assert out["ends"] == [], "no end message was sent, so none is confirmed"
