"""The CEM store: schema by migrations, every part of the state round-trips, only changes are written, a failed
write loses nothing stored, journal and readings are kept as history."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cem_service_harness import ServiceHome, run_service_home
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from flexcem.bus import Endpoint
from flexcem.cem.manager import CustomerEnergyManager
from flexcem.cem.store import CemStore, Reading, StoredEntry, restore, snapshot
from flexcem.cem.store.models import CemBase
from flexcem.model import DeviceState, DeviceStatus
from home_harness import hours, local, one_hour_offer

START = local(2021, 7, 1, 8)
T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
VERSION = "cem_alembic_version"


def test_opening_makes_the_schema_by_migration_and_again_changes_nothing(tmp_path: Path) -> None:
    store = CemStore.open(tmp_path / "sub" / "cem.db")
    store.close()
    store = CemStore.open(tmp_path / "sub" / "cem.db")
    try:
        tables = set(inspect(store.engine).get_table_names())
        assert {"cem_devices", "cem_jobs", "cem_plans", "cem_journal", "cem_readings"} <= tables
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM cem_alembic_version")).scalar() == "0001"
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        store.close()


def test_the_migrations_build_exactly_the_models_tables(tmp_path: Path) -> None:
    store = CemStore.open(tmp_path / "cem.db")
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "version_table": VERSION})
            assert compare_metadata(context, CemBase.metadata) == []
    finally:
        store.close()


async def _lived_in(home: ServiceHome) -> CustomerEnergyManager:
    """A CEM with devices, a status, offers, a tariff, a plan and a proposal."""
    service = home.service()
    cem = await service.start()
    await home.publish_tariff()
    washer = await home.flex_device("washer")
    dishwasher = await home.flex_device("dishwasher")
    await washer.endpoint.deliver("home/cem", one_hour_offer("washer", "wash-1", START, START + hours(10)))
    await dishwasher.endpoint.deliver("home/cem", one_hour_offer("dishwasher", "dish-1", START, START + hours(14)))
    status = DeviceStatus(device_id="washer", state=DeviceState.IDLE, at=home.clock.now(), power_w=3.0)
    await washer.endpoint.deliver("home/cem", status)
    await home.clock.sleep(5)
    assert cem.plan is not None and len(cem.jobs.all()) == 2
    assert (cem.proposal is not None) == cem.settings.commit_required
    return cem


def test_every_part_of_the_state_comes_back_from_the_store(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        cem = await _lived_in(home)
        saved = snapshot(cem)
        store = CemStore.open(tmp_path / "copy.db")
        store.save(saved)
        store.close()

        reopened = CemStore.open(tmp_path / "copy.db")
        fresh = CustomerEnergyManager(Endpoint(await home.bus.connect("home/other"), home.clock), cem.settings)
        restore(fresh, reopened.load())
        reopened.close()
        assert snapshot(fresh) == saved
        assert fresh.plan == cem.plan
        assert fresh.proposal is not None and cem.proposal is not None
        assert (fresh.proposal.proposal_id, fresh.proposal.plan) == (cem.proposal.proposal_id, cem.proposal.plan)
        assert [j.offer_id for j in fresh.proposal.jobs] == [j.offer_id for j in cem.proposal.jobs]
        assert fresh.prices.profiles == cem.prices.profiles

    run_service_home(tmp_path, START, scenario, commit_required=True)


def test_a_save_writes_only_what_changed(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        cem = await _lived_in(home)
        store = CemStore.open(tmp_path / "diff.db")
        assert store.save(snapshot(cem)) > 5
        assert store.save(snapshot(cem)) == 0
        record = cem.registry.get("washer")
        assert record is not None
        record.status = DeviceStatus(device_id="washer", state=DeviceState.RUNNING, at=home.clock.now(), power_w=2e3)
        assert store.save(snapshot(cem)) == 1
        store.close()

    run_service_home(tmp_path, START, scenario)


def test_a_failed_save_leaves_everything_stored_as_it_was(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        cem = await _lived_in(home)
        store = CemStore.open(tmp_path / "tx.db")
        rows = snapshot(cem)
        store.save(rows, [StoredEntry(T0, "first")])
        broken = copy.deepcopy(rows)
        for key, row in broken["cem_devices"].items():
            row["address"] = f"changed/{key[0]}"
        broken["cem_jobs"][("wash-1",)]["received_at"] = datetime(2026, 1, 1)  # naive: refused by the column type
        with pytest.raises((SQLAlchemyError, ValueError)):
            store.save(broken, [StoredEntry(T0, "second")])
        store.close()

        reopened = CemStore.open(tmp_path / "tx.db")
        assert reopened.load()["cem_devices"] == rows["cem_devices"]
        assert [entry.text for entry in reopened.journal()] == ["first"]
        reopened.close()

    run_service_home(tmp_path, START, scenario)


def test_journal_and_readings_are_kept_as_history(tmp_path: Path) -> None:
    store = CemStore.open(tmp_path / "history.db")
    entries = [StoredEntry(T0 + timedelta(minutes=k), f"entry {k}") for k in range(5)]
    readings = [Reading("washer", T0 + timedelta(minutes=15 * k), 100.0 * k, 10.0 * k) for k in range(8)]
    store.save({}, entries, [*readings, Reading("site", T0, 450.0)])
    assert [e.text for e in store.journal(limit=2)] == ["entry 3", "entry 4"]
    assert [e.text for e in store.journal(since=T0 + timedelta(minutes=3))] == ["entry 3", "entry 4"]
    assert store.journal_size() == 5
    window = store.readings("washer", T0 + timedelta(minutes=30), T0 + timedelta(hours=1))
    assert [(r.power_w, r.energy_wh) for r in window] == [(200.0, 20.0), (300.0, 30.0)]
    assert store.readings("site", T0, T0 + timedelta(hours=1)) == [Reading("site", T0, 450.0)]
    assert store.forget_readings_before(T0 + timedelta(hours=1)) == 5
    store.close()


def test_the_service_records_status_readings_per_device_and_for_the_site(tmp_path: Path) -> None:
    async def scenario(home: ServiceHome) -> None:
        service = home.service()
        await service.start()
        washer = await home.flex_device("washer")
        dishwasher = await home.flex_device("dishwasher")
        first = home.clock.now()
        await washer.endpoint.deliver(
            "home/cem", DeviceStatus(device_id="washer", state=DeviceState.IDLE, at=first, power_w=5.0)
        )
        await home.clock.sleep(60)
        second = home.clock.now()
        await dishwasher.endpoint.deliver(
            "home/cem", DeviceStatus(device_id="dishwasher", state=DeviceState.IDLE, at=second, power_w=7.0)
        )
        await home.clock.sleep(1)
        assert service.store is not None
        end = second + timedelta(minutes=1)
        assert [r.power_w for r in service.store.readings("washer", first, end)] == [5.0]
        assert [(r.at, r.power_w) for r in service.store.readings("site", first, end)] == [(first, 5.0), (second, 12.0)]
        await service.stop()

    run_service_home(tmp_path, START, scenario)
