"""The connection under an MQTT link: broker URIs, TLS, and the reconnect loop with failover (TR §3.3 redundancy).

A :class:`MqttSession` keeps one client connected to one of several brokers. Each attempt makes a fresh
:class:`aiomqtt.Client` with the link's will, a persistent session (MQTT 5 ``clean_start`` off with a session
expiry; 3.1.1 ``clean_session`` off) and, for ``mqtts://``, mutual TLS. When the connection is lost it waits a
jittered, exponentially growing delay and tries again, the same broker first and then the next ones in turn;
a broker that refuses MQTT 5 is asked again with 3.1.1 at once. What the link does on a (re)connect —
subscribing, announcing presence, flushing its queue — and with every incoming message is the business of
its :class:`SessionHandler`.

Errors that retrying cannot mend (the broker refuses the identity or its certificate, the broker's certificate
does not verify) are :class:`ConnectRefused`; a first connection that reaches no broker before the timeout is
:class:`BrokerUnavailable`. Waiting goes through asyncio only, so it follows the loop's (possibly simulated)
time; paho's own keep-alive timing is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from flexcem.bus.errors import BusError
from flexcem.bus.mqtt_housekeeping import housekeeping

__all__ = [
    "BrokerUnavailable",
    "BrokerUri",
    "ConnectRefused",
    "MqttSession",
    "ProtocolName",
    "SessionHandler",
    "SessionSettings",
    "parse_broker_uri",
]

log = logging.getLogger("flexcem.bus.mqtt")
_PAHO_LOG = logging.getLogger("flexcem.bus.mqtt.paho")

ProtocolName = Literal["5", "3.1.1"]
"""MQTT protocol versions the binding speaks."""

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
_UNSUPPORTED_PROTOCOL = 0x84  # paho reports a 3.1.1 broker's "unacceptable protocol level" so, too
_REFUSING_REASONS = {0x85, 0x86, 0x87, 0x8A, 0x8C}  # client id, credentials, not authorised, banned, auth method
_TLS_REFUSALS = ("CERTIFICATE", "ALERT", "UNKNOWN_CA", "HANDSHAKE_FAILURE", "WRONG_VERSION")


class ConnectRefused(BusError):
    """The broker will not accept this identity (credentials, certificate, authorisation): retrying cannot help."""


class BrokerUnavailable(BusError):
    """No broker could be reached within the connect timeout."""


@dataclass(frozen=True, slots=True)
class BrokerUri:
    """One broker: ``mqtt://host:port`` (plain) or ``mqtts://host:port`` (mutual TLS)."""

    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        """Whether the connection is TLS."""
        return self.scheme == "mqtts"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_broker_uri(uri: str) -> BrokerUri:
    """Split a broker URI; :class:`ValueError` naming the URI and the problem."""
    try:
        parts = urlsplit(uri.strip())
        port = parts.port
    except ValueError as error:
        raise ValueError(f"broker URI {uri!r}: {error}") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError(
            f"broker URI {uri!r}: unknown scheme {parts.scheme!r}; use mqtt://host:port or mqtts://host:port"
        )
    if not parts.hostname:
        raise ValueError(f"broker URI {uri!r}: no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"broker URI {uri!r}: only scheme, host and port are allowed")
    return BrokerUri(parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme])


@dataclass(frozen=True)
class SessionSettings:
    """How a session connects: brokers, identity, protocol and timing (seconds)."""

    brokers: tuple[BrokerUri, ...]
    client_id: str
    username: str | None
    tls: ssl.SSLContext | None
    protocol: ProtocolName
    keepalive_s: int
    session_expiry_s: int
    reconnect_min_s: float
    reconnect_max_s: float
    connect_timeout_s: float
    inflight: int


class SessionHandler(Protocol):
    """What the link above a session does with it."""

    def last_will(self, version: aiomqtt.ProtocolVersion) -> aiomqtt.Will:
        """The last will for the next connection attempt."""
        ...

    def on_message(self, message: aiomqtt.Message) -> None:
        """An incoming message, called in arrival order as paho reads it (before paho acknowledges it)."""
        ...

    async def on_connect(self, client: aiomqtt.Client, version: aiomqtt.ProtocolVersion, first: bool) -> None:
        """The connection is up: subscribe, announce, flush. ``first`` for the link's first connection."""
        ...

    def on_disconnect(self) -> None:
        """The connection was lost (or closed)."""
        ...


class _Client(aiomqtt.Client):
    """aiomqtt's client, with paho's housekeeping (keep-alive pings) every quarter keep-alive, not every second,
    and for all clients of the event loop in one task (:mod:`flexcem.bus.mqtt_housekeeping`).

    The pings need no more (a ping goes out at most 1.25 keep-alives after the last packet, inside the
    broker's 1.5), and on a simulated clock a timer per client would dominate a day's run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The session learns of a lost connection from the message iterator; aiomqtt's own record of it would
        # otherwise be reported at exit as "Future exception was never retrieved".
        self._disconnected.add_done_callback(_retrieve)

    async def _misc_loop(self) -> None:
        await housekeeping().look_after(self._client, max(1.0, self._keepalive / 4))


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark the outcome of ``future`` as seen."""
    if not future.cancelled():
        future.exception()


