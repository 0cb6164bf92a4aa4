"""The grid store: one object over an engine for the registry, presence, messages and telemetry.

Every method is one transaction: it stores all it was given or — on a duplicate id, an unknown reference, a
missing field — nothing, raising a :class:`~flexcem.store.errors.StoreError` that names the field or the
constraint; what was stored before stays. Times are aware datetimes (stored as UTC); powers in W, energies
in Wh. :class:`~flexcem.store.signals.SqlSignalStore` keeps the programs' signal records on the same store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from flexcem.codec import encode_json
from flexcem.grid.registry import GridRegistry
from flexcem.model import Envelope, MeterReading, parse_address
from flexcem.store import telemetry
from flexcem.store.engine import DEFAULT_URL, make_engine, upgrade_to_head
from flexcem.store.errors import DuplicateRecord, InvalidRecord, StoreError, UnknownReference, from_integrity_error
from flexcem.store.models import Area, Customer, Endpoint, Group, GroupMember, Message, Meter, Presence
from flexcem.store.telemetry import IngestMethod, MeterSample

__all__ = ["GridStore", "PresenceState", "StoredMessage"]


@dataclass(frozen=True)
class PresenceState:
    """An endpoint online or not, since when."""

    address: str
    online: bool
    since: datetime


@dataclass(frozen=True)
class StoredMessage:
    """A stored message: indexed columns and the envelope's JSON (``None`` for a refusal without one)."""

    id: int
    category: str
    kind: str
    sender: str
    recipient: str
    at: datetime
    status: str
    program: str | None
    signal_id: str | None
    envelope: str | None


