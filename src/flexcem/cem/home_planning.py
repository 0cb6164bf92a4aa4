"""From what the CEM knows of the home to one planning problem: jobs, storage, generation, heat and base load.

* **Horizon**: from the start of the current slot to the end of the known tariff, at least
  ``home.horizon_min`` and at most ``home.horizon_max`` from that start, and always covering the jobs' windows and the
  user's finish times. Prices beyond the tariff are the price book's assumptions.
* **Devices**: flexible-start jobs and charging sessions as :mod:`flexcem.cem.planning` places them; a
  :class:`~flexcem.model.StorageDescription` becomes a battery; a :class:`~flexcem.model.GenerationForecast`
  a PV system (curtailable as announced); a :class:`~flexcem.model.ThermalStorageDescription` a heat pump,
  water heater or fuel cell; a :class:`~flexcem.model.RoomClimateDescription` an air conditioner with the
  comfort band of its set point ([s − 1, s + 1]); a :class:`~flexcem.model.LoadForecast` committed load.
* **Profiles that end too early** (a 24 h PV forecast in a 36 h horizon) are extended by :func:`on_grid`: the
  same time one day earlier (up to a week back), else the last known value. Outdoor temperature, hot-water
  draws and room gains go to the planner as one slot per run of equal values (:func:`runs`), PV
  forecasts and base load one slot per planning slot (the set points compare the plan with the PV forecast
  slot by slot; committed loads may overlap, and overlaps are summed through integrals that depend on the edges).
* **User conditions** (JWG1110): a water heater's set point becomes the tank's upper limit and its level a
  hot-water request by the finish time (T = T_cold + level·(set point − T_cold)); an air conditioner's set
  point is a comfort band from its finish time on (none before it; from the start time without a finish). The
  desirable start time is the device's ``not_before``: the plan has it off in every slot that starts earlier.
* **Weekly temperature profiles** (JWG1110: weekday/weekend): an air conditioner's
  ``OperatingConditions.weekly_profile`` (else the configured ``HomeSettings.air_conditioner_profiles``) and
  the heat pumps' ``HomeSettings.room_profile`` are resolved in the
  home's time zone into comfort slots (:func:`weekly_comfort`); where no piece is in force the set point band
  (air conditioner) or [room_low_c, room_high_c] (heat pump) holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from flexcem.cem.forecasts import HomeForecasts
from flexcem.cem.home_book import Description, HomeBook, OperatingConditions
from flexcem.cem.home_settings import HomeSettings
from flexcem.cem.power_reduction import ComfortRelaxation
from flexcem.model import (
    AcMode,
    AirConditionerSettings,
    GenerationForecast,
    HeaterKind,
    LoadForecast,
    PowerSlot,
    RoomClimateDescription,
    Slot,
    StorageDescription,
    ThermalStorageDescription,
    WaterHeaterSettings,
    WeeklyTemperatureProfile,
)
from flexcem.model.timeseries import trusted, utc
from flexcem.model.weekly_profile import uncovered_spans
from flexcem.planner import PlannerDevice
from flexcem.planner.devices import (
    AirConditionerDevice,
    BatteryDevice,
    FuelCellDevice,
    HeatPumpDevice,
    PvDevice,
    WaterHeaterDevice,
)
from flexcem.planner.devices.battery import ReserveSlot
from flexcem.planner.devices.pv import GenerationSlot
from flexcem.planner.devices.thermal_inputs import (
    ComfortSlot,
    GasPriceSlot,
    HeatSlot,
    HotWaterRequest,
    RoomInput,
    TankInput,
    TemperatureSlot,
)
from flexcem.planner.grid import FloatArray

__all__ = [
    "HomeDevices",
    "home_devices",
    "home_horizon_end",
    "on_grid",
    "runs",
    "water_heater_target_c",
    "weekly_comfort",
]

_DAY = timedelta(days=1)
_LOOK_BACK_DAYS = 7
_FREE_LOW_C, _FREE_HIGH_C = -50.0, 60.0
"""A comfort band that never binds [°C] (before an air conditioner's finish time)."""


@dataclass(frozen=True)
class Grid:
    """The planning grid: ``count`` slots of ``slot`` from ``start``."""

    start: datetime
    slot: timedelta
    count: int

    @property
    def end(self) -> datetime:
        """End of the horizon."""
        return self.start + self.count * self.slot

    def starts(self) -> tuple[datetime, ...]:
        """Start of every slot (computed once per grid)."""
        return self._starts

    @cached_property
    def _starts(self) -> tuple[datetime, ...]:
        return tuple(self.start + k * self.slot for k in range(self.count))

    def utc_starts(self) -> tuple[datetime, ...]:
        """:meth:`starts` in UTC, as a slot's ``start`` field keeps them (computed once per grid)."""
        return self._utc_starts

    @cached_property
    def _utc_starts(self) -> tuple[datetime, ...]:
        return tuple(utc(at) for at in self.starts())


def home_horizon_end(
    start: datetime, tariff_end: datetime, needed: Sequence[datetime], settings: HomeSettings
) -> datetime:
    """End of the home's horizon from the current slot's ``start`` (see the module): the tariff's end within
    [start + min, start + max], extended to every instant in ``needed`` (job windows, finish times)."""
    end = min(max(tariff_end, start + settings.horizon_min), start + settings.horizon_max)
    return max(end, *needed) if needed else end


def on_grid(slots: Sequence[Slot], values: Sequence[float], grid: Grid) -> list[float]:
    """Time-weighted average of ``values`` (held over ``slots``) in each grid slot, extended where not covered.

    A grid slot that the slots do not cover entirely takes the average of the same interval one day earlier
    (up to a week back) when that one is covered, else the last slot's value (0 without any slot).
    """
    if not slots:
        return [0.0] * grid.count
    starts, ends = _bounds_s(slots, grid.start)
    weights = np.asarray(values, dtype=np.float64)
    last = float(weights[int(np.argmax(ends))])
    step = grid.slot.total_seconds()
    lows = np.arange(grid.count, dtype=np.float64) * step
    result = np.full(grid.count, last)
    todo = np.arange(grid.count)  # grid slots without a value yet
    for days in range(_LOOK_BACK_DAYS + 1):  # the whole horizon at once, then what is left a day earlier
        lo = lows[todo] - days * _DAY.total_seconds()
        hi = lo + step
        # overlap[k, j]: seconds of slot j inside grid slot k (shifted back by ``days``)
        overlap = np.minimum(ends, hi[:, None]) - np.maximum(starts, lo[:, None])
        np.clip(overlap, 0.0, None, out=overlap)
        covered = overlap.sum(axis=1) >= step * (1.0 - 1e-9)
        result[todo[covered]] = overlap[covered] @ weights / step
        todo = todo[~covered]
        if not todo.size:
            break
    return result.tolist()


def _bounds_s(slots: Sequence[Slot], origin: datetime) -> tuple[FloatArray, FloatArray]:
    """Start and end of each slot [s after ``origin``], as ``(slot.start − origin).total_seconds()`` and that
    plus the slot's duration in seconds."""
    count = len(slots)
    starts = np.fromiter(((slot.start - origin).total_seconds() for slot in slots), dtype=np.float64, count=count)
    durations = np.fromiter((slot.duration.total_seconds() for slot in slots), dtype=np.float64, count=count)
    return starts, starts + durations


def runs(grid: Grid, values: Sequence[float], in_utc: bool = False) -> list[tuple[datetime, timedelta, float]]:
    """``(start, duration, value)`` of each run of equal ``values`` (one per grid slot), in time order; the
    starts in UTC with ``in_utc`` (as a slot keeps them), else in the grid's zone.

    A profile on the grid (an hourly forecast on quarter hours, say) becomes one slot per run instead of one per
    grid slot: the planner averages a slot over the grid slots it covers entirely to exactly its value, so the
    plan is the same, with fewer slots to build, validate and resample. Only for grids whose start has a fixed
    UTC offset (the grid's wall-clock steps are elapsed time there); otherwise one slot per grid slot.
    """
    starts = grid.utc_starts() if in_utc else grid.starts()
    if len(values) != len(starts):
        raise ValueError(f"{len(values)} values for {len(starts)} grid slots")
    if not isinstance(grid.start.tzinfo, timezone):
        return [(at, grid.slot, value) for at, value in zip(starts, values, strict=True)]
    result: list[tuple[datetime, timedelta, float]] = []
    first = 0
    for index in range(1, len(values) + 1):
        if index == len(values) or values[index] != values[first]:
            result.append((starts[first], (index - first) * grid.slot, values[first]))
            first = index
    return result


# The slots built below hold values computed from validated slots (time-weighted averages of finite values on
# the grid, starts in UTC, positive durations), so they are built without validating each (:func:`trusted`).


def _power_slots(grid: Grid, powers: Sequence[float]) -> list[PowerSlot]:
    # One slot per grid slot, not per run: committed load may overlap (running jobs), and the planner sums
    # overlapping slots through their integrals, whose rounding depends on the slot edges.
    step = grid.slot
    return [
        trusted(PowerSlot, start=at, duration=step, power_w=p) for at, p in zip(grid.utc_starts(), powers, strict=True)
    ]


def _heat(grid: Grid, slots: Sequence[HeatSlot]) -> tuple[HeatSlot, ...]:
    values = [max(0.0, v) for v in on_grid(slots, [slot.heat_w for slot in slots], grid)]
    return tuple(trusted(HeatSlot, start=at, duration=length, heat_w=v) for at, length, v in runs(grid, values, True))


def water_heater_target_c(description: ThermalStorageDescription, settings: WaterHeaterSettings) -> float:
    """T_cold + level·(set point − T_cold) [°C]: the temperature a water heater's level setting asks for."""
    cold = description.tank.cold_water_c
    return cold + settings.level_percent / 100.0 * (settings.set_point_c - cold)


def weekly_comfort(
    profile: WeeklyTemperatureProfile | None,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    default: Callable[[datetime, timedelta], ComfortSlot],
) -> list[ComfortSlot]:
    """Comfort slots covering ``[start, end)``: the weekly ``profile``'s pieces resolved in ``zone`` (a piece's
    set point kept as the slot's set point, its band as the bounds), ``default(start, duration)`` where none is in
    force (and throughout without a profile)."""
    if end <= start:
        return []
    if profile is None:
        return [default(start, end - start)]
    resolved = profile.resolve(start, end, zone)
    slots = [
        ComfortSlot(start=slot.start, duration=slot.duration, lower_c=slot.low_c, upper_c=slot.high_c)
        for slot in resolved
    ]
    slots += [default(lo, hi - lo) for lo, hi in uncovered_spans(resolved, start, end)]
    return sorted(slots, key=lambda slot: slot.start)


@dataclass
class HomeDevices:
    """The planner devices built from the descriptions, the committed base load and what was assumed."""

    devices: list[PlannerDevice] = field(default_factory=list)
    committed: list[PowerSlot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Builder:
    def __init__(
        self,
        grid: Grid,
        now: datetime,
        forecasts: HomeForecasts,
        settings: HomeSettings,
        rules: GenerationRules,
        zone: ZoneInfo,
    ) -> None:
        self.grid, self.now, self.forecasts, self.settings, self.rules = grid, now, forecasts, settings, rules
        self.zone = zone
        outdoor = forecasts.outdoor_temperature(grid.start, grid.end)
        values = on_grid(outdoor, [slot.temperature_c for slot in outdoor], grid)
        self.outdoor = tuple(
            trusted(TemperatureSlot, start=at, duration=length, temperature_c=v)
            for at, length, v in runs(grid, values, True)
        )
        self.result = HomeDevices()

    def tank(self, description: ThermalStorageDescription, request: HotWaterRequest | None = None) -> TankInput:
        draws = self.forecasts.hot_water_draws(description.device_id, self.grid.start, self.grid.end)
        parameters = description.tank
        return TankInput(
            parameters=parameters,
            initial_c=min(100.0, max(0.0, description.temperature_c)),
            draws=_heat(self.grid, draws),
            extra_hot_water=request,
        )

    def room(self, device_id: str, parameters: object, initial_c: float, comfort: tuple[ComfortSlot, ...]) -> RoomInput:
        gains = self.forecasts.room_gains(device_id, self.grid.start, self.grid.end)
        return RoomInput.model_validate(
            {"parameters": parameters, "initial_c": initial_c, "comfort": comfort, "gains": _heat(self.grid, gains)}
        )

    def add(self, description: Description, conditions: OperatingConditions | None) -> None:
        if isinstance(description, StorageDescription):
            capacity = description.parameters.capacity_wh
            minimum = self.settings.battery_min_level
            reserve = (
                ()
                if minimum is None
                else (
                    ReserveSlot(
                        start=self.grid.start, duration=self.grid.end - self.grid.start, energy_wh=minimum * capacity
                    ),
                )
            )
            self.result.devices.append(
                BatteryDevice(
                    device_id=description.device_id,
                    parameters=description.parameters,
                    initial_energy_wh=min(description.energy_wh, capacity),
                    reserve=reserve,
                )
            )
        elif isinstance(description, GenerationForecast):
            slots = description.forecast.slots
            values = on_grid(slots, [max(0.0, -slot.power_w) for slot in slots], self.grid)
            step = self.grid.slot
            forecast = tuple(
                trusted(GenerationSlot, start=at, duration=step, power_w=v)
                for at, v in zip(self.grid.utc_starts(), values, strict=True)
            )
            curtailable = description.curtailable and not self.rules.keep_generation
            self.result.devices.append(
                PvDevice(
                    device_id=description.device_id,
                    forecast=forecast,
                    curtailable=curtailable,
                    off=self.rules.off if curtailable else (),
                )
            )
        elif isinstance(description, LoadForecast):
            slots = description.forecast.slots
            self.result.committed += _power_slots(self.grid, on_grid(slots, [s.power_w for s in slots], self.grid))
        elif isinstance(description, ThermalStorageDescription):
            self.add_thermal(description, conditions)
        else:
            self.add_air_conditioner(description, conditions)

    def add_thermal(self, description: ThermalStorageDescription, conditions: OperatingConditions | None) -> None:
        device_id = description.device_id
        if description.heater is HeaterKind.HEAT_PUMP:
            assert description.heat_pump is not None  # the model's validator requires it
            room = None
            if description.room is not None and description.room_temperature_c is not None:
                low, high = self.settings.room_low_c, self.settings.room_high_c
                band = weekly_comfort(
                    self.settings.room_profile,
                    self.grid.start,
                    self.grid.end,
                    self.zone,
                    lambda at, length: ComfortSlot(start=at, duration=length, lower_c=low, upper_c=high),
                )
                room = self.room(device_id, description.room, description.room_temperature_c, tuple(band))
            self.result.devices.append(
                HeatPumpDevice(
                    device_id=device_id,
                    heat_pump=description.heat_pump,
                    outdoor=self.outdoor,
                    tank=self.tank(description),
                    room=room,
                    space_mode="auto",
                )
            )
        elif description.heater is HeaterKind.RESISTIVE:
            settings = conditions.settings if conditions else None
            request = None
            if isinstance(settings, WaterHeaterSettings):
                top = min(description.tank.max_c, settings.set_point_c)
                tank = description.tank.model_copy(update={"max_c": top, "min_c": min(description.tank.min_c, top)})
                description = description.model_copy(update={"tank": tank})
                finish = conditions.desired_finish if conditions else None
                if finish is not None and finish > self.grid.start:
                    request = HotWaterRequest(min_c=water_heater_target_c(description, settings), by=finish)
            self.result.devices.append(
                WaterHeaterDevice(
                    device_id=device_id,
                    power_max_w=description.heater_power_max_w,
                    tank=self.tank(description, request),
                    not_before=conditions.desired_start if conditions else None,
                )
            )
        else:
            assert description.fuel_cell is not None  # the model's validator requires it
            since = description.running_since
            held = None if since is None else max(0.0, (self.now - since).total_seconds() / 3600.0)
            gas = GasPriceSlot(
                start=self.grid.start,
                duration=self.grid.end - self.grid.start,
                price_per_m3=self.settings.gas_price_per_m3,
            )
            self.result.devices.append(
                FuelCellDevice(
                    device_id=device_id,
                    fuel_cell=description.fuel_cell,
                    tank=self.tank(description),
                    gas_prices=(gas,),
                    initially_on=description.running,
                    in_state_for_h=held,
                    off=self.rules.off,
                )
            )

    def add_air_conditioner(self, description: RoomClimateDescription, conditions: OperatingConditions | None) -> None:
        settings = description.settings
        start = finish = None
        weekly = self.settings.air_conditioner_profiles.get(description.device_id)
        if conditions is not None and isinstance(conditions.settings, AirConditionerSettings):
            settings, start = conditions.settings, conditions.desired_start
            finish = conditions.desired_finish or start
            weekly = conditions.weekly_profile or weekly
        modes: dict[AcMode, Literal["cool", "heat", "auto"]] = {
            AcMode.COOL: "cool",
            AcMode.HEAT: "heat",
            AcMode.AUTO: "auto",
        }
        if not settings.on or settings.mode not in modes:
            self.result.notes.append(
                f"{description.device_id} is {'off' if not settings.on else settings.mode.value}: not planned"
            )
            return
        grid = self.grid
        comfort: list[ComfortSlot] = []
        split = grid.start if finish is None else min(max(finish, grid.start), grid.end)
        if split > grid.start:
            comfort.append(
                ComfortSlot(start=grid.start, duration=split - grid.start, lower_c=_FREE_LOW_C, upper_c=_FREE_HIGH_C)
            )
        set_point = settings.set_point_c
        comfort += weekly_comfort(
            weekly,
            split,
            grid.end,
            self.zone,
            lambda at, length: ComfortSlot(start=at, duration=length, set_point_c=set_point),
        )
        self.result.devices.append(
            AirConditionerDevice(
                device_id=description.device_id,
                unit=description.unit,
                outdoor=self.outdoor,
                room=self.room(
                    description.device_id,
                    description.room,
                    description.room_temperature_c,
                    tuple(relax_comfort(comfort, self.rules.relaxed.get(description.device_id, ()))),
                ),
                mode=modes[settings.mode],
                fan_power_w=description.fan_power_w if settings.on else 0.0,
                not_before=start,
            )
        )


@dataclass(frozen=True)
class GenerationRules:
    """What grid requests allow of the generators (JWG120x, JWG121x): windows in which they are switched off,
    and whether PV may be curtailed at all; and per air conditioner, windows in which its comfort band may widen
    (a load-management event the user allows, JWG14)."""

    off: tuple[Slot, ...] = ()
    keep_generation: bool = False
    relaxed: Mapping[str, tuple[ComfortRelaxation, ...]] = field(default_factory=dict)


def relax_comfort(comfort: Sequence[ComfortSlot], relaxations: Sequence[ComfortRelaxation]) -> list[ComfortSlot]:
    """``comfort`` split at the relaxations' bounds, the band widened by ``by_c`` [K] on both sides inside them."""
    result = list(comfort)
    for relaxation in relaxations:
        split: list[ComfortSlot] = []
        for slot in result:
            cuts = sorted(
                {slot.start, slot.end, *(t for t in (relaxation.start, relaxation.end) if slot.start < t < slot.end)}
            )
            for lo, hi in pairwise(cuts):
                piece = slot.model_copy(update={"start": lo, "duration": hi - lo})
                if relaxation.start <= lo and hi <= relaxation.end:
                    lower, upper = piece.lower, piece.upper
                    piece = ComfortSlot(
                        start=lo,
                        duration=hi - lo,
                        lower_c=None if lower is None else lower - relaxation.by_c,
                        upper_c=None if upper is None else upper + relaxation.by_c,
                    )
                split.append(piece)
        result = split
    return result


def home_devices(
    book: HomeBook,
    grid: Grid,
    now: datetime,
    forecasts: HomeForecasts,
    settings: HomeSettings,
    excluded: set[str],
    rules: GenerationRules | None = None,
    zone: ZoneInfo | None = None,
) -> HomeDevices:
    """The planner devices and committed load of every described device not in ``excluded``; weekly profiles
    are read in the home's ``zone`` (UTC when not given)."""
    builder = _Builder(grid, now, forecasts, settings, rules or GenerationRules(), zone or ZoneInfo("UTC"))
    for description in book.descriptions():
        if description.device_id not in excluded:
            builder.add(description, book.conditions.get(description.device_id))
    return builder.result
