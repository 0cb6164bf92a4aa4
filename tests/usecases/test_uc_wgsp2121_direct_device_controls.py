"""TR Table 1 direct device controls at the CEM (WGSP2121 / JWG2121): heat-pump shut-off profile, store heat,
battery ancillary-service dispatch, VAR mode and voltage support.

The grid's direct-control program sends each control to the CEM. The CEM takes it only from a grid actor of the
contract, only for devices the user allows, forwards it to the device that carries it out, and answers
"successful / unsuccessful" with the devices or the reason (uc-market §2, Table 1 items tagged 2121).

The home at 11:00 on a sunny August day: base load, a heat pump, a water heater, a battery at half charge and
a PV system, planned by the CEM.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.bus import MessageRefused
from flexcem.cem import CemSettings
from flexcem.cem.grid_settings import DirectControlGrant, DirectControlKind
from flexcem.grid import GridRegistry
from flexcem.grid.direct_control import DirectControlProgram
from flexcem.model import (
    AncillaryService,
    BatteryDispatch,
    DirectControlResult,
    HeatPumpShutOffProfile,
    PowerSeries,
    PowerSlot,
    StoreHeatRequest,
    TimeWindow,
    VarMode,
    VarModeInformation,
    VoltageSupportRequest,
)
from grid_side import AREA, CEM, grid_settings
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import BatteryAgent, DataForecasts, HeatPumpAgent, PvAgent, WaterHeaterAgent, agent, base_load

START = local(2021, 8, 10, 11)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def settings(*grants: DirectControlGrant, battery_min_level: float | None = None) -> CemSettings:
    base = grid_settings()
    return base.model_copy(
        update={
            "grid": base.grid.model_copy(update={"direct_controls": grants}),
            "home": base.home.model_copy(update={"battery_min_level": battery_min_level}),
        }
    )


def grant(control: DirectControlKind, *devices: str) -> DirectControlGrant:
    return DirectControlGrant(control=control, devices=devices)


async def program(home: Home) -> DirectControlProgram:
    endpoint = await home.endpoint("dso")
    registry = GridRegistry(DOMAIN)
    registry.add_area(AREA, ["cem"])
    await endpoint.start()
    return DirectControlProgram(endpoint, registry)


def discharge(start: object, minutes: int, power_w: float) -> PowerSeries:
    return PowerSeries(slots=(PowerSlot(start=start, duration=minutes * MINUTE, power_w=-power_w),))  # type: ignore[arg-type]


def test_shut_off_store_heat_and_dispatch_are_carried_out_by_the_allowed_devices_and_answered() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        heat_pump = await agent(home, HeatPumpAgent, "heatpump")
        heater = await agent(home, WaterHeaterAgent, "waterheater")
        battery = await agent(home, BatteryAgent, "battery")
        grid = await program(home)
        await settle(home)
        now = home.clock.now()
        shut_off = await grid.send(
            CEM,
            HeatPumpShutOffProfile(profile_id="hp-block", blocks=(TimeWindow(start=now + HOUR, end=now + 3 * HOUR),)),
        )
        store = await grid.send(CEM, StoreHeatRequest(request_id="store-1", start=now, end=now + HOUR, target_c=60.0))
        dispatch = await grid.send(
            CEM,
            BatteryDispatch(
                dispatch_id="fcr-1",
                service=AncillaryService.FREQUENCY_RESTORATION,
                schedule=discharge(now + 10 * MINUTE, 30, 2000.0),
            ),
        )
        await settle(home)
        out: dict[str, object] = {"heating_at_once": heater.model.heating}
        await home.clock.sleep_until(now + 20 * MINUTE)
        out["battery_w"] = battery.power.power_w
        await home.clock.sleep_until(now + 90 * MINUTE)
        out["heat_pump_in_block"] = (heat_pump.enabled, heat_pump.power.power_w)
        await home.clock.sleep_until(now + 3 * HOUR + 5 * MINUTE)
        out["heat_pump_after"] = heat_pump.enabled
        out["held_after"] = set(home.cem.home.dispatcher.held_until) & {"heatpump", "waterheater", "battery"}
        answers = [a.body for record in (shut_off, store, dispatch) for a in record.answers("result")]
        out["results"] = {body.ref: body for body in answers}
        for device in (heat_pump, heater, battery):
            await device.power_off()
        return out

    out = run_home(
        scenario,
        start=START,
        settings=settings(
            grant(DirectControlKind.HEAT_PUMP_SHUT_OFF),
            grant(DirectControlKind.STORE_HEAT, "waterheater"),
            grant(DirectControlKind.BATTERY_DISPATCH),
        ),
        forecasts=DataForecasts(),
    )
    results = out["results"]
    assert isinstance(results, dict)
    assert results["hp-block"] == DirectControlResult(
        ref="hp-block", control_type="HeatPumpShutOffProfile", success=True, devices=("heatpump",)
    ), "a later block is answered as scheduled"
    assert results["store-1"].success and results["store-1"].devices == ("waterheater",), (
        "the user allows storing heat in the water heater only, not the heat pump"
    )
    assert results["fcr-1"].success and results["fcr-1"].devices == ("battery",)
    assert out["heating_at_once"] is True
    assert out["battery_w"] == pytest.approx(-2000.0, abs=15.0), "the battery follows the dispatch"
    assert out["heat_pump_in_block"] == (False, 0.0), "the heat pump is off in the shut-off block"
    assert out["heat_pump_after"] is True and out["held_after"] == set(), "after the windows the plans take over"


def test_controls_are_refused_or_unsuccessful_with_the_reason_and_inverters_take_var_mode_and_voltage_support() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        await agent(home, WaterHeaterAgent, "waterheater")
        await agent(home, BatteryAgent, "battery")
        pv = await agent(home, PvAgent, "pv")
        dso = await home.endpoint("dso")
        stranger = await home.endpoint("stranger")
        await dso.start()
        await stranger.start()
        await settle(home)
        now = home.clock.now()

        async def ask(body: object, sender: object = dso) -> DirectControlResult | str:
            try:
                return await sender.deliver(CEM, body, expect=DirectControlResult)  # type: ignore[attr-defined,no-any-return]
            except MessageRefused as refusal:
                return f"refused {refusal.field}: {refusal}"

        var = VarModeInformation(control_id="var-1", mode=VarMode.FIXED_POWER_FACTOR, power_factor=0.95, valid_from=now)
        out: dict[str, object] = {
            "stranger": await ask(var, stranger),
            "unknown_device": await ask(var.model_copy(update={"device_id": "nosuch"})),
            "wrong_kind": await ask(var.model_copy(update={"device_id": "waterheater"})),
            "past": await ask(
                BatteryDispatch(
                    dispatch_id="late",
                    service=AncillaryService.PEAK_SHAVING,
                    schedule=discharge(now - HOUR, 30, 1000.0),
                )
            ),
            "not_allowed": await ask(StoreHeatRequest(request_id="s", start=now, end=now + HOUR)),
            "below_minimum": await ask(
                BatteryDispatch(
                    dispatch_id="deep", service=AncillaryService.PEAK_SHAVING, schedule=discharge(now, 60, 2000.0)
                )
            ),
            "var": await ask(var),
            "volt_var": await ask(VarModeInformation(control_id="var-2", mode=VarMode.VOLT_VAR, valid_from=now)),
        }
        await home.clock.sleep(60.0)
        out["pv_w"], out["q_var"] = pv.generated_w, pv.reactive_power_var
        out["support"] = await ask(
            VoltageSupportRequest(
                request_id="vs-1", start=now, end=now + HOUR, low_v=207.0, high_v=253.0, max_reactive_power_var=300.0
            )
        )
        await home.clock.sleep(60.0)
        out["q_support"] = pv.reactive_power_var
        await pv.power_off()
        return out

    out = run_home(
        scenario,
        start=START,
        settings=settings(
            grant(DirectControlKind.VAR_MODE),
            grant(DirectControlKind.VOLTAGE_SUPPORT),
            grant(DirectControlKind.BATTERY_DISPATCH),
            battery_min_level=0.4,
        ),
        forecasts=DataForecasts(),
    )
    assert str(out["stranger"]).startswith("refused from"), out["stranger"]
    assert str(out["unknown_device"]).startswith("refused device_id"), out["unknown_device"]
    assert str(out["wrong_kind"]).startswith("refused device_id"), out["wrong_kind"]
    assert str(out["past"]).startswith("refused schedule"), out["past"]
    not_allowed = out["not_allowed"]
    assert isinstance(not_allowed, DirectControlResult) and not not_allowed.success
    assert "does not allow store_heat for waterheater" in (not_allowed.reason or "")
    below = out["below_minimum"]
    assert isinstance(below, DirectControlResult) and not below.success and "minimum level" in (below.reason or "")
    assert out["var"] == DirectControlResult(
        ref="var-1", control_type="VarModeInformation", success=True, devices=("pv",)
    )
    volt_var = out["volt_var"]
    assert isinstance(volt_var, DirectControlResult) and not volt_var.success and "voltage" in (volt_var.reason or "")
    pv_w = out["pv_w"]
    assert isinstance(pv_w, float) and pv_w > 500.0, "a sunny late morning"
    assert out["q_var"] == pytest.approx(-pv_w * (1 - 0.95**2) ** 0.5 / 0.95, rel=1e-3), "pf 0.95, absorbing"
    support = out["support"]
    assert isinstance(support, DirectControlResult) and support.success and support.devices == ("pv",)
    assert -300.0 <= float(out["q_support"]) <= 0.0  # type: ignore[arg-type]


def test_a_shut_off_profile_of_several_blocks_switches_the_heat_pump_off_and_on_around_each_block() -> None:
    async def scenario(home: Home) -> dict[str, object]:
        await base_load(home)
        heat_pump = await agent(home, HeatPumpAgent, "heatpump")
        grid = await program(home)
        await settle(home)
        now = home.clock.now()
        blocks = [(now, now + 30 * MINUTE), (now + HOUR, now + 90 * MINUTE), (now + 2 * HOUR, now + 150 * MINUTE)]
        record = await grid.send(
            CEM,
            HeatPumpShutOffProfile(profile_id="hp-blocks", blocks=tuple(TimeWindow(start=s, end=e) for s, e in blocks)),
        )
        await settle(home)
        samples: list[tuple[bool, float, bool]] = []
        for start, end in blocks:
            for at in (start + 15 * MINUTE, end + 15 * MINUTE):  # inside the block, then in the gap after it
                await home.clock.sleep_until(at)
                held = "heatpump" in home.cem.home.dispatcher.held_until
                samples.append((heat_pump.enabled, heat_pump.power.power_w, held))
        actions = [
            (a.at, a.what, a.success) for a in home.cem.grid_side.direct_controls.actions if a.ref == "hp-blocks"
        ]
        await heat_pump.power_off()
        return {
            "blocks": blocks,
            "samples": samples,
            "actions": actions,
            "results": [a.body for a in record.answers("result")],
        }

    out = run_home(
        scenario, start=START, settings=settings(grant(DirectControlKind.HEAT_PUMP_SHUT_OFF)), forecasts=DataForecasts()
    )
    (result,) = out["results"]  # type: ignore[misc]
    assert result.success and result.devices == ("heatpump",), "the first block has begun: the pump's own answer"
    expected = [(at, what, True) for start, end in out["blocks"] for at, what in ((start, "off"), (end, "on"))]  # type: ignore[attr-defined]
    actions = out["actions"]
    assert [(what, ok) for _, what, ok in actions] == [(what, ok) for _, what, ok in expected]  # type: ignore[attr-defined]
    for (at, _, _), (want, _, _) in zip(actions, expected, strict=True):  # type: ignore[call-overload]
        assert abs((at - want).total_seconds()) < 60.0, f"switched at {at}, the block edge is {want}"
    inside, gaps = out["samples"][0::2], out["samples"][1::2]  # type: ignore[index]
    assert inside == [(False, 0.0, True)] * 3, "off, drawing nothing and out of the plans in each block"
    assert [(enabled, held) for enabled, _, held in gaps] == [(True, False)] * 3, "on and the plans' between blocks"
