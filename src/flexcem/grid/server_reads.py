"""The grid server's reads (a mixin of :class:`~flexcem.grid.server.GridServer`): pages of the registry,
presence, signals with their answers, messages, meters, telemetry and aggregated load, as the views of
:mod:`flexcem.grid.server_views`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flexcem.clock import Clock
from flexcem.grid import server_queries as queries
from flexcem.grid.records import SignalRecord
from flexcem.grid.registry import GridRegistry
from flexcem.grid.server_programs import operator_error, signal_active
from flexcem.grid.server_views import (
    AreaView,
    CustomerView,
    EndpointView,
    GroupView,
    LoadView,
    MessageView,
    MeterView,
    PresenceView,
    ReadingView,
    SignalView,
)
from flexcem.grid.traffic_light import TrafficLightProgram
from flexcem.store import GridStore, SqlSignalStore, StoreError

__all__ = ["ReadsMixin"]


class ReadsMixin:
    """Read-only queries; the server provides the store, registry, clock and programs."""

    store: GridStore
    signal_store: SqlSignalStore
    domain: str
    registry: GridRegistry
    clock: Clock

    @property
    def traffic_light(self) -> TrafficLightProgram:
        """The traffic-light program (the server's)."""
        raise NotImplementedError

    def customers(self, *, limit: int = 50, offset: int = 0) -> tuple[list[CustomerView], bool]:
        """A page of customers; whether more follow."""
        return queries.customers(self.store, limit, offset)

    def endpoints(self, *, limit: int = 50, offset: int = 0) -> tuple[list[EndpointView], bool]:
        """A page of endpoints with groups and presence."""
        return queries.endpoints(self.store, self.domain, limit, offset)

    def endpoint_view(self, address: str) -> EndpointView | None:
        """One endpoint with its groups and presence."""
        found, _ = queries.endpoints(self.store, self.domain, 1, 0, address)
        return found[0] if found else None

    def groups(self, *, limit: int = 50, offset: int = 0) -> tuple[list[GroupView], bool]:
        """A page of groups with members."""
        return queries.groups(self.store, self.domain, limit, offset)

    def areas(self) -> list[AreaView]:
        """Every area with its group, members and traffic light now."""
        return [
            AreaView(id=area, group=group, members=sorted(self.registry.groups.get(group, set())),
                     state=self.traffic_light.state_of(area).value)
            for area, group in sorted(self.registry.areas.items())
        ]

    def presence(self, *, limit: int = 50, offset: int = 0) -> tuple[list[PresenceView], bool]:
        """A page of presence states."""
        return queries.presence(self.store, self.domain, limit, offset)

    def is_active(self, record: SignalRecord) -> bool:
        """Whether the signal of ``record`` is in force now."""
        lights = {area: light.signal_id for area, light in self.traffic_light.current.items()}
        return signal_active(record, self.clock.now(), lights)

    def signals(self, *, limit: int = 50, offset: int = 0, **filters: Any) -> tuple[list[SignalView], bool]:
        """A page of signals with their answers, newest first (filters: program, kind, status, recipient, active)."""
        return queries.signals(self.store, self.signal_store, self.is_active, limit=limit, offset=offset, **filters)

    def signal(self, program: str, signal_id: str) -> SignalView | None:
        """One signal with its answers."""
        found, _ = self.signals(limit=1, program=program, signal_id=signal_id)
        return found[0] if found else None

    def messages(self, *, limit: int = 50, offset: int = 0, **filters: Any) -> tuple[list[MessageView], bool]:
        """A page of stored messages, oldest first (filters: sender, recipient, kind, since)."""
        return queries.messages(self.store, limit=limit, offset=offset, **filters)

    def meters(self, *, limit: int = 50, offset: int = 0) -> tuple[list[MeterView], bool]:
        """A page of meters."""
        return queries.meters(self.store, limit, offset)

    def latest_reading(self, meter_id: str) -> ReadingView | None:
        """The newest reading of ``meter_id``; :class:`OperatorError` for an unknown meter."""
        try:
            sample = self.store.latest_reading(meter_id)
        except StoreError as error:
            raise operator_error(error, field="meter_id") from None
        if sample is None:
            return None
        return ReadingView(meter_id=meter_id, at=sample.at, power_w=sample.power_w, import_wh=sample.import_wh,
                           export_wh=sample.export_wh)

    def readings(self, meter_id: str, start: datetime, end: datetime) -> list[ReadingView]:
        """Readings of ``meter_id`` in ``[start, end)``."""
        try:
            return queries.readings(self.store, meter_id, start, end)
        except StoreError as error:
            raise operator_error(error, field="meter_id") from None

    def load(
        self, target: str | None, start: datetime, end: datetime, resolution: timedelta = timedelta(minutes=15)
    ) -> LoadView:
        """Aggregated load of the meters of ``target`` (everyone when ``None``) in ``[start, end)``."""
        if target is None:
            meter_ids = queries.meters_of(self.store, None)
        else:
            try:
                resolved = self.registry.resolve(target)
            except ValueError as error:
                raise operator_error(error, field="target") from None
            meter_ids = queries.meters_of(self.store, resolved.expected)
        latest = [self.store.latest_reading(m) for m in meter_ids]
        powers = [s.power_w for s in latest if s is not None]
        return LoadView(
            target=target or f"{self.domain}/all", meters=meter_ids,
            latest_power_w=sum(powers) if powers else None,
            points=queries.load_points(self.store, meter_ids, start, end, resolution),
        )
