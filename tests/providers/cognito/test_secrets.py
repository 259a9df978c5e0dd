"""Secrets: Secrets Manager / SSM by reference (never in the configuration), env values masked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provisioner.engine.output import text

from .world import World, plan_json

WEBHOOK = "https://hooks.example.test/T000/B000/SuperSecretWebhook-7f3a9"
API_TOKEN = "tok_live_SuperSecretToken-41c9e2"


@pytest.mark.managed_policies
def test_secret_references__wired_by_arn_with_exact_role_access__values_never_in_config(aws: World) -> None:
    pool = aws.pool("main")
    secret = aws.secretsmanager.create_secret(Name="hookctl/dev/crm-webhook", SecretString=json.dumps({"url": WEBHOOK}))
    aws.secretsmanager.create_secret(Name="hookctl/dev/unrelated", SecretString="other")
    aws.write_stack(f"""
        stack: crm
        environments:
          dev:
            cognito:
              region: eu-west-1
              pools: {{main: {pool}}}
        cognito:
          functions:
            notify-webhook:
              template: cognito/post-confirmation/notify-webhook.mjs.j2
              runtime: nodejs22.x
              timeout: 10
              secrets:
                WEBHOOK_URL: {{secretsmanager: "hookctl/{{environment}}/crm-webhook", key: url}}
              triggers:
                - {{pool: main, trigger: PostConfirmation}}
        """)
    planned = aws.plan()
    assert "iam.role.notify-webhook" in {c.address for c in planned.plan.changes}
    aws.apply(planned)

    config = aws.configuration("crm-dev-notify-webhook")
    assert config["Environment"]["Variables"] == {"HOOKCTL_SECRET_WEBHOOK_URL": f"secretsmanager:{secret['ARN']}#url"}
    assert WEBHOOK not in json.dumps(config, default=str)
    assert WEBHOOK not in plan_json(planned) + text(planned.plan)
    assert WEBHOOK not in aws.state("crm")

    role_name = config["Role"].rsplit("/", 1)[1]
    assert config["Role"].endswith(":role/hookctl/crm/dev/crm-dev-notify-webhook")
    attached = aws.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    policy: Any = aws.iam.get_role_policy(RoleName=role_name, PolicyName="hookctl-secrets")["PolicyDocument"]
    assert policy["Statement"] == [
        {
            "Sid": "ReadSecretsManagerSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [secret["ARN"]],
        }
    ]
    assert aws.plan().plan.changes == ()

    # Rotating the secret in Secrets Manager needs no redeploy: the function reads it at cold start.
    aws.secretsmanager.put_secret_value(SecretId=secret["ARN"], SecretString=json.dumps({"url": WEBHOOK + "-2"}))
    assert aws.plan().plan.changes == ()

    # An SSM parameter added: a second reference, and the role reads exactly both.
    aws.session.client("ssm").put_parameter(Name="/crm/dev/api-token", Value=API_TOKEN, Type="SecureString")
    aws.edit_stack("      triggers:", "        API_TOKEN: {ssm: /crm/dev/api-token}\n      triggers:")
    planned = aws.plan()
    assert {c.address for c in planned.plan.changes} == {"iam.role.notify-webhook", "cognito.function.notify-webhook"}
    aws.apply(planned)
    config = aws.configuration("crm-dev-notify-webhook")
    assert config["Environment"]["Variables"] == {
        "HOOKCTL_SECRET_WEBHOOK_URL": f"secretsmanager:{secret['ARN']}#url",
        "HOOKCTL_SECRET_API_TOKEN": "ssm:/crm/dev/api-token",
    }
    policy = aws.iam.get_role_policy(RoleName=role_name, PolicyName="hookctl-secrets")["PolicyDocument"]
    assert {s["Action"]: s["Resource"] for s in policy["Statement"]} == {
        "secretsmanager:GetSecretValue": [secret["ARN"]],
        "ssm:GetParameter": ["arn:aws:ssm:eu-west-1:123456789012:parameter/crm/dev/api-token"],
    }
    assert API_TOKEN not in json.dumps(config, default=str)
    assert aws.plan().plan.changes == ()

    # Pruned: the pool entry, the function and then the role hookctl made for it all go.
    aws.write_stack(f"""
        stack: crm
        prune: true
        environments:
          dev:
            cognito:
              region: eu-west-1
              pools: {{main: {pool}}}
        """)
    pruned = aws.plan()
    assert [op.method for op in pruned.plan.operations] == ["update_pool_triggers", "delete_function", "delete_role"]
    aws.apply(pruned)
    assert aws.iam.list_roles(PathPrefix="/hookctl/")["Roles"] == []
    assert aws.function_names() == set()
    assert aws.lambda_config(pool) == {}


def test_env_secret__value_sent_but_shown_only_as_sensitive(aws: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_API_TOKEN", API_TOKEN)
    pool = aws.pool("main")
    aws.write_stack(f"""
        stack: crm
        environments:
          dev:
            cognito:
              region: eu-west-1
              pools: {{main: {pool}}}
        cognito:
          functions:
            sign-in:
              template: cognito/post-authentication/log-sign-in.mjs.j2
              runtime: nodejs22.x
              role: {aws.role()}
              environment: {{LOG_LEVEL: info}}
              secrets:
                API_TOKEN: {{env: CRM_API_TOKEN}}
              triggers:
                - {{pool: main, trigger: PostAuthentication}}
        """)
    planned = aws.plan()
    shown = text(planned.plan)
    assert "+ secrets.API_TOKEN = (sensitive)" in shown
    assert API_TOKEN not in shown + plan_json(planned)
    aws.apply(planned)
    assert aws.configuration("crm-dev-sign-in")["Environment"]["Variables"] == {
        "LOG_LEVEL": "info",
        "API_TOKEN": API_TOKEN,
    }
    assert API_TOKEN not in aws.state("crm")
    assert aws.plan().plan.changes == ()

    monkeypatch.setenv("CRM_API_TOKEN", API_TOKEN + "-rotated")
    rotated = aws.plan()
    [change] = rotated.plan.changes
    assert [(f.path, f.sensitive) for f in change.fields] == [("secrets.API_TOKEN", True)]
    assert "~ secrets.API_TOKEN = (sensitive) (changed)" in text(rotated.plan)
    aws.apply(rotated)
    assert aws.configuration("crm-dev-sign-in")["Environment"]["Variables"]["API_TOKEN"] == API_TOKEN + "-rotated"

    # Changed outside hookctl: seen through the salted hash, still never displayed.
    aws.lambda_.update_function_configuration(
        FunctionName="crm-dev-sign-in", Environment={"Variables": {"LOG_LEVEL": "info", "API_TOKEN": "tampered"}}
    )
    tampered = aws.plan()
    assert [f.path for c in tampered.plan.changes for f in c.fields] == ["secrets.API_TOKEN"]
    assert "tampered" not in text(tampered.plan) + plan_json(tampered)
