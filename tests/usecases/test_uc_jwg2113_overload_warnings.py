"""JWG2113 — Warning messages: overloads against the contracted power, from the meter, the devices and the CEM.

Digest (uc-market §1, 2113): "SM total above the contracted maximum makes the CEM warn; below, nothing"
(2113.2); "the SD estimates the maximum power of its next operation … if power is insufficient, it … sends
SD→CEM a warning" and the CEM passes it on (2113.1). The site is the CityLearn building's real base load,
metered by the smart meter every 15 minutes; the contracted power lies between the morning's lowest and highest
hourly load, so the meter passes it at some point and the CEM warns once per episode.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flexcem.bus import MessageRefused
from flexcem.grid import MeteringHeadEnd, SmartMeter
from flexcem.model import DeviceState, DeviceStatus, MeterReading, OverloadWarning, WarningSource
from grid_side import CEM, grid_settings, metered
from home_harness import DATA, DOMAIN, Home, local, raw_device, run_home, settle
from whole_home import base_load

START = local(2021, 8, 10, 6)
HOURS = 8


def contracted_power_w() -> float:
    """Half-way between the lowest and highest hourly base load of the morning [W]."""
    values = [DATA.value_at(DATA.base_load_w, START + timedelta(hours=k)) for k in range(HOURS)]
    return (min(values) + max(values)) / 2.0


def settings():  # type: ignore[no-untyped-def]
    base = grid_settings()
    grid = base.grid.model_copy(update={"report_to": (f"{DOMAIN}/dso",), "warnings_upstream": True})
    return base.model_copy(update={"grid": grid})


def test_meter_and_cem_warn_above_the_contracted_power_once_per_episode_and_upstream() -> None:
    limit = contracted_power_w()

    async def scenario(home: Home) -> tuple[list[OverloadWarning], list[OverloadWarning], list[MeterReading]]:
        load = await base_load(home)
        head_end = MeteringHeadEnd(await home.endpoint("dso"))
        await head_end.start()
        meter = SmartMeter(
            await home.endpoint("meter"),
            CEM,
            load=metered([load.meter(START, START + timedelta(hours=HOURS + 1))]),
            contracted_power_w=limit,
        )
        await meter.start()
        await home.clock.sleep(HOURS * 3600.0)
        await settle(home)
        await meter.stop()
        return (
            home.cem.grid_side.metering.warnings,
            head_end.of_type(OverloadWarning),
            list(home.cem.grid_side.metering.readings),
        )

    warnings, upstream, readings = run_home(scenario, start=START, settings=settings())
    over = [r for r in readings if r.power_w > limit]
    assert readings and over and len(over) < len(readings), "the morning passes the limit only part of the time"
    episodes = sum(
        1 for k, r in enumerate(readings) if r.power_w > limit and (k == 0 or readings[k - 1].power_w <= limit)
    )
    from_cem = [w for w in warnings if w.source is WarningSource.CEM and w.since is not None]
    from_plan = [w for w in warnings if w.source is WarningSource.CEM and w.since is None]
    assert from_plan and from_plan[0].power_w > limit, "the plan expecting the site above the limit is warned about"
    from_meter = [w for w in warnings if w.source is WarningSource.METER]
    assert len(from_cem) == episodes, "one CEM warning per episode above the contracted power"
    assert all(w.power_w > limit and w.limit_w == pytest.approx(limit) for w in from_cem)
    assert len(from_meter) == episodes, "the meter's own warnings are recorded too"
    cem_ids = {w.warning_id for w in warnings if w.source is WarningSource.CEM}
    assert {w.warning_id for w in upstream if w.source is WarningSource.CEM} == cem_ids
    assert len(readings) == HOURS * 4


def test_device_warnings_and_a_device_drawing_above_its_declared_power_are_shown() -> None:
    async def scenario(home: Home) -> list[str]:
        plug = await raw_device(home, "plug")
        await settle(home)
        now = home.clock.now()
        await plug.deliver(CEM, DeviceStatus(device_id="plug", state=DeviceState.RUNNING, at=now, power_w=3600.0))
        await plug.deliver(
            CEM,
            OverloadWarning(
                warning_id="w1", source=WarningSource.DEVICE, origin_id="plug", at=now, power_w=2000.0, limit_w=1000.0
            ),
        )
        stranger = await home.endpoint("stranger")
        await stranger.start()
        with pytest.raises(MessageRefused) as refused:
            await stranger.deliver(
                CEM,
                OverloadWarning(
                    warning_id="w2", source=WarningSource.DEVICE, origin_id="plug", at=now, power_w=9e3, limit_w=1e3
                ),
            )
        assert refused.value.field == "from"
        await settle(home)
        return [alert.text for alert in home.cem.grid_side.alerts.of_kind("overload")]

    texts = run_home(scenario, start=START, settings=settings())
    assert len(texts) == 2, texts
    assert "3600 W, above its declared 3000 W" in texts[0]
    assert "needs 2000 W" in texts[1]


def test_readings_only_from_the_meter_and_a_register_going_back_is_refused_with_nothing_lost() -> None:
    async def scenario(home: Home) -> None:
        meter = await home.endpoint("meter")
        stranger = await home.endpoint("stranger")
        await meter.start()
        await stranger.start()
        now = home.clock.now()

        def reading(at: datetime, wh: float) -> MeterReading:
            return MeterReading(meter_id="meter", at=at, power_w=500.0, import_energy_wh=wh)

        await meter.deliver(CEM, reading(now, 1000.0))
        with pytest.raises(MessageRefused) as refused:
            await stranger.deliver(CEM, reading(now + timedelta(minutes=1), 1001.0))
        assert refused.value.field == "from"
        with pytest.raises(MessageRefused) as back:
            await meter.deliver(CEM, reading(now + timedelta(minutes=2), 900.0))
        assert back.value.field == "import_energy_wh"
        await meter.deliver(CEM, reading(now + timedelta(minutes=15), 1125.0))
        metering = home.cem.grid_side.metering
        assert [r.import_energy_wh for r in metering.readings] == [1000.0, 1125.0]
        assert metering.consumption_wh(now, now + timedelta(minutes=15)) == pytest.approx(125.0)

    run_home(scenario, start=START, settings=settings())
