"""Story JWG4 — island operation and safe reconnection (user-stories.md; the states are inferred by the digest).

"The network operator or own controls may isolate the premises, which then run on own generation and storage …
Reconnection must be safe and coordinated via a synchronizing unit, which may be part of the CEM." Test: island
states connected → islanded → synchronizing → reconnected; while islanded the plan neither imports nor
exports; an out-of-order transition is refused naming the state.
"""

from __future__ import annotations

import numpy as np
import pytest

from flexcem.cem import CemSettings
from flexcem.cem.island import ConnectionState
from flexcem.model.home_parameters import PvParameters
from flexcem.planner import Plan
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import BatteryAgent, DataForecasts, PvAgent, agent, base_load

START = local(2021, 7, 6, 8)
PV_5KW = PvParameters(nominal_power_w=5_000.0, tilt_deg=25.0, azimuth_deg=180.0, inverter_ac_max_w=4_600.0)
SETTINGS = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",))


async def home_with_pv_and_battery(home: Home) -> None:
    await base_load(home)
    await agent(home, lambda e, c, d: PvAgent(e, c, d, PV_5KW), "pv")
    await agent(home, BatteryAgent, "battery")
    await settle(home)


def limit_violations(plan: Plan, hours: int) -> int:
    """Site import/export limit violations in the plan's first ``hours``."""
    end = plan.start + hours * (plan.slot_duration * 4)
    return sum(
        1
        for v in plan.violations
        if v.constraint in ("site_import_limit", "site_export_limit")
        and v.slot_start is not None
        and v.slot_start < end
    )


def flows(plan: Plan, hours: int) -> tuple[float, float]:
    """The plan's largest import and export [W] over its first ``hours``."""
    site = np.array(plan.site_power_w[: hours * 4])
    return float(np.maximum(site, 0.0).max()), float(np.maximum(-site, 0.0).max())


def test_islanded_premises_run_on_own_generation_and_storage_until_they_are_resynchronized() -> None:
    async def scenario(home: Home) -> list[tuple[ConnectionState, tuple[float, float], int]]:
        await home_with_pv_and_battery(home)
        seen = []
        island = home.cem.island
        assert home.cem.plan is not None
        seen.append((island.state, flows(home.cem.plan, 6), limit_violations(home.cem.plan, 6)))
        island.isolated(home.clock.now())
        await settle(home)
        assert home.cem.plan is not None
        seen.append((island.state, flows(home.cem.plan, 6), limit_violations(home.cem.plan, 6)))
        island.grid_back(home.clock.now())
        seen.append((island.state, flows(home.cem.plan, 6), 0))
        island.synchronized(home.clock.now(), in_phase=True)
        await settle(home)
        seen.append((island.state, flows(home.cem.plan, 6), 0))
        return seen

    seen = run_home(scenario, start=START, settings=SETTINGS, forecasts=DataForecasts())
    states = [state for state, _, _ in seen]
    assert states == [
        ConnectionState.CONNECTED,
        ConnectionState.ISLANDED,
        ConnectionState.SYNCHRONIZING,
        ConnectionState.RECONNECTED,
    ]
    connected_import, connected_export = seen[0][1]
    assert connected_export > 500.0 or connected_import > 500.0, "the connected home uses the grid"
    islanded_import, islanded_export = seen[1][1]
    assert islanded_import <= 1.0 and islanded_export <= 1.0, seen[1]
    assert seen[1][2] == 0  # a 5 kW roof and a 10 kWh battery carry the summer day (the night is another matter)
    assert max(seen[3][1]) > 500.0  # reconnected: the grid is used again


def test_a_failed_synchronization_stays_islanded_and_wrong_transitions_are_refused() -> None:
    async def scenario(home: Home) -> ConnectionState:
        await home_with_pv_and_battery(home)
        island = home.cem.island
        with pytest.raises(ValueError, match="state: cannot go from connected to synchronizing"):
            island.grid_back(home.clock.now())
        island.isolated(home.clock.now())
        island.grid_back(home.clock.now())
        island.synchronized(home.clock.now(), in_phase=False)
        with pytest.raises(ValueError, match="state: cannot go from islanded to reconnected"):
            island.synchronized(home.clock.now(), in_phase=True)
        return island.state

    assert run_home(scenario, start=START, settings=SETTINGS, forecasts=DataForecasts()) is ConnectionState.ISLANDED
