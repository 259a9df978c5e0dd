"""docs/permissions.md's plan-role policy, enforced by moto: plan works with it, a write does not.

moto enforces IAM in server mode once ``/moto-api/reset-auth`` lowers ``INITIAL_NO_AUTH_ACTION_COUNT``
(moto's "IAM-like access control", ``moto/core/authorization.py``): every request must then be signed
by an access key of an IAM user in moto's account, and the user's policies must allow the action.
moto checks actions only — Lambda's and Cognito's handlers pass the resource ``"*"`` — so the test
checks the documented ``Resource`` patterns itself, against the ARN of everything the plan read.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.errors import HookctlError

from .world import ACCOUNT, REGION, World

DOC = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"
STACK, ENVIRONMENT = "perm", "dev"

PLAN_STACK = """
    stack: perm
    prune: true
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {pool}}}
    cognito:
      functions:
        gate:
          template: cognito/post-confirmation/notify-webhook.py.j2
          runtime: python3.13
          trigger: PostConfirmation
          secrets:
            WEBHOOK_URL: {{secretsmanager: hookctl/dev/crm, key: url}}
            API_TOKEN: {{ssm: /hookctl/dev/token}}
    """


def documented_policy(name: str) -> dict[str, Any]:
    """The JSON block after ``<!-- policy: NAME -->`` in docs/permissions.md, placeholders filled."""
    text = DOC.read_text()
    found = re.search(rf"<!-- policy: {name} -->\s*```json\n(.*?)```", text, re.S)
    assert found, f"docs/permissions.md has no '{name}' policy block"
    filled = (
        found.group(1)
        .replace("${Region}", REGION)
        .replace("${Account}", ACCOUNT)
        .replace("${Stack}", STACK)
        .replace("${Environment}", ENVIRONMENT)
    )
    policy: dict[str, Any] = json.loads(filled)
    return policy


def for_moto(policy: dict[str, Any]) -> dict[str, Any]:
    """The same actions on ``"*"`` (what moto compares), plus moto's name for the tagging API.

    moto names an action after the request's SigV4 service: Resource Groups Tagging signs as
    ``tagging``, so moto checks ``tagging:GetResources`` where IAM checks ``tag:GetResources``.
    """
    statements = []
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions = actions + [a.replace("tag:", "tagging:", 1) for a in actions if a.startswith("tag:")]
        statements.append({"Effect": statement["Effect"], "Action": actions, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    """IAM's wildcard match of one action on one resource against Allow statements."""

    def match(pattern: str, value: str) -> bool:
        return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None

    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if any(match(a, action) for a in actions) and any(match(r, resource) for r in resources):
            return True
    return False


def _sign_empty_payload(request: Any, **_: Any) -> None:
    if not request.body:
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(b"").hexdigest()


def reset_auth(endpoint: str, count: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=count.encode(), method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


@pytest.fixture
def as_planner(aws: World, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Switches the session to an IAM user holding only the documented plan policy, with IAM enforced."""
    aws.iam.create_user(UserName="planner")
    aws.iam.put_user_policy(
        UserName="planner", PolicyName="hookctl-plan", PolicyDocument=json.dumps(for_moto(documented_policy("plan")))
    )
    key = aws.iam.create_access_key(UserName="planner")["AccessKey"]

    def enforce() -> None:
        # moto 5 verifies the signature of a bodyless Lambda request (GET /functions/NAME) against
        # its headers as the payload, so it fails every one; with the empty payload's hash as a
        # signed header it verifies what botocore signed. Only the signature changes, not the call.
        aws.session_hooks.append(("before-sign.lambda", _sign_empty_payload))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        reset_auth(moto_endpoint, "0")

    try:
        yield enforce
    finally:
        reset_auth(moto_endpoint, "inf")


@pytest.mark.managed_policies
def test_plan__documented_read_only_policy__plans_and_cannot_write(aws: World, as_planner: Callable[[], None]) -> None:
    pool = aws.pool()
    # Both under customer-managed keys named by alias: plan reads their KeyIds and resolves the aliases.
    kms, ssm = aws.session.client("kms"), aws.session.client("ssm")
    for alias in ("alias/crm-secrets", "alias/tokens"):
        kms.create_alias(AliasName=alias, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    aws.secretsmanager.create_secret(
        Name="hookctl/dev/crm", SecretString=json.dumps({"url": "https://crm.invalid"}), KmsKeyId="alias/crm-secrets"
    )
    ssm.put_parameter(Name="/hookctl/dev/token", Value="t0ken", Type="SecureString", KeyId="alias/tokens")
    aws.write_stack(PLAN_STACK.format(pool=pool))
    aws.plan_and_apply()  # as the account's administrator
    aws.edit_stack("trigger: PostConfirmation", "trigger: PostConfirmation\n      timeout: 9")

    as_planner()
    planned = aws.plan()
    assert [(c.address, c.kind) for c in planned.plan.changes] == [("cognito.function.gate", "update")]

    # Everything the plan read is allowed by the documented policy, resource patterns included.
    arns = {
        "lambda:GetFunction": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:perm-dev-gate",
        "lambda:GetPolicy": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:perm-dev-gate",
        "cognito-idp:DescribeUserPool": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool}",
        "iam:ListRoles": f"arn:aws:iam::{ACCOUNT}:role/hookctl/perm/dev/*",  # the PathPrefix
        "iam:ListAttachedRolePolicies": f"arn:aws:iam::{ACCOUNT}:role/hookctl/perm/dev/perm-dev-gate",
        "iam:GetRolePolicy": f"arn:aws:iam::{ACCOUNT}:role/hookctl/perm/dev/perm-dev-gate",
        "tagging:GetResources": "*",
        "secretsmanager:DescribeSecret": "*",
        "ssm:DescribeParameters": "*",
        "kms:DescribeKey": "*",
    }
    calls = {name.replace("tagging:", "tag:") for name in aws.calls}
    assert "lambda:ListFunctions" not in calls
    assert "tag:GetResources" in calls  # prune: orphans found by tag
    assert {"ssm:DescribeParameters", "kms:DescribeKey"} <= calls  # the secrets' customer-managed keys
    plan_policy = documented_policy("plan")
    for call in sorted(aws.calls):
        action = call.replace("tagging:", "tag:")
        if action == "sts:GetCallerIdentity":
            continue  # needs no permission
        assert allowed(plan_policy, action, arns[call]), call

    # The same identity cannot apply: the first write is refused by IAM.
    with pytest.raises(HookctlError, match="AccessDenied"):
        aws.apply(planned)
