"""JWG3102 — power-loss notification and analysis after the restart (uc-market §6).

"After the event the CEM gets the pre-event alert from SmartInfo and computes the duration and type (grid
blackout vs circuit-breaker trip). It sends the user a report: type, home and appliance consumption before the
loss, alert." Acceptance 3–4: a pre-event overload alert means a breaker trip, otherwise a grid blackout;
duration = restore − loss; the report gives the appliances' consumption before the loss.

The CEM runs with its alive record in a file, hears the meter and a washing machine, and then the power goes:
the CEM stops without a word (nothing more is written). Forty minutes later a new CEM starts on the same file.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from flexcem.bus import Endpoint
from flexcem.cem import CustomerEnergyManager
from flexcem.cem.power_loss import FilePowerLossMemory, PowerLossKind, PowerLossReport
from flexcem.model import DeviceState, DeviceStatus, MeterReading, OverloadWarning
from grid_side import grid_settings
from home_harness import Home, local, raw_device, run_home, settle

START = local(2021, 8, 10, 18)
OUTAGE = timedelta(minutes=40)


def run(*, overload: bool, clean_stop: bool = False) -> tuple[list[PowerLossReport], list[str]]:
    path = Path(tempfile.mkdtemp(prefix="flexcem-alive-")) / "alive.json"
    settings = grid_settings()

    async def scenario(home: Home) -> tuple[list[PowerLossReport], list[str]]:
        home.cem.grid_side.power_loss.memory = FilePowerLossMemory(path)
        meter = await home.endpoint("meter")
        await meter.start()
        washer = await raw_device(home, "washer")
        now = home.clock.now()
        await washer.deliver(
            home.cem_address, DeviceStatus(device_id="washer", state=DeviceState.RUNNING, at=now, power_w=2100.0)
        )
        power = 7300.0 if overload else 3400.0
        await meter.deliver(
            home.cem_address,
            MeterReading(meter_id="meter", at=now, power_w=power, import_energy_wh=1.0e6, contracted_power_w=6000.0),
        )
        if overload:  # SmartInfo's overload warning notification
            await meter.deliver(
                home.cem_address,
                OverloadWarning(warning_id="ow-1", origin_id="meter", at=now, power_w=power, limit_w=6000.0),
            )
        await settle(home, 150.0)
        old = home.cem
        if clean_stop:
            await old.stop()
        else:  # the power goes: nothing more is written
            old.grid_side.power_loss.memory = None
            await old.stop()
        await home.clock.sleep(OUTAGE.total_seconds())
        restarted = CustomerEnergyManager(Endpoint(await home.backend.connect("cem"), home.clock), settings)
        restarted.grid_side.power_loss.memory = FilePowerLossMemory(path)
        home.cem = restarted  # the harness stops this one
        await restarted.start()
        await settle(home)
        await washer.close()
        await meter.close()
        return restarted.grid_side.power_loss.reports, [
            a.text for a in restarted.grid_side.alerts.of_kind("power_loss")
        ]

    return run_home(scenario, start=START, settings=settings)


def test_an_overload_warning_before_the_loss_is_reported_as_a_breaker_trip_with_what_ran() -> None:
    reports, shown = run(overload=True)
    assert len(reports) == 1 and len(shown) == 1
    report = reports[0]
    assert report.kind is PowerLossKind.BREAKER_TRIP
    assert OUTAGE <= report.duration <= OUTAGE + timedelta(minutes=1), "late by at most one recording interval"
    assert report.site_power_w == 7300.0 and report.device_power_w == {"washer": 2100.0}
    assert "breaker trip" in shown[0] and "washer 2100 W" in shown[0] and "7300 W" in shown[0]


def test_a_loss_without_an_overload_warning_is_a_grid_blackout() -> None:
    reports, shown = run(overload=False)
    assert [r.kind for r in reports] == [PowerLossKind.GRID_BLACKOUT]
    assert reports[0].site_power_w == 3400.0 and "grid blackout" in shown[0]


def test_a_stop_on_purpose_is_no_power_loss() -> None:
    reports, shown = run(overload=True, clean_stop=True)
    assert reports == [] and shown == []


def test_an_unreadable_record_is_kept_aside_journalled_and_recording_goes_on() -> None:
    path = Path(tempfile.mkdtemp(prefix="flexcem-alive-")) / "alive.json"
    path.write_text('{"at": "yesterday"}', encoding="utf-8")

    async def scenario(home: Home) -> tuple[list[str], list[str], bool]:
        home.cem.grid_side.power_loss.memory = FilePowerLossMemory(path)
        await settle(home, 90.0)
        notes = [entry.text for entry in home.cem.journal if "power-loss analysis impossible" in entry.text]
        kept = sorted(p.read_text(encoding="utf-8") for p in path.parent.glob("alive.json.unreadable-*"))
        return notes, kept, FilePowerLossMemory(path).load() is not None

    notes, kept, recording = run_home(scenario, start=START, settings=grid_settings())
    assert len(notes) == 1 and "alive.json: at:" in notes[0], notes
    assert kept == ['{"at": "yesterday"}'], "the unreadable record is kept, not lost"
    assert recording, "a new alive record is written"
