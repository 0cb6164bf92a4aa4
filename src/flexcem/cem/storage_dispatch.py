"""Batteries for load increase and storage requests (JWG2121: "increase, reduce or limit the load, generation or
stored energy"; story JWG3 (c)–(d): discharge or charge the battery pack).

The planner bounds the site's import only from above, so a request to *increase* the load, or to change the
energy stored, is met by the batteries the user allows directly (and, for what is left of a load increase, the
hot-water tanks the user allows, :mod:`flexcem.cem.thermal_dispatch`; batteries first: their charge is stored
electricity, given back later, and their power is exact): each gets power set points for the window on
top of what the plan had for it (its baseline), slot by slot, until the amount asked for the slot is covered —
within its power limits and without leaving its state-of-charge band (from the state it last reported).

:func:`storage_setpoints` is the pure part; the CEM sends each battery its set points at the window's start
and holds it out of the plans until the end (:mod:`flexcem.cem.load_management`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.thermal_dispatch import tank_states, thermal_setpoints
from flexcem.model import (
    AdjustmentAction,
    BatteryStatus,
    Circuit,
    DeviceKind,
    LoadManagementRequest,
    LoadManagementResponse,
    ManagedQuantity,
    PowerSeries,
    PowerSetpointSchedule,
    PowerSlot,
    ResponseStatus,
    StorageDescription,
)
from flexcem.model.home_parameters import BatteryParameters

if TYPE_CHECKING:
    from flexcem.cem.load_management import LoadEvent
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["BatteryState", "StorageDispatch", "storage_setpoints"]

THERMAL_KINDS = (DeviceKind.HEAT_PUMP, DeviceKind.WATER_HEATER)
"""Heaters with a tank that take part in a load increase."""


@dataclass(frozen=True)
class BatteryState:
    """A battery as the CEM knows it: its parameters, the energy it holds [Wh] and its planned power per slot [W,
    at the site connection, + charging]."""

    device_id: str
    parameters: BatteryParameters
    energy_wh: float
    baseline_w: tuple[float, ...]


def storage_setpoints(
    batteries: list[BatteryState], amounts_w: list[float], slot: timedelta, *, charge: bool
) -> dict[str, list[float]]:
    """Set points [W, + charging] per battery and slot that add ``amounts_w[k]`` of charging (``charge``) or of
    discharging to the batteries' baselines in slot ``k``, batteries in the given order, each within its power
    limits and its state-of-charge band (the energy simulated from ``energy_wh`` over the slots)."""
    hours = slot.total_seconds() / 3600.0
    setpoints: dict[str, list[float]] = {b.device_id: [] for b in batteries}
    energy = {b.device_id: b.energy_wh for b in batteries}
    for k, amount in enumerate(amounts_w):
        remaining = max(amount, 0.0)
        for battery in batteries:
            p = battery.parameters
            base = battery.baseline_w[k] if k < len(battery.baseline_w) else 0.0
            stored = energy[battery.device_id]
            if charge:
                room_w = max(0.0, p.soc_max * p.capacity_wh - stored) / (p.charge_efficiency * hours)
                headroom = max(0.0, min(p.charge_power_max_w + p.standby_w - base, room_w - max(base, 0.0)))
                extra = min(remaining, headroom)
                power = base + extra
            else:
                room_w = max(0.0, stored - p.soc_min * p.capacity_wh) * p.discharge_efficiency / hours
                headroom = max(0.0, min(base + p.discharge_power_max_w - p.standby_w, room_w + min(base, 0.0)))
                extra = min(remaining, headroom)
                power = base - extra
            remaining -= extra
            flow = power - p.standby_w
            stored += flow * hours * p.charge_efficiency if flow >= 0 else flow * hours / p.discharge_efficiency
            energy[battery.device_id] = min(max(stored, 0.0), p.capacity_wh)
            setpoints[battery.device_id].append(power)
    return setpoints


class StorageDispatch:
    """The batteries' part of load-management events that the planner cannot carry out (see the module)."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def kinds(request: LoadManagementRequest) -> tuple[DeviceKind, ...]:
        """The kinds of device that carry out ``request`` directly: batteries, and for a load increase the tanks."""
        thermal = request.action is AdjustmentAction.INCREASE and request.quantity is ManagedQuantity.LOAD
        return (DeviceKind.BATTERY, *(THERMAL_KINDS if thermal else ()))

    def baselines(self, event: LoadEvent) -> dict[str, tuple[float, ...]]:
        """Each allowed device's planned power over the window and ramp-down [W] (0 where it is not planned)."""
        plan = self._cem.plan
        windows = [event.baseline] + ([event.tail] if event.tail else [])
        return {
            device_id: tuple(
                w
                for window in windows
                for w in ((window.device_w(plan, device_id) if plan else None) or [0.0] * len(window.starts))
            )
            for device_id in event.devices
        }

    def batteries(self, event: LoadEvent) -> list[BatteryState]:
        """The allowed batteries with their parameters, energy and planned power over the window and ramp-down."""
        cem, baselines = self._cem, self.baselines(event)
        states = []
        for device_id in event.devices:
            description = cem.home.book.get(device_id)
            if not isinstance(description, StorageDescription):
                continue
            energy = description.energy_wh
            status = cem.grid_side.status.latest.get(device_id)
            if isinstance(status, BatteryStatus) and status.at >= description.at:
                energy = min(status.remaining_energy_kwh * 1000.0, description.parameters.capacity_wh)
            states.append(BatteryState(device_id, description.parameters, energy, baselines[device_id]))
        return states

    def setpoints(self, event: LoadEvent) -> dict[str, list[float]]:
        """Set points of the allowed batteries that add the change asked, slot by slot, ramps included."""
        asked = event.asked_w()
        if event.tail is not None:
            full = sum(asked) / len(asked)
            asked += [full * f for f in event.tail_factors()]
        charge = event.request.action is AdjustmentAction.INCREASE
        event.device_baselines = self.baselines(event)
        batteries = self.batteries(event)
        setpoints = storage_setpoints(batteries, asked, event.baseline.slot, charge=charge)
        if DeviceKind.WATER_HEATER not in self.kinds(event.request):
            return setpoints
        left = list(asked)
        for battery in batteries:
            for k, (power, base) in enumerate(zip(setpoints[battery.device_id], battery.baseline_w, strict=False)):
                left[k] -= power - base
        tanks = tank_states(self._cem, event, event.device_baselines)
        return setpoints | thermal_setpoints(tanks, left, event.baseline.slot)

    def answer(self, event: LoadEvent) -> LoadManagementResponse:
        request, n = event.request, len(event.baseline.starts)
        baselines = event.device_baselines or self.baselines(event)
        per_slot = [0.0] * n
        for device_id, powers in event.setpoints.items():
            base = baselines[device_id]
            for k in range(n):
                per_slot[k] += abs(powers[k] - base[k])
        change = sum(per_slot) / n
        asked = sum(event.asked_w()) / n
        site = [w - event.sign * c for w, c in zip(event.baseline.site_w, per_slot, strict=True)]
        used = tuple(
            d
            for d, powers in event.setpoints.items()
            if any(abs(p - b) > 1.0 for p, b in zip(powers, baselines[d], strict=False))
        )
        met, some = change >= asked - (5.0 + 0.01 * asked), change > 1.0
        direction = "charge" if request.action is AdjustmentAction.INCREASE else "discharge"
        what = "the batteries and tanks" if len(self.kinds(request)) > 1 else "the batteries"
        return LoadManagementResponse(
            event_id=request.event_id,
            revision=request.revision,
            status=ResponseStatus.ACCEPT if met else ResponseStatus.NOT_SUFFICIENT if some else ResponseStatus.REJECT,
            expected_change_w=round(change, 3),
            expected_peak_w=round(max(max(site), 0.0), 3),
            expected_curve=PowerSeries(
                slots=tuple(
                    PowerSlot(start=at, duration=event.baseline.slot, power_w=w)
                    for at, w in zip(event.baseline.starts, site, strict=True)
                )
            ),
            devices=used or event.devices,
            reason=None
            if met
            else f"{what} can {direction} {change:.0f} W of the {asked:.0f} W asked, within their limits",
        )

    def send_at_start(self, event: LoadEvent) -> None:
        task = asyncio.create_task(
            self._send_setpoints(event), name=f"load management set points {event.request.event_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_setpoints(self, event: LoadEvent) -> None:
        """At the window's start: hold the batteries out of the plans until the event lets go, send their set points."""
        cem, request = self._cem, event.request
        await cem.clock.sleep_until(request.start)
        if event.stop is not None and event.stop <= request.start:
            return
        slot, until = event.baseline.slot, event.until
        starts = [*event.baseline.starts, *(event.tail.starts if event.tail else ())]
        held = cem.home.dispatcher.held_until
        for device_id, powers in event.setpoints.items():
            record = cem.registry.get(device_id)
            heat_pump = record is not None and record.capabilities.kind is DeviceKind.HEAT_PUMP
            held[device_id] = max(held.get(device_id, until), until)
            address = cem.address_of(device_id)
            if address is None:
                continue
            schedule = PowerSetpointSchedule(
                device_id=device_id,
                schedule_id=f"{request.event_id}-r{request.revision}",
                circuit=Circuit.HOT_WATER if heat_pump else Circuit.MAIN,
                schedule=PowerSeries(
                    slots=tuple(
                        PowerSlot(start=at, duration=slot, power_w=w) for at, w in zip(starts, powers, strict=True)
                    )
                ),
            )
            try:
                await self._endpoint.deliver(address, schedule)
            except (DeliveryTimeout, MessageRefused, PeerUnsupported, LinkClosed, UnexpectedReply) as error:
                cem.note(f"load management {request.event_id}: {device_id} did not take its set points: {error}")
                continue
            cem.note(
                f"load management {request.event_id}: {device_id} follows its set points until "
                f"{cem.settings.clock_time(until)}"
            )
