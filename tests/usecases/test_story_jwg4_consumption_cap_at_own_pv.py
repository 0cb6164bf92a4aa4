"""Story JWG4 — Power limitation PV (user-stories.md).

"The user caps consumption at local production (PV). Options: time of day, exempt devices … A starting device
sends its load profile. If the cap would be exceeded, the CEM may warn the device and a display. The user may
postpone or overrule." Tests: predicted load > PV in the window → warning; exempt device or outside the window
→ none; override runs; postpone reschedules.
"""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from flexcem.cem import CemSettings, HomeSettings
from flexcem.cem.consumption_cap import CapRule, CapWarning
from flexcem.devices import WashingMachine
from flexcem.model import ConsumptionCapWarning, SlotShift, StartTimeAssignment
from flexcem.model.home_parameters import PvParameters
from home_harness import DOMAIN, ZONE, Home, local, run_home, settle
from whole_home import DataForecasts, PvAgent, agent, base_load

START = local(2021, 7, 6, 9)
PV_4KW = PvParameters(nominal_power_w=4_000.0, tilt_deg=25.0, azimuth_deg=180.0, inverter_ac_max_w=3_800.0)
MIDDAY = CapRule(start=time(10), end=time(16))


def settings(rule: CapRule | None = MIDDAY) -> CemSettings:
    return CemSettings(
        tariff_sources=(f"{DOMAIN}/retailer",), timezone=str(ZONE), home=HomeSettings(consumption_cap=rule)
    )


async def home_with_washer(home: Home) -> WashingMachine:
    await base_load(home)
    await agent(home, lambda e, c, d: PvAgent(e, c, d, PV_4KW), "pv")
    washer = await home.washer()
    washer.prepare("cotton_60", latest_end=local(2021, 7, 6, 21))  # its heating outgrows the roof at midday
    await washer.activate()
    await settle(home)
    return washer


def run(rule: CapRule | None) -> tuple[list[CapWarning], list[str]]:
    async def scenario(home: Home) -> tuple[list[CapWarning], list[str]]:
        washer = await home_with_washer(home)
        return list(home.cem.consumption_cap.warnings), [notice.text for notice in washer.notices]

    return run_home(scenario, start=START, settings=settings(rule), forecasts=DataForecasts())


def test_a_run_beyond_own_generation_in_the_window_is_warned_to_the_device_and_the_display() -> None:
    warnings, notices = run(MIDDAY)
    assert len(warnings) == 1 and warnings[0].device_id == "washer"
    assert warnings[0].excess_w > 0.0 and warnings[0].excess_wh > 0.0
    assert warnings[0].window == (local(2021, 7, 6, 10), local(2021, 7, 6, 16))
    assert any(text.startswith("warning: the run would take") for text in notices)


def test_an_exempt_device_or_a_run_outside_the_window_is_not_warned() -> None:
    exempt, notices = run(MIDDAY.model_copy(update={"exempt": ("washer",)}))
    assert exempt == [] and not any(text.startswith("warning") for text in notices)
    assert run(CapRule(start=time(5), end=time(8)))[0] == []


def test_an_overruled_run_goes_ahead_as_planned() -> None:
    async def scenario(home: Home) -> tuple[object, object, int]:
        await home_with_washer(home)
        planned = home.cem.plan.device("washer").start if home.cem.plan else None
        home.cem.consumption_cap.overrule("washer")
        home.cem.request_replan("the user looked again")
        await settle(home)
        again = home.cem.plan.device("washer").start if home.cem.plan else None
        return planned, again, len(home.messages(ConsumptionCapWarning))

    planned, again, warned = run_home(scenario, start=START, settings=settings(), forecasts=DataForecasts())
    assert planned is not None and again == planned
    assert warned == 1  # no second warning after the user's decision


def test_a_postponed_run_is_rescheduled_after_the_window() -> None:
    async def scenario(home: Home) -> tuple[list[StartTimeAssignment], list[SlotShift]]:
        await home_with_washer(home)
        home.cem.consumption_cap.postpone("washer")
        await settle(home)
        return [e.body for e in home.messages(StartTimeAssignment)], [e.body for e in home.messages(SlotShift)]

    assignments, shifts = run_home(scenario, start=START, settings=settings(), forecasts=DataForecasts())
    assert assignments[0].start is not None and assignments[0].start < local(2021, 7, 6, 16)
    assert shifts, "the postponed run was not moved (JWG1103 slot shift)"
    assert shifts[-1].start is not None and shifts[-1].start >= local(2021, 7, 6, 16)


def test_bad_cap_or_decision_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="end"):
        CapRule(start=time(16), end=time(10))

    async def scenario(home: Home) -> None:
        await home_with_washer(home)
        with pytest.raises(ValueError, match="device_id 'dishwasher'"):
            home.cem.consumption_cap.postpone("dishwasher")

    run_home(scenario, start=START, settings=settings(), forecasts=DataForecasts())
