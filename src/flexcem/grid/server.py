"""The grid server (issue 6): the grid programs as a long-running service over a store and a bus.

:class:`GridServer` opens a :class:`~flexcem.store.GridStore` (SQLite file by default, PostgreSQL by URL),
keeps the registry of customers, CEM endpoints, groups and areas in it, connects one endpoint
(``{domain}/{name}``, a controller) to a bus — an in-process :class:`~flexcem.bus.MemoryBus` it is given or
makes (``memory://``), or an MQTT broker (``mqtt://``, ``mqtts://`` with a PKI) — and runs the programs on it
with a :class:`~flexcem.store.SqlSignalStore`, so every message sent and every answer is stored:

* tariffs (:class:`~flexcem.grid.server_programs.TariffPublication`), the traffic light, load-management
  events, emergencies, energy-saving requests, to an endpoint, a group, an area or everyone;
* metering and telemetry that comes up (meter readings into the readings table; alive statuses, warnings,
  alarms, load curves as inbound messages);
* presence changes of the registered endpoints.

Restart without loss: everything lives in the store, so a server started again on the same database reloads
the registry and the open signals, re-arms their deadlines (a deadline that passed while it was down fires at
once and records who had not answered), and records answers that arrive afterwards — late ones as late. It
sends nothing again that was delivered: what was sent is in the store, and retained signals stay on the broker.
The one exception is a unicast whose delivery was in progress at the stop (stored, never acknowledged, refused,
answered or timed out), of an open signal or one sent within ``redeliver_within``: it is delivered again in the
background with the same message id, so a CEM that had received it answers from its de-duplication cache and
handles it once.

Bad operator input (unknown target, impossible window, deadline in the past, duplicate id) raises
:class:`~flexcem.grid.server_programs.OperatorError` naming the field, before anything is sent or stored.

Use in a caller's event loop (``flexcem up``, tests)::

    server = GridServer.open("sqlite:///grid.db", bus=memory_bus)     # or bus="mqtt://127.0.0.1:1883"
    await server.start()
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import or_, select

from flexcem.bus import Endpoint, Link, MemoryBus
from flexcem.bus.access import Role
from flexcem.bus.mqtt import MqttBus, MqttLink
from flexcem.clock import Clock, RealClock
from flexcem.grid import server_queries as queries
from flexcem.grid.broker_acl import BrokerAcl
from flexcem.grid.emergency import EmergencyProgram
from flexcem.grid.energy_saving import EnergySavingProgram
from flexcem.grid.load_management import LoadManagementProgram
from flexcem.grid.program import GridProgram
from flexcem.grid.records import SignalRecord
from flexcem.grid.registry import GridRegistry
from flexcem.grid.server_programs import OperatorError, TariffPublication, operator_error
from flexcem.grid.server_reads import ReadsMixin
from flexcem.grid.server_registry import RegistryMixin
from flexcem.grid.traffic_light import TrafficLightProgram
from flexcem.model import (
    AdjustmentAction,
    AlertLevel,
    AliveStatus,
    BindingLevel,
    EmergencyEnd,
    FlexModel,
    GridState,
    LoadAdjustmentEnd,
    LoadCurve,
    ManagedQuantity,
    MeterReading,
    OverloadWarning,
    PriceEnvironmentProfile,
    PriceSlot,
    TariffKind,
    TimeDifferenceAlarm,
    TrafficLight,
    endpoint_address,
    new_id,
)
from flexcem.store import DEFAULT_URL, GridStore, SqlSignalStore
from flexcem.store.models import Signal

__all__ = ["GridServer", "OperatorError", "make_bus"]

log = logging.getLogger("flexcem.grid.server")

P = TypeVar("P", bound=GridProgram)

COLLECTED: tuple[type[FlexModel], ...] = (AliveStatus, OverloadWarning, TimeDifferenceAlarm, LoadCurve)
"""Messages that come up unasked and are stored as inbound messages (readings go to the readings table)."""


def make_bus(url: str, *, pki: Path | None = None, clock: Clock | None = None) -> MemoryBus | MqttBus:
    """The bus at ``url``: ``memory://`` (a new in-process bus), ``mqtt://host:port`` or ``mqtts://host:port``."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBus()
    if scheme in ("mqtt", "mqtts"):
        return MqttBus(url, pki=pki, clock=clock)
    raise OperatorError(f"bus {url!r}: expected memory://, mqtt://host:port or mqtts://host:port", "bus")


