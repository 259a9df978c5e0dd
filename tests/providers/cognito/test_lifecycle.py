"""Plan, apply, re-plan: call budgets, no false changes, drift, ownership without state."""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

from provisioner.engine.errors import HookctlError
from provisioner.engine.load import load_stack
from provisioner.engine.plan import CREATE, DELETE, UPDATE
from provisioner.providers.cognito.provider import CognitoProvider

from .world import World, function_arn

TWO_POOLS = """
    stack: life
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {main}, partners: {partners}}}
    cognito:
      functions:
        signup:
          template: cognito/pre-sign-up/auto-confirm-domain.py.j2
          runtime: python3.13
          role: {role}
          vars: {{domains: [example.com]}}
          triggers:
            - {{pool: main, trigger: PreSignUp}}
            - {{pool: partners, trigger: PreSignUp}}
        sign-in:
          template: cognito/post-authentication/log-sign-in.mjs.j2
          runtime: nodejs22.x
          role: {role}
          triggers:
            - {{pool: main, trigger: PostAuthentication}}
    """


@pytest.fixture
def two_pools(aws: World) -> dict[str, str]:
    ids = {"main": aws.pool("main"), "partners": aws.pool("partners"), "role": aws.role()}
    aws.write_stack(TWO_POOLS.format(**ids))
    return ids


def test_reapply__nothing_changed__plan_empty_and_no_writes(aws: World, two_pools: dict[str, str]) -> None:
    first = aws.plan_and_apply()
    assert len(first.plan.changes) == 2 + 3 + 3  # functions, permissions, pool entries
    # One pool write per pool, however many of its triggers change.
    assert aws.calls["cognito-idp:UpdateUserPool"] == 2
    assert aws.lambda_config(two_pools["main"]) == {
        "PreSignUp": function_arn("life-dev-signup"),
        "PostAuthentication": function_arn("life-dev-sign-in"),
    }
    assert aws.lambda_config(two_pools["partners"]) == {"PreSignUp": function_arn("life-dev-signup")}
    assert len(aws.statements("life-dev-signup")) == 2  # one function, two pools

    again = aws.plan()
    assert again.plan.changes == ()
    assert aws.apply(again) == []
    assert aws.writes == {}
    # The plan's read budget: one GetFunction per declared function (never ListFunctions, which
    # would return other teams' environments), one DescribeUserPool per pool, one GetPolicy per
    # managed function.
    assert aws.calls == {
        "lambda:GetFunction": 2,
        "cognito-idp:DescribeUserPool": 2,
        "lambda:GetPolicy": 2,
    }


def test_plan__fresh_runner_without_state__proves_ownership_by_tags(aws: World, two_pools: dict[str, str]) -> None:
    aws.plan_and_apply()
    shutil.rmtree(aws.tmp / "state")
    again = aws.plan()
    assert again.plan.changes == ()
    # GetFunction carries the tags: ownership needs no extra call.
    assert aws.calls["lambda:GetFunction"] == 2
    assert "lambda:ListTags" not in aws.calls and "lambda:ListFunctions" not in aws.calls


def test_plan__config_changed__updates_configuration_only(aws: World, two_pools: dict[str, str]) -> None:
    aws.plan_and_apply()
    aws.edit_stack("runtime: nodejs22.x", "runtime: nodejs22.x\n      timeout: 9")
    planned = aws.plan()
    [change] = planned.plan.changes
    assert (change.address, change.kind) == ("cognito.function.sign-in", UPDATE)
    assert [(f.path, f.before, f.after) for f in change.fields] == [("timeout", 5, 9)]
    assert [op.method for op in planned.plan.operations] == ["update_function_configuration"]
    aws.apply(planned)
    assert aws.writes == {"lambda:UpdateFunctionConfiguration": 1}
    assert aws.configuration("life-dev-sign-in")["Timeout"] == 9
    assert aws.plan().plan.changes == ()


def test_plan__code_changed_in_stack__uploads_code_and_marker(aws: World, two_pools: dict[str, str]) -> None:
    aws.plan_and_apply()
    aws.edit_stack("domains: [example.com]", "domains: [example.org]")
    planned = aws.plan()
    [change] = planned.plan.changes
    assert change.address == "cognito.function.signup"
    assert {f.path for f in change.fields} == {"code", "code_digest"}
    assert change.code_before is not None and "example.com" in change.code_before  # from the build cache
    assert change.code_after is not None and "example.org" in change.code_after
    aws.apply(planned)
    assert aws.writes == {"lambda:UpdateFunctionCode": 1, "lambda:UpdateFunctionConfiguration": 1}
    assert aws.plan().plan.changes == ()


