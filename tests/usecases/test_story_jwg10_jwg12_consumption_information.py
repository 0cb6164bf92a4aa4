"""Stories JWG10 (energy consumption information) and JWG12 (expected yearly cost of a smart device).

JWG10: "The user asks the CEM UI for history and a forecast. Missing history may be requested from the smart
meter or another source. The CEM builds a short-term forecast from connected devices' expected consumption and
generation plus history." JWG12: "per-device time-of-use consumption is stored and the CEM keeps historic ToU
buckets with tariffs in a currency … applies the tariffs and answers" (Σ kWh × tariff, scaled to a year).

The home: a smart meter metering a known site load (its readings every 15 min), a washing machine reporting its
power every 15 min (2 kW from 01:00 to 03:00), and the retailer's real hourly tariff. At 06:00 the user asks.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.devices.power_log import PowerLog
from flexcem.model import DeviceState, DeviceStatus
from grid_side import grid_settings, smart_meter
from home_harness import DATA, Home, local, raw_device, run_home, settle
from whole_home import DataForecasts, base_load

START = local(2021, 8, 10, 0)
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)


def site_load() -> PowerLog:
    """A site load that depends on the hour of day and the day: 300 W + 50 W per hour + 10 W per day."""
    first = START - timedelta(days=8)
    log = PowerLog(first, 300.0)
    for k in range(9 * 24):
        at = first + k * HOUR
        log.set(at, 300.0 + 50.0 * at.hour + 10.0 * (at - first).days)
    return log


def washer_power(at_hour: float) -> float:
    return 2000.0 if 1 <= at_hour < 3 else 0.0


def test_history_fetched_on_a_miss_a_same_hour_forecast_and_the_yearly_cost_of_the_washer() -> None:
    log = site_load()

    async def scenario(home: Home) -> dict[str, object]:
        meter = await smart_meter(home, [log])
        washer = await raw_device(home, "washer")
        at = START + QUARTER
        while at < START + 6 * HOUR:
            await home.clock.sleep_until(at)
            power = washer_power((at - START) / HOUR)
            state = DeviceState.RUNNING if power else DeviceState.IDLE
            await washer.deliver(home.cem_address, DeviceStatus(device_id="washer", state=state, at=at, power_w=power))
            at += QUARTER
        await home.clock.sleep_until(START + 6 * HOUR)
        info = home.cem.consumption
        fetched = await info.fetch_missing(START - timedelta(days=7), START + 6 * HOUR)
        out = {
            "fetched": fetched,
            "washer": info.history("washer", START, START + 6 * HOUR),
            "site": info.history(None, START - timedelta(days=7), START + 6 * HOUR),
            "forecast": info.forecast(24),
            "yearly": info.yearly_cost(),
            "currency": info.currency,
        }
        await washer.close()
        await meter.stop()
        return out

    out = run_home(scenario, start=START, settings=grid_settings())
    assert out["fetched"] == 7 * 24 + 6, "the missing days come from the meter's load curve"

    washer = out["washer"]
    assert [(r.start, r.energy_wh) for r in washer if r.energy_wh] == [  # type: ignore[union-attr]
        (START + HOUR, pytest.approx(2000.0)),
        (START + 2 * HOUR, pytest.approx(2000.0)),
    ]
    prices = {slot.start: slot.price_per_kwh for slot in DATA.price_slots(START, START + 6 * HOUR)}
    cost = 2.0 * prices[START + HOUR] + 2.0 * prices[START + 2 * HOUR]
    assert [r.cost for r in washer if r.energy_wh] == pytest.approx(
        [2.0 * prices[START + HOUR], 2.0 * prices[START + 2 * HOUR]]
    )  # type: ignore[union-attr]
    covered_h = 5.75  # reports from 00:15; the last one holds to 06:00
    assert out["yearly"] == {"washer": pytest.approx(cost / covered_h * 365 * 24)}
    assert out["currency"] == "USD"

    site = out["site"]
    assert len(site) == 7 * 24 + 6  # type: ignore[arg-type]
    for record in site:  # type: ignore[attr-defined]
        assert record.energy_wh == pytest.approx(log.energy_wh(record.start, record.end), abs=0.5)

    forecast = out["forecast"]
    assert [s.start for s in forecast.slots] == [START + 6 * HOUR + k * HOUR for k in range(24)]  # type: ignore[attr-defined]
    day = timedelta(days=1)
    for slot in forecast.slots:  # type: ignore[attr-defined]
        same_hours = [log.energy_wh(slot.start - back * day, slot.start - back * day + HOUR) for back in range(1, 8)]
        weights = [0.5 ** (back - 1) for back in range(1, 8)]  # yesterday 1, the day before 0.5, …
        expected = sum(w * v for w, v in zip(weights, same_hours, strict=True)) / sum(weights)
        assert slot.power_w == pytest.approx(expected, abs=0.5)


def test_where_the_plan_covers_an_hour_the_forecast_is_the_devices_expected_consumption() -> None:
    async def scenario(home: Home) -> tuple[list[float], list[float]]:
        await base_load(home)
        await settle(home)
        plan = home.cem.plan
        assert plan is not None
        forecast = home.cem.consumption.forecast(6)
        expected = []
        for slot in forecast.slots:
            inside = [w for at, w in zip(plan.slot_starts, plan.site_power_w, strict=True) if slot.contains(at)]
            expected.append(sum(inside) / len(inside))
        return [s.power_w for s in forecast.slots], expected

    forecast, expected = run_home(scenario, start=START, settings=grid_settings(), forecasts=DataForecasts())
    assert forecast == pytest.approx(expected) and len(set(forecast)) > 1, "the plan's hourly site power"
