"""JWG2122, stories JWG8, JWG20: emergency load control, its end, severe level, scheduled blackout window.

The report: "emergency message" to all; "confirmation (optional)" which the actor may request "to ensure
that all CEMs have received the message"; "end of emergency message"; JWG additions: a "scheduled blackout
period" announced in advance and an alert level "normal / severe".
"""

from __future__ import annotations

from datetime import datetime

import pytest

from flexcem.bus import Endpoint
from flexcem.data import DATA_CLOCK
from flexcem.grid import CONFIRM_END, CONFIRM_START, EmergencyProgram, UnknownTarget
from flexcem.model import (
    AlertLevel,
    EmergencyConfirmation,
    EmergencyEnd,
    EmergencyPhase,
    EmergencySignal,
    Envelope,
)
from grid_harness import Neighbourhood, address, hours, run_grid

START = datetime(2021, 8, 2, 10, 0, tzinfo=DATA_CLOCK)


def confirming(endpoint: Endpoint, standby: int) -> list[EmergencySignal]:
    """A peer that confirms start and end as a CEM would (``standby`` devices, the gas boiler exempt)."""
    got: list[EmergencySignal] = []

    async def on_signal(signal: EmergencySignal, envelope: Envelope) -> EmergencyConfirmation | None:
        got.append(signal)
        if not signal.confirmation_requested:
            return None
        return EmergencyConfirmation(emergency_id=signal.emergency_id, phase=EmergencyPhase.START,
                                     at=envelope.created, devices_in_standby=standby, exempt_devices=("boiler",))

    async def on_end(end: EmergencyEnd, envelope: Envelope) -> EmergencyConfirmation:
        return EmergencyConfirmation(emergency_id=end.emergency_id, phase=EmergencyPhase.END, at=end.at)

    endpoint.on(EmergencySignal, on_signal)
    endpoint.on(EmergencyEnd, on_end)
    return got


def test_a_severe_emergency_to_everyone_is_confirmed_ended_and_the_silent_are_recorded() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = EmergencyProgram(await hood.endpoint("dso"), hood.registry)
        got = confirming(await hood.endpoint("cem-1"), standby=5)
        confirming(await hood.endpoint("cem-2"), standby=3)
        await hood.endpoint("cem-3")  # knows no emergencies: silent
        record = await program.declare("grid/all", level=AlertLevel.SEVERE, duration=hours(2), reason="N-1 loss")
        assert await program.closed(record.signal_id, CONFIRM_START) == (address("cem-3"), address("cem-4"))
        assert got[0].level is AlertLevel.SEVERE and got[0].ends_at() == START + hours(2)
        assert [s.emergency_id for s in program.active()] == [record.signal_id]
        confirmations = record.latest(CONFIRM_START)
        assert confirmations[address("cem-1")].body.devices_in_standby == 5  # type: ignore[attr-defined]
        await hood.clock.sleep_until(START + hours(1))
        await program.end(record.signal_id)
        assert await program.closed(record.signal_id, CONFIRM_END) == (address("cem-3"), address("cem-4"))
        assert program.active() == []
        with pytest.raises(ValueError, match=r"already ended"):
            await program.end(record.signal_id)

    run_grid(scenario, START)


def test_jwg20_a_power_cut_is_announced_in_advance_with_its_window() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = EmergencyProgram(await hood.endpoint("dso"), hood.registry)
        got = confirming(await hood.endpoint("cem-4"), standby=0)
        cut_start, cut_end = START + hours(3), START + hours(7)
        record = await program.announce_blackout(address("cem-4"), cut_start, cut_end, reason="line works")
        signal = got[0]
        assert signal.blackout is not None and (signal.blackout.start, signal.blackout.end) == (cut_start, cut_end)
        assert signal.start == cut_start and signal.ends_at() == cut_end
        assert record.acknowledged == {address("cem-4")} and address("cem-4") in record.latest(CONFIRM_START)
        assert program.active() == [] and program.active(cut_start) == [signal]
        with pytest.raises(ValueError, match=r"not in the future"):
            await program.announce_blackout(address("cem-4"), START - hours(3), START - hours(1))
        with pytest.raises(UnknownTarget):
            await program.declare("grid/nobody")

    run_grid(scenario, START)
