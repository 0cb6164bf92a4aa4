"""Story JWG11 — Unexpected disconnect (user-stories §1): heartbeat, status request, warning, fail-safe.

"CEM and devices exchange regular status messages. If one is missed, the CEM sends a status request. No reply or
an abnormal status → warning to an advanced display, and optionally to a third party (service provider)." Test:
"Heartbeat timeout → request → warning, or no warning on a normal reply." A battery of the CityLearn home reports
every 15 minutes; a washing machine reports only on changes, so the CEM's status requests are its heartbeat. The
battery is then cut off: it misses its heartbeat, does not answer, is warned about (also to the service
provider), and past its fail-safe time (45 min) is left out of the plans. The grid side asks the CEM whether it is
alive and learns how many devices are online.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.bus import MessageRefused
from flexcem.cem.status_service import POLL_RETRIES, POLL_TIMEOUT_S
from flexcem.grid import MeteringHeadEnd
from flexcem.model import AliveRequest, AliveStatus
from grid_side import CEM, grid_settings
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import BatteryAgent, DataForecasts, agent, base_load

START = local(2021, 8, 10, 6)


def settings():  # type: ignore[no-untyped-def]
    base = grid_settings()
    grid = base.grid.model_copy(update={"report_to": (f"{DOMAIN}/dso",), "warnings_upstream": True})
    return base.model_copy(update={"grid": grid})


def test_missed_heartbeat_leads_to_a_status_request_then_a_warning_and_the_failsafe_state() -> None:
    async def scenario(home: Home) -> None:
        await base_load(home)
        battery = await agent(home, BatteryAgent, "battery")
        washer = await home.washer()
        head_end = MeteringHeadEnd(await home.endpoint("dso"))
        await head_end.start()
        heartbeat = home.cem.grid_side.heartbeat
        await home.clock.sleep(2 * 3600.0)
        assert not home.cem.grid_side.alerts.of_kind("heartbeat"), "normal replies: no warning"
        asked = {device for _, device, ok in heartbeat.requests if ok}
        assert "washer" in asked and "battery" not in asked, "the quiet washer is asked, the reporting battery not"
        alive = await head_end.ask_alive(CEM)
        assert (alive.devices_online, alive.devices_total) == (3, 3)
        await home.clock.sleep(7 * 60.0)  # between two of the battery's reports
        record = home.cem.registry.get("battery")
        assert record is not None and record.last_seen is not None
        last_heard = record.last_seen
        await battery.power_off()  # cut off
        await home.clock.sleep(3600.0)
        await settle(home)
        warnings = home.cem.grid_side.alerts.of_kind("heartbeat")
        assert [w.subject for w in warnings] == ["battery"], "one warning for the silent battery"
        grid = home.cem.settings.grid
        due = last_heard + grid.heartbeat_interval + grid.heartbeat_grace
        assert due < warnings[0].at <= due + timedelta(minutes=1, seconds=POLL_TIMEOUT_S * (POLL_RETRIES + 1)), (
            "warned just after the heartbeat was due, not a round later"
        )
        assert any(not ok and device == "battery" for _, device, ok in heartbeat.requests)
        upstream = head_end.of_type(AliveStatus)
        assert any(s.devices_online == 2 and s.request_id is None for s in upstream), "the provider is told"
        assert "battery" in heartbeat.failsafe
        plan = home.cem.plan
        assert plan is not None and "battery" not in {d.device_id for d in plan.devices}
        assert any("fail-safe" in e.text and "battery" in e.text for e in home.cem.journal)
        alive = await head_end.ask_alive(CEM)
        assert (alive.devices_online, alive.devices_total) == (2, 3)
        stranger = await home.endpoint("stranger")
        await stranger.start()
        with pytest.raises(MessageRefused) as refused:
            await stranger.deliver(CEM, AliveRequest(request_id="a1"), expect=AliveStatus)
        assert refused.value.field == "from"
        del washer

    run_home(scenario, start=START, settings=settings(), forecasts=DataForecasts())
