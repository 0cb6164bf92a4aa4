"""Bad descriptions at the CEM (DESIGN §5: "bad input anywhere gets a clear error naming the field, and nothing
already stored is lost"): a description from an endpoint that is not the device, a description that does not
fit the device's declared kind, and one with invalid values, each refused naming the field."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from flexcem.bus import MessageRefused
from flexcem.codec import codec_for
from flexcem.devices import DEFAULT_BATTERY
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP_TANK
from flexcem.model import (
    Envelope,
    HeaterKind,
    Nack,
    StorageDescription,
    ThermalStorageDescription,
)
from home_harness import Home, local, raw_device, run_home, settle
from whole_home import BatteryAgent, agent

NOON = local(2021, 7, 6, 12)


def test_a_description_from_another_endpoint_is_refused_and_the_stored_one_stays() -> None:
    async def scenario(home: Home) -> MessageRefused:
        battery = await agent(home, BatteryAgent, "battery")
        await settle(home)
        stored = home.cem.home.book.get("battery")
        impostor = await raw_device(home, "impostor")
        forged = StorageDescription(device_id="battery", at=home.clock.now(), parameters=DEFAULT_BATTERY, energy_wh=0.0)
        with pytest.raises(MessageRefused) as refused:
            await impostor.deliver(home.cem_address, forged)
        assert home.cem.home.book.get("battery") == stored
        await battery.power_off()
        return refused.value

    refusal = run_home(scenario, start=NOON)
    assert refusal.field == "device_id" and "cannot speak for device battery" in refusal.reason


def test_a_description_that_does_not_fit_the_declared_device_is_refused_naming_the_field() -> None:
    async def scenario(home: Home) -> tuple[MessageRefused, MessageRefused]:
        battery = await agent(home, BatteryAgent, "battery")
        await settle(home)
        stored = home.cem.home.book.get("battery")
        tank = ThermalStorageDescription(
            device_id="battery",
            at=home.clock.now(),
            heater=HeaterKind.RESISTIVE,
            tank=DEFAULT_HEAT_PUMP_TANK,
            temperature_c=50.0,
            heater_power_max_w=3000.0,
        )
        with pytest.raises(MessageRefused) as wrong_kind:
            await battery.endpoint.deliver(home.cem_address, tank)
        future = StorageDescription(
            device_id="battery",
            at=home.clock.now() + timedelta(hours=2),
            parameters=DEFAULT_BATTERY,
            energy_wh=100.0,
        )
        with pytest.raises(MessageRefused) as from_the_future:
            await battery.endpoint.deliver(home.cem_address, future)
        assert home.cem.home.book.get("battery") == stored
        await battery.power_off()
        return wrong_kind.value, from_the_future.value

    wrong_kind, from_the_future = run_home(scenario, start=NOON)
    assert wrong_kind.field == "device_id" and "registered as battery" in wrong_kind.reason
    assert from_the_future.field == "at" and "in the future" in from_the_future.reason


def test_a_description_with_invalid_values_is_refused_naming_the_field_and_nothing_is_lost() -> None:
    async def scenario(home: Home) -> tuple[Nack, int]:
        battery = await agent(home, BatteryAgent, "battery")
        await settle(home)
        stored = home.cem.home.book.get("battery")
        plans = home.cem.plans_made
        assert isinstance(stored, StorageDescription)
        codec = codec_for("json")
        envelope = Envelope(
            sender="home/battery", to="home/cem", created=home.clock.now(), ack_requested=True, body=stored
        )
        document = json.loads(codec.encode(envelope))
        document["id"] = "bad-description-1"
        document["body"]["energy_wh"] = -500.0  # less than empty
        await home.inject("battery", "cem", json.dumps(document).encode())
        await settle(home)
        replies = [e.body for e in home.seen if e.correlation_id == "bad-description-1"]
        assert len(replies) == 1 and isinstance(replies[0], Nack)
        assert home.cem.home.book.get("battery") == stored
        await battery.power_off()
        return replies[0], home.cem.plans_made - plans

    nack, new_plans = run_home(scenario, start=NOON, wire="json")
    assert nack.field is not None and "energy_wh" in nack.field
    assert new_plans == 0
