"""JWG3102 power-loss analysis: the rules and the file that survives the loss (no bus)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flexcem.cem.power_loss import (
    AliveRecord,
    FilePowerLossMemory,
    PowerLossKind,
    PowerLossMemoryError,
    analyse_restart,
)

LAST = datetime(2021, 8, 10, 14, 0, tzinfo=UTC)


def record(**changes: object) -> AliveRecord:
    base = AliveRecord(at=LAST, site_power_w=6800.0, device_power_w={"oven": 3000.0, "washer": 2000.0})
    return base.model_copy(update=changes)


def test_an_overload_warning_just_before_the_loss_makes_it_a_breaker_trip() -> None:
    report = analyse_restart(
        record(overload_at=LAST - timedelta(minutes=3), overload_power_w=7200.0, overload_limit_w=6000.0),
        LAST + timedelta(minutes=40),
    )
    assert report is not None and report.kind is PowerLossKind.BREAKER_TRIP
    assert report.duration == timedelta(minutes=40)
    assert report.device_power_w == {"oven": 3000.0, "washer": 2000.0} and report.site_power_w == 6800.0
    assert "breaker trip" in report.text() and "7200 W" in report.text() and "oven 3000 W" in report.text()


@pytest.mark.parametrize(
    "overload_at", [None, LAST - timedelta(minutes=16), LAST + timedelta(minutes=1)], ids=["none", "old", "later"]
)
def test_without_a_recent_overload_warning_it_is_a_grid_blackout(overload_at: datetime | None) -> None:
    report = analyse_restart(record(overload_at=overload_at), LAST + timedelta(hours=2))
    assert report is not None and report.kind is PowerLossKind.GRID_BLACKOUT
    assert report.duration == timedelta(hours=2)


def test_a_clean_stop_or_no_record_is_no_power_loss() -> None:
    assert analyse_restart(record(clean_shutdown=True), LAST + timedelta(hours=1)) is None
    assert analyse_restart(None, LAST) is None


def test_the_file_memory_keeps_the_record_and_replaces_it_whole(tmp_path: Path) -> None:
    memory = FilePowerLossMemory(tmp_path / "cem" / "alive.json")
    assert memory.load() is None
    memory.save(record())
    memory.save(record(at=LAST + timedelta(minutes=1)))
    assert memory.load() == record(at=LAST + timedelta(minutes=1))
    assert sorted(p.name for p in (tmp_path / "cem").iterdir()) == ["alive.json"], "no partial file is left"


def test_an_unreadable_record_is_refused_naming_the_field_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "alive.json"
    path.write_text('{"at": "2021-08-10T14:00:00+00:00", "site_power_w": "lots"}', encoding="utf-8")
    memory = FilePowerLossMemory(path)
    with pytest.raises(PowerLossMemoryError, match="site_power_w"):
        memory.load()
    kept = memory.set_aside(LAST)
    assert kept is not None and "lots" in kept.read_text(encoding="utf-8") and not path.exists()
