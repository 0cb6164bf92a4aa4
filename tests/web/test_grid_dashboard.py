"""The grid dashboard (issue 6, item 4) in headless Chromium: served by the app at ``/``, it works offline
(every request that is not to this server is blocked, and none is even attempted), shows who is online and
the active load-management event with its answer, and a click sets an area's traffic light — visible on the
page and in the API. The token is typed in, as a person would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from grid_fixtures import SECRETS, GridDatabase, LiveGrid, auth
from playwright.sync_api import Page, Route, expect, sync_playwright

from flexcem.bus import Endpoint, MemoryBus
from flexcem.grid.server import GridServer
from flexcem.model import AdjustmentAction, Envelope, LoadManagementRequest, LoadManagementResponse, ResponseStatus

CHROMIUM = "/usr/bin/chromium"


async def a_grid_with_an_event(server: GridServer, bus: MemoryBus) -> None:
    """Customers cem-1 (online, answering) and cem-2 (never seen) in area feeder-7, an event, readings."""
    for name in ("cem-1", "cem-2"):
        server.add_customer(name)
        server.add_endpoint(name, name)
    server.add_area("feeder-7", members=["cem-1", "cem-2"])
    cem = Endpoint(await bus.connect("grid/cem-1"), server.clock)

    async def answer(request: LoadManagementRequest, envelope: Envelope) -> None:
        await cem.send(envelope.reply_address, LoadManagementResponse(
            event_id=request.event_id, status=ResponseStatus.ACCEPT, expected_change_w=420.0))

    cem.on(LoadManagementRequest, answer)
    await cem.start()
    now = datetime.now(UTC)
    await server.request_load_management(
        "feeder-7", action=AdjustmentAction.REDUCE, amount_w=500.0, start=now + timedelta(hours=1),
        end=now + timedelta(hours=3), response_deadline=now + timedelta(minutes=30), event_id="lm-dash")
    for meter, endpoint in (("m-1", "cem-1"), ("m-2", "cem-2")):
        server.add_meter(meter, endpoint=endpoint)
    server.add_readings([
        {"meter_id": meter, "at": now - timedelta(minutes=15 * q), "power_w": 800.0 + 100 * q, "import_wh": 1.0,
         "export_wh": 0.0}
        for meter in ("m-1", "m-2") for q in range(8)
    ])
    while len(server.load_management.record("lm-dash").responses) < 1:
        await server.clock.sleep(0.02)


def test_the_dashboard_works_offline_shows_presence_and_the_event_and_sets_the_traffic_light(tmp_path: Path) -> None:
    database = GridDatabase("sqlite", f"sqlite:///{tmp_path / 'grid.db'}")
    with LiveGrid(database, a_grid_with_an_event) as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page()
            attempted_elsewhere: list[str] = []

            def only_this_server(route: Route) -> None:
                host = urlsplit(route.request.url).hostname
                if host in ("127.0.0.1", "localhost"):
                    route.continue_()
                else:
                    attempted_elsewhere.append(route.request.url)
                    route.abort()

            page.route("**/*", only_this_server)
            failures: list[str] = []
            page.on("pageerror", lambda error: failures.append(str(error)))
            page.goto(live.url + "/")
            expect(page.locator("#message")).to_contain_text("token")
            page.fill("#token", SECRETS["operator"])
            page.click("#token-form button[type=submit]")
            expect(page.locator("#whoami")).to_have_text("operator (operator)")
            see_presence_and_event(page)
            row = page.locator('#areas tr[data-area="feeder-7"]')
            expect(row.locator(".light-state")).to_have_text("green")
            row.locator('button[data-state="red"]').click()
            expect(row.locator(".light-state")).to_have_text("red")
            expect(page.locator("#message")).to_contain_text("set to red")
            areas = httpx.get(f"{live.url}/api/areas", headers=auth("viewer")).json()
            assert areas[0]["state"] == "red"
            lights = httpx.get(f"{live.url}/api/signals", headers=auth("viewer"),
                               params={"program": "traffic-light", "active": "true"}).json()["items"]
            assert [s["body"]["state"] for s in lights] == ["red"]
            expect(page.locator('#signals tr[data-program="traffic-light"]')).to_have_count(1)
            expect(page.locator('#signals tr[data-program="traffic-light"]')).to_contain_text("no answer expected")
            page.select_option("#emergency-target", "feeder-7")
            page.select_option("#emergency-level", "severe")
            page.fill("#emergency-minutes", "30")
            page.fill("#emergency-reason", "feeder overload")
            page.click("#emergency-declare")
            expect(page.locator("#message")).to_contain_text("declared for feeder-7")
            expect(page.locator('#signals tr[data-program="emergency"]')).to_contain_text("(severe)")
            emergencies = httpx.get(f"{live.url}/api/signals", headers=auth("viewer"),
                                    params={"program": "emergency"}).json()["items"]
            assert [(e["area"], e["body"]["level"], e["body"]["duration"]) for e in emergencies] == [
                ("feeder-7", "severe", "PT30M")]
            page.screenshot(path="/tmp/grid-dashboard.png", full_page=True)
            assert attempted_elsewhere == [], f"the page reached out: {attempted_elsewhere}"
            assert failures == [], failures
        finally:
            browser.close()


def see_presence_and_event(page: Page) -> None:
    """What an operator sees: who is online, the event with its answer, the load chart."""
    expect(page.locator('#presence tr[data-address="grid/cem-1"] .presence-state')).to_have_text("online")
    expect(page.locator('#presence tr[data-address="grid/cem-2"] .presence-state')).to_have_text("unknown")
    expect(page.locator("#presence-count")).to_have_text("1 of 2 online")
    event = page.locator('#signals tr[data-signal="lm-dash"]')
    expect(event).to_contain_text("reduce 500 W")
    expect(event.locator(".answers-cell")).to_contain_text("1 on-time")
    expect(event.locator(".answers-cell")).to_contain_text("cem-1: LoadManagementResponse accept 420 W")
    expect(page.locator("#load-latest")).to_contain_text("from 2 meter(s)")
    expect(page.locator("#load-chart path, #load-chart polyline").first).to_be_attached()
