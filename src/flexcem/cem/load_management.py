"""Load/generation management requests the CEM takes, carries out and reports (JWG2121, stories JWG3, JWG14).

The exchange of uc-market §2 from the CEM's side:

1. **Request** (:class:`~flexcem.model.LoadManagementRequest`): refused (naming the field) from a sender without
   the role, for a window that has passed, a deadline that has passed, an older revision; declined (``reject``
   with the reason) when the traffic-light policy or the user's settings leave nothing to adjust.
2. **Which devices**: only those the user allows (``settings.grid.load_management``) whose ``max_duration``
   covers the window. An allowed air conditioner's comfort band may widen by its ``comfort_range_c`` inside
   the window (JWG14: its set point rises within the user's range); devices the user does not allow keep the
   schedules they confirmed until the window ends (held: the plan does not touch them).
3. **Plan**: the site's power per slot of the window before the event is the **baseline**; the CEM plans with
   the limit the request asks for in each slot (:meth:`LoadEvent.targets_w`; import for load, export for
   generation; soft: the plan does what it can) — inside the window only.
4. **Answer** (:class:`~flexcem.model.LoadManagementResponse`): the change the new plan expects against the
   baseline (never an echo of the amount): ``accept`` when it reaches the amount (or keeps under the ceiling),
   ``not_sufficient`` with what it can do, ``reject`` when it can do nothing.
5. **End**: at the window's end (or at :class:`~flexcem.model.LoadAdjustmentEnd`; before the start that cancels
   it) the limits are released, the held devices freed, the CEM re-plans, fetches the load curve of exactly the
   period from the smart meter (``settings.grid.meter``) and sends the sender a
   :class:`~flexcem.model.LoadAdjustmentFeedback` with the achieved change against the baseline.

**Increase and storage** (``increase`` of load, any change of ``storage``): the planner bounds import only from
above, so the batteries the user allows carry them out directly (:mod:`flexcem.cem.storage_dispatch`): set
points on top of their planned power, sent at the window's start, held out of the plans until the end; what the
batteries cannot take of a load increase goes to the allowed water heaters and heat pumps, up to their rated power
and their tanks' headroom (:mod:`flexcem.cem.thermal_dispatch`). The answer is the change those set points give.

**Ramps**: the change asked grows linearly over ``ramp_up`` from the start, and after the end fades linearly over
``ramp_down`` (the limits, or the batteries' set points, stay on for that long, easing back to the plan's
baseline); the answer and the feedback compare with what was asked slot by slot, ramp included.
Not done: generation increase and storage limits (declined).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.grid_signals import PlanWindow, Refused, check_source, check_window, plan_window, refuse
from flexcem.cem.power_reduction import ComfortRelaxation
from flexcem.cem.storage_dispatch import StorageDispatch
from flexcem.model import (
    AdjustmentAction,
    DeviceKind,
    Envelope,
    LoadAdjustmentEnd,
    LoadAdjustmentFeedback,
    LoadCurve,
    LoadCurveRequest,
    LoadManagementRequest,
    LoadManagementResponse,
    ManagedQuantity,
    PowerFlow,
    PowerSeries,
    PowerSlot,
    ResponseStatus,
)

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["LoadEvent", "LoadManagement"]


@dataclass
class LoadEvent:
    """One event the CEM took: the request in force, who sent it, the baseline and what came of it."""

    request: LoadManagementRequest
    sender: str
    baseline: PlanWindow
    devices: tuple[str, ...]
    weights: list[float] = field(default_factory=list)
    """What the allowed devices were planned to draw (or generate) in each slot of the window [W]."""
    held: tuple[str, ...] = ()
    response: LoadManagementResponse | None = None
    feedback: LoadAdjustmentFeedback | None = None
    stop: datetime | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    tail: PlanWindow | None = None
    """The plan's slots in the ramp-down after the window, when there is one."""
    setpoints: dict[str, list[float]] = field(default_factory=dict)
    """Batteries' and heaters' set points over the window and the ramp-down [W] (increase and storage requests)."""
    device_baselines: dict[str, tuple[float, ...]] = field(default_factory=dict)
    """The allowed devices' planned power over the window and ramp-down when the set points were made [W]."""

    @property
    def by_storage(self) -> bool:
        """Whether batteries carry it out directly (an increase of load, or any change of storage)."""
        return self.request.action is AdjustmentAction.INCREASE or self.request.quantity is ManagedQuantity.STORAGE

    @property
    def sign(self) -> float:
        """+1 when the change is down (reduce, limit), -1 when up (increase): change = sign × (before - after)."""
        return -1.0 if self.request.action is AdjustmentAction.INCREASE else 1.0

    @property
    def until(self) -> datetime:
        """When the event lets go of the site: the window's end plus the ramp-down covered by the plan."""
        return self.tail.starts[-1] + self.tail.slot if self.tail else self.request.end

    def factors(self) -> list[float]:
        """The share of the change asked in each slot of the window: ramping up over ``ramp_up`` (at the slot's
        middle), then 1."""
        ramp, slot = self.request.ramp_up, self.baseline.slot
        if ramp <= timedelta(0):
            return [1.0] * len(self.baseline.starts)
        return [min(1.0, max(0.0, (at + slot / 2 - self.request.start) / ramp)) for at in self.baseline.starts]

    def tail_factors(self) -> list[float]:
        """The share of the change still asked in each slot of the ramp-down (fading to 0)."""
        if self.tail is None:
            return []
        ramp, end = self.request.ramp_down, self.request.end
        return [max(0.0, 1.0 - (at + self.tail.slot / 2 - end) / ramp) for at in self.tail.starts]

    @property
    def key(self) -> str:
        """The key of its limits in the CEM's book."""
        return f"load-management {self.request.event_id}"

    @property
    def flow(self) -> PowerFlow:
        """The flow its limits are on."""
        return PowerFlow.EXPORT if self.request.quantity is ManagedQuantity.GENERATION else PowerFlow.IMPORT

    def managed_w(self, site_w: list[float] | tuple[float, ...]) -> list[float]:
        """The managed quantity per slot [W]: import for load, export for generation."""
        if self.flow is PowerFlow.EXPORT:
            return [max(0.0, -w) for w in site_w]
        return list(site_w)

    def targets_w(self) -> list[float]:
        """The most the managed quantity may be in each slot of the window [W]: the ceiling of a ``limit``; for a
        ``reduce`` the baseline less the amount, spread over the slots in proportion to what the allowed devices
        were planned to draw there (a soft limit per slot rewards no more than its own slot, so each slot is
        asked what its devices can give; on average the amount)."""
        request, base, factors = self.request, self.managed_w(self.baseline.site_w), self.factors()
        if request.action is AdjustmentAction.LIMIT:
            if request.amount_w is not None:
                ceilings = [request.amount_w] * len(base)
            else:
                ceilings = [b * (request.amount_percent or 0.0) / 100.0 for b in base]
            return [b - f * max(b - c, 0.0) for b, c, f in zip(base, ceilings, factors, strict=True)]
        total = self.amount_w(sum(base) / len(base)) * len(base)
        weights = self.weights if sum(self.weights) > 1.0 else [1.0] * len(base)
        shares = [w * f for w, f in zip(weights, factors, strict=True)]
        asked = total * sum(factors) / len(factors)  # the ramp asks less in its slots
        return [b - asked * s / sum(shares) for b, s in zip(base, shares, strict=True)] if sum(shares) > 0 else base

    def tail_targets_w(self) -> list[float]:
        """The most the managed quantity may be in each slot of the ramp-down [W]: easing back to the baseline."""
        if self.tail is None:
            return []
        base, window = self.managed_w(self.tail.site_w), self.managed_w(self.baseline.site_w)
        change = max(0.0, sum(window) / len(window) - sum(self.targets_w()) / len(window))
        if self.request.action is AdjustmentAction.LIMIT:
            ceiling = max(self.targets_w())
            return [b - f * max(b - ceiling, 0.0) for b, f in zip(base, self.tail_factors(), strict=True)]
        return [b - f * change for b, f in zip(base, self.tail_factors(), strict=True)]

    def asked_w(self) -> list[float]:
        """The change asked in each slot of the window [W, in the requested direction], ramp included."""
        base = self.managed_w(self.baseline.site_w)
        return [self.amount_w(b) * f for b, f in zip(base, self.factors(), strict=True)]

    def amount_w(self, base_w: float) -> float:
        """The change asked for in a slot whose managed power is ``base_w`` [W]."""
        request = self.request
        return request.amount_w if request.amount_w is not None else base_w * (request.amount_percent or 0.0) / 100.0


