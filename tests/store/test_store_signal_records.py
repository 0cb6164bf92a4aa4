"""A grid program's signal records persist through :class:`SqlSignalStore` and are whole after reopening.

Story JWG14 as in tests/grid: at 11:00 the supplier asks feeder-7 to cut 300 W from 12:00 to 14:00; cem-1
cannot fully (180 W, with a reason), cem-2 accepts, cem-3 stays silent; the feedback carries real load curves.
Then the event is revised. The records read back from a reopened database equal the program's own.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from flexcem.codec import decode_json
from flexcem.data import DATA_CLOCK, CityLearnData
from flexcem.grid import LoadManagementProgram, SignalRecord
from flexcem.grid.load_management import FEEDBACK, RESPONSE
from flexcem.model import (
    AdjustmentAction,
    Envelope,
    LoadAdjustmentFeedback,
    LoadManagementRequest,
    LoadManagementResponse,
    ResponseStatus,
)
from flexcem.store import GridStore, SqlSignalStore
from flexcem.store.models import Message, Signal
from grid_harness import AREA, Neighbourhood, address, hours, run_grid
from postgres_harness import Database

START = datetime(2021, 7, 15, 11, 0, tzinfo=DATA_CLOCK)
NOON, TWO = START + hours(1), START + hours(3)
DATA = CityLearnData.embedded()


def answer_with(endpoint: object, reply: LoadManagementResponse | None) -> None:
    """Make a bare endpoint answer every request with ``reply`` (for the request's event and revision)."""

    async def handle(request: LoadManagementRequest, envelope: Envelope) -> LoadManagementResponse | None:
        if reply is None:
            return None
        return reply.model_copy(update={"event_id": request.event_id, "revision": request.revision})

    endpoint.on(LoadManagementRequest, handle)  # type: ignore[attr-defined]


def run_event(store: GridStore) -> list[SignalRecord]:
    """The JWG14 event and a revision, on a program whose records live in ``store``."""

    async def scenario(hood: Neighbourhood) -> list[SignalRecord]:
        signals = SqlSignalStore(store, senders={"load-management": address("dso")})
        program = LoadManagementProgram(await hood.endpoint("dso"), hood.registry, store=signals)
        one, two, three = [await hood.endpoint(name) for name in ("cem-1", "cem-2", "cem-3")]
        answer_with(one, LoadManagementResponse(event_id="x", status=ResponseStatus.NOT_SUFFICIENT,
                                                expected_change_w=180.0, reason="the air conditioner goes up 2 K"))
        answer_with(two, LoadManagementResponse(event_id="x", status=ResponseStatus.ACCEPT, expected_change_w=300.0))
        answer_with(three, None)
        record = await program.request(AREA, action=AdjustmentAction.REDUCE, amount_w=300.0, start=NOON, end=TWO,
                                       response_deadline=START + hours(0.5))
        assert await program.closed(record.signal_id, RESPONSE) == (address("cem-3"),)
        await program.revise(record.signal_id, amount_w=250.0, response_deadline=START + hours(0.75))
        await program.closed(record.signal_id, RESPONSE)
        await hood.clock.sleep_until(TWO + hours(0.1))
        metered = DATA.base_load(NOON, TWO)
        await one.send(address("dso"), LoadAdjustmentFeedback(
            event_id=record.signal_id, start=NOON, end=TWO, achieved_change_w=170.0, load_curve=metered,
            baseline_curve=metered, revision=1))
        assert await program.closed(record.signal_id, FEEDBACK) == (address("cem-2"), address("cem-3"))
        assert signals.get("load-management", record.signal_id) is record  # one object per signal in a process
        return program.records()

    return run_grid(scenario, START)


def test_load_management_records_are_read_back_whole_after_reopening(database: Database, store: GridStore) -> None:
    [original] = run_event(store)
    store.close()
    reopened = database.open()
    try:
        [loaded] = SqlSignalStore(reopened).records("load-management")
        assert loaded == original
        assert loaded.revision == 1 and loaded.missing[RESPONSE] == (address("cem-3"),)
        assert loaded.latest(RESPONSE)[address("cem-1")].body.reason == "the air conditioner goes up 2 K"
        feedback = loaded.latest(FEEDBACK)[address("cem-1")].body
        assert feedback.load_curve == DATA.base_load(NOON, TWO)
        with reopened.engine.connect() as connection:
            signal = connection.execute(select(Signal)).one()
            messages = connection.execute(select(Message).order_by(Message.id)).all()
        assert (signal.program, signal.kind, signal.sender, signal.recipient, signal.status) == (
            "load-management", "LoadManagementRequest", address("dso"), f"grid/grp/area-{AREA}", "closed")
        assert json.loads(signal.state)["expected"] == [address(f"cem-{n}") for n in (1, 2, 3)]
        sent = [m for m in messages if m.category == "sent"]
        assert [m.revision for m in sent] == [0, 1] and all(m.sender == address("dso") for m in sent)
        assert [m.message_id for m in sent] == [None, None], "a group send has no delivery to retry"
        answers = [(m.sender, m.kind, m.revision, m.status) for m in messages if m.category == "response"]
        assert (address("cem-1"), RESPONSE, 1, "on-time") in answers
        assert (address("cem-1"), FEEDBACK, 1, "on-time") in answers
        assert decode_json(sent[1].envelope.encode()).body == loaded.body
    finally:
        reopened.close()


def test_an_unknown_signal_is_none_and_an_empty_store_has_no_records(store: GridStore) -> None:
    signals = SqlSignalStore(store)
    assert signals.get("load-management", "nope") is None and signals.records() == []


def test_the_message_ids_of_unicasts_and_their_settled_deliveries_are_read_back(
    database: Database, store: GridStore
) -> None:
    async def scenario(hood: Neighbourhood) -> tuple[SignalRecord, list[str]]:
        signals = SqlSignalStore(store, senders={"load-management": address("dso")})
        program = LoadManagementProgram(await hood.endpoint("dso"), hood.registry, store=signals)
        answer_with(await hood.endpoint("cem-1"), LoadManagementResponse(event_id="x", status=ResponseStatus.ACCEPT,
                                                                         expected_change_w=300.0))
        record = await program.request(address("cem-1"), action=AdjustmentAction.REDUCE, amount_w=300.0,
                                       start=NOON, end=TWO, response_deadline=START + hours(0.5))
        await program.end(record.signal_id, reason="the feeder recovered")
        wire = [e.id for e in hood.seen if e.type in ("LoadManagementRequest", "LoadAdjustmentEnd")]
        return record, wire

    original, wire = run_grid(scenario, START)
    store.close()
    reopened = database.open()
    try:
        [loaded] = SqlSignalStore(reopened).records("load-management")
        assert loaded == original
        assert loaded.sent_ids == wire and len(set(wire)) == 2, "each message crossed the bus under its stored id"
        assert loaded.settled == set(wire) and loaded.unsettled_delivery() is None
        with reopened.engine.connect() as connection:
            sent = connection.execute(select(Message).where(Message.category == "sent").order_by(Message.seq)).all()
        assert [m.message_id for m in sent] == wire
        assert [decode_json(m.envelope.encode()).id for m in sent] == wire
    finally:
        reopened.close()
