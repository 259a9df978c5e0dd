"""A test's view of the moto account: set-up helpers, the pipeline, and inspection."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from provisioner.engine.model import Stack
from provisioner.engine.pipeline import Options, Planned, apply_plan, compute_plan
from provisioner.engine.plan import plan_to_json
from provisioner.providers.base import Provider
from provisioner.providers.cognito.provider import CognitoProvider

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account

_LOADER = botocore.loaders.create_loader()

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


class World:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.session = boto3.session.Session(region_name=REGION)
        self.cognito = self.session.client("cognito-idp")
        self.lambda_ = self.session.client("lambda")
        self.iam = self.session.client("iam")
        self.secretsmanager = self.session.client("secretsmanager")
        self.providers: list[CognitoProvider] = []
        self.stack_path = tmp / "stack.yaml"
        # What hookctl waits with; tests/providers/cognito/test_real_behaviours.py gives it a fake clock.
        self.sleep: Callable[[float], None] = _no_sleep
        self.clock: Callable[[], float] = time.monotonic
        # botocore event handlers for hookctl's sessions (test_permissions.py signs around a moto bug).
        self.session_hooks: list[tuple[str, Callable[..., Any]]] = []

    # -- set-up -------------------------------------------------------------------------
    def pool(self, name: str = "main", **settings: Any) -> str:
        return str(self.cognito.create_user_pool(PoolName=name, **settings)["UserPool"]["Id"])

    def role(self, name: str = "given-role") -> str:
        return str(
            self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
        )

    def write_stack(self, text: str) -> Path:
        self.stack_path.write_text(textwrap.dedent(text))
        return self.stack_path

    def edit_stack(self, old: str, new: str) -> None:
        text = self.stack_path.read_text()
        assert old in text, old
        self.stack_path.write_text(text.replace(old, new))

    def options(self, **extra: Any) -> Options:
        return Options(state_dir=str(self.tmp / "state"), build_dir=str(self.tmp / "build"), **extra)

    # -- the pipeline -------------------------------------------------------------------
    def factory(self, stack: Stack) -> list[Provider]:
        # A session of the stack's region sharing one botocore model loader: parsing the service
        # models again for every plan costs a tenth of a second. (The CLI tests take the
        # session-less path of from_environment, as a user's run does.)
        target = stack.environment.cognito
        core = botocore.session.get_session()
        core.register_component("data_loader", _LOADER)
        for event, handler in self.session_hooks:
            core.register(event, handler)
        session = boto3.session.Session(botocore_session=core, region_name=target.region if target else None)
        provider = CognitoProvider.from_environment(
            stack, session=session, waiter_delay=0, sleep=self.sleep, clock=self.clock
        )
        self.providers.append(provider)
        return [provider]

    def plan(self, environment: str = "dev", **extra: Any) -> Planned:
        return compute_plan(str(self.stack_path), environment, self.factory, self.options(**extra))

    def apply(self, planned: Planned) -> list[str]:
        return apply_plan(planned, None, self.options())

    def plan_and_apply(self, environment: str = "dev") -> Planned:
        planned = self.plan(environment)
        self.apply(planned)
        return planned

    @property
    def calls(self) -> dict[str, int]:
        """API calls of the last provider (its plan reads and its apply)."""
        return dict(self.providers[-1].client().calls)

    @property
    def writes(self) -> dict[str, int]:
        return self.providers[-1].client().writes()

    # -- inspection -----------------------------------------------------------------------
    def configuration(self, name: str) -> dict[str, Any]:
        return dict(self.lambda_.get_function_configuration(FunctionName=name))

    def function_names(self) -> set[str]:
        return {f["FunctionName"] for f in self.lambda_.list_functions()["Functions"]}

    def tags(self, name: str) -> dict[str, str]:
        arn = self.configuration(name)["FunctionArn"]
        return dict(self.lambda_.list_tags(Resource=arn)["Tags"])

    def statements(self, name: str) -> list[dict[str, Any]]:
        try:
            policy = json.loads(self.lambda_.get_policy(FunctionName=name)["Policy"])
        except self.lambda_.exceptions.ResourceNotFoundException:
            return []
        return list(policy["Statement"])

    def describe(self, pool_id: str) -> dict[str, Any]:
        return dict(self.cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"])

    def lambda_config(self, pool_id: str) -> dict[str, Any]:
        return dict(self.describe(pool_id).get("LambdaConfig") or {})

    def state(self, stack: str, environment: str = "dev") -> str:
        return (self.tmp / "state" / stack / f"{environment}.json").read_text()


def plan_json(planned: Planned) -> str:
    return json.dumps(plan_to_json(planned.plan))


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def _no_sleep(_seconds: float) -> None:
    return None
