"""The whole-home part of the CEM (issue 4): descriptions in, one plan for jobs and devices, schedules out.

* **Descriptions** (:mod:`flexcem.cem.home_book`): the five description messages, from the registered device
  only, checked and kept (latest per device); a new one triggers a re-plan. Before planning, a description
  older than ``home.description_max_age`` is refreshed with a :class:`~flexcem.model.FlexibilityRequest`.
* **Feed-in tariffs**: a :class:`~flexcem.model.PriceEnvironmentProfile` that ``applies_to`` generation goes
  to a second price book; its prices are the plan's export prices (the manager routes it here).
* **User conditions** (:class:`~flexcem.cem.home_book.OperatingConditions`, JWG1110): a change re-plans.
* **Plan** (:mod:`flexcem.cem.home_plan`) and **dispatch** (:mod:`flexcem.cem.home_dispatch`): the schedules, and
  each planned room's comfort band as a temperature profile (:mod:`flexcem.cem.comfort_profiles`); with
  ``commit_required`` the plan waits as a proposal and nothing is sent before :meth:`commit`.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.cem.comfort_profiles import comfort_profiles
from flexcem.cem.forecasts import ConstantForecasts, HomeForecasts
from flexcem.cem.home_book import Description, HomeBook, OperatingConditions
from flexcem.cem.home_dispatch import HomeDispatcher
from flexcem.cem.home_plan import HomePlan, plan_home
from flexcem.cem.price_book import PriceBook
from flexcem.model import (
    DeviceFunction,
    Direction,
    Envelope,
    FlexibilityRequest,
    GenerationForecast,
    LoadForecast,
    PriceEnvironmentProfile,
    RoomClimateDescription,
    StorageDescription,
    ThermalStorageDescription,
)

if TYPE_CHECKING:
    from flexcem.cem.manager import CustomerEnergyManager

__all__ = ["DESCRIPTION_TYPES", "HomeManager"]

DESCRIPTION_TYPES: tuple[type[Description], ...] = (
    StorageDescription,
    ThermalStorageDescription,
    RoomClimateDescription,
    GenerationForecast,
    LoadForecast,
)


class HomeManager:
    """Descriptions, feed-in prices, user conditions, whole-home plans and their dispatch for one CEM."""

    def __init__(self, cem: CustomerEnergyManager, endpoint: Endpoint, forecasts: HomeForecasts | None) -> None:
        self._cem = cem
        self._endpoint = endpoint
        self.book = HomeBook()
        self.feed_in = PriceBook(applies_to=Direction.GENERATION)
        self.forecasts = forecasts
        self.dispatcher = HomeDispatcher(endpoint, lambda: cem.settings.home, cem.address_of, cem.note)
        self.last: HomePlan | None = None
        self._said_defaults = False
        for body_type in DESCRIPTION_TYPES:
            endpoint.on(body_type, self._on_description)

    @property
    def active(self) -> bool:
        """Whether any home device has described itself (then every plan is a whole-home plan)."""
        return len(self.book) > 0

    async def _on_description(self, description: Description, envelope: Envelope) -> None:
        record = self._cem.registry.require(description.device_id, envelope.sender)
        if self.book.take(description, record, self._cem.clock.now()):
            self._cem.note(f"{type(description).__name__} from {description.device_id}")
            self._cem.request_replan(f"description from {description.device_id}")

    def take_feed_in(self, profile: PriceEnvironmentProfile) -> bool:
        """Store a feed-in tariff; whether it changes an export price. Refuses another currency naming it."""
        currency = self._cem.prices.currency
        if currency is not None and profile.currency != currency:
            raise MessageRefused(f"currency {profile.currency} differs from the tariff's {currency}", "currency")
        try:
            return self.feed_in.add(profile)
        except ValueError as error:
            raise MessageRefused(str(error), "currency") from None

    def set_conditions(self, conditions: OperatingConditions) -> None:
        """The user sets an appliance's operating and time conditions (JWG1110); the CEM re-plans.

        Raises :class:`ValueError` naming ``device_id`` when no such device is registered.
        """
        if self._cem.registry.get(conditions.device_id) is None:
            raise ValueError(f"device_id {conditions.device_id!r} is not registered")
        self.book.conditions[conditions.device_id] = conditions
        self._cem.request_replan(f"conditions of {conditions.device_id} changed by the user")

    async def _refresh(self, device_id: str) -> None:
        known = self.book.get(device_id)
        address = self._cem.address_of(device_id)
        record = self._cem.registry.get(device_id)
        if known is None or address is None or record is None:
            return
        try:
            fresh = await self._endpoint.deliver(address, FlexibilityRequest(device_id=device_id), expect=type(known))
            self.book.take(fresh, record, self._cem.clock.now())
        except (DeliveryTimeout, PeerUnsupported, LinkClosed, UnexpectedReply, MessageRefused) as error:
            self._cem.note(f"no fresh description from {device_id} ({error}); planning with the last one")

    async def replan(self, reasons: str) -> HomePlan | None:
        """Plan the whole home now; send the schedules, or propose them when the user must commit first."""
        cem, settings = self._cem, self._cem.settings
        now = cem.clock.now()
        if not cem.prices.profiles:
            cem.note("no tariff yet: the home's devices run on their own control")
            return None
        held = self.dispatcher.held(now)
        stale = [
            d.device_id
            for d in self.book.descriptions()
            if d.device_id not in held
            and (received := self.book.received_at(d.device_id)) is not None
            and now - received > settings.home.description_max_age
        ]
        await asyncio.gather(*(self._refresh(device_id) for device_id in stale))
        now = cem.clock.now()
        forecasts = self.forecasts
        if forecasts is None:
            forecasts = ConstantForecasts(settings.home)
            if not self._said_defaults:
                self._said_defaults = True
                cem.note(
                    f"no home forecasts given: assuming {settings.home.default_outdoor_c} °C outdoors, hot-water "
                    f"draws of {settings.home.default_hot_water_draw_w} W and room gains of "
                    f"{settings.home.default_room_gains_w} W throughout"
                )
        began = time.thread_time()
        result = plan_home(
            now=now,
            jobs=[job for job in cem.jobs.movable() if job.offer.latest_end > now],
            running=cem.jobs.running(),
            prices=cem.prices,
            export_prices=self.feed_in,
            base_load=cem.base_load_forecast,
            book=self.book,
            forecasts=forecasts,
            settings=settings,
            registry=cem.registry,
            held=held,
            held_committed=self.dispatcher.committed_of(held, now),
            tag=f"p{cem.plans_made + 1}",
            reductions=cem.reductions,
        )
        cem.planning_cpu_s += time.thread_time() - began
        self.last = result
        plan = result.plan
        cem.adopt(plan)
        cem.note(
            f"plan {cem.plans_made} ({reasons}): whole home, {len(plan.devices)} device(s) to "
            f"{cem.settings.clock_time(plan.end, True)}, expected cost {plan.total_cost:.4f} {plan.currency}"
            + "".join(f"; {note}" for note in result.notes)
            + "".join(f"; violation {v.message}" for v in plan.violations)
        )
        if settings.commit_required:
            cem.propose(plan, result.placed, result)
            return result
        await self.dispatch(result)
        return result

    async def dispatch(self, result: HomePlan) -> None:
        """Send the plan's start times (jobs), settings, schedules and comfort profiles; re-plan after a refusal."""
        await self._cem.dispatch_jobs(result.plan, [job for job in result.placed if job.phase.movable])
        profiles = comfort_profiles(result.problem, self._takes_profiles, _tag(result, self._cem.plans_made))
        if await self.dispatcher.apply(result.schedules, result.user_settings, profiles):
            self._cem.request_replan("a device refused its schedule")

    def _takes_profiles(self, device_id: str) -> bool:
        record = self._cem.registry.get(device_id)
        return record is not None and DeviceFunction.TEMPERATURE_PROFILE in record.capabilities.functions


def _tag(result: HomePlan, plans_made: int) -> str:
    """The plan's tag, as its schedules' ids end (``p{n}``)."""
    if result.schedules:
        return result.schedules[0].schedule_id.rsplit("-", 1)[-1]
    return f"p{plans_made}"