class LoadManagement:
    """The CEM's side of load/generation management events."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self.events: dict[str, LoadEvent] = {}
        self._storage = StorageDispatch(cem, endpoint)
        endpoint.on(LoadManagementRequest, self._on_request)
        endpoint.on(LoadAdjustmentEnd, self._on_end)

    # ------------------------------------------------------------------------------------------ request

    async def _on_request(self, request: LoadManagementRequest, envelope: Envelope) -> LoadManagementResponse:
        cem = self._cem

        def reject(reason: str) -> LoadManagementResponse:
            return LoadManagementResponse(
                event_id=request.event_id, revision=request.revision, status=ResponseStatus.REJECT, reason=reason[:256]
            )

        event = self.events.get(request.event_id)
        try:
            check_source(cem, envelope, "load-management requests")
            now = cem.clock.now()
            check_window(request.start, request.end, now)
            if request.response_deadline < now:
                raise Refused(f"the answer was due by {request.response_deadline.isoformat()}", "response_deadline")
            if event is not None and request.revision < event.request.revision:
                raise Refused(f"revision {request.revision} is older than {event.request.revision}", "revision")
        except Refused as refusal:
            return refuse(cem, envelope, refusal, reject)
        if event is not None and request.revision == event.request.revision and event.response is not None:
            return event.response
        declined = self._declined(request)
        if declined is not None:
            cem.note(f"load management {request.event_id} declined: {declined}")
            return reject(declined)
        devices = self._allowed(request)
        if not devices:
            return reject(f"no device the user allows for a window of {request.window}")
        if event is None:
            await cem.settled()
            try:
                baseline = plan_window(cem.plan, request.start, request.end)
            except Refused as refusal:
                return reject(refusal.reason)
            event = LoadEvent(request, envelope.sender, baseline, devices)
            event.weights = self._weights(event)
            if request.ramp_down > timedelta(0):
                try:
                    event.tail = plan_window(cem.plan, request.end, request.end + request.ramp_down)
                except Refused:
                    cem.note(f"load management {request.event_id}: the plan does not cover the ramp-down")
        else:
            event.request, event.sender, event.devices = request, envelope.sender, devices
        self.events[request.event_id] = event
        if event.by_storage:
            event.setpoints = self._storage.setpoints(event)
        self._apply(event)
        cem.note(
            f"load management {request.event_id} r{request.revision} from {envelope.sender}: {request.action.value} "
            f"{request.quantity.value} {cem.settings.clock_time(request.start)}–{cem.settings.clock_time(request.end)} "
            f"with {', '.join(devices)}"
        )
        cem.request_replan(f"load management {request.event_id} r{request.revision}")
        await cem.settled()
        event.response = self._storage.answer(event) if event.by_storage else self._answer(event)
        if event.task is None:
            event.task = asyncio.create_task(self._finish_at(event), name=f"load management {request.event_id}")
        cem.note(f"load management {request.event_id}: {event.response.status.value} ({event.response.reason or 'ok'})")
        return event.response

    def _declined(self, request: LoadManagementRequest) -> str | None:
        unsupported = (
            request.quantity is ManagedQuantity.GENERATION and request.action is AdjustmentAction.INCREASE
        ) or (request.quantity is ManagedQuantity.STORAGE and request.action is AdjustmentAction.LIMIT)
        if unsupported:
            return f"{request.action.value} of {request.quantity.value} is not supported by this CEM"
        return self._cem.grid_state.declines(request)

    def _allowed(self, request: LoadManagementRequest) -> tuple[str, ...]:
        cem = self._cem
        storage = request.action is AdjustmentAction.INCREASE or request.quantity is ManagedQuantity.STORAGE
        kinds = self._storage.kinds(request)
        return tuple(
            p.device_id
            for p in cem.settings.grid.load_management
            if (record := cem.registry.get(p.device_id)) is not None
            and request.window + request.ramp_down <= p.max_duration
            and (not storage or record.capabilities.kind in kinds)
        )

    def _weights(self, event: LoadEvent) -> list[float]:
        plan = self._cem.plan
        weights = [0.0] * len(event.baseline.site_w)
        for device_id in event.devices:
            powers = None if plan is None else event.baseline.device_w(plan, device_id)
            for k, w in enumerate(powers or ()):
                weights[k] += max(0.0, -w if event.flow is PowerFlow.EXPORT else w)
        return weights

    def _apply(self, event: LoadEvent) -> None:
        cem, request = self._cem, event.request
        book = cem.reductions
        book.release(event.key)
        if not event.by_storage:
            limits = event.baseline.limits(event.targets_w())
            if event.tail is not None:
                limits += event.tail.limits(event.tail_targets_w())
            book.hold(event.key, event.flow, limits)
        for device_id in event.devices:
            permission = cem.settings.grid.permission(device_id)
            record = cem.registry.get(device_id)
            if permission and record and record.capabilities.kind is DeviceKind.AIR_CONDITIONER:
                relaxation = ComfortRelaxation(request.start, request.end, permission.comfort_range_c)
                book.relax(event.key, device_id, relaxation)
        dispatcher = cem.home.dispatcher
        confirmed = {device_id for device_id, _ in dispatcher.confirmed}
        event.held = tuple(sorted(confirmed - set(event.devices)))
        for device_id in event.held:
            dispatcher.held_until[device_id] = max(dispatcher.held_until.get(device_id, request.end), request.end)
        if event.setpoints:
            self._storage.send_at_start(event)

    def _answer(self, event: LoadEvent) -> LoadManagementResponse:
        request, plan = event.request, self._cem.plan
        try:
            planned = plan_window(plan, request.start, request.end)
        except Refused as refusal:
            return LoadManagementResponse(
                event_id=request.event_id,
                revision=request.revision,
                status=ResponseStatus.REJECT,
                reason=refusal.reason,
            )
        assert plan is not None
        base, new = event.managed_w(event.baseline.site_w), event.managed_w(planned.site_w)
        change = sum(b - n for b, n in zip(base, new, strict=True)) / len(base)
        peak = max(new)
        moved = tuple(
            d
            for d in event.devices
            if (before := event.baseline.device_w(plan, d)) is not None
            and (after := planned.device_w(plan, d)) is not None
            and any(abs(a - b) > 10.0 for a, b in zip(after, before, strict=True))
        )
        asked = sum(event.asked_w()) / len(base)
        tolerance = 5.0 + 0.01 * asked
        if request.action is AdjustmentAction.LIMIT:
            ceiling = max(event.targets_w())
            met, some = peak <= ceiling + tolerance, peak < max(base) - 1.0
            short = f"the devices keep the {request.quantity.value} at {peak:.0f} W at most, above {ceiling:.0f} W"
        else:
            met, some = change >= asked - tolerance, change > 1.0
            short = f"the devices can change the {request.quantity.value} by {max(change, 0.0):.0f} W of {asked:.0f} W"
        status = ResponseStatus.ACCEPT if met else ResponseStatus.NOT_SUFFICIENT if some else ResponseStatus.REJECT
        return LoadManagementResponse(
            event_id=request.event_id,
            revision=request.revision,
            status=status,
            expected_change_w=round(max(change, 0.0), 3),
            expected_peak_w=round(max(peak, 0.0), 3),
            expected_curve=PowerSeries(
                slots=tuple(
                    PowerSlot(start=at, duration=planned.slot, power_w=w)
                    for at, w in zip(planned.starts, planned.site_w, strict=True)
                )
            ),
            devices=moved or event.devices,
            reason=None if met else short,
        )

    # ---------------------------------------------------------------------------------------------- end

    async def _on_end(self, end: LoadAdjustmentEnd, envelope: Envelope) -> None:
        try:
            check_source(self._cem, envelope, "the end of a load-management event")
        except Refused as refusal:
            raise MessageRefused(refusal.reason, refusal.field) from None
        event = self.events.get(end.event_id)
        if event is None:
            raise MessageRefused(f"no load-management event {end.event_id!r}", "event_id")
        if event.stop is not None:
            return
        if end.at <= event.request.start:
            self._cem.note(f"load management {end.event_id} cancelled by {envelope.sender}")
            if event.task is not None:
                event.task.cancel()
            event.stop = end.at
            self._release(event)
            return
        event.stop = min(end.at, event.request.end)
        self._cem.note(f"load management {end.event_id} ends at {self._cem.settings.clock_time(event.stop)}")
        if event.task is not None:
            event.task.cancel()
        event.task = asyncio.create_task(self._finish_at(event), name=f"load management end {end.event_id}")

    def _release(self, event: LoadEvent) -> None:
        cem = self._cem
        cem.reductions.release(event.key)
        dispatcher = cem.home.dispatcher
        for device_id in event.held:
            if dispatcher.held_until.get(device_id) == event.request.end:
                dispatcher.held_until.pop(device_id, None)
        for device_id in event.setpoints:
            if dispatcher.held_until.get(device_id) == event.until:
                dispatcher.held_until.pop(device_id, None)
                for key in [k for k in dispatcher.confirmed if k[0] == device_id]:
                    del dispatcher.confirmed[key]
        cem.request_replan(f"load management {event.request.event_id} over")

    async def _finish_at(self, event: LoadEvent) -> None:
        stop = event.stop or event.request.end
        await self._cem.clock.sleep_until(stop)
        event.stop = stop
        ramping_down = event.tail is not None and stop == event.request.end
        if not ramping_down:
            self._release(event)
        elif not event.by_storage:  # only the ramp-down's limits stay
            assert event.tail is not None
            self._cem.reductions.hold(event.key, event.flow, event.tail.limits(event.tail_targets_w()))
        event.feedback = await self._feedback(event, stop)
        try:
            await self._endpoint.send(event.sender, event.feedback)
        except LinkClosed:
            return
        self._cem.note(
            f"load management {event.request.event_id}: achieved {event.feedback.achieved_change_w:.0f} W, "
            f"feedback sent to {event.sender}"
        )
        if ramping_down:
            await self._cem.clock.sleep_until(event.until)
            self._release(event)

    async def _feedback(self, event: LoadEvent, stop: datetime) -> LoadAdjustmentFeedback:
        request, baseline = event.request, event.baseline
        slots = [
            PowerSlot(start=at, duration=min(baseline.slot, stop - at), power_w=w)
            for at, w in zip(baseline.starts, baseline.site_w, strict=True)
            if at < stop
        ]
        base_curve = PowerSeries(slots=tuple(slots))
        curve, reason = await self._metered(event, stop)
        if curve is None:
            curve = base_curve
        weights = [s.duration.total_seconds() for s in slots]
        metered = [_average(curve, s.start, s.end) for s in slots]
        base = event.managed_w([s.power_w for s in slots])
        seen = event.managed_w(metered)
        achieved = event.sign * sum((b - m) * w for b, m, w in zip(base, seen, weights, strict=True)) / sum(weights)
        factors = event.factors()
        asked = sum(event.amount_w(b) * f * w for b, f, w in zip(base, factors, weights, strict=False)) / sum(weights)
        if reason is None and request.action is not AdjustmentAction.LIMIT and achieved < asked - 5.0:
            reason = f"{achieved:.0f} W of the {asked:.0f} W asked: all the allowed devices could do"
        return LoadAdjustmentFeedback(
            event_id=request.event_id,
            revision=request.revision,
            start=request.start,
            end=stop,
            achieved_change_w=round(achieved, 3),
            load_curve=curve,
            baseline_curve=base_curve,
            devices=event.response.devices if event.response else event.devices,
            reason=reason,
        )

    async def _metered(self, event: LoadEvent, stop: datetime) -> tuple[PowerSeries | None, str | None]:
        meter = self._cem.settings.grid.meter
        if meter is None:
            return None, "no smart meter configured: the curve is the planned one"
        ask = LoadCurveRequest(
            request_id=f"{event.request.event_id}-curve",
            start=event.request.start,
            end=stop,
            resolution=event.baseline.slot,
        )
        try:
            answer = await self._endpoint.deliver(meter, ask, expect=LoadCurve)
        except (DeliveryTimeout, MessageRefused, PeerUnsupported, LinkClosed, UnexpectedReply) as error:
            return None, f"no load curve from the meter ({error}): the curve is the planned one"
        return answer.curve, None


def _average(series: PowerSeries, start: datetime, end: datetime) -> float:
    """Average power [W] of ``series`` over ``[start, end)`` (0 where it has no slot)."""
    energy = sum(
        s.power_w * (min(s.end, end) - max(s.start, start)).total_seconds()
        for s in series.slots
        if s.start < end and start < s.end
    )
    return energy / (end - start).total_seconds()
