"""The published PV + battery example (docs/examples/plan-input-pv-battery.json) is valid input, and
``flexcem plan`` plans it: the battery's stored-energy trajectory and the PV's curtailed energy are in the plan."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from flexcem.cli.plan_command import main
from flexcem.planner.schema import INPUT_SCHEMA_FILE, OUTPUT_SCHEMA_FILE, schema_files

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "plan-input-pv-battery.json"


def test_pv_battery_example_is_planned_by_the_cli(tmp_path: Path) -> None:
    jsonschema.validate(json.loads(EXAMPLE.read_text(encoding="utf-8")), json.loads(schema_files()[INPUT_SCHEMA_FILE]))
    out = tmp_path / "plan.json"
    assert main([str(EXAMPLE), "-o", str(out)]) == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(plan, json.loads(schema_files()[OUTPUT_SCHEMA_FILE]))
    assert plan["violations"] == []
    devices = {device["device_id"]: device for device in plan["devices"]}
    assert set(devices) == {"pv", "battery", "washer"}
    assert devices["battery"]["state_unit"] == "Wh"
    assert len(devices["battery"]["state"]) == plan["slot_count"] + 1
    assert devices["pv"]["curtailed_energy_wh"] == 0.0
