"""Existing Lambda functions keep their own names: `hookctl import` writes `function_name:` for a
function not named <stack>-<environment>-<name>, `adopt` takes it over under that name, and plan
and apply manage it there. Import reads the region as boto3 users expect: AWS_REGION first."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from provisioner.engine.errors import InputError
from provisioner.engine.load import load_stack
from provisioner.providers.cognito.client import region_from_environment

from ..cli.helpers import run
from .conftest import REGION, Live, function_arn


def test_import_adopt_plan__existing_function_keeps_its_own_name(
    account: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = account
    pool = live.pool("main")
    live.function("LegacySignupHandler", {"index.mjs": "export const handler = async (e) => e;\n"}, role=live.role())
    live.grant("LegacySignupHandler", pool, "cognito-main")
    live.attach(pool, {"PreSignUp": function_arn("LegacySignupHandler")})
    # Only AWS_REGION names the region, as in the README and the import's own hint.
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    env = {"AWS_REGION": REGION}
    cwd = live.root

    imported = run(["import", "-e", "prod", "--name", "web", "--pool", f"main={pool}"], cwd, env)
    assert imported.code == 0, imported.all
    doc = YAML(typ="safe").load((cwd / "stacks" / "web.yaml").read_text())
    [(logical, body)] = doc["cognito"]["functions"].items()
    assert body["function_name"] == "LegacySignupHandler"
    assert doc["environments"]["prod"]["cognito"]["region"] == REGION

    adopted = run(["adopt", "-s", "stacks/web.yaml", "-e", "prod", "--auto-approve"], cwd, env)
    assert adopted.code == 0, adopted.all
    assert live.tags("LegacySignupHandler")["hookctl:function"] == logical
    plan = run(["plan", "-s", "stacks/web.yaml", "-e", "prod", "--detailed-exitcode"], cwd, env)
    assert plan.code == 0, plan.all

    # A change to the stack is applied to the function under its own name.
    path = cwd / "stacks" / "web.yaml"
    path.write_text(path.read_text().replace("timeout: 3", "timeout: 7"))
    applied = run(["apply", "-s", "stacks/web.yaml", "-e", "prod", "--auto-approve"], cwd, env)
    assert applied.code == 0, applied.all
    assert live.configuration("LegacySignupHandler")["Timeout"] == 7
    names = [f["FunctionName"] for f in live.boto("lambda").list_functions()["Functions"]]
    assert names == ["LegacySignupHandler"]  # nothing created beside it


def test_function_name__must_be_a_lambda_name_and_unique(tmp_path: Path) -> None:
    stack = tmp_path / "s.yaml"
    stack.write_text(
        "stack: s\nenvironments: {dev: {cognito: {region: eu-west-1, pools: {main: eu-west-1_AbC123}}}}\n"
        "cognito:\n  functions:\n"
        "    a: {code: a.mjs, trigger: PreSignUp, function_name: Legacy}\n"
        "    b: {code: b.mjs, trigger: PostConfirmation, function_name: legacy}\n"
        "    c: {code: c.mjs, trigger: PreAuthentication, function_name: 'arn:aws:lambda:x'}\n"
    )
    with pytest.raises(InputError) as caught:
        load_stack(str(stack), "dev")
    text = caught.value.message
    assert "cognito.functions.b.function_name: function 'a' already has the Lambda name" in text
    assert "cognito.functions.c.function_name: a Lambda function name is 1-64 letters" in text


def test_region__aws_region_then_aws_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert region_from_environment() == "eu-central-1"
    assert region_from_environment("ap-south-1") == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    assert region_from_environment() == "us-west-2"
