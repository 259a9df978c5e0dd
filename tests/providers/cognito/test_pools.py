"""Attaching triggers: read-modify-write of the whole pool, one write per pool, stale plans refused."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.engine import output
from provisioner.engine.errors import ApplyError, OwnershipError, ProviderError, StaleError
from provisioner.engine.plan import CREATE, DELETE

from .world import World, function_arn

UNRELATED = "arn:aws:lambda:eu-west-1:123456789012:function:someone-elses-custom-message"

# Settings UpdateUserPool resets to their defaults when they are not re-sent.
CUSTOM_POOL: dict[str, Any] = {
    "Policies": {
        "PasswordPolicy": {
            "MinimumLength": 14,
            "RequireUppercase": False,
            "RequireLowercase": True,
            "RequireNumbers": True,
            "RequireSymbols": False,
            "TemporaryPasswordValidityDays": 3,
        }
    },
    "AutoVerifiedAttributes": ["email"],
    "UsernameAttributes": ["email"],
    "MfaConfiguration": "OPTIONAL",
    "DeletionProtection": "ACTIVE",
    "UserPoolTags": {"team": "identity", "cost-centre": "42"},
    "EmailVerificationSubject": "Your code for Example",
    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
    "LambdaConfig": {"CustomMessage": UNRELATED},
}

STACK = """
    stack: pools
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {pool}}}
    cognito:
      functions:
        signup:
          template: cognito/pre-sign-up/auto-confirm-all.mjs.j2
          runtime: nodejs22.x
          role: {role}
          triggers:
            - {{pool: main, trigger: PreSignUp}}
        sign-in:
          template: cognito/post-authentication/log-sign-in.py.j2
          runtime: python3.12
          role: {role}
          triggers:
            - {{pool: main, trigger: PostAuthentication}}
    """


def _settings(pool: dict[str, Any]) -> dict[str, Any]:
    ignored = {"LambdaConfig", "LastModifiedDate", "EstimatedNumberOfUsers", "UsernameAttributes"}
    return {k: v for k, v in pool.items() if k not in ignored}


def test_apply_and_prune__custom_pool__keeps_every_setting_and_unrelated_trigger(aws: World) -> None:
    pool = aws.pool("main", **CUSTOM_POOL)
    before = aws.describe(pool)
    aws.write_stack(STACK.format(pool=pool, role=aws.role()))

    planned = aws.plan()
    assert [op.method for op in planned.plan.operations].count("update_pool_triggers") == 1
    aws.apply(planned)
    assert aws.writes["cognito-idp:UpdateUserPool"] == 1
    after = aws.describe(pool)
    assert _settings(after) == _settings(before)
    assert after["LambdaConfig"] == {
        "CustomMessage": UNRELATED,
        "PreSignUp": function_arn("pools-dev-signup"),
        "PostAuthentication": function_arn("pools-dev-sign-in"),
    }
    assert aws.plan().plan.changes == ()

    # Remove both functions with prune: the unrelated trigger and every setting stay.
    text = aws.stack_path.read_text()
    aws.stack_path.write_text("prune: true\n" + text.split("cognito:\n  functions:")[0])
    pruned = aws.plan()
    assert {(c.address, c.kind) for c in pruned.plan.changes} == {
        ("cognito.function.signup", DELETE),
        ("cognito.function.sign-in", DELETE),
        ("cognito.pool.main.PreSignUp", DELETE),
        ("cognito.pool.main.PostAuthentication", DELETE),
    }
    methods = [op.method for op in pruned.plan.operations]
    assert methods == ["update_pool_triggers", "delete_function", "delete_function"]  # detach first
    aws.apply(pruned)
    final = aws.describe(pool)
    assert _settings(final) == _settings(before)
    assert final["LambdaConfig"] == {"CustomMessage": UNRELATED}
    assert aws.function_names() == set()


def test_apply__pre_token_generation_v2_and_custom_email_sender__attached_with_version_and_key(aws: World) -> None:
    pool = aws.pool("main")
    key = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"
    aws.write_stack(f"""
        stack: tokens
        environments:
          dev:
            cognito:
              region: eu-west-1
              pools: {{main: {pool}}}
        cognito:
          functions:
            claims:
              template: cognito/post-authentication/log-sign-in.mjs.j2
              runtime: nodejs22.x
              role: {aws.role()}
              triggers:
                - {{pool: main, trigger: PreTokenGeneration, lambda_version: V2_0}}
            mailer:
              template: cognito/post-authentication/log-sign-in.py.j2
              runtime: python3.13
              role: {aws.role("mailer-role")}
              triggers:
                - {{pool: main, trigger: CustomEmailSender, kms_key_id: "{key}"}}
        """)
    planned = aws.plan()
    entries = {c.address: c for c in planned.plan.changes if c.address.startswith("cognito.pool.")}
    assert {f.path: f.after for f in entries["cognito.pool.main.PreTokenGeneration"].fields} == {
        "lambda_arn": function_arn("tokens-dev-claims"),
        "lambda_version": "V2_0",
    }
    aws.apply(planned)
    claims, mailer = function_arn("tokens-dev-claims"), function_arn("tokens-dev-mailer")
    assert aws.lambda_config(pool) == {
        "PreTokenGeneration": claims,
        "PreTokenGenerationConfig": {"LambdaArn": claims, "LambdaVersion": "V2_0"},
        "CustomEmailSender": {"LambdaArn": mailer, "LambdaVersion": "V1_0"},
        "KMSKeyID": key,
    }
    assert aws.plan().plan.changes == ()

    aws.edit_stack("lambda_version: V2_0", "lambda_version: V3_0")
    bumped = aws.plan()
    [change] = bumped.plan.changes
    assert change.address == "cognito.pool.main.PreTokenGeneration"
    assert [(f.path, f.before, f.after) for f in change.fields] == [("lambda_version", "V2_0", "V3_0")]
    aws.apply(bumped)
    config = aws.lambda_config(pool)
    assert config["PreTokenGenerationConfig"] == {"LambdaArn": claims, "LambdaVersion": "V3_0"}
    assert config["PreTokenGeneration"] == claims
    assert config["KMSKeyID"] == key


def test_apply__pool_changed_between_plan_and_apply__stale_and_not_written(aws: World) -> None:
    pool = aws.pool("main", **CUSTOM_POOL)
    aws.write_stack(STACK.format(pool=pool, role=aws.role()))
    planned = aws.plan()
    # Someone tightens the password policy (a proper read-modify-write of their own).
    current = aws.describe(pool)
    aws.cognito.update_user_pool(
        UserPoolId=pool,
        Policies={"PasswordPolicy": {**current["Policies"]["PasswordPolicy"], "MinimumLength": 16}},
        AutoVerifiedAttributes=current["AutoVerifiedAttributes"],
        MfaConfiguration=current["MfaConfiguration"],
        DeletionProtection=current["DeletionProtection"],
        UserPoolTags=current["UserPoolTags"],
        EmailVerificationSubject=current["EmailVerificationSubject"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        LambdaConfig=current["LambdaConfig"],
    )
    with pytest.raises(StaleError, match=r"pool main \(.*\) changed since the plan was made"):
        aws.apply(planned)
    assert aws.lambda_config(pool) == {"CustomMessage": UNRELATED}
    assert aws.describe(pool)["Policies"]["PasswordPolicy"]["MinimumLength"] == 16


def test_apply__pool_loses_a_setting_on_write__fails_naming_the_field(aws: World) -> None:
    # moto drops AliasAttributes on UpdateUserPool (AWS keeps them): exactly the kind of
    # change hookctl must never make silently.
    pool = aws.pool("main", AliasAttributes=["preferred_username"])
    aws.write_stack(STACK.format(pool=pool, role=aws.role()))
    with pytest.raises(ApplyError) as failed:
        aws.apply(aws.plan())
    cause = failed.value.cause
    assert isinstance(cause, ProviderError)
    assert cause.call == "UpdateUserPool"
    assert "AliasAttributes" in cause.detail
    assert "pool main" in cause.resource


def test_plan__undeclared_pool__provider_error_names_call_and_pool(aws: World) -> None:
    aws.write_stack(STACK.format(pool="eu-west-1_NoSuchPool1", role=aws.role()))
    with pytest.raises(ProviderError) as failed:
        aws.plan()
    assert failed.value.call == "DescribeUserPool"
    assert failed.value.resource == "pool main (eu-west-1_NoSuchPool1)"
    assert "ResourceNotFoundException" in failed.value.detail


def test_plan__slot_held_by_unmanaged_function__refused_naming_it_and_nothing_written(aws: World) -> None:
    other = "arn:aws:lambda:eu-west-1:123456789012:function:legacy-signup"
    pool = aws.pool("main", LambdaConfig={"PreSignUp": other})
    aws.write_stack(STACK.format(pool=pool, role=aws.role()))
    with pytest.raises(OwnershipError) as refused:
        aws.plan()
    assert "cognito.pool.main.PreSignUp: the slot holds (unmanaged: legacy-signup)" in refused.value.message
    assert "take_over: legacy-signup" in refused.value.message
    assert aws.lambda_config(pool)["PreSignUp"] == other


def test_plan__slot_taken_over_as_the_stack_says__shown_and_applied(aws: World) -> None:
    other = "arn:aws:lambda:eu-west-1:123456789012:function:legacy-signup"
    pool = aws.pool("main", LambdaConfig={"PreSignUp": other})
    aws.write_stack(
        STACK.format(pool=pool, role=aws.role()).replace(
            "{pool: main, trigger: PreSignUp}", "{pool: main, trigger: PreSignUp, take_over: legacy-signup}"
        )
    )
    planned = aws.plan()
    change = next(c for c in planned.plan.changes if c.address == "cognito.pool.main.PreSignUp")
    assert change.kind != CREATE
    assert change.reason == "takes over the slot from (unmanaged: legacy-signup) as the stack's take_over says"
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("lambda_arn", other, function_arn("pools-dev-signup"))
    ]
    assert "(unmanaged: legacy-signup)" in output.text(planned.plan)
    aws.apply(planned)
    assert aws.lambda_config(pool)["PreSignUp"] == function_arn("pools-dev-signup")
    assert aws.plan().plan.empty


def test_plan__slot_held_by_another_stacks_function__refused_naming_the_owner(aws: World) -> None:
    pool = aws.pool("main")
    aws.write_stack(STACK.format(pool=pool, role=aws.role()))
    aws.apply(aws.plan())
    # Another stack (same function names under its own stack name) claims the same slot.
    aws.edit_stack("stack: pools", "stack: rival")
    with pytest.raises(OwnershipError) as refused:
        aws.plan()
    message = refused.value.message
    assert (
        "cognito.pool.main.PreSignUp: the slot holds function pools-dev-signup, is owned by hookctl stack "
        "'pools' environment 'dev'" in message
    )
    assert aws.lambda_config(pool)["PreSignUp"] == function_arn("pools-dev-signup")