class GridServer(RegistryMixin, ReadsMixin):
    """The grid side as a service: store, registry, programs on one bus endpoint, presence and telemetry.

    ``domain``/``name`` make the server's address (``grid/dso``: CEMs must accept signals from it);
    ``ack_timeout_s`` [s] and ``retries`` bound each unicast delivery; an operator call waits at most
    ``answer_wait_s`` [s] for a unicast's answer before returning the stored (still sending) signal;
    ``presence_poll_s`` [s] is how often the in-process bus is looked at for presence; at start, a unicast
    interrupted by the stop is delivered again if its signal is open or was last sent within
    ``redeliver_within``.
    """

    def __init__(
        self,
        store: GridStore,
        bus: MemoryBus | MqttBus,
        *,
        domain: str = "grid",
        name: str = "dso",
        clock: Clock | None = None,
        ack_timeout_s: float = 5.0,
        retries: int = 2,
        answer_wait_s: float = 2.0,
        presence_poll_s: float = 1.0,
        feedback_grace: timedelta = timedelta(hours=1),
        confirm_within: timedelta = timedelta(minutes=1),
        redeliver_within: timedelta = timedelta(days=1),
        broker_acl: BrokerAcl | None = None,
    ) -> None:
        self.store = store
        self.broker_acl = broker_acl
        """On Mosquitto: the ACL that follows the registry's groups (a member added is reloaded into the broker)."""
        self.bus = bus
        self.domain = domain
        self.address = endpoint_address(domain, name)
        self.clock: Clock = clock or RealClock()
        self.answer_wait_s = answer_wait_s
        self.presence_poll_s = presence_poll_s
        self._endpoint_options = {"ack_timeout_s": ack_timeout_s, "retries": retries}
        self._feedback_grace = feedback_grace
        self._confirm_within = confirm_within
        self._redeliver_within = redeliver_within
        self.registry = GridRegistry(domain)
        self.signal_store = SqlSignalStore(store)
        self._endpoint: Endpoint | None = None
        self._link: Link | None = None
        self._programs: dict[str, GridProgram] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._presence_task: asyncio.Task[None] | None = None
        self._stop_presence: Any = None

    @classmethod
    def open(
        cls,
        db: str = DEFAULT_URL,
        *,
        schema: str | None = None,
        bus: str | MemoryBus | MqttBus = "memory://",
        pki: Path | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> GridServer:
        """A server on the store at ``db`` (migrated; PostgreSQL: in ``schema``) and the bus ``bus`` (URL or object)."""
        the_bus = make_bus(bus, pki=pki, clock=clock) if isinstance(bus, str) else bus
        return cls(GridStore.open(db, schema=schema), the_bus, clock=clock, **options)

    # -- life cycle ------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether :meth:`start` has connected the server."""
        return self._endpoint is not None

    @property
    def endpoint(self) -> Endpoint:
        """The server's endpoint on the bus (after :meth:`start`)."""
        if self._endpoint is None:
            raise RuntimeError("the grid server is not started")
        return self._endpoint

    @property
    def load_management(self) -> LoadManagementProgram:
        """The load-management program."""
        return self._program(LoadManagementProgram)

    @property
    def emergency(self) -> EmergencyProgram:
        """The emergency program."""
        return self._program(EmergencyProgram)

    @property
    def traffic_light(self) -> TrafficLightProgram:
        """The traffic-light program."""
        return self._program(TrafficLightProgram)

    @property
    def energy_saving(self) -> EnergySavingProgram:
        """The energy-saving program."""
        return self._program(EnergySavingProgram)

    @property
    def tariff(self) -> TariffPublication:
        """The tariff publication."""
        return self._program(TariffPublication)

    def _program(self, kind: type[P]) -> P:
        program = self._programs.get(kind.name)
        if not isinstance(program, kind):
            raise RuntimeError("the grid server is not started")
        return program

    async def start(self) -> None:
        """Load the registry and open signals, connect to the bus, re-arm deadlines, start receiving."""
        self.registry = self.store.load_registry(self.domain)
        link = self._link = await self._connect()
        endpoint = Endpoint(link, self.clock, **self._endpoint_options)  # type: ignore[arg-type]
        names = ("tariff", "traffic-light", "load-management", "emergency", "energy-saving")
        self.signal_store = SqlSignalStore(self.store, senders=dict.fromkeys(names, self.address))
        store = self.signal_store
        programs: list[GridProgram] = [
            TariffPublication(endpoint, self.registry, store),
            TrafficLightProgram(endpoint, self.registry, store),
            LoadManagementProgram(endpoint, self.registry, store, feedback_grace=self._feedback_grace),
            EmergencyProgram(endpoint, self.registry, store, confirm_within=self._confirm_within),
            EnergySavingProgram(endpoint, self.registry, store),
        ]
        self._programs = {program.name: program for program in programs}
        endpoint.on(MeterReading, self._on_reading)
        for message_type in COLLECTED:
            endpoint.on(message_type, self._on_inbound)
        self._endpoint = endpoint
        interrupted = self._resume()
        self._join_groups()
        self._watch_presence(link)
        await endpoint.start()
        self._redeliver(interrupted)
        log.info("grid server %s: %d endpoints, %d groups, %d areas", self.address, len(self.registry.customers),
                 len(self.registry.groups), len(self.registry.areas))

    async def _connect(self) -> Link:
        if isinstance(self.bus, MqttBus):
            return await self.bus.connect(self.address, role=Role.CONTROLLER)
        return await self.bus.connect(self.address)

    def _resume(self) -> list[tuple[GridProgram, SignalRecord]]:
        """Re-arm the deadlines of the stored open signals and the traffic lights in force; the signals (open,
        or last sent within ``redeliver_within``) whose last unicast was being delivered at the stop."""
        rearmed = 0
        interrupted: list[tuple[GridProgram, SignalRecord]] = []
        for program_name, signal_id in self._open_or_recent_signals():
            program = self._programs.get(program_name)
            record = self.signal_store.get(program_name, signal_id)
            if program is not None and record is not None and record.unsettled_delivery() is not None:
                interrupted.append((program, record))
        for program_name, signal_id in queries.open_signals(self.store):
            program = self._programs.get(program_name)
            record = self.signal_store.get(program_name, signal_id)
            if program is None or record is None:
                continue
            for kind, deadline in list(record.deadlines.items()):
                if kind not in record.missing:
                    program.set_deadline(record, kind, deadline)
                    rearmed += 1
        light = self.traffic_light
        for signal_id in queries.newest_per_area(self.store, light.name):
            record = self.signal_store.get(light.name, signal_id)
            if record is not None and isinstance(record.body, TrafficLight):
                light.current[record.body.area] = record.body
        if rearmed:
            log.info("grid server %s: %d deadline(s) re-armed from the store", self.address, rearmed)
        return interrupted

    def _open_or_recent_signals(self) -> list[tuple[str, str]]:
        """(program, signal id) of the open signals and of those last sent within ``redeliver_within``."""
        since = self.clock.now() - self._redeliver_within
        statement = (
            select(Signal.program, Signal.signal_id)
            .where(or_(Signal.status == "open", Signal.updated_at >= since))
            .order_by(Signal.sent_at, Signal.id)
        )
        with self.store.engine.connect() as connection:
            return [(str(p), str(s)) for p, s in connection.execute(statement)]

    def _redeliver(self, interrupted: list[tuple[GridProgram, SignalRecord]]) -> None:
        """Deliver again, in the background and with their message ids, the unicasts in progress at the stop."""
        for program, record in interrupted:
            task = asyncio.create_task(program.redeliver(record), name=f"redeliver {record.signal_id}")
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        if interrupted:
            log.info("grid server %s: %d interrupted unicast(s) delivered again with their message ids",
                     self.address, len(interrupted))

    def _watch_presence(self, link: Link) -> None:
        if isinstance(link, MqttLink):
            for presence in link.presences().values():
                self._on_presence(presence)
            self._stop_presence = link.on_presence(self._on_presence)
        elif isinstance(self.bus, MemoryBus):
            self._presence_task = asyncio.create_task(self._poll_presence(self.bus), name="grid presence")

    async def stop(self) -> None:
        """Stop the programs and background work and leave the bus (the store stays open)."""
        if self._presence_task is not None:
            self._presence_task.cancel()
            await asyncio.gather(self._presence_task, return_exceptions=True)
            self._presence_task = None
        if self._stop_presence is not None:
            self._stop_presence()
            self._stop_presence = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for program in self._programs.values():
            await program.stop()
        self._endpoint = None

    def close(self) -> None:
        """Release the store's connections (after :meth:`stop`)."""
        self.store.close()

    async def __aenter__(self) -> GridServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- operator actions ------------------------------------------------------------------------------------

    async def publish_tariff(
        self,
        slots: Sequence[PriceSlot],
        *,
        target: str | None = None,
        profile_id: str | None = None,
        tariff_name: str | None = None,
        currency: str = "EUR",
        binding: BindingLevel = BindingLevel.BINDING,
        kind: TariffKind = TariffKind.DAY_AHEAD,
    ) -> SignalRecord:
        """Publish a price profile of ``slots`` to ``target`` (everyone); a known ``profile_id`` is corrected."""
        to = target or f"{self.domain}/all"
        self._resolve(to)
        identifier = profile_id or f"tariff-{new_id()[:12]}"
        previous = self.signal_store.get(self.tariff.name, identifier)
        revision = 0 if previous is None else previous.revision + 1
        try:
            profile = PriceEnvironmentProfile(
                profile_id=identifier, revision=revision, issued_at=self.clock.now(), currency=currency,
                binding=binding, kind=kind, tariff_name=tariff_name, slots=tuple(slots),
            )
        except ValidationError as error:
            raise operator_error(error) from None
        return await self._run(self.tariff.publish(to, profile), self.tariff, identifier)

    async def set_traffic_light(
        self, area: str, state: GridState, *, valid_until: datetime | None = None, reason: str | None = None
    ) -> SignalRecord:
        """Publish ``state`` for ``area`` to the area's group (retained)."""
        if area not in self.registry.areas:
            known = ", ".join(sorted(self.registry.areas)) or "none"
            raise OperatorError(f"unknown area {area!r} (known areas: {known})", "area")
        now = self.clock.now()
        if valid_until is not None and valid_until <= now:
            raise OperatorError(f"valid_until {valid_until.isoformat()} is not in the future", "valid_until")
        try:
            return await self.traffic_light.set_state(area, state, valid_until=valid_until, reason=reason)
        except (ValidationError, ValueError) as error:
            raise operator_error(error) from None

    async def request_load_management(
        self,
        target: str,
        *,
        action: AdjustmentAction,
        start: datetime,
        end: datetime,
        response_deadline: datetime,
        amount_w: float | None = None,
        amount_percent: float | None = None,
        quantity: ManagedQuantity = ManagedQuantity.LOAD,
        event_id: str | None = None,
        **options: Any,
    ) -> SignalRecord:
        """Send a load-management event to ``target`` (endpoint, group, area or everyone)."""
        self._resolve(target)
        identifier = event_id or f"lm-{new_id()[:12]}"
        if self.signal_store.get(self.load_management.name, identifier) is not None:
            raise OperatorError(f"event {identifier!r} exists already", "event_id")
        if response_deadline <= self.clock.now():
            raise OperatorError(f"response_deadline {response_deadline.isoformat()} is not in the future",
                                "response_deadline")
        call = self.load_management.request(
            target, action=action, start=start, end=end, response_deadline=response_deadline, amount_w=amount_w,
            amount_percent=amount_percent, quantity=quantity, event_id=identifier, **options,
        )
        return await self._run(call, self.load_management, identifier)

    async def end_load_management(self, event_id: str, *, reason: str | None = None) -> SignalRecord:
        """End the event now (before its start: cancel it)."""
        record = self._record(self.load_management, event_id, "event_id")
        if any(isinstance(body, LoadAdjustmentEnd) for _, body in record.sent):
            raise OperatorError(f"event {event_id!r} has already ended", "event_id")
        return await self._run(self.load_management.end(event_id, reason=reason), self.load_management, event_id)

    async def declare_emergency(
        self,
        target: str,
        *,
        level: AlertLevel = AlertLevel.NORMAL,
        start: datetime | None = None,
        duration: timedelta | None = None,
        reason: str | None = None,
        confirm: bool = True,
        emergency_id: str | None = None,
    ) -> SignalRecord:
        """Declare an emergency for ``target`` from ``start`` (now), for ``duration`` or until ended."""
        self._resolve(target)
        identifier = emergency_id or f"em-{new_id()[:12]}"
        if self.signal_store.get(self.emergency.name, identifier) is not None:
            raise OperatorError(f"emergency {identifier!r} exists already", "emergency_id")
        call = self.emergency.declare(target, level=level, start=start, duration=duration, reason=reason,
                                      confirm=confirm, emergency_id=identifier)
        return await self._run(call, self.emergency, identifier)

    async def end_emergency(self, emergency_id: str, *, confirm: bool = True) -> SignalRecord:
        """End emergency ``emergency_id`` now."""
        record = self._record(self.emergency, emergency_id, "emergency_id")
        if emergency_id in self.emergency.ended or any(isinstance(body, EmergencyEnd) for _, body in record.sent):
            raise OperatorError(f"emergency {emergency_id!r} has already ended", "emergency_id")
        return await self._run(self.emergency.end(emergency_id, confirm=confirm), self.emergency, emergency_id)

    def _resolve(self, target: str) -> None:
        try:
            self.registry.resolve(target)
        except ValueError as error:
            raise operator_error(error, field="target") from None

    @staticmethod
    def _record(program: GridProgram, signal_id: str, field: str) -> SignalRecord:
        try:
            return program.record(signal_id)
        except KeyError:
            raise OperatorError(f"{program.name}: no signal {signal_id!r}", field) from None

    async def _run(self, call: Awaitable[SignalRecord], program: GridProgram, signal_id: str) -> SignalRecord:
        """Run an operator action; bad input raises at once, a slow unicast goes on in the background."""
        task = asyncio.ensure_future(call)
        done, _ = await asyncio.wait({task}, timeout=self.answer_wait_s)
        if task in done:
            try:
                return task.result()
            except (ValidationError, ValueError) as error:
                raise operator_error(error) from None
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return program.record(signal_id)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("grid server: a background delivery failed: %s", task.exception())
