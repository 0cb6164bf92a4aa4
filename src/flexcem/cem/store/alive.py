"""The power-loss alive record (:mod:`flexcem.cem.power_loss`, JWG3102) kept in the CEM store.

A :class:`~flexcem.cem.power_loss.PowerLossMemory`: ``cem.grid_side.power_loss.memory = StoreAliveMemory(store)``
before the CEM starts; the record is one row of ``cem_records``, replaced in one transaction (a loss while
writing leaves the previous one).
"""

from __future__ import annotations

from flexcem.cem.power_loss import AliveRecord, parse_alive_record
from flexcem.cem.store.repository import CemStore

__all__ = ["ALIVE_KEY", "StoreAliveMemory"]

ALIVE_KEY = "alive"


class StoreAliveMemory:
    """The alive record in the CEM store."""

    def __init__(self, store: CemStore) -> None:
        self.store = store

    def load(self) -> AliveRecord | None:
        """The record written last; ``None`` when there is none; :class:`PowerLossMemoryError` naming the field."""
        text = self.store.record(ALIVE_KEY)
        if text is None:
            return None
        return parse_alive_record(text, f"cem_records[{ALIVE_KEY}]")

    def save(self, record: AliveRecord) -> None:
        """Replace the record."""
        self.store.put_record(ALIVE_KEY, record.at, record.model_dump_json())
