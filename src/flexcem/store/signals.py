"""The programs' signal records in SQL: a :class:`~flexcem.grid.SignalStore` that writes through.

A :class:`~flexcem.grid.SignalRecord` becomes one ``signals`` row (current body as an envelope, target,
revision, status, and a JSON ``state``: expected responders, deadlines, acknowledged, undelivered, missing,
settled deliveries) and one ``messages`` row per message sent (a delivery to one endpoint with its message id,
in ``message_id`` and as the stored envelope's id), answer received (on time or late), unsolicited answer and
refusal.
Records only grow, so :meth:`SqlSignalStore.save` updates the row and appends what is new, in one transaction.

Programs keep and mutate the record objects they were given (a deadline timer holds one), so the store keeps
an identity map: within a process :meth:`get` returns the same object, as the in-memory store does; after a
restart it is rebuilt from the database. One process owns a program's signals at a time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from flexcem.codec import decode_json, encode_json
from flexcem.grid.records import Refusal, Response, SignalRecord
from flexcem.model import Envelope, FlexModel, message_type_of, new_id, parse_address
from flexcem.store.models import Message, Program, Signal
from flexcem.store.repository import GridStore

__all__ = ["SqlSignalStore"]

_CATEGORIES = ("sent", "response", "unsolicited", "refusal")
_MAX_BYTES = 16 * 1024 * 1024
"""Largest stored envelope read back [bytes]."""

Key = tuple[str, str]


class SqlSignalStore:
    """Signal records of all programs in ``store``; ``senders`` maps a program to its endpoint address
    (default ``{domain of the target}/{program}``)."""

    def __init__(self, store: GridStore, *, senders: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.senders = dict(senders or {})
        self._records: dict[Key, SignalRecord] = {}
        self._counts: dict[Key, dict[str, int]] = {}

    # -- SignalStore ------------------------------------------------------------------------------------------

    def save(self, record: SignalRecord) -> None:
        """Store or update ``record`` (one transaction)."""
        key = (record.program, record.signal_id)
        sender = self._sender(record)
        with self.store.transaction(f"signal {record.signal_id!r} of {record.program!r}") as connection:
            row_id = self._upsert(connection, record, sender)
            counts = self._counts.get(key) or self._stored_counts(connection, row_id)
            for category, items in self._lists(record).items():
                rows = [self._row(record, sender, row_id, category, seq, items[seq])
                        for seq in range(counts.get(category, 0), len(items))]
                if rows:
                    connection.execute(insert(Message), rows)
        self._counts[key] = {category: len(items) for category, items in self._lists(record).items()}
        self._records[key] = record

    def get(self, program: str, signal_id: str) -> SignalRecord | None:
        """The record of ``signal_id`` sent by ``program``."""
        record = self._records.get((program, signal_id))
        if record is None:
            with self.store.engine.connect() as connection:
                row = connection.execute(
                    select(Signal).where(Signal.program == program, Signal.signal_id == signal_id)
                ).first()
                record = None if row is None else self._load(connection, row)
        return record

    def records(self, program: str | None = None) -> list[SignalRecord]:
        """All records (of ``program``), oldest first."""
        statement = select(Signal).order_by(Signal.sent_at, Signal.id)
        if program is not None:
            statement = statement.where(Signal.program == program)
        with self.store.engine.connect() as connection:
            return [
                self._records.get((row.program, row.signal_id)) or self._load(connection, row)
                for row in connection.execute(statement).all()
            ]

    # -- writing ---------------------------------------------------------------------------------------------

    def _sender(self, record: SignalRecord) -> str:
        sender = self.senders.get(record.program)
        if sender is None:
            sender = f"{parse_address(record.to).domain}/{record.program}"
            self.senders[record.program] = sender
        return sender

    def _upsert(self, connection: Connection, record: SignalRecord, sender: str) -> int:
        if connection.scalar(select(Program.name).where(Program.name == record.program)) is None:
            connection.execute(insert(Program).values(name=record.program, sender=sender))
        at = record.sent[-1][0] if record.sent else record.sent_at
        values: dict[str, Any] = {
            "kind": message_type_of(record.body), "sender": sender, "recipient": record.to, "area": record.area,
            "sent_at": record.sent_at, "updated_at": at, "revision": record.revision, "status": _status(record),
            "envelope": _envelope(record.body, sender, record.to, at), "state": json.dumps(_state(record)),
        }
        row_id = connection.scalar(
            select(Signal.id).where(Signal.program == record.program, Signal.signal_id == record.signal_id)
        )
        if row_id is None:
            result = connection.execute(insert(Signal).values(program=record.program, signal_id=record.signal_id,
                                                              **values))
            return int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0
        connection.execute(update(Signal).where(Signal.id == row_id).values(**values))
        return int(row_id)

    @staticmethod
    def _stored_counts(connection: Connection, row_id: int) -> dict[str, int]:
        rows = connection.execute(
            select(Message.category, func.count()).where(Message.signal == row_id).group_by(Message.category)
        )
        return {category: int(count) for category, count in rows}

    @staticmethod
    def _lists(record: SignalRecord) -> dict[str, list[Any]]:
        return {"sent": record.sent, "response": record.responses, "unsolicited": record.unsolicited,
                "refusal": record.refusals}

    @staticmethod
    def _row(record: SignalRecord, sender: str, row_id: int, category: str, seq: int, item: Any) -> dict[str, Any]:
        common = {"signal": row_id, "seq": seq, "category": category, "program": record.program,
                  "signal_id": record.signal_id}
        if category == "sent":
            at, body = item
            message_id = record.sent_id(seq)
            return {**common, "kind": message_type_of(body), "sender": sender, "recipient": record.to, "at": at,
                    "revision": getattr(body, "revision", 0) or 0, "status": "sent", "message_id": message_id,
                    "envelope": _envelope(body, sender, record.to, at, message_id)}
        if category == "refusal":
            return {**common, "kind": "refusal", "sender": item.responder, "recipient": sender, "at": item.at,
                    "revision": record.revision, "status": "refused", "reason": item.reason, "field": item.field}
        response: Response = item
        return {**common, "kind": response.kind, "sender": response.responder, "recipient": sender,
                "at": response.at, "revision": response.revision, "status": "late" if response.late else "on-time",
                "reason": message_type_of(response.body),
                "envelope": _envelope(response.body, response.responder, sender, response.at)}

    # -- reading ---------------------------------------------------------------------------------------------

    def _load(self, connection: Connection, row: Any) -> SignalRecord:
        state = json.loads(row.state)
        record = SignalRecord(
            program=row.program, signal_id=row.signal_id, body=_body(row.envelope), to=row.recipient,
            sent_at=row.sent_at, expected=tuple(state["expected"]), area=row.area, revision=row.revision,
            deadlines={kind: datetime.fromisoformat(at) for kind, at in state["deadlines"].items()},
            acknowledged=set(state["acknowledged"]), undelivered=set(state["undelivered"]),
            missing={kind: tuple(who) for kind, who in state["missing"].items()},
            settled=set(state.get("settled", ())),
        )
        messages = connection.execute(
            select(Message).where(Message.signal == row.id).order_by(Message.category, Message.seq)
        )
        for message in messages:
            if message.category == "sent":
                record.add_sent(message.at, _body(message.envelope), message.message_id)
            elif message.category == "refusal":
                record.refusals.append(Refusal(message.sender, message.at, message.reason or "", message.field))
            else:
                response = Response(message.sender, message.at, _body(message.envelope), message.kind,
                                    message.revision, late=message.status == "late")
                (record.responses if message.category == "response" else record.unsolicited).append(response)
        key = (record.program, record.signal_id)
        self._records[key] = record
        self._counts[key] = {category: len(items) for category, items in self._lists(record).items()}
        return record


def _status(record: SignalRecord) -> str:
    """``open`` while a deadline has not passed, ``closed`` after, ``sent`` when none was set."""
    if not record.deadlines and not record.missing:
        return "sent"
    return "open" if any(kind not in record.missing for kind in record.deadlines) else "closed"


def _state(record: SignalRecord) -> dict[str, Any]:
    return {
        "expected": list(record.expected),
        "deadlines": {kind: at.isoformat() for kind, at in record.deadlines.items()},
        "acknowledged": sorted(record.acknowledged),
        "undelivered": sorted(record.undelivered),
        "missing": {kind: list(who) for kind, who in record.missing.items()},
        "settled": sorted(record.settled),
    }


def _envelope(body: FlexModel, sender: str, to: str, at: datetime, message_id: str | None = None) -> str:
    envelope = Envelope(id=message_id or new_id(), type=message_type_of(body), sender=sender, to=to, created=at,
                        body=body)
    return encode_json(envelope, max_bytes=None).decode("utf-8")


def _body(data: str | None) -> FlexModel:
    if data is None:
        raise ValueError("a stored message without an envelope has no body")
    return decode_json(data.encode("utf-8"), max_bytes=_MAX_BYTES).body
