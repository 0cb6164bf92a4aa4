"""Which stored message a restarted grid server must deliver again: the last one sent to one endpoint, under
its stored message id, when its delivery never finished (not settled) and nothing came back from that endpoint
since it was sent. A group send, a settled delivery, or an answer or refusal since then leave nothing to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flexcem.grid import SignalRecord
from flexcem.grid.records import Refusal, Response
from flexcem.model import LoadAdjustmentEnd, LoadManagementResponse, ResponseStatus

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
CEM = "grid/cem-1"
END = LoadAdjustmentEnd(event_id="lm-1", at=T0 + timedelta(hours=1))
ANSWER = LoadManagementResponse(event_id="lm-1", status=ResponseStatus.ACCEPT, expected_change_w=100.0)


def unicast(*sent: tuple[datetime, str | None]) -> SignalRecord:
    """A record to ``CEM`` with one message per (time, message id) of ``sent``."""
    record = SignalRecord(program="load-management", signal_id="lm-1", body=END, to=CEM, sent_at=T0,
                          expected=(CEM,))
    for at, message_id in sent:
        record.add_sent(at, END, message_id)
    return record


def test_a_stored_unicast_whose_delivery_never_finished_is_named_with_its_id() -> None:
    assert unicast((T0, "m-1")).unsettled_delivery() == ("m-1", END)


def test_a_settled_delivery_a_group_send_or_a_record_without_sends_leave_nothing_to_deliver() -> None:
    settled = unicast((T0, "m-1"))
    settled.settled.add("m-1")
    group = SignalRecord(program="load-management", signal_id="lm-2", body=END, to="grid/grp/area-feeder-7",
                         sent_at=T0, expected=(CEM, "grid/cem-2"))
    group.add_sent(T0, END)
    assert settled.unsettled_delivery() is None
    assert group.unsettled_delivery() is None and group.sent_ids == [None]
    assert unicast().unsettled_delivery() is None


def test_an_answer_or_a_refusal_since_the_send_shows_it_arrived() -> None:
    answered = unicast((T0, "m-1"))
    answered.responses.append(Response(CEM, T0 + timedelta(seconds=1), ANSWER, "LoadManagementResponse"))
    refused = unicast((T0, "m-1"))
    refused.refusals.append(Refusal(CEM, T0 + timedelta(seconds=1), "no flexibility"))
    assert answered.unsettled_delivery() is None and refused.unsettled_delivery() is None


def test_only_the_last_message_counts_and_an_older_answer_does_not_settle_it() -> None:
    record = unicast((T0, "m-1"), (T0 + timedelta(minutes=5), "m-2"))
    record.settled.add("m-1")
    record.responses.append(Response(CEM, T0 + timedelta(seconds=1), ANSWER, "LoadManagementResponse"))
    assert record.unsettled_delivery() == ("m-2", END)
    superseded = unicast((T0, "m-1"), (T0 + timedelta(minutes=5), "m-2"))
    superseded.settled.add("m-2")
    assert superseded.unsettled_delivery() is None, "a message superseded by a delivered one is not sent again"
