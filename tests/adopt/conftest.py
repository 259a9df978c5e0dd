"""Fixtures: an emulated Auth0 tenant and an empty moto account, seeded directly (as if by hand),
and hookctl's pipeline pointed at them the way a user's shell would point it.

Nothing here is a test double: the import reads through the real auth0-python client and boto3,
over HTTPS / HTTP on loopback.
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest

from provisioner.adopt.importing import read_auth0, read_cognito
from provisioner.adopt.stackfile import Auth0Snapshot, CognitoSnapshot, Selection
from provisioner.engine.model import Stack
from provisioner.engine.pipeline import Options, Planned, compute_plan
from provisioner.engine.secrets import SecretResolver
from provisioner.providers.auth0.client import Auth0Client
from provisioner.providers.auth0.provider import Auth0Provider
from provisioner.providers.base import Provider
from provisioner.providers.cognito.client import LambdaCognitoClient
from provisioner.providers.cognito.provider import CognitoProvider
from provisioner.sandbox.auth0.config import EmulatorConfig
from provisioner.sandbox.auth0.server import Auth0Emulator

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
# GetFunction's Code.Location in moto names this bucket and the key the function was created
# from; moto keeps no copy of code sent inline (ZipFile), so the tests deploy from S3, as SAM and
# the CDK do.
CODE_BUCKET = f"awslambda-{REGION}-tasks"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
_LOADER = botocore.loaders.create_loader()


@dataclass
class Live:
    """The live systems of one test plus hookctl configured against them."""

    root: Path
    environ: dict[str, str] = field(default_factory=dict)  # what the user exported for secrets
    emu: Auth0Emulator | None = None

    # -- hookctl ---------------------------------------------------------------------------
    @property
    def stack_path(self) -> str:
        return str(self.root / "stacks" / "imported.yaml")

    def options(self) -> Options:
        return Options(
            state_dir=str(self.root / "state"),
            build_dir=str(self.root / "build"),
            resolver=SecretResolver(environ=self.environ, base_dir=str(self.root), region=REGION),
        )

    def factory(self, stack: Stack) -> list[Provider]:
        providers: list[Provider] = []
        if stack.actions:
            providers.append(Auth0Provider(self.auth0_client))
        if stack.functions:
            providers.append(CognitoProvider(self.lambda_client()))
        return providers

    def plan(self, path: str | None = None, environment: str = "prod") -> Planned:
        return compute_plan(path or self.stack_path, environment, self.factory, self.options())

    # -- Auth0 ------------------------------------------------------------------------------
    def auth0_client(self) -> Auth0Client:
        assert self.emu is not None
        return Auth0Client.connect(
            self.emu.domain, client_id=self.emu.client_id, client_secret=self.emu.client_secret, sleep=_short_sleep
        )

    def read_auth0(self) -> Auth0Snapshot:
        assert self.emu is not None
        return read_auth0(self.auth0_client(), self.emu.domain)

    def writes(self) -> dict[tuple[str, str], int]:
        assert self.emu is not None
        return {
            k: v for k, v in self.emu.counts.items() if k[0] in ("POST", "PATCH", "DELETE") and k[1] != "/oauth/token"
        }

    # -- AWS --------------------------------------------------------------------------------
    def session(self) -> boto3.session.Session:
        core = botocore.session.get_session()
        core.register_component("data_loader", _LOADER)
        return boto3.session.Session(botocore_session=core, region_name=REGION)

    def lambda_client(self) -> LambdaCognitoClient:
        return LambdaCognitoClient(self.session(), sleep=lambda _s: None, waiter_delay=0)

    def boto(self, service: str) -> Any:
        return self.session().client(service)

    def read_cognito(self, pools: Mapping[str, str], selection: Selection | None = None) -> CognitoSnapshot:
        return read_cognito(self.lambda_client(), pools, selection or Selection())

    def pool(self, name: str) -> str:
        return str(self.boto("cognito-idp").create_user_pool(PoolName=name)["UserPool"]["Id"])

    def role(self, name: str = "existing-role") -> str:
        iam = self.boto("iam")
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"])

    def function(
        self,
        name: str,
        files: Mapping[str, str],
        *,
        runtime: str = "nodejs22.x",
        handler: str = "index.handler",
        role: str,
        environment: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> str:
        """A function deployed by hand from an S3 zip (entries in the order given, today's timestamps)."""
        s3 = self.boto("s3")
        buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if CODE_BUCKET not in buckets:
            s3.create_bucket(Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path, text in files.items():
                archive.writestr(path, text)
        key = f"uploads/{name}.zip"
        s3.put_object(Bucket=CODE_BUCKET, Key=key, Body=buffer.getvalue())
        answer = self.boto("lambda").create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=role,
            Handler=handler,
            Code={"S3Bucket": CODE_BUCKET, "S3Key": key},
            Environment={"Variables": dict(environment or {})},
            **settings,
        )
        return str(answer["FunctionArn"])

    def grant(self, function: str, pool_id: str, sid: str) -> None:
        self.boto("lambda").add_permission(
            FunctionName=function,
            StatementId=sid,
            Action="lambda:InvokeFunction",
            Principal="cognito-idp.amazonaws.com",
            SourceArn=f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool_id}",
            SourceAccount=ACCOUNT,
        )

    def attach(self, pool_id: str, config: Mapping[str, Any]) -> None:
        self.boto("cognito-idp").update_user_pool(UserPoolId=pool_id, LambdaConfig=dict(config))

    def tags(self, name: str) -> dict[str, str]:
        arn = self.boto("lambda").get_function_configuration(FunctionName=name)["FunctionArn"]
        return dict(self.boto("lambda").list_tags(Resource=arn)["Tags"])

    def configuration(self, name: str) -> dict[str, Any]:
        return dict(self.boto("lambda").get_function_configuration(FunctionName=name))

    def lambda_config(self, pool_id: str) -> dict[str, Any]:
        return dict(self.boto("cognito-idp").describe_user_pool(UserPoolId=pool_id)["UserPool"].get("LambdaConfig", {}))


def _short_sleep(seconds: float) -> None:
    time.sleep(min(seconds, 0.02))


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@pytest.fixture
def live(tmp_path: Path) -> Live:
    (tmp_path / "stacks").mkdir()
    return Live(tmp_path)


@pytest.fixture
def tenant(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    emu = Auth0Emulator(EmulatorConfig()).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(emu.ca_file))
    live.emu = emu
    try:
        yield live
    finally:
        emu.stop()


@pytest.fixture
def account(live: Live, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Live:
    """An empty moto account; boto3 configured through the environment only, as a user's shell would."""
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)
    with urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"), timeout=30):
        pass
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(live.root / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(live.root / "no-aws-credentials"))
    return live
