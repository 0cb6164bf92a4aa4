"""The devices' physics: multi-phase programmes, pause, EV taper, and the power log they are metered by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flexcem.devices import (
    ALLOWED,
    DISHWASHER_PROGRAMMES,
    DRYER_PROGRAMMES,
    WASHER_PROGRAMMES,
    EvBattery,
    InvalidTransition,
    PowerLog,
    check_transition,
)
from flexcem.model import ChargingSessionOffer, DeviceState

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "programme",
    [*WASHER_PROGRAMMES.values(), *DISHWASHER_PROGRAMMES.values(), *DRYER_PROGRAMMES.values()],
    ids=lambda programme: programme.name,
)
def test_programmes_have_phases_not_a_flat_block(programme) -> None:  # type: ignore[no-untyped-def]
    for variant in programme.variants:
        powers = [slot.power_w for slot in variant.slots]
        assert len(powers) >= 3 and max(powers) > 4 * min(powers)
        assert all(slot.label for slot in variant.slots)
        assert 0.3 <= variant.energy_wh / 1000 <= 2.0  # kWh per cycle of household appliances
    energies = {round(variant.energy_wh) for variant in programme.variants}
    assert len(energies) == 1, "variants of one programme differ only in how they draw the same energy"


def test_low_power_variants_halve_the_peak() -> None:
    cotton = WASHER_PROGRAMMES["cotton_40"]
    standard, low = cotton.variants
    assert max(s.power_w for s in low.slots) == max(s.power_w for s in standard.slots) / 2
    assert low.duration > standard.duration


@given(
    st.lists(st.tuples(st.integers(0, 600), st.floats(0, 5000)), min_size=1, max_size=40),
    st.integers(0, 700),
    st.integers(0, 700),
)
def test_power_log_energy_is_additive(steps: list[tuple[int, float]], a: int, b: int) -> None:
    log = PowerLog(T0)
    cursor = T0
    for minutes, power in steps:
        cursor += timedelta(minutes=minutes)
        log.set(cursor, power)
    lo, hi = sorted((T0 + timedelta(minutes=a), T0 + timedelta(minutes=b)))
    middle = lo + (hi - lo) / 2
    assert log.energy_wh(lo, hi) == pytest.approx(log.energy_wh(lo, middle) + log.energy_wh(middle, hi), abs=1e-6)


def test_power_log_averages_on_a_slot_grid() -> None:
    log = PowerLog(T0)
    log.set(T0 + timedelta(minutes=5), 1200.0)
    log.set(T0 + timedelta(minutes=20), 0.0)
    averages = log.average_power_w(T0, timedelta(minutes=15), 2)
    assert averages == pytest.approx([800.0, 400.0])
    with pytest.raises(ValueError, match="before the last one"):
        log.set(T0, 5.0)


def test_ev_battery_accepts_less_above_the_taper_point() -> None:
    battery = EvBattery(capacity_wh=60_000, soc=0.9, taper_soc=0.8)
    assert battery.accepts_w(11_000, 1_400) == pytest.approx(1_400 + 0.5 * 9_600)
    battery.soc = 0.5
    assert battery.accepts_w(11_000, 1_400) == 11_000


def test_ev_offer_curve_matches_the_battery() -> None:
    battery = EvBattery(capacity_wh=60_000, soc=0.5, charge_efficiency=0.9, taper_soc=0.8)
    curve = battery.power_curve(11_000, 1_400)
    knee, full = curve[1].energy_wh, curve[2].energy_wh
    assert knee == pytest.approx(0.3 * 60_000 / 0.9) and full == pytest.approx(0.5 * 60_000 / 0.9)
    offer = ChargingSessionOffer(
        offer_id="s",
        device_id="ev",
        earliest_start=T0,
        latest_start=T0,
        latest_end=T0 + timedelta(days=1),
        energy_wh=full * 0.9,
        max_power_w=11_000,
        min_power_w=1_400,
        power_curve=curve,
    )
    midway = (knee + full) / 2
    probe = EvBattery(capacity_wh=60_000, soc=0.5, charge_efficiency=0.9, taper_soc=0.8)
    probe.charge(midway)
    assert offer.limit_at(midway) == pytest.approx(probe.accepts_w(11_000, 1_400))


def test_state_machine_allows_only_the_transitions_of_uc_home_12() -> None:
    check_transition(DeviceState.NEGOTIATING, DeviceState.WAITING_FOR_START)
    check_transition(DeviceState.WAITING_FOR_START, DeviceState.RUNNING)
    check_transition(DeviceState.RUNNING, DeviceState.PAUSED)
    with pytest.raises(InvalidTransition, match="from finished to running"):
        check_transition(DeviceState.FINISHED, DeviceState.RUNNING)
    with pytest.raises(InvalidTransition):
        check_transition(DeviceState.RUNNING, DeviceState.WAITING_FOR_START)  # no start-time shift after start
    assert set(ALLOWED) == set(DeviceState)
