"""The PV agent describes its forecast by slicing the generator's forecast of the whole data, computed once.

Every step of the PV model (sun position, transposition, cell temperature, DC and AC power) works hour by hour,
so the hours of any window, computed alone through pvlib, are the same numbers as those hours of the whole
data: the sliced series equals the one :func:`~flexcem.devices.pv_forecast_series` computes afresh — slot for
slot, to the bit — for windows starting on and between hour edges, given in UTC, in the data's clock or in
Central daylight time, running past the data's end, and for several systems.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from home_devices_harness import CEM, MID_JUNE, StandInCem, data, run, start_agent

from flexcem.bus import MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.devices import DEFAULT_PV, PvAgent, PvGenerator, pv_forecast_series
from flexcem.devices.pv_agent import FORECAST_HORIZON
from flexcem.model import GenerationForecast, PowerSeries
from flexcem.model.home_parameters import PvParameters

CENTRAL = ZoneInfo("America/Chicago")
SYSTEMS = (
    DEFAULT_PV,
    PvParameters(nominal_power_w=8_000.0, tilt_deg=10.0, azimuth_deg=250.0, inverter_ac_max_w=6_000.0),
    PvParameters(nominal_power_w=3_000.0, tilt_deg=40.0, azimuth_deg=120.0, curtailable=False),
)


def _slots(series: PowerSeries) -> list[tuple[datetime, timedelta, float, str]]:
    return [(s.start, s.duration, s.power_w, str(s.start.tzinfo)) for s in series.slots]


def _windows() -> list[tuple[datetime, datetime]]:
    """Windows over the whole data: on hour edges and partial hours, in three time zones, some cut at its end."""
    d = data()
    offsets = (timedelta(0), timedelta(minutes=15), timedelta(minutes=37, seconds=12), timedelta(minutes=59))
    windows = []
    for k, start in enumerate(d.hour_starts()[::7]):
        begin = start + offsets[k % len(offsets)]
        begin = (begin, begin.astimezone(UTC), begin.astimezone(CENTRAL))[k % 3]
        windows.append((begin, min(begin + FORECAST_HORIZON, d.end)))
        if k % 5 == 0:  # shorter windows ending inside an hour
            windows.append((begin, min(begin + timedelta(hours=k % 11, minutes=20), d.end)))
    last = d.end - timedelta(hours=3, minutes=10)
    windows += [(last, d.end), (d.end - timedelta(minutes=1), d.end)]
    return windows


def test_sliced_forecast_equals_pvlib_rerun_on_every_window() -> None:
    d, windows = data(), _windows()
    assert len(windows) > 350
    for parameters in SYSTEMS:
        generator = PvGenerator(parameters, d)
        for start, end in windows:
            fresh = pv_forecast_series(parameters, d, start, end)
            sliced = generator.forecast_series(start, end)
            assert _slots(sliced) == _slots(fresh), (parameters, start, end)
            assert sliced == fresh


def test_agent_announces_the_sliced_forecast() -> None:
    async def scenario(bus: MemoryBus, clock: SimulatedClock, cem: StandInCem) -> GenerationForecast:
        agent = await start_agent(bus, clock, lambda e: PvAgent(e, CEM, data(), SYSTEMS[1]), "pv")
        await clock.sleep(3600 * 5 + 600)
        description = agent.description()
        await agent.power_off()
        assert isinstance(description, GenerationForecast)
        return description

    described = run(scenario, MID_JUNE)
    registered = pv_forecast_series(SYSTEMS[1], data(), MID_JUNE, MID_JUNE + FORECAST_HORIZON)
    assert described.forecast == pv_forecast_series(SYSTEMS[1], data(), described.at, described.at + FORECAST_HORIZON)
    assert described.at == MID_JUNE + timedelta(hours=5, minutes=10) and described.forecast != registered
