"""The JSON Schema (draft 2020-12) of test-case files (``stacks/<stack>.tests.yaml``).
Local runs: the test-case file's contract, for `hookctl schema tests` and schema/tests.schema.json.

Built from the same table the case loader checks against (``cases.EXPECTATIONS``); the stack
file's schema is the engine's (``engine.schema``), and ``render`` serves both to the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine.schema import DRAFT, TESTS_ID, dump, stack_schema
from . import cases as testcases


def tests_schema() -> dict[str, Any]:
    capture = {
        "type": "object",
        "properties": {"capture": {"type": "string"}, "path": {"type": "string"}},
        "required": ["capture"],
        "additionalProperties": False,
    }
    expectation = {
        "type": "object",
        "propertyNames": {"enum": sorted(testcases.EXPECTATIONS)},
        "minProperties": 1,
        "maxProperties": 1,
    }
    case = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "action": {"type": "string"},
            "function": {"type": "string"},
            "description": {"type": "string"},
            "environments": {"type": "array", "items": {"type": "string"}},
            "skip": {"type": ["boolean", "string"]},
            "trigger_source": {"type": "string"},
            "pool": {"type": "string"},
            "event": {"type": "object"},
            "event_file": {"type": "string"},
            "replace_event": {"type": "boolean"},
            "unset": {"type": "array", "items": {"type": "string"}},
            "secrets": {"type": "object", "additionalProperties": {"oneOf": [{"type": "string"}, capture]}},
            "environment": {"type": "object", "additionalProperties": {"oneOf": [{"type": "string"}, capture]}},
            "vars": {"type": "object"},
            "cache": {"type": "object"},
            "captures": {"type": "object"},
            "timeout_ms": {"type": "integer", "minimum": 1},
            "expect": {"type": "array", "items": expectation},
        },
        "required": ["name"],
        "additionalProperties": False,
        "oneOf": [
            {"required": ["action"], "not": {"required": ["function"]}},
            {"required": ["function"], "not": {"required": ["action"]}},
        ],
    }
    return {
        "$schema": DRAFT,
        "$id": TESTS_ID,
        "title": "hookctl test cases (stacks/<stack>.tests.yaml)",
        "type": "object",
        "properties": {"cases": {"type": "array", "items": case}},
        "required": ["cases"],
        "additionalProperties": False,
    }


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {"stack": stack_schema, "tests": tests_schema}


def render(kind: str) -> str:
    """``stack`` or ``tests``: the schema as checked in under schema/."""
    return dump(SCHEMAS[kind]())
