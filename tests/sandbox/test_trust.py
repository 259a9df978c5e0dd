"""The two promises, through the console script against the sandbox (Auth0 emulator and moto):
nothing the stack does not own is changed, and apply does exactly the reviewed plan."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.sandbox.run import Sandbox
from tests.cli.helpers import hookctl_path
from tests.conftest import REPO

FOREIGN = "arn:aws:lambda:us-east-1:123456789012:function:legacy-signup"
NOOP = "exports.onExecutePostUserRegistration = async () => {};"


def _env(box: Sandbox, root: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))},
        **box.environment(),
        "HOOKCTL_STATE_DIR": str(root / "state"),
        "HOOKCTL_BUILD_DIR": str(root / "build"),
        "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/trust",
        "NO_COLOR": "1",
    }


def hk(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([hookctl_path(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Sandbox, dict[str, str], Path]]:
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    with Sandbox() as box:
        yield box, _env(box, tmp_path), tmp_path


def test_plan__unmanaged_same_named_action_and_foreign_pool_slot__both_refused_nothing_written(
    world: tuple[Sandbox, dict[str, str], Path],
) -> None:
    box, env, cwd = world
    assert box.auth0 is not None
    theirs = box.auth0.tenant.seed_action("slack-new-user", "post-user-registration", NOOP)
    idp = box.boto3_client("cognito-idp")
    idp.update_user_pool(UserPoolId=box.pool_id, LambdaConfig={"PreSignUp": FOREIGN})
    box.auth0.reset_counts()
    for command in ("plan", "apply"):
        extra = ["--auto-approve"] if command == "apply" else []
        result = hk(env, cwd, command, "-s", "stacks/example.yaml", "-e", "sandbox", *extra)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "auth0.action.slack-new-user: an action named slack-new-user exists in the tenant" in result.stderr
        assert "cognito.pool.main.PreSignUp: the slot holds (unmanaged: legacy-signup)" in result.stderr
        assert "hookctl import" in result.stderr
    writes = {k: n for k, n in box.auth0.counts.items() if k[0] != "GET" and k[1] != "/oauth/token"}
    assert writes == {}
    assert box.auth0.tenant.get_action(theirs.id).code == NOOP
    lambda_config = idp.describe_user_pool(UserPoolId=box.pool_id)["UserPool"]["LambdaConfig"]
    assert lambda_config == {"PreSignUp": FOREIGN}
    assert box.boto3_client("lambda").list_functions()["Functions"] == []
