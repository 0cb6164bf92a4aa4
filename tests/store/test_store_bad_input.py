"""Bad input is refused with an error naming the field or constraint; nothing already stored is lost.

DESIGN §5: "Bad input anywhere … gets a clear error naming the field, and nothing already stored is lost."
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flexcem.grid import GridRegistry
from flexcem.store import DuplicateRecord, GridStore, InvalidRecord, MeterSample, UnknownReference
from flexcem.store.models import Area, Group

T0 = datetime(2021, 7, 15, 11, 0, tzinfo=UTC)


def stored_registry(store: GridStore) -> GridRegistry:
    """A customer with one endpoint in group ``pilot``; returns what is stored."""
    store.add_customer("c-1", name="Ana", at=T0)
    store.add_endpoint("grid/cem-1", "c-1", at=T0)
    store.add_group("grid/grp/pilot", ["grid/cem-1"])
    return store.load_registry("grid")


def test_a_duplicate_id_is_refused_and_the_stored_one_kept(store: GridStore) -> None:
    before = stored_registry(store)
    with pytest.raises(DuplicateRecord, match=r"customer 'c-1' is already stored") as error:
        store.add_customer("c-1", name="Bo")
    assert error.value.field == "id"
    with pytest.raises(DuplicateRecord, match=r"endpoint 'grid/cem-1' is already stored"):
        store.add_endpoint("grid/cem-1", "c-1")
    store.add_meter("m-1")
    with pytest.raises(DuplicateRecord, match="meter 'm-1'") as meter_error:
        store.add_meter("m-1")
    assert meter_error.value.field == "meter_id"
    assert store.load_registry("grid") == before


def test_unknown_group_area_and_customer_references_are_refused_and_roll_back(store: GridStore) -> None:
    before = stored_registry(store)
    with pytest.raises(UnknownReference, match=r"unknown group 'grid/grp/nowhere'") as error:
        store.add_area("grid", "feeder-9", "grid/grp/nowhere")
    assert error.value.field == "group_address"
    with pytest.raises(UnknownReference, match=r"unknown endpoint 'grid/cem-9'") as member_error:
        store.add_group("grid/grp/north", ["grid/cem-1", "grid/cem-9"])  # the first member is fine, the second not
    assert member_error.value.field == "endpoint_address"
    with pytest.raises(UnknownReference, match=r"unknown customer 'c-9'") as customer_error:
        store.add_endpoint("grid/cem-2", "c-9")
    assert customer_error.value.field == "customer_id"
    with pytest.raises(UnknownReference, match="unknown endpoint"):
        store.set_presence("grid/cem-2", True, T0)
    assert store.load_registry("grid") == before  # group north was rolled back with its first member


def test_the_database_constraints_name_themselves_when_the_checks_are_bypassed(store: GridStore) -> None:
    stored_registry(store)
    area = Area.__table__.insert().values(domain="grid", id="feeder-9", group_address="grid/x")
    with pytest.raises(UnknownReference, match="unknown reference") as error, store.transaction("area") as connection:
        connection.execute(area)
    if error.value.constraint is not None:  # PostgreSQL names the constraint and the key; SQLite does not
        assert error.value.constraint == "fk_areas_group_address_groups" and error.value.field == "group_address"
        assert "Key (group_address)=(grid/x) is not present" in str(error.value)
    group = Group.__table__.insert().values(address="grid/grp/pilot", domain="grid")
    with pytest.raises(DuplicateRecord, match="already stored"), store.transaction("group") as connection:
        connection.execute(group)
    assert store.load_registry("grid").groups == {"grid/grp/pilot": {"grid/cem-1"}}


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        ({"power_w": None}, "power_w"),
        ({"at": None}, "at"),
        ({"import_wh": -1.0}, "import_wh"),
        ({"power_w": float("nan")}, "power_w"),
        ({"at": datetime(2021, 7, 15, 12, 0)}, "at"),
        ({"meter_id": ""}, "meter_id"),
    ],
)
def test_a_reading_with_a_missing_or_bad_field_refuses_the_batch(store: GridStore, broken: dict[str, Any],
                                                                 field: str) -> None:
    store.add_meter("m-1")
    kept = MeterSample("m-1", T0, 640.0, 1200.0)
    store.add_readings([kept])
    good = {"meter_id": "m-1", "at": T0 + timedelta(hours=1), "power_w": 700.0, "import_wh": 1840.0,
            "export_wh": 0.0}
    bad = {**good, "at": T0 + timedelta(hours=2), **broken}
    if broken.get(field, 0) is None:
        del bad[field]  # missing altogether, as a JSON body without the key
    with pytest.raises(InvalidRecord, match=rf"reading 1: .*field '{field}'") as error:
        store.add_readings([good, bad])
    assert error.value.field == field
    assert store.readings("m-1", T0, T0 + timedelta(days=1)) == [kept]


def test_a_reading_of_an_unknown_meter_is_refused(store: GridStore) -> None:
    with pytest.raises(UnknownReference, match="unknown meter 'm-7'") as error:
        store.add_readings([MeterSample("m-7", T0, 1.0, 1.0)])
    assert error.value.field == "meter_id"
    with pytest.raises(UnknownReference, match="unknown meter 'm-7'"):
        store.latest_reading("m-7")
