"""The published JSON Schemas are what the code generates, and every field is documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from flexcem.planner import PlanningProblem, solve
from flexcem.planner.schema import INPUT_SCHEMA_FILE, OUTPUT_SCHEMA_FILE, schema_files

DOCS = Path(__file__).resolve().parents[2] / "docs"
REGENERATE = "python -m flexcem.cli.plan_command --write-schemas docs/"

# Fields of flexcem.model classes reused by the planner that the model does not describe (yet).
MODEL_FIELDS_WITHOUT_DESCRIPTION: set[tuple[str, str]] = set()


@pytest.mark.parametrize("name", [INPUT_SCHEMA_FILE, OUTPUT_SCHEMA_FILE])
def test_schema_file_is_up_to_date(name: str) -> None:
    published = (DOCS / name).read_text(encoding="utf-8")
    assert json.loads(published) == json.loads(schema_files()[name]), f"outdated; run {REGENERATE}"
    assert published == schema_files()[name], f"formatting differs; run {REGENERATE}"


def _undocumented(schema: dict[str, Any]) -> set[tuple[str, str]]:
    missing = set()
    definitions = dict(schema.get("$defs", {}))
    definitions[schema["title"]] = schema
    for name, definition in definitions.items():
        for field, spec in definition.get("properties", {}).items():
            if not spec.get("description"):
                missing.add((name, field))
    return missing


@pytest.mark.parametrize("name", [INPUT_SCHEMA_FILE, OUTPUT_SCHEMA_FILE])
def test_every_field_has_a_description(name: str) -> None:
    schema = json.loads(schema_files()[name])
    assert _undocumented(schema) <= MODEL_FIELDS_WITHOUT_DESCRIPTION


def test_example_input_is_valid_and_its_plan_matches_the_output_schema() -> None:
    example = json.loads((DOCS / "examples" / "plan-input.json").read_text(encoding="utf-8"))
    jsonschema.validate(example, json.loads(schema_files()[INPUT_SCHEMA_FILE]))
    problem = PlanningProblem.model_validate(example)
    plan = solve(problem)
    jsonschema.validate(json.loads(plan.model_dump_json()), json.loads(schema_files()[OUTPUT_SCHEMA_FILE]))
    assert plan.violations == ()
    assert {device.device_id for device in plan.devices} == {"washer", "dishwasher", "ev"}
