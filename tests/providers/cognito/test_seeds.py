"""Every Cognito seed example, planned, applied and checked in moto through real boto3."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

from provisioner.engine.plan import CREATE

from .world import ACCOUNT, World, function_arn

# (function, template, runtime, trigger, vars, a line the rendered handler must hold)
SEEDS = [
    (
        "auto-confirm-domain",
        "cognito/pre-sign-up/auto-confirm-domain.mjs.j2",
        "nodejs22.x",
        "PreSignUp",
        "{domains: [example.com]}",
        '"example.com"',
    ),
    (
        "auto-confirm-all",
        "cognito/pre-sign-up/auto-confirm-all.mjs.j2",
        "nodejs22.x",
        "PreSignUp",
        "{}",
        "autoConfirmUser",
    ),
    (
        "reject-short-username",
        "cognito/pre-sign-up/reject-short-username.mjs.j2",
        "nodejs20.x",
        "PreSignUp",
        "{min_length: 5}",
        "const MIN_LENGTH = 5;",
    ),
    (
        "log-sign-in",
        "cognito/post-authentication/log-sign-in.mjs.j2",
        "nodejs22.x",
        "PostAuthentication",
        "{}",
        "Authentication successful",
    ),
    (
        "log-sign-in-py",
        "cognito/post-authentication/log-sign-in.py.j2",
        "python3.13",
        "PostAuthentication",
        "{}",
        "Authentication successful",
    ),
]


@pytest.mark.parametrize(
    ("name", "template", "runtime", "trigger", "variables", "expected"), SEEDS, ids=[s[0] for s in SEEDS]
)
def test_seed__plan_apply__function_permission_and_trigger_in_place(
    aws: World, name: str, template: str, runtime: str, trigger: str, variables: str, expected: str
) -> None:
    pool_id = aws.pool("main")
    role = aws.role()
    aws.write_stack(f"""
        stack: seeds
        environments:
          dev:
            cognito:
              region: eu-west-1
              pools: {{main: {pool_id}}}
        cognito:
          functions:
            {name}:
              template: {template}
              runtime: {runtime}
              role: {role}
              description: the {name} seed
              timeout: 7
              memory: 256
              environment: {{STAGE: dev}}
              vars: {variables}
              triggers:
                - {{pool: main, trigger: {trigger}}}
        """)
    planned = aws.plan()
    kinds = {c.address: c.kind for c in planned.plan.changes}
    assert kinds == {
        f"cognito.function.{name}": CREATE,
        f"cognito.permission.{name}.main": CREATE,
        f"cognito.pool.main.{trigger}": CREATE,
    }
    aws.apply(planned)

    physical = f"seeds-dev-{name}"
    config = aws.configuration(physical)
    artifact = _artifact_zip(aws.tmp / "build")
    handler_module = "lambda_function" if runtime.startswith("python") else "index"
    assert config["Runtime"] == runtime
    assert config["Handler"] == f"{handler_module}.{'lambda_handler' if runtime.startswith('python') else 'handler'}"
    assert config["Role"] == role
    assert config["Timeout"] == 7
    assert config["MemorySize"] == 256
    assert config["Environment"]["Variables"] == {"STAGE": "dev"}
    assert config["Description"].startswith(f"the {name} seed [hookctl ")
    # The code Lambda holds is hookctl's zip, byte for byte.
    data = artifact.read_bytes()
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    with zipfile.ZipFile(artifact) as zf:
        source = next(zf.read(n).decode() for n in zf.namelist() if n.startswith(handler_module + "."))
    assert expected in source
    assert aws.tags(physical) == {
        "hookctl:managed": "true",
        "hookctl:stack": "seeds",
        "hookctl:environment": "dev",
        "hookctl:function": name,
    }
    pool_arn = aws.describe(pool_id)["Arn"]
    [grant] = aws.statements(physical)
    assert grant["Principal"] == {"Service": "cognito-idp.amazonaws.com"}
    assert grant["Action"] == "lambda:InvokeFunction"
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == pool_arn
    assert grant["Condition"]["StringEquals"]["AWS:SourceAccount"] == ACCOUNT
    assert aws.lambda_config(pool_id) == {trigger: function_arn(physical)}

    again = aws.plan()
    assert again.plan.changes == ()
    assert again.plan.operations == ()


def _artifact_zip(build: Path) -> Path:
    [found] = sorted(build.glob("*.zip"))
    return found
