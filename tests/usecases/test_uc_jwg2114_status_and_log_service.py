"""JWG2114 / JWG113x — Status and logs of the home's devices for the grid side (uc-market §1, uc-home §8).

Acceptance (digests): "An unauthorized state request is refused. An authorized one is answered from cache or
after polling." "LogRequest returns a time-ordered history … cumulative counters never decrease." "Request to an
unreachable device times out and yields an error." A battery and a water heater of the CityLearn home report to
the CEM; the DSO is authorised for the battery only.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from flexcem.bus import MessageRefused
from flexcem.cem.grid_settings import StatusGrant
from flexcem.model import BatteryLog, BatteryStatus, LogRequest, StatusRequest, WaterHeaterStatus
from grid_side import CEM, grid_settings
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import BatteryAgent, DataForecasts, WaterHeaterAgent, agent, base_load

START = local(2021, 8, 10, 6)


def settings():  # type: ignore[no-untyped-def]
    base = grid_settings()
    grant = StatusGrant(reader=f"{DOMAIN}/dso", devices=("battery", "waterheater"))
    grid = base.grid.model_copy(update={"status_readers": (grant,)})
    return base.model_copy(update={"grid": grid})


def test_authorised_requests_are_answered_from_memory_or_by_polling_others_refused_naming_from() -> None:
    async def scenario(home: Home) -> None:
        await base_load(home)
        battery = await agent(home, BatteryAgent, "battery")
        heater = await agent(home, WaterHeaterAgent, "waterheater")
        dso = await home.endpoint("dso")
        stranger = await home.endpoint("stranger")
        await dso.start()
        await stranger.start()
        await home.clock.sleep(3 * 3600.0 + 60.0)
        service = home.cem.grid_side.status
        fresh = await dso.deliver(CEM, StatusRequest(device_id="battery"), expect=BatteryStatus)
        assert service.answered[-1][3] == "memory", "a report of the last 15 min answers from memory"
        assert home.clock.now() - fresh.at <= timedelta(minutes=15)
        await home.clock.sleep(20 * 60.0)
        service.latest.pop("waterheater", None)  # nothing in memory: the CEM polls
        polled = await dso.deliver(CEM, StatusRequest(device_id="waterheater"), expect=WaterHeaterStatus)
        assert service.answered[-1][3] == "polled" and polled.at == home.clock.now()
        log = await dso.deliver(CEM, LogRequest(device_id="battery", start=START), expect=BatteryLog)
        times = [entry.at for entry in log.entries]
        assert len(times) >= 12 and times == sorted(times)
        charged = [entry.cumulative_charge_wh for entry in log.entries]
        assert all(b >= a for a, b in pairwise(charged)), "counters never decrease"
        for sender, device in ((stranger, "battery"), (dso, "baseload")):
            with pytest.raises(MessageRefused) as refused:
                await sender.deliver(CEM, StatusRequest(device_id=device), expect=BatteryStatus)
            assert refused.value.field == "from"
        with pytest.raises(MessageRefused) as refused:
            await stranger.deliver(CEM, LogRequest(device_id="battery"), expect=BatteryLog)
        assert refused.value.field == "from"
        await heater.power_off()  # unreachable now
        service.latest.pop("waterheater", None)
        with pytest.raises(MessageRefused) as unreachable:
            await dso.deliver(CEM, StatusRequest(device_id="waterheater"), expect=WaterHeaterStatus)
        assert unreachable.value.field == "device_id" and "unreachable" in unreachable.value.reason
        await battery.power_off()
        await settle(home)

    run_home(scenario, start=START, settings=settings(), forecasts=DataForecasts())
