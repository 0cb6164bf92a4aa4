"""WGSP2111, WGSP2140 (2141–2143), JWG2121 steps 19–21, JWG3102: the smart meter and the metering head-end.

The meter delivers metering data and load curves from real data (the CityLearn building's load), answers a
"time request" with "synchronization parameters", pushes them when "based on time stamped messages from the
CEM, the smart meter may notice the former is out of synch", sends an "active tariff notification" when
the tariff changes and an "overload warning notification" when consumption is above contractual power.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from flexcem.bus import Endpoint, MessageRefused
from flexcem.clock import SimulatedClock
from flexcem.data import DATA_CLOCK, CityLearnData
from flexcem.grid import MeteringHeadEnd, SmartMeter
from flexcem.model import (
    ActiveTariffNotification,
    Envelope,
    LoadCurve,
    LoadCurveRequest,
    MeterReading,
    OverloadWarning,
    SyncMode,
    TimeDifferenceAlarm,
    TimeRequest,
    TimeSyncParameters,
)
from grid_harness import Neighbourhood, address, hours, run_grid

START = datetime(2021, 7, 15, 6, 0, tzinfo=DATA_CLOCK)
DATA = CityLearnData.embedded()


def night_and_day(instant: datetime) -> str:
    """A two-rate tariff register: T1 from 22:00 to 07:00, T2 otherwise (data clock)."""
    hour = instant.astimezone(DATA_CLOCK).hour
    return "T1" if hour >= 22 or hour < 7 else "T2"


class SkewedClock:
    """A CEM clock ``offset`` off the simulated one."""

    def __init__(self, clock: SimulatedClock, offset: timedelta) -> None:
        self._clock, self._offset = clock, offset

    def now(self) -> datetime:
        return self._clock.now() + self._offset

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)

    async def sleep_until(self, instant: datetime) -> None:
        await self._clock.sleep_until(instant - self._offset)


def inbox(endpoint: Endpoint, *types: type) -> list[object]:
    """Record what ``endpoint`` receives of ``types``."""
    got: list[object] = []

    async def keep(body: object, envelope: Envelope) -> None:
        got.append(body)

    for message_type in types:
        endpoint.on(message_type, keep)
    return got


def test_readings_tariff_switches_and_overload_warnings_from_real_load_reach_the_cem_and_the_head_end() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        head_end = MeteringHeadEnd(await hood.endpoint("dso-hes"))
        await head_end.start()
        cem = await hood.endpoint("cem-1")
        got = inbox(cem, MeterReading, ActiveTariffNotification, OverloadWarning)
        contracted = 1500.0
        meter = SmartMeter(await hood.endpoint("meter-1"), address("cem-1"), contracted_power_w=contracted,
                           tariffs=night_and_day, head_end=address("dso-hes"))
        await meter.start()
        await hood.clock.sleep_until(START + hours(24) + timedelta(seconds=1))
        readings = [m for m in got if isinstance(m, MeterReading)]
        assert len(readings) == 96
        for reading in readings:
            assert reading.power_w == DATA.value_at(DATA.base_load_w, reading.at)
        registers = [r.import_energy_wh for r in readings]
        assert registers == sorted(registers)
        assert registers[-1] == pytest.approx(sum(DATA.base_load(START, START + hours(24)).slots[i].power_w
                                                  for i in range(24)), rel=1e-9)
        switches = [(m.tariff_id, m.active_since) for m in got if isinstance(m, ActiveTariffNotification)]
        assert switches == [("T2", START + hours(1)), ("T1", START + hours(16))]
        peak_hours = {r.at.replace(minute=0) for r in readings if r.power_w > contracted}
        warnings = [m for m in got if isinstance(m, OverloadWarning)]
        assert warnings and all(w.power_w > contracted and w.limit_w == contracted for w in warnings)
        assert {w.at for w in warnings} <= peak_hours
        assert head_end.of_type(MeterReading) == readings and head_end.of_type(OverloadWarning) == warnings
        assert head_end.last_seen(address("meter-1")) == readings[-1].at
        await meter.stop()

    run_grid(scenario, START)


def test_load_curves_of_a_past_period_are_served_and_bad_periods_refused_naming_the_field() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        meter = SmartMeter(await hood.endpoint("meter-1"), address("cem-1"))
        await meter.start()
        head_end = MeteringHeadEnd(await hood.endpoint("dso-hes"))
        curve = await head_end.read_load_curve(address("meter-1"), START - hours(4), START - hours(2), hours(0.5))
        assert isinstance(curve, LoadCurve) and len(curve.curve.slots) == 4
        expected = DATA.base_load(START - hours(4), START - hours(2))
        assert [s.power_w for s in curve.curve.slots] == pytest.approx([p.power_w for p in expected.slots
                                                                        for _ in range(2)])
        with pytest.raises(MessageRefused) as future:
            await head_end.read_load_curve(address("meter-1"), START - hours(1), START + hours(1))
        assert future.value.field == "end"
        with pytest.raises(MessageRefused) as before:
            await head_end.read_load_curve(address("meter-1"), datetime(2021, 5, 1, tzinfo=DATA_CLOCK),
                                           datetime(2021, 5, 2, tzinfo=DATA_CLOCK), hours(1))
        assert before.value.field == "start" and "outside the data" in before.value.reason
        await meter.stop()

    run_grid(scenario, START)


def test_time_request_is_answered_and_a_skewed_cem_gets_forced_sync_and_its_alarm_is_recorded() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        meter = SmartMeter(await hood.endpoint("meter-1"), address("cem-1"), tariffs=night_and_day,
                           sync_mode=SyncMode.TARIFF_RELATIVE)
        await meter.start()
        head_end = MeteringHeadEnd(await hood.endpoint("dso-hes"))
        await head_end.start()
        behind = timedelta(seconds=-10)  # beyond the 5 s tolerance, inside the 15 s a request lives
        cem = Endpoint(await hood.bus.connect(address("cem-1")), SkewedClock(hood.clock, behind))
        await cem.start()
        pushed = inbox(cem, TimeSyncParameters)
        answer = await cem.deliver(address("meter-1"), TimeRequest(request_id="t1", sent_at=cem.clock.now()),
                                   expect=TimeSyncParameters)
        assert answer.meter_time == START and answer.observed_offset == behind and not answer.forced
        assert answer.mode is SyncMode.TARIFF_RELATIVE and answer.tariff_id == "T1"
        request = LoadCurveRequest(request_id="c1", start=START - hours(2), end=START - hours(1), resolution=hours(1))
        await cem.deliver(address("meter-1"), request, expect=LoadCurve)
        await hood.settle()
        assert [(p.forced, p.observed_offset) for p in pushed] == [(True, behind)]  # type: ignore[attr-defined]
        alarm = TimeDifferenceAlarm(alarm_id="a1", meter_id="meter-1", at=answer.meter_time, difference=behind,
                                    threshold=timedelta(seconds=5))
        await cem.send(address("dso-hes"), alarm)
        await hood.settle()
        assert head_end.of_type(TimeDifferenceAlarm, sender=address("cem-1")) == [alarm]
        await asyncio.gather(meter.stop(), cem.close())

    run_grid(scenario, START)
