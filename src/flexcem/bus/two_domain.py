"""One component in two domains: a CEM that is an endpoint of the grid's domain and the controller of its home's.

DESIGN §4 and ``docs/sgcp-mqtt.md``: a CEM answers the grid as ``grid/cem-17`` (an endpoint: it reads its
inbox, the grid's groups and broadcasts, and writes its outbox) and controls its devices as ``home-17/cem`` (a
controller of its own domain, whose devices are endpoints there) — two identities, two certificates, two
connections. :class:`TwoDomainLink` puts both links under one :class:`~flexcem.bus.Endpoint`:

* a message goes out on the link of its recipient's domain, with that link's address as sender (a device
  answers the CEM's home address, the grid the CEM's grid address);
* what arrives on either link is received, in arrival order; the component's own echoes are dropped;
* the combined link's address is the upstream (grid) one; when either link closes, the combined link closes.

Each link keeps its own access rights: the grid never sees the home's devices, and the CEM cannot write into
other homes.
"""

from __future__ import annotations

import asyncio
import contextlib

from flexcem.bus.errors import LinkClosed
from flexcem.bus.link import Incoming, Link
from flexcem.model import Envelope, parse_address

__all__ = ["TwoDomainLink"]


class TwoDomainLink:
    """An upstream and a downstream link in different domains, as one :class:`~flexcem.bus.link.Link`."""

    def __init__(self, upstream: Link, downstream: Link) -> None:
        up, down = parse_address(upstream.address).domain, parse_address(downstream.address).domain
        if up == down:
            raise ValueError(f"downstream: both links are in domain {up!r}; a two-domain link needs two domains")
        self._upstream = upstream
        self._links = {up: upstream, down: downstream}
        self._own = {upstream.address, downstream.address}
        self._incoming: asyncio.Queue[Incoming | LinkClosed] = asyncio.Queue()
        self._pumps = [asyncio.ensure_future(self._pump(link)) for link in (upstream, downstream)]
        self._closed = False

    @property
    def address(self) -> str:
        """The upstream (grid-side) address: the component's name towards the grid."""
        return self._upstream.address

    @property
    def addresses(self) -> tuple[str, str]:
        """The upstream and the downstream address."""
        return self._upstream.address, next(a for a in self._own if a != self._upstream.address)

    async def _pump(self, link: Link) -> None:
        try:
            while True:
                item = await link.receive()
                if isinstance(item, Envelope) and item.sender in self._own:
                    continue
                self._incoming.put_nowait(item)
        except LinkClosed as closed:
            self._incoming.put_nowait(closed)

    async def send(self, envelope: Envelope, *, retain: bool = False) -> None:
        """Send on the link of the recipient's domain, as that link's address; :class:`ValueError` for a third
        domain."""
        domain = parse_address(envelope.to).domain
        link = self._links.get(domain)
        if link is None:
            raise ValueError(f"to: {envelope.to} is in neither domain of this link ({', '.join(self._links)})")
        if envelope.sender != link.address:
            envelope = envelope.model_copy(update={"sender": link.address})
        await link.send(envelope, retain=retain)

    async def receive(self) -> Incoming:
        """The next message from either link; :class:`LinkClosed` once either has closed."""
        if self._closed:
            raise LinkClosed(f"{self.address} closed")
        item = await self._incoming.get()
        if isinstance(item, LinkClosed):
            self._closed = True
            raise item
        return item

    async def close(self) -> None:
        """Close both links."""
        for pump in self._pumps:
            pump.cancel()
        for pump in self._pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        for link in self._links.values():
            await link.close()
        self._closed = True
