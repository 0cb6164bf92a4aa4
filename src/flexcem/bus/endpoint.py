"""An endpoint on the SG CP: typed handlers, acknowledgements, request/response, retry and de-duplication.

Every component (grid program, CEM, device) talks through one :class:`Endpoint` over a :class:`Link` of any
binding. The endpoint gives the TR's requirement that "every SD–CEM exchange must have application-level
acknowledgement and basic failure detection":

* :meth:`Endpoint.deliver` sends a message that asks for an acknowledgement and waits for the correlated
  reply — an :class:`~flexcem.model.Ack`, a typed response, a :class:`~flexcem.model.Nack` (raised as
  :class:`~flexcem.bus.errors.MessageRefused`) or :class:`~flexcem.model.Unsupported` — re-sending the same
  message (same id) after each timeout up to a bounded number of retries, then raising
  :class:`~flexcem.bus.errors.DeliveryTimeout`. The message expires when the sender stops waiting, so a late
  copy is never acted on.
* Incoming messages go to the handler registered for their type; what the handler returns is the reply
  (an Ack when it returns nothing); :class:`~flexcem.bus.errors.MessageRefused` or a validation error becomes a
  Nack naming the field; an unknown type is answered with Unsupported. A repeated message id is answered
  from the cache of replies without running the handler twice. Expired messages are dropped, and so are
  messages created outside the replay window (too old, or too far in the future): a captured message sent
  again later is not acted on. Broadcasts are states retained for late joiners; only a future creation
  time counts against them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError

from flexcem.bus.errors import DeliveryTimeout, LinkClosed, MessageRefused, PeerUnsupported, UnexpectedReply
from flexcem.bus.link import Link, RejectedFrame
from flexcem.clock import Clock
from flexcem.model import (
    Ack,
    AddressKind,
    Envelope,
    FlexModel,
    Nack,
    Unsupported,
    message_type_of,
    message_types,
    new_id,
    parse_address,
)

__all__ = ["Endpoint", "EndpointStatistics", "Handler"]

log = logging.getLogger("flexcem.bus.endpoint")

DEFAULT_REPLAY_WINDOW = timedelta(minutes=15)
"""Messages created longer ago than this are dropped as possible replays (TR §3.3: protect against attacks)."""

DEFAULT_CLOCK_SKEW = timedelta(minutes=1)
"""How far in the future a message's creation time may lie (the sender's clock runs ahead)."""

B = TypeVar("B", bound=FlexModel)
R = TypeVar("R", bound=FlexModel)
Handler = Callable[[Any, Envelope], Awaitable[FlexModel | None]]


@dataclass
class EndpointStatistics:
    """Counters of one endpoint."""

    sent: int = 0
    received: int = 0
    retries: int = 0
    timeouts: int = 0
    duplicates: int = 0
    expired: int = 0
    replayed: int = 0
    refused_in: int = 0
    unsupported_in: int = 0


def _registered_name(body_type: type[FlexModel]) -> str:
    for name, cls in message_types().items():
        if cls is body_type:
            return name
    raise ValueError(f"{body_type.__qualname__} is not a registered message type")


def _nack_from_validation(ref: str, error: ValidationError) -> Nack:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return Nack(ref=ref, reason=first["msg"], field=field)


async def _settled_within(future: asyncio.Future[Envelope], timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` [s, loop time] for ``future`` without cancelling it; whether it is done.

    What ``asyncio.wait_for(asyncio.shield(future), timeout_s)`` does, with one waiter and one timer instead of a
    shield, a waiter and a timer (every delivery waits like this); a cancelled caller cancels only the wait.
    """
    if future.done():
        return True
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = loop.call_later(timeout_s, wake)
    future.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        future.remove_done_callback(wake)
    return future.done()


