"""Story JWG20 — Control appliances before a power cut (user-stories §1; JWG2122 scheduled blackout).

"At 7 AM a cut for 1 PM–5 PM is announced. At 8 AM the CEM plans before, during and after the cut." Test:
"Nothing runs 13:00–17:00. Storable loads are pre-run." A water heater with the building's real hot-water
draws: with the announcement the CEM plans no heating in the cut and more before it; from 13:00 the heater is
in standby (off) until the cut is over.
"""

from __future__ import annotations

from flexcem.grid import CONFIRM_START
from grid_side import dso, grid_settings
from home_harness import Home, local, run_home, settle
from whole_home import DataForecasts, WaterHeaterAgent, agent, base_load

SEVEN = local(2021, 8, 10, 7)
CUT = (local(2021, 8, 10, 13), local(2021, 8, 10, 17))


def heater_plan(announce: bool) -> tuple[float, float, bool | None, int]:
    async def scenario(home: Home) -> tuple[float, float, bool | None, int]:
        await base_load(home)
        heater = await agent(home, WaterHeaterAgent, "waterheater")
        grid = await dso(home)
        await settle(home)
        confirmations = 0
        if announce:
            record = await grid.emergency.announce_blackout("home/cem", *CUT)
            await settle(home)
            confirmations = len(record.answers(CONFIRM_START))
        plan = home.cem.plan
        assert plan is not None
        device = plan.device("waterheater")
        slot_h = plan.slot_duration.total_seconds() / 3600.0
        inside = sum(w for w, at in zip(device.power_w, plan.slot_starts, strict=True) if CUT[0] <= at < CUT[1])
        before = sum(w for w, at in zip(device.power_w, plan.slot_starts, strict=True) if at < CUT[0])
        enabled = None
        if announce:
            await home.clock.sleep_until(local(2021, 8, 10, 14))
            enabled = heater.enabled
        await heater.power_off()
        return inside * slot_h, before * slot_h, enabled, confirmations

    return run_home(scenario, start=SEVEN, settings=grid_settings(), forecasts=DataForecasts())


def test_nothing_runs_in_the_announced_cut_and_hot_water_is_heated_before_it() -> None:
    inside, before, enabled, confirmations = heater_plan(announce=True)
    inside_usual, before_usual, _, _ = heater_plan(announce=False)
    assert confirmations == 1
    assert inside < 1.0, f"the water heater is planned {inside:.0f} Wh in the cut"
    assert enabled is False, "the water heater is in standby during the cut"
    assert inside_usual > 1.0 or before >= before_usual, (inside_usual, before, before_usual)
    assert before + 1.0 >= before_usual
