"""The JSON Schema (draft 2020-12) of stack files, for editors and linters.
Engine: the stack file's contract, for `hookctl schema` and schema/ (test-case files: local/schema.py).

Pure data built from the same tables the loaders check against (``catalog``, the loaders' key
lists), so the schema cannot drift from hookctl: ``hookctl schema`` prints them and the copies
checked in under ``schema/`` are compared with these in the test suite. An editor with the YAML
language server completes and checks a stack through the modeline at the top of the example
stacks (``# yaml-language-server: $schema=...``).

The schema covers structure (keys, types, names, enums, ranges); what needs the whole file or the
environment (an undeclared pool, a binding of another trigger's action, inheritance cycles,
``${VAR}`` values) is left to ``hookctl validate``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import catalog, load

DRAFT = "https://json-schema.org/draft/2020-12/schema"
STACK_ID = "urn:hookctl:schema:stack"
TESTS_ID = "urn:hookctl:schema:tests"

_STRING_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number"]}}
_VARS = {"type": ["object", "null"], "description": "Template variables (stack, then environment, then entry)."}


def _ecma(regex: re.Pattern[str]) -> str:
    """A loader regex as a JSON Schema (ECMA-262) pattern: Python's end anchor ``\\Z`` is ``$`` there."""
    return regex.pattern.replace("\\Z", "$")


