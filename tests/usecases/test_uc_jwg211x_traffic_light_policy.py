"""Traffic-light policy (TR §3.4.5, Figure 23; WGSP2112): green — the user's objective; yellow — load
management honoured within the contract; red — emergency standby until the light leaves red."""

from __future__ import annotations

from datetime import timedelta

from flexcem.cem.grid_settings import FlexPermission
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.grid.load_management import RESPONSE
from flexcem.model import AcMode, AdjustmentAction, GridState, LoadManagementResponse, ResponseStatus
from grid_side import AREA, dso, grid_settings
from home_harness import Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, agent, base_load

START = local(2021, 8, 10, 9)
ALLOW = FlexPermission(device_id="aircon", max_duration=timedelta(hours=4), comfort_range_c=2.0)


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    """Cooling to 26 °C, the room at 27 °C."""
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), on=True)
    model.mode, model.set_point_c = AcMode.COOL, 26.0
    return AirConditionerAgent(endpoint, cem, data, model)


def test_green_declines_unpaid_load_management_yellow_takes_it_red_puts_devices_in_standby() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        aircon = await agent(home, air_conditioner, "aircon")
        grid = await dso(home)
        await settle(home)
        statuses = {}
        for state in (GridState.GREEN, GridState.YELLOW):
            await grid.light.set_state(AREA, state, to="home/cem")
            await settle(home)
            now = home.clock.now()
            record = await grid.load.request(
                "home/cem",
                action=AdjustmentAction.REDUCE,
                amount_w=200.0,
                start=now + timedelta(hours=1),
                end=now + timedelta(hours=2),
                response_deadline=now + timedelta(minutes=30),
                event_id=f"lm-{state.value}",
            )
            await settle(home)
            answer = record.answers(RESPONSE)[0].body
            assert isinstance(answer, LoadManagementResponse)
            statuses[state] = answer
        await grid.light.set_state(AREA, GridState.RED, to="home/cem")
        await settle(home)
        red = (aircon.model.on, home.cem.emergency_active)
        await grid.light.set_state(AREA, GridState.GREEN, to="home/cem")
        await settle(home)
        back = (aircon.model.on, home.cem.emergency_active)
        await aircon.power_off()
        return {"statuses": statuses, "red": red, "back": back}

    out = run_home(scenario, start=START, settings=grid_settings(allow=[ALLOW]), forecasts=DataForecasts())
    statuses = out["statuses"]
    green, yellow = statuses[GridState.GREEN], statuses[GridState.YELLOW]  # type: ignore[index]
    assert green.status is ResponseStatus.REJECT and "green" in green.reason
    assert yellow.status is not ResponseStatus.REJECT or "green" not in (yellow.reason or "")
    assert out["red"] == (False, True)
    assert out["back"] == (True, False)
