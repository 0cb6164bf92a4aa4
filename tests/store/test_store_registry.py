"""The grid registry, presence and messages survive a restart of the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flexcem.codec import decode_json
from flexcem.grid import GridRegistry
from flexcem.model import Envelope, GridState, TrafficLight
from flexcem.store import GridStore
from postgres_harness import Database

T0 = datetime(2021, 7, 15, 11, 0, tzinfo=UTC)


def neighbourhood() -> GridRegistry:
    """Three customers on feeder-7, a fourth in the pilot group."""
    registry = GridRegistry("grid")
    registry.add_area("feeder-7", ("cem-1", "cem-2", "cem-3"))
    registry.add_customer("cem-4", groups=("pilot",))
    return registry


def test_the_registry_is_stored_and_read_back_after_reopening(database: Database, store: GridStore) -> None:
    registry = neighbourhood()
    store.save_registry(registry, at=T0)
    store.save_registry(registry, at=T0)  # idempotent: nothing new, nothing duplicated
    store.close()
    reopened = database.open()
    try:
        loaded = reopened.load_registry("grid")
        assert loaded == registry
        assert loaded.resolve("feeder-7").expected == ("grid/cem-1", "grid/cem-2", "grid/cem-3")
        assert reopened.load_registry("other") == GridRegistry("other")
    finally:
        reopened.close()


def test_presence_keeps_the_last_state_of_each_endpoint(store: GridStore) -> None:
    store.save_registry(neighbourhood(), at=T0)
    store.set_presence("grid/cem-1", True, T0)
    store.set_presence("grid/cem-2", True, T0)
    store.set_presence("grid/cem-1", False, T0 + timedelta(minutes=5))
    states = {s.address: (s.online, s.since) for s in store.presence("grid")}
    assert states == {"grid/cem-1": (False, T0 + timedelta(minutes=5)), "grid/cem-2": (True, T0)}


def test_every_message_is_stored_whole_with_its_indexed_columns(store: GridStore) -> None:
    body = TrafficLight(signal_id="tl-1", area="feeder-7", state=GridState.YELLOW, valid_from=T0,
                        valid_until=T0 + timedelta(hours=2))
    envelope = Envelope(type="TrafficLight", sender="grid/dso", to="grid/grp/area-feeder-7", created=T0,
                        body=body)
    store.record_message(envelope, inbound=False)
    later = T0.astimezone(UTC) + timedelta(seconds=3)
    store.record_message(envelope.model_copy(update={"id": "m-2", "created": later}), inbound=False)
    [first, second] = store.messages(sender="grid/dso")
    assert (first.kind, first.recipient, first.at, first.status) == ("TrafficLight", envelope.to, T0, "sent")
    assert decode_json(first.envelope.encode()) == envelope if first.envelope else False
    assert second.at == later and store.messages(kind="TrafficLight", since=later) == [second]
    assert store.messages(sender="grid/dso", limit=1, offset=1) == [second]
