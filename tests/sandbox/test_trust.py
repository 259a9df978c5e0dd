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


def test_rollback__asks_holds_the_lock_and_the_next_plan_shows_the_code_diff(
    world: tuple[Sandbox, dict[str, str], Path],
) -> None:
    box, env, cwd = world
    assert box.auth0 is not None
    stack = cwd / "stacks" / "example.yaml"
    target = ["-s", "stacks/example.yaml", "-e", "sandbox"]
    assert hk(env, cwd, "apply", *target, "--auto-approve").returncode == 0
    stack.write_text(stack.read_text().replace('channel: "#signups-sandbox"', 'channel: "#rollback-test"'))
    assert hk(env, cwd, "apply", *target, "--auto-approve").returncode == 0
    tenant = box.auth0.tenant
    slack = tenant.find_action("slack-new-user")
    assert slack is not None
    versions = len(slack.versions)

    declined = hk(env, cwd, "rollback", *target, "slack-new-user")
    assert declined.returncode == 1 and "pass --auto-approve" in declined.stderr
    assert "hookctl will roll back action slack-new-user" in declined.stdout
    lock = cwd / "state" / "example" / "sandbox.lock"
    lock.write_text('{"id": "held1", "who": "someone", "operation": "apply", "created_at": 1800000000}')
    locked = hk(env, cwd, "rollback", *target, "slack-new-user", "--auto-approve")
    assert locked.returncode == 1 and "lock held1 held by someone" in locked.stderr
    lock.unlink()
    assert len(tenant.find_action("slack-new-user").versions) == versions  # type: ignore[union-attr]

    done = hk(env, cwd, "rollback", *target, "slack-new-user", "--auto-approve")
    assert done.returncode == 0, done.stderr
    assert f"version {versions} -> version {versions - 1}" in done.stdout
    replan = hk(env, cwd, "plan", *target, "--detailed-exitcode")
    assert replan.returncode == 2, replan.stderr
    assert "~ auth0.action.slack-new-user (update)" in replan.stdout
    assert "draft differs" not in replan.stdout
    assert "--- live/auth0.action.slack-new-user" in replan.stdout
    assert "Plan: 0 to create, 1 to update, 0 to delete." in replan.stdout

    theirs = tenant.seed_action("someone-elses", "post-user-registration", NOOP)
    refused = hk(env, cwd, "rollback", *target, "someone-elses", "--auto-approve")
    assert refused.returncode == 1 and "no hookctl stack owns it" in refused.stderr
    assert len(tenant.get_action(theirs.id).versions) == 1


def test_fresh_runner__unknown_secret_kept_by_default_and_sent_only_when_asked(
    world: tuple[Sandbox, dict[str, str], Path],
) -> None:
    box, env, cwd = world
    assert box.auth0 is not None
    target = ["-s", "stacks/example.yaml", "-e", "sandbox"]
    assert hk(env, cwd, "apply", *target, "--auto-approve").returncode == 0
    shutil.rmtree(cwd / "state")  # a fresh CI runner on local state
    slack = box.auth0.tenant.find_action("slack-new-user")
    assert slack is not None
    versions = len(slack.versions)
    drift = hk(env, cwd, "plan", *target, "--detailed-exitcode")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "secret SLACK_WEBHOOK_URL unknown: not recorded in state" in drift.stdout
    assert "apply keeps the live value" in drift.stdout and "(changed)" not in drift.stdout
    assert hk(env, cwd, "plan", *target, "--unknown-secrets", "send", "--out", "send.json").returncode == 0
    mismatch = hk(env, cwd, "apply", "send.json", "--unknown-secrets", "keep")
    assert mismatch.returncode == 1 and "--unknown-secrets keep (the plan was made with" in mismatch.stderr
    sent = hk(env, cwd, "apply", "send.json")
    assert sent.returncode == 0, sent.stderr
    assert len(box.auth0.tenant.get_action(slack.id).versions) == versions + 1
    assert hk(env, cwd, "plan", *target, "--detailed-exitcode").returncode == 0
