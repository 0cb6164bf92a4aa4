"""``flexcem up`` (issue 6 item 5): a grid server, a CEM and a simulated home in one process on the embedded
default, with both dashboards — a newcomer can click through a day.

The site runs on a scaled clock (an hour of the home per real second) and is looked at the way a person's
browser does: over HTTP on the ports it listens on. A second start on the same state directory comes back with
what the first stored.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from flexcem.model import DeviceState
from flexcem.sim.local_site import LocalSite, LocalSiteOptions

SPEED = 3600.0  # an hour of the home per real second


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def options(directory: Path) -> LocalSiteOptions:
    return LocalSiteOptions(directory=directory, grid_port=free_port(), cem_port=free_port(), speed=SPEED, days=2)


async def look(site: LocalSite) -> dict[str, Any]:
    """What the two dashboards' APIs show."""
    links = site.links
    operator = {"Authorization": f"Bearer {links.viewer_token}"}
    household = {"Authorization": f"Bearer {links.household_token}"}
    async with httpx.AsyncClient(timeout=10.0) as http:
        grid_page = await http.get(links.grid_url)
        cem_page = await http.get(links.cem_url)
        endpoints = (await http.get(links.grid_url + "api/endpoints", headers=operator)).json()
        signals = (await http.get(links.grid_url + "api/signals", headers=operator, params={"limit": 100})).json()
        devices = (await http.get(links.cem_url + "api/devices", headers=household)).json()
        plan = (await http.get(links.cem_url + "api/plan", headers=household)).json()
        prices = (await http.get(links.cem_url + "api/prices", headers=household)).json()
        unauthorised = await http.get(links.cem_url + "api/devices")
    return {
        "pages": (grid_page.status_code, cem_page.status_code, "<html" in grid_page.text.lower()),
        "endpoints": endpoints, "signals": signals, "devices": devices, "plan": plan, "prices": prices,
        "unauthorised": unauthorised.status_code,
    }


def test_flexcem_up_runs_grid_cem_and_home_with_both_dashboards_and_restarts_with_its_state(tmp_path: Path) -> None:
    async def first_run() -> tuple[dict[str, Any], str]:
        site = LocalSite(options(tmp_path), echo=lambda _: None)
        await site.start()
        try:
            started = site.clock.now()
            await site.clock.sleep_until(started + timedelta(hours=7))  # past noon: the day-ahead prices are out
            for _ in range(50):
                seen = await look(site)
                if seen["devices"] and seen["plan"].get("devices"):
                    break
                await asyncio.sleep(0.2)
            seen["washer"] = site.home.appliances["washer"].state  # loaded at 07:30, to be done by 14:25
            return seen, site.home.cem_address
        finally:
            await site.stop()

    seen, cem_address = asyncio.run(first_run())
    assert seen["pages"] == (200, 200, True), "both dashboards are served"
    assert seen["unauthorised"] == 401
    [endpoint] = seen["endpoints"]["items"]
    assert endpoint["address"] == cem_address and endpoint["online"] is True
    tariffs = [s for s in seen["signals"]["items"] if s["kind"] == "PriceEnvironmentProfile"]
    assert len(tariffs) >= 2, "today's prices at start, tomorrow's at noon"
    kinds = sorted(device["kind"] for device in seen["devices"])
    assert kinds == sorted(
        ["base_load", "pv", "battery", "heat_pump", "electric_vehicle", "washing_machine", "dishwasher"]
    )
    assert seen["plan"]["devices"], "the CEM planned the home"
    assert seen["prices"]["slots"], "the CEM holds the published prices"
    assert seen["washer"] is DeviceState.FINISHED, "the washer ran at its assigned start on the scaled clock"

    async def second_run() -> tuple[int, int, int]:
        site = LocalSite(options(tmp_path), echo=lambda _: None)
        await site.start()
        try:
            customers = len(site.grid.customers(limit=10)[0])
            return site.cem.statistics.restored_devices, customers, len(site.grid.signals(limit=100)[0])
        finally:
            await site.stop()

    restored_devices, customers, stored_signals = asyncio.run(second_run())
    assert restored_devices == 7, "the CEM came back with its devices"
    assert customers == 1, "the household is registered once"
    assert stored_signals >= len(tariffs), "the grid kept what it had sent"


def test_flexcem_up_command_starts_prints_both_links_and_stops_after_its_time(tmp_path: Path) -> None:
    grid_port, cem_port = free_port(), free_port()
    done = subprocess.run(
        [sys.executable, "-m", "flexcem.cli.main", "up", "--dir", str(tmp_path / "state"), "--grid-port",
         str(grid_port), "--cem-port", str(cem_port), "--speed", "600", "--for", "3"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"http://127.0.0.1:{grid_port}/" in done.stdout and f"http://127.0.0.1:{cem_port}/" in done.stdout
    assert (tmp_path / "state" / "grid.db").exists() and (tmp_path / "state" / "cem.db").exists()


def test_flexcem_up_refuses_a_speed_that_is_not_positive(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flexcem.cli.main", "up", "--dir", str(tmp_path), "--speed", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "--speed" in done.stderr
