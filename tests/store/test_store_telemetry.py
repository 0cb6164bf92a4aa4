"""Metering readings of real CityLearn load: batched ingest, the latest value and one day, on both back-ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flexcem.data import CityLearnData
from flexcem.model import MeterReading
from flexcem.store import DuplicateRecord, GridStore, MeterSample
from flexcem.store.telemetry import IngestMethod
from postgres_harness import Database

DATA = CityLearnData.embedded()
HOUR = timedelta(hours=1)


def metered(meter_id: str, hours: int, scale: float = 1.0) -> list[MeterSample]:
    """Hourly readings of building 1's real load from the data's start: power [W] and the import register [Wh]."""
    samples, register = [], 0.0
    for index in range(hours):
        power = float(DATA.base_load_w[index]) * scale
        samples.append(MeterSample(meter_id, DATA.start + index * HOUR, power, register, 0.0))
        register += power  # one hour at ``power`` W adds ``power`` Wh
    return samples


def test_readings_are_stored_in_batches_and_read_back_latest_and_by_day(database: Database,
                                                                        store: GridStore) -> None:
    store.add_meter("m-1")
    store.add_meter("m-2")
    one, two = metered("m-1", 72), metered("m-2", 72, scale=1.7)
    assert store.add_readings(one[:48] + two[:48]) == 96
    assert store.add_readings(one[48:] + two[48:]) == 48
    methods: tuple[IngestMethod, ...] = ("insert", "copy") if database.backend == "postgresql" else ("insert",)
    for number, method in enumerate(methods, start=3):
        store.add_meter(f"m-{number}")
        assert store.add_readings(metered(f"m-{number}", 30), method=method) == 30
    latest = store.latest_reading("m-2")
    assert latest == two[-1] and latest is not None and latest.at.tzinfo is not None
    day_two = store.readings("m-1", DATA.start + 24 * HOUR, DATA.start + 48 * HOUR)
    assert day_two == one[24:48]
    assert day_two[0].at == datetime(2021, 6, 2, 6, 0, tzinfo=UTC)  # 00:00 CST is 06:00 UTC
    assert store.latest_reading(f"m-{len(methods) + 2}") == metered(f"m-{len(methods) + 2}", 30)[-1]


def test_the_head_ends_meter_reading_messages_are_accepted_as_they_are(store: GridStore) -> None:
    store.add_meter("main")
    reading = MeterReading(meter_id="main", at=DATA.start, power_w=812.5, import_energy_wh=10500.0,
                           export_energy_wh=120.0)
    store.add_readings([reading])
    assert store.latest_reading("main") == MeterSample("main", DATA.start, 812.5, 10500.0, 120.0)
    store.add_meter("empty")
    assert store.latest_reading("empty") is None


def test_readings_survive_reopening(database: Database, store: GridStore) -> None:
    store.add_meter("m-1")
    store.add_readings(metered("m-1", 24))
    store.close()
    reopened = database.open()
    try:
        assert reopened.readings("m-1", DATA.start, DATA.start + 24 * HOUR) == metered("m-1", 24)
    finally:
        reopened.close()


def test_a_batch_with_a_duplicate_reading_is_refused_whole(database: Database, store: GridStore) -> None:
    methods: tuple[IngestMethod, ...] = ("insert", "copy") if database.backend == "postgresql" else ("insert",)
    for method in methods:
        meter = f"m-{method}"
        store.add_meter(meter)
        first = metered(meter, 24)
        store.add_readings(first[:12], method=method)
        with pytest.raises(DuplicateRecord, match=r"readings: already stored") as error:
            store.add_readings(first[10:], method=method)  # overlaps two stored readings
        assert error.value.field is None or "at" in error.value.field
        assert store.readings(meter, DATA.start, DATA.start + 24 * HOUR) == first[:12]
        assert store.add_readings(first[12:], method=method) == 12
