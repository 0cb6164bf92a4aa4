"""The household dashboard's operating conditions (JWG1110) in headless Chromium: a person sets a water heater's
set point, level and desired start and finish on the page, sees them shown and the new proposal in the plan panel,
and a value the API refuses is shown with the field it names (the stored conditions stay).

The live home of :mod:`cem_fixtures` (real time, the browser reaching only 127.0.0.1) gets a water heater and an
air conditioner once it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from cem_fixtures import TOKEN, LiveHome, settings
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK, WaterHeaterModel
from home_harness import local
from whole_home import AirConditionerAgent, WaterHeaterAgent, agent

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEATER = "/api/devices/waterheater/conditions"
WATER_FROM, WATER_BY = local(2021, 7, 7, 5), local(2021, 7, 7, 7)
"""The next morning's window in the home's (and the browser's) zone, America/Chicago."""


def water_heater(endpoint: Any, cem: str, data: Any) -> WaterHeaterAgent:
    """Tank at 45 °C; its own control set low (30 %)."""
    model = WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, 45.0), set_point_c=90.0, level_percent=30.0)
    return WaterHeaterAgent(endpoint, cem, data, model)


def air_conditioner(endpoint: Any, cem: str, data: Any) -> AirConditionerAgent:
    """Switched off, room at 26 °C."""
    return AirConditionerAgent(
        endpoint, cem, data, AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 26.0), on=False)
    )


@pytest.fixture(scope="module")
def live() -> Iterator[LiveHome]:
    with LiveHome(settings(commit_required=True), token=TOKEN) as home:
        assert home.home is not None
        heater = home.call(agent(home.home, water_heater, "waterheater"))
        aircon = home.call(agent(home.home, air_conditioner, "aircon"))
        try:
            yield home
        finally:
            home.call(heater.power_off())
            home.call(aircon.power_off())


@pytest.fixture
def page(live: LiveHome) -> Iterator[tuple[Page, list[str]]]:
    with sync_playwright() as p:
        browser: Browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        context = browser.new_context(timezone_id="America/Chicago", viewport={"width": 1280, "height": 1400})
        outside: list[str] = []

        def gate(route: Route) -> None:
            if urlparse(route.request.url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", gate)
        view = context.new_page()
        view.goto(live.url + "/")
        expect(view.locator("#token-input")).to_be_visible(timeout=15_000)
        view.locator("#token-input").fill(TOKEN)
        view.get_by_role("button", name="Open").click()
        expect(view.locator("body[data-loaded=true]")).to_have_count(1, timeout=15_000)
        yield view, outside
        browser.close()


def test_conditions_set_on_the_page_are_shown_and_proposed_and_a_refused_value_names_its_field(
    page: tuple[Page, list[str]], live: LiveHome
) -> None:
    view, outside = page
    heater = view.locator("form.conditions[data-device=waterheater]")
    aircon = view.locator("form.conditions[data-device=aircon]")
    expect(heater.locator(".current")).to_have_text("Now: none", timeout=15_000)
    expect(aircon.locator(".current")).to_have_text("Now: none")
    expect(aircon.get_by_label("Mode")).to_have_value("cool")  # each kind gets its own settings
    assert heater.get_by_label("Mode").count() == 0
    before = httpx.get(live.url + "/api/proposal", headers=AUTH).json()["proposal_id"]

    heater.get_by_label("Set point [°C]").fill("90")
    heater.get_by_label("Level [%]").fill("50")
    heater.get_by_label("Start after").fill("2021-07-07T05:00")
    heater.get_by_label("Finish by").fill("2021-07-07T07:00")
    heater.get_by_role("button", name="Save conditions").click()
    expect(heater.locator(".message")).to_contain_text("saved", timeout=15_000)
    expect(heater.locator(".current")).to_contain_text("90 °C, level 50 %")
    expect(heater.locator(".current")).to_contain_text("finish by")
    stored = httpx.get(live.url + HEATER, headers=AUTH).json()
    assert stored["settings"]["set_point_c"] == 90.0 and stored["settings"]["level_percent"] == 50.0
    kept = (datetime.fromisoformat(stored["desired_start"]), datetime.fromisoformat(stored["desired_finish"]))
    assert kept == (WATER_FROM, WATER_BY), kept  # the browser's local times, sent with their offset
    # the plan panel shows the proposal made for the new conditions
    expect(view.locator("#proposal-text")).not_to_contain_text(f"Proposal {before} ", timeout=20_000)
    expect(view.locator("#proposal-text")).to_contain_text("waits for your commit")

    heater.get_by_label("Set point [°C]").fill("120")
    heater.get_by_role("button", name="Save conditions").click()
    expect(heater.locator(".message")).to_contain_text("Not saved: settings.set_point_c", timeout=15_000)
    expect(heater.get_by_label("Set point [°C]")).to_have_attribute("aria-invalid", "true")
    assert httpx.get(live.url + HEATER, headers=AUTH).json() == stored, "a refused save changes nothing"
    expect(heater.locator(".current")).to_contain_text("90 °C")
    assert outside == [], f"the page tried to reach {outside}"