class GridStore:
    """The grid side's persistent state behind ``engine`` (schema at the newest revision)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._meters: dict[str, int] = {}

    @classmethod
    def open(cls, url: str = DEFAULT_URL, *, schema: str | None = None, migrate: bool = True) -> GridStore:
        """The store at ``url`` (PostgreSQL: in ``schema``), migrated to the newest revision unless told not."""
        engine = make_engine(url, schema=schema)
        if migrate:
            upgrade_to_head(engine)
        return cls(engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    @contextmanager
    def transaction(self, what: str) -> Iterator[Connection]:
        """A transaction: committed at the end, rolled back on any error (integrity errors as StoreError)."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except IntegrityError as error:
            raise from_integrity_error(error, what) from None
        except StoreError:
            raise
        except Exception as error:  # psycopg's own errors on the COPY path: SQLSTATE class 23 is integrity
            if str(getattr(error, "sqlstate", "") or "").startswith("23"):
                raise from_integrity_error(IntegrityError(what, None, error), what) from None
            raise

    # -- registry --------------------------------------------------------------------------------------------

    def add_customer(self, customer_id: str, *, name: str | None = None, at: datetime | None = None) -> None:
        """Store customer ``customer_id``; :class:`DuplicateRecord` if it is stored already."""
        with self.transaction(f"customer {customer_id!r}") as connection:
            if connection.scalar(select(Customer.id).where(Customer.id == customer_id)) is not None:
                raise DuplicateRecord(f"customer {customer_id!r} is already stored", field="id")
            connection.execute(insert(Customer).values(id=customer_id, name=name, created_at=at or _now()))

    def add_endpoint(self, address: str, customer_id: str, *, at: datetime | None = None) -> None:
        """Store CEM endpoint ``address`` ({domain}/{id}) of customer ``customer_id``."""
        with self.transaction(f"endpoint {address!r}") as connection:
            self._add_endpoint(connection, address, customer_id, at or _now())

    def _add_endpoint(self, connection: Connection, address: str, customer_id: str, at: datetime) -> None:
        try:
            domain = parse_address(address).domain
        except ValueError as error:
            raise InvalidRecord(f"endpoint {address!r}: {error}", field="address") from None
        if connection.scalar(select(Customer.id).where(Customer.id == customer_id)) is None:
            raise UnknownReference(f"endpoint {address!r}: unknown customer {customer_id!r}", field="customer_id")
        if connection.scalar(select(Endpoint.address).where(Endpoint.address == address)) is not None:
            raise DuplicateRecord(f"endpoint {address!r} is already stored", field="address")
        connection.execute(
            insert(Endpoint).values(address=address, domain=domain, customer_id=customer_id, created_at=at)
        )

    def add_group(self, address: str, members: Iterable[str] = ()) -> None:
        """Store group ``address`` ({domain}/grp/{gid}) if new, and add ``members`` (stored endpoints) to it."""
        with self.transaction(f"group {address!r}") as connection:
            self._add_group(connection, address, members)

    def _add_group(self, connection: Connection, address: str, members: Iterable[str]) -> None:
        try:
            domain = parse_address(address).domain
        except ValueError as error:
            raise InvalidRecord(f"group {address!r}: {error}", field="address") from None
        if connection.scalar(select(Group.address).where(Group.address == address)) is None:
            connection.execute(insert(Group).values(address=address, domain=domain))
        members_of = select(GroupMember.endpoint_address).where(GroupMember.group_address == address)
        known = set(connection.scalars(members_of))
        for member in members:
            if connection.scalar(select(Endpoint.address).where(Endpoint.address == member)) is None:
                raise UnknownReference(f"group {address!r}: unknown endpoint {member!r}", field="endpoint_address")
            if member not in known:
                connection.execute(insert(GroupMember).values(group_address=address, endpoint_address=member))
                known.add(member)

    def add_area(self, domain: str, area: str, group: str) -> None:
        """Store grid area ``area`` of ``domain`` as the customers of the stored group ``group``."""
        with self.transaction(f"area {area!r}") as connection:
            if connection.scalar(select(Group.address).where(Group.address == group)) is None:
                raise UnknownReference(f"area {area!r}: unknown group {group!r}", field="group_address")
            if connection.scalar(select(Area.id).where(Area.domain == domain, Area.id == area)) is not None:
                raise DuplicateRecord(f"area {area!r} of {domain!r} is already stored", field="id")
            connection.execute(insert(Area).values(domain=domain, id=area, group_address=group))

    def save_registry(self, registry: GridRegistry, *, at: datetime | None = None) -> None:
        """Store what ``registry`` knows that is not stored yet (each endpoint id is its own customer)."""
        when = at or _now()
        with self.transaction(f"registry of {registry.domain!r}") as connection:
            customers = set(connection.scalars(select(Customer.id)))
            endpoints = set(connection.scalars(select(Endpoint.address).where(Endpoint.domain == registry.domain)))
            for address in sorted(registry.customers - endpoints):
                customer = parse_address(address).name
                if customer not in customers:
                    connection.execute(insert(Customer).values(id=customer, created_at=when))
                    customers.add(customer)
                self._add_endpoint(connection, address, customer, when)
            for group, members in sorted(registry.groups.items()):
                self._add_group(connection, group, sorted(members))
            stored = set(connection.scalars(select(Area.id).where(Area.domain == registry.domain)))
            for area, group in sorted(registry.areas.items()):
                if area not in stored:
                    connection.execute(insert(Area).values(domain=registry.domain, id=area, group_address=group))

    def load_registry(self, domain: str) -> GridRegistry:
        """The registry of ``domain``: its endpoints, groups with members, and areas."""
        registry = GridRegistry(domain)
        with self.engine.connect() as connection:
            registry.customers.update(connection.scalars(select(Endpoint.address).where(Endpoint.domain == domain)))
            for group in connection.scalars(select(Group.address).where(Group.domain == domain)):
                registry.groups[group] = set()
            rows = connection.execute(
                select(GroupMember.group_address, GroupMember.endpoint_address)
                .join(Group, Group.address == GroupMember.group_address)
                .where(Group.domain == domain)
            )
            for group, member in rows:
                registry.groups[group].add(member)
            areas = connection.execute(select(Area.id, Area.group_address).where(Area.domain == domain))
            registry.areas.update({str(area): str(group) for area, group in areas})
        return registry

    # -- presence --------------------------------------------------------------------------------------------

    def set_presence(self, address: str, online: bool, at: datetime) -> None:
        """Endpoint ``address`` is online (or not) since ``at``."""
        with self.transaction(f"presence of {address!r}") as connection:
            if connection.scalar(select(Endpoint.address).where(Endpoint.address == address)) is None:
                raise UnknownReference(f"presence: unknown endpoint {address!r}", field="address")
            connection.execute(delete(Presence).where(Presence.address == address))
            connection.execute(insert(Presence).values(address=address, online=online, since=at))

    def presence(self, domain: str | None = None) -> list[PresenceState]:
        """Every endpoint's last presence (of ``domain``), by address."""
        statement = select(Presence.address, Presence.online, Presence.since).order_by(Presence.address)
        if domain is not None:
            statement = statement.where(Presence.address.startswith(f"{domain}/", autoescape=True))
        with self.engine.connect() as connection:
            return [PresenceState(a, o, s) for a, o, s in connection.execute(statement)]

    # -- messages --------------------------------------------------------------------------------------------

    def record_message(
        self, envelope: Envelope, *, inbound: bool, at: datetime | None = None, program: str | None = None,
        signal_id: str | None = None,
    ) -> int:
        """Store a message sent (``inbound`` false) or received, whole (of ``program``'s signal ``signal_id``);
        its row id. ``at`` defaults to the envelope's ``created``."""
        data = encode_json(envelope, max_bytes=None).decode("utf-8")
        with self.transaction(f"message {envelope.id!r}") as connection:
            result = connection.execute(insert(Message).values(
                category="inbound" if inbound else "outbound", message_id=envelope.id, kind=envelope.type,
                sender=envelope.sender, recipient=envelope.to, at=at or envelope.created,
                status="received" if inbound else "sent", envelope=data, program=program, signal_id=signal_id,
            ))
            key = result.inserted_primary_key
            return int(key[0]) if key else 0

    def messages(
        self, *, sender: str | None = None, recipient: str | None = None, kind: str | None = None,
        since: datetime | None = None, limit: int = 100, offset: int = 0,
    ) -> list[StoredMessage]:
        """Stored messages matching all the given filters, oldest first (``limit``/``offset`` pages)."""
        statement = select(Message).order_by(Message.at, Message.id).limit(limit).offset(offset)
        for column, value in ((Message.sender, sender), (Message.recipient, recipient), (Message.kind, kind)):
            if value is not None:
                statement = statement.where(column == value)
        if since is not None:
            statement = statement.where(Message.at >= since)
        with self.engine.connect() as connection:
            return [
                StoredMessage(m.id, m.category, m.kind, m.sender, m.recipient, m.at, m.status, m.program,
                              m.signal_id, m.envelope)
                for m in connection.execute(statement)
            ]

    # -- telemetry -------------------------------------------------------------------------------------------

    def add_meter(self, meter_id: str, *, endpoint: str | None = None) -> int:
        """Store meter ``meter_id`` (of the stored endpoint ``endpoint``); its key."""
        with self.transaction(f"meter {meter_id!r}") as connection:
            if endpoint is not None and connection.scalar(
                select(Endpoint.address).where(Endpoint.address == endpoint)
            ) is None:
                raise UnknownReference(f"meter {meter_id!r}: unknown endpoint {endpoint!r}", field="endpoint")
            if connection.scalar(select(Meter.id).where(Meter.meter_id == meter_id)) is not None:
                raise DuplicateRecord(f"meter {meter_id!r} is already stored", field="meter_id")
            result = connection.execute(insert(Meter).values(meter_id=meter_id, endpoint=endpoint))
            key = int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0
        self._meters[meter_id] = key
        return key

    def meter_keys(self) -> dict[str, int]:
        """Every stored meter id and its key (the ``readings.meter`` column)."""
        with self.engine.connect() as connection:
            self._meters = telemetry.load_meter_ids(connection)
        return dict(self._meters)

    def _meter_keys(self, meter_ids: Iterable[str]) -> dict[str, int]:
        if any(meter_id not in self._meters for meter_id in meter_ids):
            with self.engine.connect() as connection:
                self._meters = telemetry.load_meter_ids(connection)
        return self._meters

    def add_readings(
        self, readings: Iterable[MeterSample | MeterReading | Mapping[str, Any]], *, method: IngestMethod = "insert"
    ) -> int:
        """Store a batch of readings in one transaction (all or none); how many. See :mod:`.telemetry`."""
        samples = [telemetry.sample_of(item, index) for index, item in enumerate(readings)]
        keys = self._meter_keys({sample.meter_id for sample in samples})
        with self.transaction(f"batch of {len(samples)} readings") as connection:
            return telemetry.write(connection, samples, keys, method)

    def latest_reading(self, meter_id: str) -> MeterSample | None:
        """The newest reading of ``meter_id`` (``None`` when it has none); unknown meters are refused."""
        key = self._key(meter_id)
        with self.engine.connect() as connection:
            return telemetry.latest(connection, meter_id, key)

    def readings(self, meter_id: str, start: datetime, end: datetime) -> list[MeterSample]:
        """Readings of ``meter_id`` in ``[start, end)``, oldest first."""
        key = self._key(meter_id)
        with self.engine.connect() as connection:
            return telemetry.window(connection, meter_id, key, start, end)

    def _key(self, meter_id: str) -> int:
        key = self._meter_keys((meter_id,)).get(meter_id)
        if key is None:
            raise UnknownReference(f"unknown meter {meter_id!r}", field="meter_id")
        return key


def _now() -> datetime:
    return datetime.now(UTC)


