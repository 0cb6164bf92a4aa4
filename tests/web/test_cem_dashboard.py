"""The CEM dashboard (issue 6, item 4) in headless Chromium: what a person sees and clicks.

The home runs in real time (shifted to the data's July day) with the app served by uvicorn in its loop; the
browser may reach only 127.0.0.1 — every other request is blocked and recorded, and none may be attempted.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from cem_fixtures import TOKEN, LiveHome, settings
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from flexcem.model import DeviceState

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def live() -> Iterator[LiveHome]:
    with LiveHome(settings(commit_required=True), token=TOKEN) as home:
        yield home


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live: LiveHome) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(timezone_id="America/Chicago", viewport={"width": 1280, "height": 1000})
    outside: list[str] = []

    def gate(route: Route) -> None:
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    page.goto(live.url + "/")
    expect(page.locator("#token-input")).to_be_visible(timeout=15_000)  # the API wants the household's token
    assert page.locator("#devices tbody tr").count() == 0
    page.locator("#token-input").fill(TOKEN)
    page.get_by_role("button", name="Open").click()
    expect(page.locator("body[data-loaded=true]")).to_have_count(1, timeout=15_000)
    yield page, outside
    context.close()


def test_the_page_loads_offline_and_shows_the_devices_and_the_plan_against_prices_and_pv(
    page: tuple[Page, list[str]],
) -> None:
    view, outside = page
    for device in ("washer", "dishwasher", "battery", "pv"):
        expect(view.locator(f"#devices tr[data-device={device}]")).to_have_count(1)
    # the washer's start waits for the user's commit
    expect(view.locator("#devices tr[data-device=washer] .state")).to_have_text("negotiating")
    chart = view.locator("#plan-chart")
    assert chart.locator("path.chart-series").count() >= 4  # site, jobs, PV forecast, price
    legend = " ".join(chart.locator(".chart-legend-text").all_text_contents())
    for name in ("site", "washer", "PV forecast", "price"):
        assert name in legend, legend
    expect(view.locator("#events li").first).to_be_visible()
    expect(view.locator("#plan-cost")).to_contain_text("USD")
    assert outside == [], f"the page tried to reach {outside}"


def test_clicking_commit_commits_the_proposal(page: tuple[Page, list[str]], live: LiveHome) -> None:
    view, outside = page
    proposal_id = httpx.get(live.url + "/api/proposal", headers=AUTH).json()["proposal_id"]
    view.locator("#commit-button").click()
    expect(view.locator("#proposal-message")).to_contain_text(f"Committed {proposal_id}", timeout=15_000)
    expect(view.locator("#commit-button")).to_be_hidden()
    answer = httpx.get(live.url + "/api/proposal", headers=AUTH).json()
    assert answer["proposal_id"] == proposal_id and answer["committed_at"] is not None
    assert live.home is not None and live.home.cem.proposal is not None
    assert live.home.cem.proposal.committed_at is not None
    assert outside == []


def test_clicking_start_now_starts_the_device(page: tuple[Page, list[str]], live: LiveHome) -> None:
    view, outside = page
    row = view.locator("#devices tr[data-device=dishwasher]")
    row.get_by_role("button", name="Start now").click()
    expect(view.locator("#device-message")).to_contain_text("dishwasher started now", timeout=15_000)
    expect(row.locator(".state")).to_have_text("running", timeout=15_000)
    assert live.devices is not None and live.devices.dishwasher.state is DeviceState.RUNNING
    assert outside == []


def test_changing_the_objective_on_the_page_changes_the_preferences(
    page: tuple[Page, list[str]], live: LiveHome
) -> None:
    view, _ = page
    view.locator("#objective").select_option("co2")
    view.get_by_role("button", name="Apply").click()
    expect(view.locator("#objective-message")).to_contain_text("co2", timeout=15_000)
    assert httpx.get(live.url + "/api/preferences", headers=AUTH).json()["objective"] == "co2"