def _name(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": _ecma(load.NAME_RE), "description": description}


def _handler_source() -> list[dict[str, Any]]:
    return [
        {"required": ["template"], "not": {"required": ["code"]}},
        {"required": ["code"], "not": {"required": ["template"]}},
    ]


def _secret_source() -> dict[str, Any]:
    one = [{"required": [source]} for source in load.SECRET_SOURCES]
    return {
        "type": "object",
        "description": "Where the value comes from; never the value itself.",
        "properties": {
            "env": {"type": "string", "pattern": r"^[A-Za-z_{][A-Za-z0-9_{}]*$"},
            "file": {"type": "string"},
            "secretsmanager": {"type": "string"},
            "ssm": {"type": "string"},
            "key": {"type": "string", "description": "A field of a JSON secret (secretsmanager only)."},
        },
        "additionalProperties": False,
        "oneOf": one,
    }


def _secrets() -> dict[str, Any]:
    return {
        "type": ["object", "null"],
        "propertyNames": {"pattern": _ecma(load.SECRET_NAME_RE)},
        "additionalProperties": {"$ref": "#/$defs/secret"},
    }


def stack_schema() -> dict[str, Any]:
    auth0_triggers = sorted(catalog.AUTH0_TRIGGERS - catalog.AUTH0_ENTITY_BOUND_TRIGGERS)
    cognito_triggers = sorted(catalog.COGNITO_TRIGGERS)
    versions = sorted({v for allowed in catalog.COGNITO_VERSIONED_TRIGGERS.values() for v in allowed})
    pool_trigger = {
        "type": "object",
        "properties": {
            "pool": {"type": "string", "description": "A pool name of the environment's cognito.pools."},
            "trigger": {"enum": cognito_triggers},
            "lambda_version": {"enum": versions},
            "kms_key_id": {"type": "string"},
        },
        "required": ["pool", "trigger"],
        "additionalProperties": False,
    }
    action = {
        "type": "object",
        "properties": {
            "trigger": {"enum": auth0_triggers},
            "template": {"type": "string", "description": "A Jinja template (.js.j2) on the template search path."},
            "code": {"type": "string", "description": "A plain handler file, relative to the stack file."},
            "runtime": {"enum": sorted({*catalog.AUTH0_RUNTIMES, *catalog.AUTH0_API_RUNTIME.values()})},
            "vars": _VARS,
            "dependencies": {
                "type": ["object", "null"],
                "maxProperties": catalog.AUTH0_MAX_DEPENDENCIES,
                "additionalProperties": {"type": "string", "pattern": _ecma(load.NPM_VERSION_RE)},
            },
            "secrets": {**_secrets(), "maxProperties": catalog.AUTH0_MAX_SECRETS},
            "description": {"type": "string"},
        },
        "required": ["trigger"],
        "additionalProperties": False,
        "oneOf": _handler_source(),
    }
    function = {
        "type": "object",
        "properties": {
            "template": {"type": "string", "description": "A Jinja template (.mjs.j2, .py.j2)."},
            "code": {"type": "string", "description": "A plain handler file, relative to the stack file."},
            "function_name": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9_-]{1,64}$",
                "description": "The Lambda function's name, if not <stack>-<environment>-<name>.",
            },
            "runtime": {"enum": sorted(catalog.LAMBDA_RUNTIMES), "description": "Default: from the extension."},
            "handler": {"type": "string", "pattern": r"^[A-Za-z_][\w/-]*\.[A-Za-z_]\w*$"},
            "trigger": {"enum": cognito_triggers, "description": "This trigger on every pool of the environment."},
            "triggers": {"type": "array", "items": pool_trigger},
            "vars": _VARS,
            "dependencies": {"type": ["object", "null"], "additionalProperties": {"type": ["string", "number"]}},
            "environment": {
                "type": ["object", "null"],
                "propertyNames": {"pattern": r"^(?!AWS_)[A-Za-z][A-Za-z0-9_]*$"},
                "additionalProperties": {"type": ["string", "number"]},
            },
            "secrets": _secrets(),
            "role": {"type": "string", "pattern": "^arn:"},
            "timeout": {"type": "integer", "minimum": 1, "maximum": 900},
            "memory": {"type": "integer", "minimum": 128, "maximum": 10240},
            "description": {"type": "string"},
        },
        "additionalProperties": False,
        "allOf": [
            {"oneOf": _handler_source()},
            {"oneOf": [{"required": ["trigger"], "not": {"required": ["triggers"]}}, {"required": ["triggers"]}]},
            {"not": {"required": ["trigger", "triggers"]}},
        ],
    }
    environment = {
        "type": "object",
        "properties": {
            "inherit": {"type": "string", "description": "Start from another environment, then override."},
            "vars": _VARS,
            "auth0": {
                "type": ["object", "null"],
                "properties": {"domain": {"type": "string", "description": "Default: $AUTH0_DOMAIN."}},
                "additionalProperties": False,
            },
            "cognito": {
                "type": ["object", "null"],
                "properties": {
                    "region": {"type": "string"},
                    "pools": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }
    return {
        "$schema": DRAFT,
        "$id": STACK_ID,
        "title": "hookctl stack file",
        "type": "object",
        "properties": {
            "stack": _name("The stack's name: letters, digits, '.', '_' and '-'."),
            "description": {"type": "string"},
            "prune": {"type": "boolean"},
            "template_path": {
                "type": ["string", "array"],
                "items": {"type": "string"},
                "description": "Folders searched for templates before the defaults.",
            },
            "vars": _VARS,
            "environments": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": _ecma(load.NAME_RE)},
                "additionalProperties": {"$ref": "#/$defs/environment"},
            },
            "auth0": {
                "type": ["object", "null"],
                "properties": {
                    "actions": {
                        "type": ["object", "null"],
                        "propertyNames": {"pattern": _ecma(load.NAME_RE)},
                        "additionalProperties": {"$ref": "#/$defs/action"},
                    },
                    "triggers": {
                        "type": ["object", "null"],
                        "propertyNames": {"enum": auth0_triggers},
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "bindings": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "maxItems": catalog.AUTH0_MAX_BINDINGS_PER_TRIGGER,
                                },
                                "exclusive": {"type": "boolean"},
                            },
                            "additionalProperties": False,
                        },
                    },
                },
                "additionalProperties": False,
            },
            "cognito": {
                "type": ["object", "null"],
                "properties": {
                    "functions": {
                        "type": ["object", "null"],
                        "propertyNames": {"pattern": _ecma(load.NAME_RE)},
                        "additionalProperties": {"$ref": "#/$defs/function"},
                    }
                },
                "additionalProperties": False,
            },
        },
        "required": ["stack", "environments"],
        "additionalProperties": False,
        "$defs": {
            "environment": environment,
            "action": action,
            "function": function,
            "secret": _secret_source(),
        },
    }


def dump(document: dict[str, Any]) -> str:
    """A schema as the text checked in under schema/ and printed by ``hookctl schema``."""
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
