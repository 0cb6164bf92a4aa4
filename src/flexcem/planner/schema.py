"""JSON Schemas of the planner's input and output, as published in ``docs/``.

``docs/plan-input.schema.json`` is :meth:`PlanningProblem.model_json_schema` and
``docs/plan-output.schema.json`` is :meth:`Plan.model_json_schema` (serialisation mode). Regenerate them
with ``python -m flexcem.cli.plan_command --write-schemas docs/`` (the planner itself does no I/O).
"""

from __future__ import annotations

import json
from typing import Any

from flexcem.planner.problem import PlanningProblem
from flexcem.planner.result import Plan

__all__ = ["INPUT_SCHEMA_FILE", "OUTPUT_SCHEMA_FILE", "input_schema", "output_schema", "schema_files"]

INPUT_SCHEMA_FILE = "plan-input.schema.json"
OUTPUT_SCHEMA_FILE = "plan-output.schema.json"


def input_schema() -> dict[str, Any]:
    """JSON Schema of a planning problem (what ``flexcem plan`` reads)."""
    return PlanningProblem.model_json_schema(mode="validation")


def output_schema() -> dict[str, Any]:
    """JSON Schema of a plan (what ``flexcem plan`` writes)."""
    return Plan.model_json_schema(mode="serialization")


def schema_files() -> dict[str, str]:
    """File name → text of every published schema (2-space indented JSON with a final newline)."""
    return {
        INPUT_SCHEMA_FILE: json.dumps(input_schema(), indent=2, ensure_ascii=False) + "\n",
        OUTPUT_SCHEMA_FILE: json.dumps(output_schema(), indent=2, ensure_ascii=False) + "\n",
    }
