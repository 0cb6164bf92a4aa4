"""The common machinery of the grid's signal programs: send to a target, collect answers, close at deadlines.

A program owns one :class:`~flexcem.bus.Endpoint`. :meth:`GridProgram.issue` resolves the target in the
:class:`~flexcem.grid.registry.GridRegistry` (an unknown group, area or endpoint is refused with
:class:`~flexcem.grid.registry.UnknownTarget` before anything is sent), records the signal, and sends it:

* to **one endpoint** with an acknowledgement (:meth:`Endpoint.deliver`): the peer's typed answer (e.g. a
  :class:`~flexcem.model.LoadManagementResponse` returned by its handler), an ``Ack``, a refusal (``Nack``,
  recorded with its reason and field) or a timeout (recorded as undelivered);
* to a **group or everyone** once (multicast, retained when the last value matters); members answer with
  their own messages to the program's endpoint, correlated to the signal.

Answers of the program's :attr:`GridProgram.response_types` are recorded against the signal whose id they
carry, with responder, time and content; from endpoints not addressed they are kept apart as unsolicited.
When a deadline passes, who had not answered is recorded in ``record.missing[kind]``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import ClassVar

from flexcem.bus import DeliveryTimeout, Endpoint, MessageRefused, PeerUnsupported
from flexcem.grid.records import MemorySignalStore, Refusal, Response, SignalRecord, SignalStore
from flexcem.grid.registry import GridRegistry, Target
from flexcem.model import AddressKind, Envelope, FlexModel, message_type_of, new_id

__all__ = ["GridProgram"]

log = logging.getLogger("flexcem.grid.program")


class GridProgram:
    """Base of the signal programs; subclasses name their answers and how an answer names its signal."""

    name: ClassVar[str] = "program"
    response_types: ClassVar[tuple[type[FlexModel], ...]] = ()

    def __init__(self, endpoint: Endpoint, registry: GridRegistry, store: SignalStore | None = None) -> None:
        self.endpoint = endpoint
        self.clock = endpoint.clock
        self.registry = registry
        self.store: SignalStore = store if store is not None else MemorySignalStore()
        self._timers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._closed: dict[tuple[str, str], asyncio.Event] = {}
        for response_type in self.response_types:
            endpoint.on(response_type, self._on_response)

    async def start(self) -> None:
        """Start receiving answers."""
        await self.endpoint.start()

    async def stop(self) -> None:
        """Cancel the deadline timers and leave the bus."""
        for timer in self._timers.values():
            timer.cancel()
        await asyncio.gather(*self._timers.values(), return_exceptions=True)
        await self.endpoint.close()

    # -- for subclasses --------------------------------------------------------------------------------------

    def signal_id_of(self, body: FlexModel) -> str | None:
        """The signal an answer refers to (its event/request id)."""
        for name in ("event_id", "emergency_id", "request_id", "ref", "signal_id"):
            value = getattr(body, name, None)
            if isinstance(value, str):
                return value
        return None

    def kind_of(self, body: FlexModel) -> str:
        """The response kind ``body`` counts as (its type name; a subclass may split a type by phase)."""
        return message_type_of(body)

    def record(self, signal_id: str) -> SignalRecord:
        """The record of ``signal_id``; :class:`KeyError` when this program never sent it."""
        record = self.store.get(self.name, signal_id)
        if record is None:
            raise KeyError(f"{self.name}: no signal {signal_id!r}")
        return record

    def records(self) -> list[SignalRecord]:
        """All signals of this program, oldest first."""
        return self.store.records(self.name)

    async def closed(self, signal_id: str, kind: str) -> tuple[str, ...]:
        """Wait until the deadline of answers ``kind`` to ``signal_id`` has passed; who did not answer."""
        await self._closed.setdefault((signal_id, kind), asyncio.Event()).wait()
        return self.record(signal_id).missing[kind]

    async def issue(
        self,
        target: str | Target,
        signal_id: str,
        body: FlexModel,
        *,
        deadlines: dict[str, datetime] | None = None,
        revision: int = 0,
        retain: bool = False,
    ) -> SignalRecord:
        """Send ``body`` (signal ``signal_id``) to ``target`` and collect answers until ``deadlines``."""
        resolved = target if isinstance(target, Target) else self.registry.resolve(target)
        now = self.clock.now()
        record = self.store.get(self.name, signal_id)
        if record is None:
            record = SignalRecord(
                program=self.name,
                signal_id=signal_id or new_id(),
                body=body,
                to=resolved.address,
                sent_at=now,
                expected=resolved.expected,
                area=self.registry.area_of(resolved),
            )
        record.body, record.revision = body, revision
        message_id = new_id() if resolved.kind is AddressKind.ENDPOINT else None
        record.add_sent(now, body, message_id)
        self.store.save(record)
        for kind, deadline in (deadlines or {}).items():
            self.set_deadline(record, kind, deadline)
        if message_id is not None:
            await self._deliver(record, resolved.address, body, message_id)
        else:
            await self.endpoint.send(resolved.address, body, retain=retain)
        log.info("%s: %s %s r%d to %s", self.name, message_type_of(body), signal_id, revision, resolved.address)
        return record

    async def notify(self, record: SignalRecord, body: FlexModel) -> None:
        """Send a follow-up (an end, a cancellation) to the signal's recipients."""
        unicast = len(record.expected) == 1 and record.to == record.expected[0]
        message_id = new_id() if unicast else None
        record.add_sent(self.clock.now(), body, message_id)
        self.store.save(record)
        if message_id is not None:
            await self._deliver(record, record.to, body, message_id)
        else:
            await self.endpoint.send(record.to, body)

    async def redeliver(self, record: SignalRecord) -> bool:
        """Deliver again, with the same message id, the last message of ``record`` whose delivery to its one
        endpoint was in progress when the previous process stopped; whether there was one. The receiver
        de-duplicates by message id: if the message had arrived, it answers again from its cache."""
        pending = record.unsettled_delivery()
        if pending is None:
            return False
        message_id, body = pending
        log.info("%s: delivering %s %s again to %s (message %s was in progress at the stop)",
                 self.name, message_type_of(body), record.signal_id, record.to, message_id)
        await self._deliver(record, record.to, body, message_id)
        return True

    def set_deadline(self, record: SignalRecord, kind: str, deadline: datetime) -> None:
        """(Re)set when answers ``kind`` are due; at that instant the missing responders are recorded."""
        key = (record.signal_id, kind)
        record.deadlines[kind] = deadline
        record.missing.pop(kind, None)
        self._closed.setdefault(key, asyncio.Event()).clear()
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = asyncio.create_task(self._close_at(record, kind, deadline), name=f"deadline {key}")
        self.store.save(record)

    def drop_deadline(self, record: SignalRecord, kind: str) -> None:
        """No answers ``kind`` are expected any more (e.g. feedback of a cancelled event)."""
        timer = self._timers.pop((record.signal_id, kind), None)
        if timer is not None:
            timer.cancel()
        record.deadlines.pop(kind, None)
        record.missing[kind] = ()
        self._closed.setdefault((record.signal_id, kind), asyncio.Event()).set()
        self.store.save(record)

    # -- internals -------------------------------------------------------------------------------------------

    async def _close_at(self, record: SignalRecord, kind: str, deadline: datetime) -> None:
        await self.clock.sleep_until(deadline)
        record.missing[kind] = record.outstanding(kind)
        self.store.save(record)
        if record.missing[kind]:
            log.warning("%s: %s %s: no %s from %s", self.name, record.signal_id, kind, kind, record.missing[kind])
        self._closed.setdefault((record.signal_id, kind), asyncio.Event()).set()

    async def _deliver(self, record: SignalRecord, address: str, body: FlexModel, message_id: str) -> None:
        try:
            answer = await self.endpoint.deliver(address, body, expect=FlexModel, message_id=message_id)
        except MessageRefused as refusal:
            record.refusals.append(Refusal(address, self.clock.now(), refusal.reason, refusal.field))
        except PeerUnsupported:
            record.refusals.append(Refusal(address, self.clock.now(), f"{message_type_of(body)} is not supported"))
        except DeliveryTimeout:
            record.undelivered.add(address)
        else:
            record.acknowledged.add(address)
            if isinstance(answer, self.response_types):
                self._record(record, address, answer)
        record.settled.add(message_id)
        self.store.save(record)

    async def _on_response(self, body: FlexModel, envelope: Envelope) -> None:
        signal_id = self.signal_id_of(body)
        record = self.store.get(self.name, signal_id) if signal_id else None
        if record is None:
            log.warning("%s: %s from %s for unknown signal %r", self.name, envelope.type, envelope.sender, signal_id)
            return
        self._record(record, envelope.sender, body)

    def _record(self, record: SignalRecord, responder: str, body: FlexModel) -> None:
        now = self.clock.now()
        kind = self.kind_of(body)
        deadline = record.deadlines.get(kind)
        revision = getattr(body, "revision", record.revision)
        response = Response(
            responder,
            now,
            body,
            kind,
            revision if isinstance(revision, int) else 0,
            late=deadline is not None and now > deadline,
        )
        if responder in record.expected:
            record.responses.append(response)
        else:
            record.unsolicited.append(response)
        self.store.save(record)
