"""The grid side of a use-case home: a DSO's signal programs on ``home/dso`` and the site's smart meter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flexcem.cem import CemSettings
from flexcem.cem.grid_settings import FlexPermission, GridSettings
from flexcem.devices.power_log import PowerLog
from flexcem.grid import EmergencyProgram, EnergySavingProgram, GridRegistry, LoadManagementProgram, SmartMeter
from flexcem.grid.traffic_light import TrafficLightProgram
from flexcem.model import PowerSeries, PowerSlot
from home_harness import DOMAIN, Home

DSO = f"{DOMAIN}/dso"
CEM = f"{DOMAIN}/cem"
AREA = "feeder-7"


def grid_settings(
    *, allow: Sequence[FlexPermission] = (), exempt: Sequence[str] = (), meter: bool = True
) -> CemSettings:
    """CEM settings that take tariffs from the retailer and grid signals from the DSO too."""
    return CemSettings(
        tariff_sources=(f"{DOMAIN}/retailer", DSO),
        grid=GridSettings(
            area=AREA,
            load_management=tuple(allow),
            emergency_exempt=tuple(exempt),
            meter=f"{DOMAIN}/meter" if meter else None,
        ),
    )


@dataclass
class Dso:
    """The DSO's programs, sharing one endpoint; the CEM is a customer in area :data:`AREA`."""

    registry: GridRegistry
    load: LoadManagementProgram
    emergency: EmergencyProgram
    saving: EnergySavingProgram
    light: TrafficLightProgram


async def dso(home: Home) -> Dso:
    """The DSO on ``home/dso``."""
    endpoint = await home.endpoint("dso")
    registry = GridRegistry(DOMAIN)
    registry.add_area(AREA, ["cem"])
    programs = Dso(
        registry,
        LoadManagementProgram(endpoint, registry),
        EmergencyProgram(endpoint, registry),
        EnergySavingProgram(endpoint, registry),
        TrafficLightProgram(endpoint, registry),
    )
    await endpoint.start()
    return programs


def metered(logs: Sequence[PowerLog]) -> Callable[[datetime, datetime], PowerSeries]:
    """The site's load as the sum of the devices' meters, on one-minute slots."""

    def load(start: datetime, end: datetime) -> PowerSeries:
        step = timedelta(minutes=1)
        first = start.replace(second=0, microsecond=0)
        count = max(1, -(-(end - first) // step))
        values = [sum(v) for v in zip(*(log.average_power_w(first, step, count) for log in logs), strict=True)]
        return PowerSeries(
            slots=tuple(PowerSlot(start=first + k * step, duration=step, power_w=w) for k, w in enumerate(values))
        )

    return load


async def smart_meter(home: Home, logs: Sequence[PowerLog]) -> SmartMeter:
    """The site's smart meter on ``home/meter``, metering the sum of ``logs``."""
    meter = SmartMeter(await home.endpoint("meter"), CEM, load=metered(logs))
    await meter.start()
    return meter
