"""The grid server's registry and what comes up the bus (a mixin of :class:`~flexcem.grid.server.GridServer`).

* registry: customers, CEM endpoints, groups and areas, written to the store and kept in the in-memory
  :class:`~flexcem.grid.GridRegistry` the programs resolve targets in (and the in-process bus's groups);
* intake: meter readings into the readings table, alive statuses, warnings, alarms and load curves as inbound
  messages, presence changes of registered endpoints.

Bad input raises :class:`~flexcem.grid.server_programs.OperatorError` naming the field; nothing is stored then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flexcem.bus import Link, MemoryBus
from flexcem.bus.mqtt import MqttBus, MqttLink
from flexcem.clock import Clock
from flexcem.grid.broker_acl import BrokerAcl
from flexcem.grid.registry import GridRegistry
from flexcem.grid.server_programs import OperatorError, operator_error
from flexcem.grid.server_views import CustomerView, MeterView
from flexcem.model import (
    AddressKind,
    Envelope,
    FlexModel,
    MeterReading,
    Presence,
    PresenceState,
    endpoint_address,
    group_address,
    parse_address,
)
from flexcem.store import DuplicateRecord, GridStore, MeterSample, StoreError

__all__ = ["RegistryMixin"]

log = logging.getLogger("flexcem.grid.server")


class RegistryMixin:
    """Registry changes and intake; the server provides the store, bus, registry, clock and link."""

    store: GridStore
    bus: MemoryBus | MqttBus
    domain: str
    registry: GridRegistry
    clock: Clock
    presence_poll_s: float
    _link: Link | None

    broker_acl: BrokerAcl | None

    def _join_groups(self) -> None:
        """Apply the registry's group membership to the bus: the in-process bus's groups, or the broker's ACL."""
        if isinstance(self.bus, MemoryBus):
            for group, members in self.registry.groups.items():
                for member in members:
                    self.bus.join(group, member)
        if self.broker_acl is not None:
            self.broker_acl.sync(self.registry.groups)

    # -- registry --------------------------------------------------------------------------------------------

    def add_customer(self, customer_id: str, *, name: str | None = None) -> CustomerView:
        """Register customer ``customer_id``."""
        try:
            self.store.add_customer(customer_id, name=name, at=self.clock.now())
        except StoreError as error:
            raise operator_error(error) from None
        return CustomerView(id=customer_id, name=name, created_at=self.clock.now())

    def add_endpoint(self, endpoint: str, customer_id: str) -> str:
        """Register CEM endpoint ``endpoint`` (an id or ``{domain}/{id}``) of customer ``customer_id``."""
        address = self._endpoint_address(endpoint)
        try:
            self.store.add_endpoint(address, customer_id, at=self.clock.now())
        except StoreError as error:
            raise operator_error(error, field="address") from None
        self.registry.customers.add(address)
        if isinstance(self._link, MqttLink):  # its presence may have come before it was registered
            known = self._link.presences().get(address)
            if known is not None:
                self._on_presence(known)
        return address

    def add_group(self, group: str, members: Iterable[str] = ()) -> str:
        """Register group ``group`` (an id or ``{domain}/grp/{gid}``) if new, and add ``members`` to it."""
        address = self._group_address(group)
        member_addresses = [self._endpoint_address(m, field="members") for m in members]
        try:
            self.store.add_group(address, member_addresses)
        except StoreError as error:
            raise OperatorError(str(error), "members" if error.field == "endpoint_address" else error.field) from None
        self.registry.groups.setdefault(address, set()).update(member_addresses)
        self._join_groups()
        return address

    def add_area(self, area: str, *, group: str | None = None, members: Iterable[str] = ()) -> str:
        """Register grid area ``area`` as group ``group`` (default ``area-{area}``, made with ``members``)."""
        address = self._group_address(group or f"area-{area}")
        if area in self.registry.areas:
            raise OperatorError(f"area {area!r} is already registered", "id")
        if group is None or list(members):
            self.add_group(address, members)
        elif address not in self.registry.groups:
            raise OperatorError(f"area {area!r}: unknown group {address!r}", "group")
        try:
            self.store.add_area(self.domain, area, address)
        except StoreError as error:
            raise OperatorError(str(error), "group" if error.field == "group_address" else error.field) from None
        self.registry.areas[area] = address
        return address

    def register(self, registry: GridRegistry) -> None:
        """Store what ``registry`` knows that is not stored yet (each endpoint id its own customer)."""
        if registry.domain != self.domain:
            raise OperatorError(f"registry of {registry.domain!r}, not {self.domain!r}", "domain")
        try:
            self.store.save_registry(registry, at=self.clock.now())
        except StoreError as error:
            raise operator_error(error) from None
        stored = self.store.load_registry(self.domain)
        self.registry.customers |= stored.customers
        for group, members in stored.groups.items():
            self.registry.groups.setdefault(group, set()).update(members)
        self.registry.areas.update(stored.areas)
        self._join_groups()

    def _endpoint_address(self, endpoint: str, *, field: str = "address") -> str:
        try:
            address = endpoint if "/" in endpoint else endpoint_address(self.domain, endpoint)
            parsed = parse_address(address)
        except ValueError as error:
            raise OperatorError(str(error), field) from None
        if parsed.kind is not AddressKind.ENDPOINT or parsed.domain != self.domain:
            raise OperatorError(f"{endpoint!r} is not an endpoint of domain {self.domain!r}", field)
        return address

    def _group_address(self, group: str, *, field: str = "address") -> str:
        try:
            address = group if "/" in group else group_address(self.domain, group)
            parsed = parse_address(address)
        except ValueError as error:
            raise OperatorError(str(error), field) from None
        if parsed.kind is not AddressKind.GROUP or parsed.domain != self.domain:
            raise OperatorError(f"{group!r} is not a group of domain {self.domain!r}", field)
        return address

    # -- what comes up ---------------------------------------------------------------------------------------

    async def _on_reading(self, reading: MeterReading, envelope: Envelope) -> None:
        keys = self.store.meter_keys()
        if reading.meter_id not in keys:
            site = envelope.sender if envelope.sender in self.registry.customers else None
            self.store.add_meter(reading.meter_id, endpoint=site)
        try:
            self.store.add_readings([reading])
        except StoreError as error:  # a repeated reading (same meter and time): keep the first
            log.info("grid server: reading of %s at %s not stored: %s", reading.meter_id, reading.at, error)

    async def _on_inbound(self, body: FlexModel, envelope: Envelope) -> None:
        self.store.record_message(envelope, inbound=True, at=self.clock.now())

    def add_readings(self, readings: Sequence[Mapping[str, Any] | MeterSample]) -> int:
        """Store a batch of readings (all or none); unknown meters are refused naming ``meter_id``."""
        try:
            return self.store.add_readings(readings)
        except DuplicateRecord as error:  # the batch overlaps stored readings: the batch is at fault
            raise OperatorError(str(error)) from None
        except StoreError as error:
            raise operator_error(error) from None

    def add_meter(self, meter_id: str, *, endpoint: str | None = None) -> MeterView:
        """Register meter ``meter_id`` of the site of ``endpoint``."""
        address = None if endpoint is None else self._endpoint_address(endpoint, field="endpoint")
        try:
            self.store.add_meter(meter_id, endpoint=address)
        except StoreError as error:
            raise operator_error(error) from None
        return MeterView(meter_id=meter_id, endpoint=address)

    def _on_presence(self, presence: Presence) -> None:
        if presence.address in self.registry.customers:
            self._set_presence(presence.address, presence.state is PresenceState.ONLINE, presence.since)

    def _set_presence(self, address: str, online: bool, since: datetime) -> None:
        try:
            self.store.set_presence(address, online, since)
        except StoreError as error:
            log.warning("grid server: presence of %s not stored: %s", address, error)

    async def _poll_presence(self, bus: MemoryBus) -> None:
        known = {p.address: p.online for p in self.store.presence(self.domain)}
        while True:
            for address in sorted(self.registry.customers):
                online = bus.is_online(address)
                if known.get(address) != online and (online or address in known):
                    self._set_presence(address, online, self.clock.now())
                    known[address] = online
            await asyncio.sleep(self.presence_poll_s)
