"""Story JWG11 — a device whose agent restarts gets the CEM's schedule again.

A restarted device (its agent process starts anew and registers again) has lost the schedules it had
confirmed. The CEM must not go on counting them as followed: were it to keep them as confirmed, its next plan
would judge the same schedule a negligible change, send nothing, and the device would run on its own control
(a battery idle) while the CEM believes it follows the plan. A battery of the CityLearn home, planned by the CEM,
restarts a minute after its first schedule (its state as planned).
"""

from __future__ import annotations

from flexcem.bus import Endpoint
from flexcem.model import Circuit
from grid_side import grid_settings
from home_harness import Home, local, run_home, settle
from whole_home import DATA, BatteryAgent, DataForecasts, base_load

START = local(2021, 8, 10, 6)


def test_a_restarted_device_is_sent_the_schedule_the_cem_counts_as_confirmed() -> None:
    async def scenario(home: Home) -> None:
        await base_load(home)
        first = BatteryAgent(Endpoint(await home.backend.connect("battery"), home.clock), home.cem_address, DATA)
        await first.power_on()
        await first.registered.wait()
        await settle(home)
        await home.clock.sleep(60.0)
        dispatcher = home.cem.home.dispatcher
        before = dispatcher.confirmed.get(("battery", Circuit.MAIN))
        assert before is not None and Circuit.MAIN in first.schedules
        await first.power_off()

        restarted = BatteryAgent(Endpoint(await home.backend.connect("battery"), home.clock), home.cem_address, DATA)
        await restarted.power_on()
        await restarted.registered.wait()
        await settle(home)
        confirmed = dispatcher.confirmed.get(("battery", Circuit.MAIN))
        following = restarted.schedules.get(Circuit.MAIN)
        assert confirmed is not None and following is not None, "the restarted battery follows a schedule"
        assert following.schedule_id == confirmed.schedule_id, "the one the CEM counts as confirmed"
        now = home.clock.now()
        slot = confirmed.schedule.slot_at(now)
        assert slot is not None and restarted.setpoint_w(now) == slot.power_w
        assert any("battery registered again" in entry.text for entry in home.cem.journal)
        await restarted.power_off()

    run_home(scenario, start=START, settings=grid_settings(), forecasts=DataForecasts())