class _Unreachable(Exception):
    """One attempt failed in a way a later attempt may not (broker down, network, timeout)."""


class _ErrorTrap(logging.Handler):
    """Catches paho's error log of a connection that dies before CONNACK (a TLS alert after the handshake).

    aiomqtt would otherwise wait for its timeout and report only that; the trap gives the real reason at once.
    What paho logs goes on to ``flexcem.bus.mqtt.paho`` at INFO: the session reports a lost connection itself.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.WARNING)
        self._loop = loop
        self.failed: asyncio.Future[str] = loop.create_future()
        self.last: str | None = None
        self.logger = logging.Logger(_PAHO_LOG.name, logging.WARNING)
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        _PAHO_LOG.info("%s", text)
        if record.levelno >= logging.ERROR:
            self.last = text
            self._loop.call_soon_threadsafe(self._fail, text)

    def _fail(self, text: str) -> None:
        if not self.failed.done():
            self.failed.set_result(text)


def _tap(handler: Callable[[aiomqtt.Message], None]) -> type[asyncio.Queue[aiomqtt.Message]]:
    """A queue class for aiomqtt that hands each message to ``handler`` as it arrives instead of storing it.

    Processing in paho's read callback keeps arrival order exact, so an UNSUBACK read after a SUBSCRIBE's
    retained messages proves they have all been handled (what the link's presence and service reads rely on).
    """

    class _Tap(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            try:
                handler(item)
            except Exception:
                log.exception("handling a message on %s failed", item.topic)

    return _Tap


def _reason(error: aiomqtt.MqttError) -> int | None:
    code = getattr(error, "rc", None)
    if isinstance(code, ReasonCode):
        return int(code.value)
    return int(code) if isinstance(code, int) else None


class MqttSession:
    """Keeps one client connected to one of ``settings.brokers`` for ``handler``."""

    def __init__(self, settings: SessionSettings, handler: SessionHandler, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._handler = handler
        self._rng = rng or random.Random()
        v5, v311 = aiomqtt.ProtocolVersion.V5, aiomqtt.ProtocolVersion.V311
        self._version = v5 if settings.protocol == "5" else v311
        self._versions = dict.fromkeys(settings.brokers, self._version)
        self._index = 0
        self._client: aiomqtt.Client | None = None
        self._trap: _ErrorTrap | None = None
        self._runner: asyncio.Task[None] | None = None

    @property
    def client(self) -> aiomqtt.Client | None:
        """The connected client, or ``None`` while disconnected."""
        return self._client

    @property
    def version(self) -> aiomqtt.ProtocolVersion:
        """The protocol of the current (or last) connection."""
        return self._version

    @property
    def broker(self) -> BrokerUri:
        """The broker of the current (or next) connection."""
        return self._settings.brokers[self._index]

    async def start(self) -> None:
        """Make the first connection and keep it up from then on.

        Tries the brokers in turn with backoff until ``connect_timeout_s`` has passed; raises
        :class:`ConnectRefused` at the first refusal and :class:`BrokerUnavailable` when no broker answered.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.connect_timeout_s
        failures: dict[str, str] = {}
        attempt = 0
        while True:
            broker = self.broker
            try:
                client = await self._establish(broker, first=True)
                break
            except _Unreachable as error:
                failures[str(broker)] = str(error)
            self._index = (self._index + 1) % len(self._settings.brokers)
            delay = self._delay(attempt)
            attempt += 1
            if loop.time() + delay > deadline:
                tried = "; ".join(f"{uri}: {reason}" for uri, reason in failures.items())
                raise BrokerUnavailable(
                    f"{self._settings.client_id}: no broker reachable within {self._settings.connect_timeout_s:g} s "
                    f"({tried})"
                )
            await asyncio.sleep(delay)
        self._runner = asyncio.create_task(self._run(client), name=f"mqtt session {self._settings.client_id}")
        self._runner.add_done_callback(self._ended)

    def _ended(self, runner: asyncio.Task[None]) -> None:
        if not runner.cancelled() and runner.exception() is not None:
            log.error("%s: the session stopped", self._settings.client_id, exc_info=runner.exception())

    async def stop(self, farewell: Callable[[aiomqtt.Client], Awaitable[None]] | None = None) -> None:
        """Stop reconnecting; when connected, run ``farewell`` and disconnect cleanly (the will is not sent)."""
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if farewell is not None:
                await asyncio.wait_for(farewell(client), self._settings.connect_timeout_s)
            await asyncio.wait_for(client.__aexit__(None, None, None), self._settings.connect_timeout_s)
        except (aiomqtt.MqttError, TimeoutError) as error:
            log.info("%s: unclean disconnect: %s", self._settings.client_id, error)
        finally:
            self._handler.on_disconnect()

    def _delay(self, failures: int) -> float:
        cap = min(self._settings.reconnect_max_s, self._settings.reconnect_min_s * float(1 << min(failures, 32)))
        return cap * self._rng.uniform(0.5, 1.0)

    async def _run(self, client: aiomqtt.Client) -> None:
        while True:
            reason = await self._watch(client)
            self._client = None
            log.warning("%s: lost the connection to %s: %s", self._settings.client_id, self.broker, reason)
            self._handler.on_disconnect()
            client = await self._reconnect()

    async def _watch(self, client: aiomqtt.Client) -> str:
        """Wait until ``client`` is disconnected; returns why."""
        try:
            async for _ in client.messages:  # the tap keeps the queue empty: this only ends on a disconnect
                pass
        except aiomqtt.MqttError as error:
            cause = error.__cause__
            trapped = self._trap.last if self._trap else None
            return trapped or (str(cause) if cause else str(error))
        return "disconnected"

    async def _reconnect(self) -> aiomqtt.Client:
        failures = 0
        while True:
            await asyncio.sleep(self._delay(failures))
            failures += 1
            broker = self.broker
            try:
                return await self._establish(broker, first=False)
            except ConnectRefused as error:
                log.error("%s", error)
            except _Unreachable as error:
                log.info("%s: %s unreachable: %s", self._settings.client_id, broker, error)
            self._index = (self._index + 1) % len(self._settings.brokers)

    async def _establish(self, broker: BrokerUri, *, first: bool) -> aiomqtt.Client:
        client = await self._open(broker)
        try:
            await self._handler.on_connect(client, self._version, first)
        except aiomqtt.MqttError as error:
            self._handler.on_disconnect()
            await self._discard(client)
            raise _Unreachable(f"lost while setting up: {error}") from error
        except BaseException:  # cancelled (the link closes) or a bug: do not leave the connection behind
            self._handler.on_disconnect()
            await asyncio.shield(self._discard(client))
            raise
        self._client = client
        log.info("%s: connected to %s (MQTT %s)", self._settings.client_id, broker, self._version.name)
        return client

    async def _open(self, broker: BrokerUri) -> aiomqtt.Client:
        settings = self._settings
        while True:
            version = self._versions[broker]
            trap = _ErrorTrap(asyncio.get_running_loop())
            v5 = version is aiomqtt.ProtocolVersion.V5
            properties = None
            if v5:
                properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                properties.SessionExpiryInterval = settings.session_expiry_s
            client = _Client(
                broker.host,
                broker.port,
                username=settings.username,
                identifier=settings.client_id,
                logger=trap.logger,
                queue_type=_tap(self._handler.on_message),
                protocol=version,
                will=self._handler.last_will(version),
                clean_session=None if v5 else False,
                clean_start=False if v5 else MQTT_CLEAN_START_FIRST_ONLY,  # 3.1.1: clean_session decides
                keepalive=settings.keepalive_s,
                timeout=settings.connect_timeout_s,
                max_inflight_messages=settings.inflight,
                properties=properties,
                tls_context=settings.tls if broker.tls else None,
                socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),  # small frames: no Nagle delay
            )
            client.pending_calls_threshold = 1 << 20  # the link pipelines on purpose
            try:
                await self._enter(client, trap)
            except aiomqtt.MqttError as error:
                code, text = _reason(error), str(error)
                if code == _UNSUPPORTED_PROTOCOL and v5:
                    log.info("%s: %s refuses MQTT 5; using 3.1.1", settings.client_id, broker)
                    self._versions[broker] = aiomqtt.ProtocolVersion.V311
                    continue
                if code in _REFUSING_REASONS and isinstance(error, MqttConnectError):
                    raise ConnectRefused(f"{broker} refused {settings.client_id}: {text}") from None
                if "SSL" in text and any(marker in text.upper() for marker in _TLS_REFUSALS):
                    raise ConnectRefused(
                        f"{broker}: the TLS handshake of {settings.client_id} failed: {text}"
                    ) from None
                raise _Unreachable(text) from None
            self._trap = trap
            self._version = version
            return client

    @staticmethod
    async def _discard(client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await asyncio.wait_for(client.__aexit__(None, None, None), 1.0)

    @staticmethod
    async def _enter(client: aiomqtt.Client, trap: _ErrorTrap) -> None:
        """Connect ``client``, failing as soon as paho reports that the connection died before CONNACK."""
        entering = asyncio.ensure_future(client.__aenter__())
        try:
            waiting: set[asyncio.Future[Any]] = {entering, trap.failed}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            entering.cancel()
            raise
        if entering.done():
            entering.result()
            return
        entering.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await entering
        raise aiomqtt.MqttError(trap.failed.result())
