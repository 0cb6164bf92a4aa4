"""WGSP2141–2143 — Time and tariff synchronisation between the smart meter and the CEM (uc-market §3).

Acceptance (digest): "A request/response round trip aligns the CEM to the SM within tolerance. SM-detected skew
is pushed and applied. Skew above the alarm threshold sends an alarm to A and B; below it, sync only.
Notification 'T2' sets the CEM price to price(T2). After an outage the CEM requests the time." The meter's clock
is the reference; here it runs 40 s behind the CEM's (alarm level 30 s), or 10 s behind (no alarm).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flexcem.bus import Endpoint, MessageRefused
from flexcem.cem.time_sync import SyncRecord
from flexcem.clock import SimulatedClock
from flexcem.grid import MeteringHeadEnd, SmartMeter
from flexcem.model import ActiveTariffNotification, TimeDifferenceAlarm, TimeSyncParameters
from grid_side import CEM, grid_settings
from home_harness import DOMAIN, Home, local, run_home, settle

START = local(2021, 8, 10, 6)


class SkewedClock:
    """The meter's clock, ``offset`` off the simulated one."""

    def __init__(self, clock: SimulatedClock, offset: timedelta) -> None:
        self._clock, self._offset = clock, offset

    def now(self) -> datetime:
        return self._clock.now() + self._offset

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(seconds)

    async def sleep_until(self, instant: datetime) -> None:
        await self._clock.sleep_until(instant - self._offset)


def settings():  # type: ignore[no-untyped-def]
    base = grid_settings()
    grid = base.grid.model_copy(update={"report_to": (f"{DOMAIN}/dso",), "tariff_prices": {"T1": 0.21, "T2": 0.34}})
    return base.model_copy(update={"grid": grid})


def sync(meter_behind_s: float) -> tuple[list[SyncRecord], list[TimeDifferenceAlarm], int]:
    async def scenario(home: Home) -> tuple[list[SyncRecord], list[TimeDifferenceAlarm], int]:
        head_end = MeteringHeadEnd(await home.endpoint("dso"))
        await head_end.start()
        clock = SkewedClock(home.clock, timedelta(seconds=-meter_behind_s))
        meter = SmartMeter(Endpoint(await home.backend.connect("meter"), clock), CEM)
        await meter.start()
        await home.cem.grid_side.time_sync.request()  # the start-up request raced the meter: ask again
        await home.clock.sleep(6 * 3600.0 + 60.0)  # one periodic request later
        await settle(home)
        await meter.stop()
        sync_ = home.cem.grid_side.time_sync
        return list(sync_.history), head_end.of_type(TimeDifferenceAlarm), len(sync_.alarms)

    return run_home(scenario, start=START, settings=settings())


def test_round_trip_finds_the_offset_and_a_large_one_raises_the_alarm_upstream() -> None:
    offsets, upstream, alarms = sync(40.0)
    assert len(offsets) >= 2, "at start-up and periodically"
    assert all(abs(r.offset - timedelta(seconds=40)) <= r.uncertainty + timedelta(seconds=1) for r in offsets), offsets
    assert alarms == len(offsets) and len(upstream) == alarms
    assert all(a.difference > a.threshold for a in upstream)


def test_small_offset_syncs_without_an_alarm() -> None:
    offsets, upstream, alarms = sync(10.0)
    assert offsets and all(
        abs(r.offset - timedelta(seconds=10)) <= r.uncertainty + timedelta(seconds=1) for r in offsets
    )
    assert alarms == 0 and upstream == []


def test_pushed_parameters_and_active_tariff_only_from_the_meter() -> None:
    async def scenario(home: Home) -> None:
        meter = await home.endpoint("meter")
        stranger = await home.endpoint("stranger")
        await meter.start()
        await stranger.start()
        now = home.clock.now()
        pushed = TimeSyncParameters(meter_id="meter", meter_time=now, forced=True, observed_offset=timedelta(seconds=3))
        with pytest.raises(MessageRefused) as refused:
            await stranger.deliver(CEM, pushed)
        assert refused.value.field == "from"
        await meter.deliver(CEM, pushed)
        sync_ = home.cem.grid_side.time_sync
        assert sync_.offset == timedelta(seconds=3) and sync_.history[-1].forced
        await meter.deliver(CEM, ActiveTariffNotification(meter_id="meter", tariff_id="T2", active_since=now))
        assert sync_.tariff is not None and sync_.tariff.price_per_kwh == 0.34
        with pytest.raises(MessageRefused) as unknown:
            await meter.deliver(CEM, ActiveTariffNotification(meter_id="meter", tariff_id="T9", active_since=now))
        assert unknown.value.field == "tariff_id"
        assert sync_.tariff.tariff_id == "T2", "the tariff in force stays as it was"
        assert sync_.price_at(now + timedelta(minutes=1)) == 0.34
        await settle(home)

    run_home(scenario, start=START, settings=settings())