def test_plan__code_changed_outside_hookctl__shows_drift_and_apply_restores(
    aws: World, two_pools: dict[str, str]
) -> None:
    aws.plan_and_apply()
    hookctl_sha = aws.configuration("life-dev-sign-in")["CodeSha256"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("index.mjs", "export const handler = async (event) => event; // hot fix\n")
    aws.lambda_.update_function_code(FunctionName="life-dev-sign-in", ZipFile=buffer.getvalue())

    planned = aws.plan()
    [change] = planned.plan.changes
    assert (change.address, change.kind) == ("cognito.function.sign-in", UPDATE)
    assert change.reason.startswith("code changed outside hookctl")
    assert [op.method for op in planned.plan.operations] == ["update_function_code"]
    aws.apply(planned)
    assert aws.configuration("life-dev-sign-in")["CodeSha256"] == hookctl_sha
    assert aws.plan().plan.changes == ()


def test_plan__function_name_taken_by_someone_else__refused(aws: World, two_pools: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("index.mjs", "export const handler = async (e) => e;\n")
    aws.lambda_.create_function(
        FunctionName="life-dev-sign-in",
        Runtime="nodejs22.x",
        Role=two_pools["role"],
        Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()},
    )
    with pytest.raises(HookctlError, match="function life-dev-sign-in exists and no hookctl stack owns it"):
        aws.plan()


def test_prune__function_removed__detaches_and_deletes_only_what_hookctl_owns(
    aws: World, two_pools: dict[str, str]
) -> None:
    aws.plan_and_apply()
    # Someone else's function named like ours, without hookctl's tags, and a trigger of theirs.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("index.mjs", "export const handler = async (e) => e;\n")
    aws.lambda_.create_function(
        FunctionName="life-dev-theirs",
        Runtime="nodejs22.x",
        Role=two_pools["role"],
        Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()},
    )
    text = aws.stack_path.read_text()
    aws.stack_path.write_text("prune: true\n" + text.split("    sign-in:")[0])
    shutil.rmtree(aws.tmp / "state")  # a fresh CI runner: ownership comes from the tags alone

    planned = aws.plan()
    assert {(c.address, c.kind) for c in planned.plan.changes} == {
        ("cognito.function.sign-in", DELETE),
        ("cognito.pool.main.PostAuthentication", DELETE),
    }
    aws.apply(planned)
    assert aws.function_names() == {"life-dev-signup", "life-dev-theirs"}
    assert aws.lambda_config(two_pools["main"]) == {"PreSignUp": function_arn("life-dev-signup")}
    assert aws.plan().plan.changes == ()


def test_prune__trigger_removed__detaches_and_removes_permission_keeps_function(
    aws: World, two_pools: dict[str, str]
) -> None:
    aws.plan_and_apply()
    aws.edit_stack("        - {pool: partners, trigger: PreSignUp}\n", "")
    aws.stack_path.write_text("prune: true\n" + aws.stack_path.read_text())
    planned = aws.plan()
    assert {(c.address, c.kind) for c in planned.plan.changes} == {
        ("cognito.permission.signup.partners", DELETE),
        ("cognito.pool.partners.PreSignUp", DELETE),
    }
    methods = [op.method for op in planned.plan.operations]
    assert methods == ["update_pool_triggers", "remove_permission"]  # detach first
    aws.apply(planned)
    assert aws.lambda_config(two_pools["partners"]) == {}
    pool_arns = [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in aws.statements("life-dev-signup")]
    assert pool_arns == [aws.describe(two_pools["main"])["Arn"]]
    assert aws.plan().plan.changes == ()


def test_plan__trigger_removed_without_prune__left_in_place(aws: World, two_pools: dict[str, str]) -> None:
    aws.plan_and_apply()
    aws.edit_stack("        - {pool: partners, trigger: PreSignUp}\n", "")
    assert aws.plan().plan.changes == ()
    assert aws.lambda_config(two_pools["partners"]) == {"PreSignUp": function_arn("life-dev-signup")}


def test_plan__first_plan__creates_then_attaches(aws: World, two_pools: dict[str, str]) -> None:
    planned = aws.plan()
    ops = planned.plan.operations
    position = {op.id: i for i, op in enumerate(ops)}
    for op in ops:
        for dependency in op.depends_on:
            assert position[dependency] < position[op.id]
    pool_op = next(op for op in ops if op.id == "update-pool:main")
    assert set(pool_op.depends_on) >= {
        "create-function:cognito.function.signup",
        "add-permission:cognito.permission.signup.main",
    }
    assert all(c.kind == CREATE for c in planned.plan.changes)


@pytest.mark.parametrize(
    ("region_line", "default", "expected"),
    [
        ("region: us-east-2", "eu-west-1", "us-east-2"),
        ("", "eu-west-1", "eu-west-1"),
        ("", None, None),
    ],
)
def test_from_environment__region_from_stack_else_boto3_chain(
    aws: World, monkeypatch: pytest.MonkeyPatch, region_line: str, default: str | None, expected: str | None
) -> None:
    if default is None:
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    aws.write_stack(f"""
        stack: regions
        environments:
          dev:
            cognito:
              {region_line}
              pools: {{main: us-east-2_AbC123}}
        cognito:
          functions:
            f:
              template: cognito/post-authentication/log-sign-in.mjs.j2
              runtime: nodejs22.x
              trigger: PostAuthentication
        """)
    stack = load_stack(str(aws.stack_path), "dev")
    if expected is None:
        with pytest.raises(HookctlError, match="no AWS region for regions/dev"):
            CognitoProvider.from_environment(stack)
    else:
        assert CognitoProvider.from_environment(stack).client().region == expected


def test_destroy__removes_everything_owned_and_only_that(aws: World, two_pools: dict[str, str]) -> None:
    aws.plan_and_apply()
    other = "arn:aws:lambda:eu-west-1:123456789012:function:someone-elses"
    main = aws.describe(two_pools["main"])
    config = {**main["LambdaConfig"], "CustomMessage": other}
    aws.cognito.update_user_pool(UserPoolId=two_pools["main"], LambdaConfig=config)
    shutil.rmtree(aws.tmp / "state")

    planned = aws.plan(destroy=True)
    assert {(c.address, c.kind) for c in planned.plan.changes} == {
        ("cognito.function.signup", DELETE),
        ("cognito.function.sign-in", DELETE),
        ("cognito.pool.main.PreSignUp", DELETE),
        ("cognito.pool.main.PostAuthentication", DELETE),
        ("cognito.pool.partners.PreSignUp", DELETE),
    }
    aws.apply(planned)
    assert aws.function_names() == set()
    assert aws.lambda_config(two_pools["main"]) == {"CustomMessage": other}
    assert aws.lambda_config(two_pools["partners"]) == {}
