"""The JSON Schemas for stack and test-case files: checked in, in step with hookctl, accepting every
example and rejecting the structural cases of the bad-input corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from provisioner.local import cases as testcases
from provisioner.local import schema
from tests.conftest import REPO

CORPUS = REPO / "tests" / "badinput" / "corpus"
# Corpus cases that are about structure (keys, types, names, enums) and so must fail the schema.
# Not here: YAML-level problems (syntax, encoding, tags, a number or a date where YAML itself types
# the value: 31, 37), and what needs the whole file, the templates or the environment.
STRUCTURAL = {
    "03-yaml-empty",
    "04-yaml-comments-only",
    "05-yaml-top-level-list",
    "06-yaml-top-level-scalar",
    "100-secret-given-as-string",
    "102-missing-secret-with-structural-errors",
    "54-trigger-and-triggers",
    "55-versioned-trigger-options",
    "58-secret-given-by-value",
    "59-secret-value-in-env-name",
    "60-secret-sources-wrong",
}
NOT_STRUCTURAL = {"31-types-action-name-number", "37-types-vars", "48-unknown-environment"}


def _validator(kind: str) -> Draft202012Validator:
    document = json.loads((REPO / "schema" / f"{kind}.schema.json").read_text())
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def _yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_bytes())


@pytest.mark.parametrize("kind", ["stack", "tests"])
def test_schema__checked_in_copy_is_what_hookctl_schema_prints(kind: str) -> None:
    assert (REPO / "schema" / f"{kind}.schema.json").read_text() == schema.render(kind)


def test_tests_schema__knows_every_case_key() -> None:
    case = schema.tests_schema()["properties"]["cases"]["items"]
    assert set(case["properties"]) == set(testcases.CASE_KEYS)


@pytest.mark.parametrize("path", sorted((REPO / "stacks").glob("*.yaml")), ids=lambda p: p.name)
def test_examples__validate_and_carry_the_modeline(path: Path) -> None:
    kind = "tests" if path.name.endswith(".tests.yaml") else "stack"
    errors = [e.message for e in _validator(kind).iter_errors(_yaml(path))]
    assert errors == []
    assert path.read_text().splitlines()[0] == f"# yaml-language-server: $schema=../schema/{kind}.schema.json"


def _structural_cases() -> list[str]:
    names = [d.name for d in CORPUS.iterdir() if (d / "stack.yaml").exists()]
    found = {n for n in names if re.match(r"^\d+-(types|unknown|unicode)-", n)} | STRUCTURAL
    return sorted(found - NOT_STRUCTURAL)


@pytest.mark.parametrize("name", _structural_cases())
def test_schema__rejects_the_structural_bad_input_cases(name: str) -> None:
    document = _yaml(CORPUS / name / "stack.yaml")
    assert list(_validator("stack").iter_errors(document)), f"{name} passed the schema"


def test_schema__rejects_a_plain_string_secret_and_template_with_code() -> None:
    stack = {
        "stack": "s",
        "environments": {"dev": {}},
        "auth0": {"actions": {"a": {"trigger": "post-login", "template": "a.js.j2", "code": "a.js"}}},
    }
    assert list(_validator("stack").iter_errors(stack))
    stack["auth0"]["actions"]["a"] = {"trigger": "post-login", "code": "a.js", "secrets": {"X": "value"}}
    assert list(_validator("stack").iter_errors(stack))
    stack["auth0"]["actions"]["a"] = {"trigger": "post-login", "code": "a.js", "secrets": {"X": {"env": "X"}}}
    assert not list(_validator("stack").iter_errors(stack))
