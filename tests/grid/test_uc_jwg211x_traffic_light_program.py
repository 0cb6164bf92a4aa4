"""TR §3.4.5.1 traffic light (WGSP2112 "Grid status: Traffic light"): green, yellow, red per grid area.

The state of an area goes to the area's group, retained, so that a CEM connecting later learns it; an
unknown area or group is refused with a clear error.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from flexcem.data import DATA_CLOCK
from flexcem.grid import TrafficLightProgram, UnknownTarget
from flexcem.model import GridState, TrafficLight, ValidationError
from grid_harness import AREA, Neighbourhood, address, hours, run_grid

START = datetime(2021, 7, 15, 16, 0, tzinfo=DATA_CLOCK)


def test_the_area_state_reaches_its_customers_and_a_late_joiner_and_nobody_else() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = TrafficLightProgram(await hood.endpoint("dso"), hood.registry)
        early = await hood.endpoint("cem-1")
        heard: list[tuple[str, GridState]] = []

        def listener(name: str):  # type: ignore[no-untyped-def]
            async def on_light(light: TrafficLight, envelope: object) -> None:
                heard.append((name, light.state))

            return on_light

        early.on(TrafficLight, listener("cem-1"))
        outsider = await hood.endpoint("cem-4")
        outsider.on(TrafficLight, listener("cem-4"))
        await program.set_state(AREA, GridState.YELLOW, valid_until=START + hours(2), reason="peak forecast")
        await hood.settle()
        late = await hood.endpoint("cem-2")
        late.on(TrafficLight, listener("cem-2"))
        await hood.settle()
        assert heard == [("cem-1", GridState.YELLOW), ("cem-2", GridState.YELLOW)]
        assert program.state_of(AREA) is GridState.YELLOW
        assert program.state_of(AREA, START + hours(3)) is GridState.GREEN
        record = program.records()[0]
        assert record.area == AREA and record.expected == tuple(address(n) for n in ("cem-1", "cem-2", "cem-3"))
        await program.set_state(AREA, GridState.RED, to=address("cem-4"))
        assert program.records()[1].acknowledged == {address("cem-4")}

    run_grid(scenario, START)


def test_unknown_areas_and_groups_and_impossible_validity_are_refused() -> None:
    async def scenario(hood: Neighbourhood) -> None:
        program = TrafficLightProgram(await hood.endpoint("dso"), hood.registry)
        with pytest.raises(UnknownTarget, match=r"unknown area 'feeder-8' .known areas: feeder-7"):
            await program.set_state("feeder-8", GridState.RED)
        with pytest.raises(UnknownTarget, match=r"unknown group"):
            await program.set_state(AREA, GridState.RED, to="grid/grp/feeder-8")
        with pytest.raises(UnknownTarget, match=r"not in domain"):
            await program.set_state(AREA, GridState.RED, to="other/all")
        with pytest.raises(ValidationError, match=r"valid_until .* is not after valid_from"):
            await program.set_state(AREA, GridState.RED, valid_until=START - hours(1))
        assert program.records() == [] and hood.messages(TrafficLight) == []

    run_grid(scenario, START)
