"""Story JWG11 — after a disconnect, a device in fail-safe and the CEM agree again on the schedule it follows.

A device that hears nothing from the CEM for its ``failsafe_after`` runs on its own. The CEM may or may not notice:
when the link is cut both ways it misses the device's heartbeat too, takes it to be in fail-safe and leaves it
out of its plans (counting nothing from it); when only the CEM's answers are lost, it still hears the device and
counts its schedule as confirmed. Either way, once the link is back, the device follows exactly the schedule the
CEM has on record as confirmed — the one it had set aside — and the CEM's next plan changes it only as it would
change any confirmed schedule. A battery of the CityLearn home, planned by the CEM, is cut off for 90 minutes
(twice its fail-safe time).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.bus import Endpoint, Link
from flexcem.bus.link import Incoming
from flexcem.model import Circuit, Envelope
from grid_side import grid_settings
from home_harness import Home, local, run_home, settle
from whole_home import DATA, BatteryAgent, DataForecasts, base_load

START = local(2021, 8, 10, 6)
OUTAGE = timedelta(minutes=90)


class Severable:
    """A link that can lose what the device sends (``outbound``) and what it receives (``inbound``)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.outbound = self.inbound = True

    @property
    def address(self) -> str:
        """The device's address."""
        return self.link.address

    async def send(self, envelope: Envelope, *, retain: bool = False) -> None:
        """Send, unless cut."""
        if self.outbound:
            await self.link.send(envelope, retain=retain)

    async def receive(self) -> Incoming:
        """The next arrival that is not lost."""
        while True:
            item = await self.link.receive()
            if self.inbound:
                return item

    async def close(self) -> None:
        """Close the link."""
        await self.link.close()


@pytest.mark.parametrize("both_ways", [True, False], ids=["cut-both-ways", "answers-lost"])
def test_back_from_fail_safe_the_device_follows_the_schedule_the_cem_counts_as_confirmed(both_ways: bool) -> None:
    async def scenario(home: Home) -> None:
        await base_load(home)
        link = Severable(await home.backend.connect("battery"))

        battery = BatteryAgent(Endpoint(link, home.clock), home.cem_address, DATA)
        await battery.power_on()
        await battery.registered.wait()
        await settle(home)
        await home.clock.sleep(1800.0)
        dispatcher, heartbeat = home.cem.home.dispatcher, home.cem.grid_side.heartbeat
        assert ("battery", Circuit.MAIN) in dispatcher.confirmed and Circuit.MAIN in battery.schedules
        link.inbound = False
        link.outbound = not both_ways
        await home.clock.sleep(OUTAGE.total_seconds())
        assert battery.failsafe and not battery.schedules, "on its own, the CEM's schedule set aside"
        noticed = "battery" in heartbeat.failsafe
        assert noticed is both_ways, "the CEM notices only when it stops hearing the device"
        assert ("battery" in dispatcher.suspended) is both_ways
        if both_ways:
            assert not dispatcher.committed_of({"battery"}, home.clock.now()), "no load counted from it meanwhile"
        link.inbound = link.outbound = True
        await home.clock.sleep(battery.report_interval.total_seconds() + 120.0)
        await settle(home)
        assert not battery.failsafe and "battery" not in heartbeat.failsafe and not dispatcher.suspended
        confirmed = dispatcher.confirmed[("battery", Circuit.MAIN)]
        following = battery.schedules.get(Circuit.MAIN)
        assert following is not None and following.schedule_id == confirmed.schedule_id, (
            "the device follows what the CEM counts as confirmed"
        )
        now = home.clock.now()
        assert battery.setpoint_w(now) == confirmed.schedule.slot_at(now).power_w  # type: ignore[union-attr]
        await battery.power_off()

    run_home(scenario, start=START, settings=grid_settings(), forecasts=DataForecasts())
