"""The console script against moto: what a user sees, end to end."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import Result, run

from .world import World, function_arn

SECRET = "xoxb-SuperSecretValue-cli-5d1e"


def hk(aws: World, *args: str) -> Result:
    env = {"HOOKCTL_BUILD_DIR": str(aws.tmp / "build"), "CLI_TEST_TOKEN": SECRET}
    return run(["--state-dir", str(aws.tmp / "state"), *args], cwd=Path(aws.tmp), env=env)


def _stack(aws: World, pool: str) -> None:
    aws.write_stack(f"""
        stack: cli
        environments:
          dev:
            cognito:
              region: eu-west-1
              pools: {{main: {pool}}}
        cognito:
          functions:
            reject-short-username:
              template: cognito/pre-sign-up/reject-short-username.py.j2
              runtime: python3.12
              role: {aws.role()}
              secrets:
                TOKEN: {{env: CLI_TEST_TOKEN}}
              triggers:
                - {{pool: main, trigger: PreSignUp}}
        """)


def test_cli__saved_plans__first_applies_exactly_second_refused_then_no_changes(aws: World) -> None:
    pool = aws.pool("main")
    _stack(aws, pool)
    first = hk(aws, "plan", "-s", "stack.yaml", "--detailed-exitcode", "--out", "first.json")
    assert first.code == 2, first.err
    assert "+ cognito.function.reject-short-username (create)" in first.out
    assert "+ secrets.TOKEN = (sensitive)" in first.out
    assert "Plan: 3 to create, 0 to update, 0 to delete." in first.out
    assert hk(aws, "plan", "-s", "stack.yaml", "--out", "second.json").code == 0
    assert SECRET not in (aws.tmp / "first.json").read_text()

    applied = hk(aws, "apply", "first.json")
    assert applied.code == 0, applied.err
    assert SECRET not in applied.all
    assert aws.lambda_config(pool) == {"PreSignUp": function_arn("cli-dev-reject-short-username")}
    stale = hk(aws, "apply", "second.json")
    assert stale.code == 1
    assert "live systems changed since the plan was made" in stale.err

    again = hk(aws, "plan", "-s", "stack.yaml", "--detailed-exitcode")
    assert again.code == 0, again.all
    assert "No changes." in again.out


def test_cli__missing_pool__error_names_call_and_pool(aws: World) -> None:
    _stack(aws, "eu-west-1_Missing9")
    result = hk(aws, "plan", "-s", "stack.yaml")
    assert result.code == 1
    assert (
        "Error: cognito DescribeUserPool for pool main (eu-west-1_Missing9) failed: ResourceNotFoundException"
    ) in result.err
