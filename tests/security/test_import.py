"""``hookctl import`` never writes a value that looks secret into the stack: it declares such
variables as env-sourced secrets and lists every variable it kept plain (issue 11, item 7).
Against moto, through the console script."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from provisioner.adopt.stackfile import looks_secret
from tests.providers.cognito.world import REGION, World, function_arn

from .harness import CANARY, PullRequest

LIVE_VARIABLES = {
    "CONN": f"Server=db;User Id=sa;Password={CANARY}",
    "DB": f"Host=db.internal;Port=5432;Username=app;Pwd={CANARY}",
    "MONGO": f"mongodb+srv://app:{CANARY}@cluster0.example.net/app",
    "OPAQUE": f"x{CANARY}Zq8r2LmX7pV4nT1wK9sB3",
    "SIGNING": CANARY,
    "LOG_LEVEL": "info",
    "ALLOWED_DOMAIN": "example.com",
}


@pytest.mark.parametrize(
    "value",
    [
        "Server=db;User Id=sa;Password=hunter2",
        "host=db port=5432 user=app password=hunter2",
        "Data Source=db;Initial Catalog=app;User ID=sa;Pwd=hunter2;",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=x;SharedAccessKey=abc",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc;",
        "postgresql://db.internal/app",
        "redis://cache:6379/0",
        "Bearer abcdefghijkl",
        "user=app&token=abc",
    ],
)
def test_looks_secret__connection_strings_and_credentials_in_values(value: str) -> None:
    assert looks_secret("SETTING", value)


def test_import__secret_looking_variables__declared_as_env_secrets_plain_ones_listed(
    pr: PullRequest, aws: World
) -> None:
    pool, role = aws.pool("main"), aws.role()
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.mjs", "export const handler = async (event) => event;\n")
    # Deployed by hand from S3: moto's GetFunction names this bucket and the key as Code.Location.
    s3, bucket = aws.session.client("s3"), f"awslambda-{REGION}-tasks"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="hook.zip", Body=code.getvalue())
    aws.lambda_.create_function(
        FunctionName="imp-ci-hook",
        Runtime="nodejs22.x",
        Role=role,
        Handler="index.handler",
        Code={"S3Bucket": bucket, "S3Key": "hook.zip"},
        Environment={"Variables": LIVE_VARIABLES},
    )
    aws.cognito.update_user_pool(UserPoolId=pool, LambdaConfig={"PreSignUp": function_arn("imp-ci-hook")})
    env = {"AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"], "AWS_DEFAULT_REGION": REGION}
    run = pr.hk("import", "-e", "ci", "--name", "imp", "--pool", f"main={pool}", **env)
    assert run.code == 0, run.all
    stack = (pr.root / "stacks" / "imp.yaml").read_text()
    for name in ("CONN", "DB", "MONGO", "OPAQUE", "SIGNING"):
        assert f"{name}: {{env: " in stack or f"{name}:\n" in stack, name
    assert "LOG_LEVEL: info" in stack and "ALLOWED_DOMAIN: example.com" in stack
    listed = run.out.split("Kept as plain variables", 1)[1]
    assert "LOG_LEVEL" in listed and "ALLOWED_DOMAIN" in listed and "CONN" not in listed
    pr.assert_clean()