class Endpoint:
    """One participant on the bus.

    ``ack_timeout_s`` [s] is how long :meth:`deliver` waits for each attempt, ``retries`` how often it sends
    again; ``dedup_capacity`` is how many recent message ids are remembered with their replies.
    """

    def __init__(
        self,
        link: Link,
        clock: Clock,
        *,
        ack_timeout_s: float = 5.0,
        retries: int = 2,
        dedup_capacity: int = 4096,
        replay_window: timedelta | None = DEFAULT_REPLAY_WINDOW,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    ) -> None:
        if ack_timeout_s <= 0:
            raise ValueError("ack_timeout_s must be positive")
        if retries < 0:
            raise ValueError("retries must not be negative")
        self._link = link
        self._address = link.address
        """The link's address, read once (a link speaks for one address; every message is checked against it)."""
        self._clock = clock
        self._ack_timeout_s = ack_timeout_s
        self._retries = retries
        self._dedup_capacity = dedup_capacity
        self._rate = float(getattr(clock, "speed", 1.0))
        """Clock seconds per second of the event loop's time: 1, except on a ScaledClock. Waits run on the
        loop's time, message times on the clock's: an expiry made from a wait, and the replay window, are
        scaled by it, so a message lives as long in real time whatever the clock's speed."""
        self._replay_window = None if replay_window is None else replay_window * self._rate
        self._clock_skew = clock_skew
        self._handlers: dict[str, Handler] = {}
        self._pending: dict[str, asyncio.Future[Envelope]] = {}
        self._seen: OrderedDict[tuple[str, str], Envelope | None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._receiver: asyncio.Task[None] | None = None
        self.statistics = EndpointStatistics()

    @property
    def address(self) -> str:
        """This endpoint's address."""
        return self._address

    @property
    def clock(self) -> Clock:
        """The clock the endpoint stamps messages with."""
        return self._clock

    def on(self, body_type: type[B], handler: Callable[[B, Envelope], Awaitable[FlexModel | None]]) -> None:
        """Handle incoming messages of ``body_type`` with ``handler(body, envelope)``."""
        self._handlers[_registered_name(body_type)] = handler

    async def start(self) -> None:
        """Start receiving."""
        if self._receiver is None:
            self._receiver = asyncio.create_task(self._receive_loop(), name=f"receive {self.address}")

    async def close(self) -> None:
        """Stop receiving, cancel running handlers and close the link."""
        tasks = [*self._tasks, *([self._receiver] if self._receiver else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._receiver = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkClosed(f"{self.address} closed"))
        await self._link.close()

    async def __aenter__(self) -> Endpoint:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _envelope(
        self,
        to: str,
        body: FlexModel,
        *,
        ack_requested: bool = False,
        correlation_id: str | None = None,
        expires_in: timedelta | None = None,
        message_id: str | None = None,
    ) -> Envelope:
        created = self._clock.now()
        return Envelope(
            id=new_id() if message_id is None else message_id,
            type=message_type_of(body),
            sender=self._address,
            to=to,
            created=created,
            expires=None if expires_in is None else created + expires_in,
            correlation_id=correlation_id,
            ack_requested=ack_requested,
            body=body,
        )

    async def send(
        self,
        to: str,
        body: FlexModel,
        *,
        expires_in: timedelta | None = None,
        retain: bool = False,
        correlation_id: str | None = None,
    ) -> Envelope:
        """Send ``body`` without waiting for anything; returns the envelope sent."""
        envelope = self._envelope(to, body, correlation_id=correlation_id, expires_in=expires_in)
        await self._link.send(envelope, retain=retain)
        self.statistics.sent += 1
        return envelope

    async def deliver(
        self,
        to: str,
        body: FlexModel,
        *,
        expect: type[R] = Ack,  # type: ignore[assignment]
        timeout_s: float | None = None,
        retries: int | None = None,
        message_id: str | None = None,
    ) -> R:
        """Send ``body`` to endpoint ``to`` and wait for its acknowledgement or typed reply ``expect``.

        ``message_id`` is the envelope's id (a fresh one when none is given), used by every attempt: a sender
        that stored it before sending can deliver the same message again after a restart, and a receiver
        that had it already answers from its cache without handling it twice.

        Raises :class:`MessageRefused` on a Nack, :class:`PeerUnsupported` when the peer does not know the
        type, :class:`UnexpectedReply` on a reply of another type and :class:`DeliveryTimeout` when nothing
        arrives within ``timeout_s`` [s] after ``retries`` repetitions.
        """
        if parse_address(to).kind is not AddressKind.ENDPOINT:
            raise ValueError(f"deliver needs an endpoint address, not {to!r}")
        timeout = self._ack_timeout_s if timeout_s is None else timeout_s
        attempts = 1 + (self._retries if retries is None else retries)
        lifetime = timedelta(seconds=timeout * attempts * self._rate)  # the sender waits that long (loop time)
        if message_id is not None and message_id in self._pending:
            raise ValueError(f"message_id {message_id!r} is being delivered already")
        envelope = self._envelope(to, body, ack_requested=True, expires_in=lifetime, message_id=message_id)
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._pending[envelope.id] = future
        try:
            for attempt in range(attempts):
                if attempt:
                    self.statistics.retries += 1
                    log.info(
                        "%s: no answer from %s to %s, attempt %d",
                        self.address,
                        to,
                        envelope.type,
                        attempt + 1,
                    )
                await self._link.send(envelope)
                self.statistics.sent += 1
                if await _settled_within(future, timeout):
                    reply = future.result()
                    break
            else:
                self.statistics.timeouts += 1
                raise DeliveryTimeout(envelope.type, to, attempts, timeout)
        finally:
            self._pending.pop(envelope.id, None)
            if not future.done():
                future.cancel()
        answer = reply.body
        if isinstance(answer, Nack):
            raise MessageRefused(answer.reason, answer.field)
        if isinstance(answer, Unsupported):
            raise PeerUnsupported(envelope.type, to)
        if not isinstance(answer, expect):
            raise UnexpectedReply(f"{to} answered {envelope.type} with {reply.type}, not {expect.__name__}")
        return answer

    async def _receive_loop(self) -> None:
        while True:
            try:
                incoming = await self._link.receive()
            except LinkClosed:
                return
            if isinstance(incoming, RejectedFrame):
                await self._answer_rejected(incoming)
            else:
                self._dispatch(incoming)

    async def _answer_rejected(self, frame: RejectedFrame) -> None:
        header = frame.header
        ref, reply_address = header.id, header.reply_address
        log.warning("%s: refused a frame from %s: %s", self.address, reply_address or "?", frame.error)
        if not ref or not reply_address:
            return
        body: FlexModel
        try:
            if frame.unsupported_type is not None:
                self.statistics.unsupported_in += 1
                body = Unsupported(ref=ref, message_type=frame.unsupported_type[:128])
            else:
                self.statistics.refused_in += 1
                body = Nack(ref=ref, reason=str(frame.error)[:1024] or "invalid message", field=frame.error.field)
            await self.send(reply_address, body, correlation_id=ref)
        except (LinkClosed, ValueError) as error:
            log.warning("%s: cannot answer %s: %s", self.address, reply_address, error)

    def _dispatch(self, envelope: Envelope) -> None:
        if envelope.sender == self._address:
            return
        self.statistics.received += 1
        now = self._clock.now()
        if envelope.expired(now):
            self.statistics.expired += 1
            log.info("%s: dropped expired %s from %s", self.address, envelope.type, envelope.sender)
            return
        if self._outside_replay_window(envelope, now):
            self.statistics.replayed += 1
            log.warning(
                "%s: dropped %s %s from %s created %s, outside the replay window",
                self.address,
                envelope.type,
                envelope.id,
                envelope.sender,
                envelope.created.isoformat(),
            )
            return
        if envelope.correlation_id is not None and envelope.correlation_id in self._pending:
            future = self._pending[envelope.correlation_id]
            if not future.done():
                future.set_result(envelope)
            return
        key = (envelope.sender, envelope.id)
        if key in self._seen:
            self.statistics.duplicates += 1
            cached = self._seen[key]
            if cached is not None:
                self._spawn(self._resend(cached))
            return
        self._remember(key, None)
        handler = self._handlers.get(envelope.type)
        if handler is None:
            if envelope.correlation_id is not None:
                log.debug("%s: late or unsolicited reply %s from %s", self.address, envelope.type, envelope.sender)
            elif envelope.ack_requested:
                self.statistics.unsupported_in += 1
                unsupported = Unsupported(ref=envelope.id, message_type=envelope.type)
                self._spawn(self._reply(key, envelope, unsupported))
            return
        self._spawn(self._handle(key, handler, envelope))

    def _outside_replay_window(self, envelope: Envelope, now: datetime) -> bool:
        """Whether ``envelope`` was created too long ago, or too far in the future, to be taken.

        Broadcasts (a tariff, a traffic light) announce a state, are retained for late joiners and are
        idempotent, so only their creation in the future counts against them.
        """
        if self._replay_window is None:
            return False
        if envelope.created > now + self._clock_skew:
            return True
        broadcast = parse_address(envelope.to).kind is AddressKind.BROADCAST
        return not broadcast and envelope.created < now - self._replay_window

    def _remember(self, key: tuple[str, str], reply: Envelope | None) -> None:
        self._seen[key] = reply
        self._seen.move_to_end(key)
        while len(self._seen) > self._dedup_capacity:
            self._seen.popitem(last=False)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, key: tuple[str, str], handler: Handler, envelope: Envelope) -> None:
        reply: FlexModel | None
        try:
            reply = await handler(envelope.body, envelope)
        except MessageRefused as refusal:
            self.statistics.refused_in += 1
            reply = Nack(ref=envelope.id, reason=refusal.reason, field=refusal.field)
        except ValidationError as error:
            self.statistics.refused_in += 1
            reply = _nack_from_validation(envelope.id, error)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("%s: handler for %s failed", self.address, envelope.type)
            reply = Nack(ref=envelope.id, reason=f"internal error: {type(error).__name__}")
        if reply is None and envelope.ack_requested:
            reply = Ack(ref=envelope.id)
        if reply is None:
            return
        if isinstance(reply, Nack) and not envelope.ack_requested:
            log.warning("%s: refused %s from %s: %s", self.address, envelope.type, envelope.sender, reply.reason)
            return
        await self._reply(key, envelope, reply)

    async def _reply(self, key: tuple[str, str], request: Envelope, body: FlexModel) -> None:
        reply = self._envelope(request.reply_address, body, correlation_id=request.id)
        self._remember(key, reply)
        await self._resend(reply)

    async def _resend(self, reply: Envelope) -> None:
        try:
            await self._link.send(reply)
            self.statistics.sent += 1
        except LinkClosed:
            log.info("%s: link closed before the reply to %s", self.address, reply.to)
