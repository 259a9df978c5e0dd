"""Fixtures: moto's server on loopback, and boto3 pointed at it the standard way.

One ``ThreadedMotoServer`` serves this directory's tests on a free port of
127.0.0.1. Each test gets its own bucket and sees only ``AWS_ENDPOINT_URL``,
fake credentials and ``AWS_DEFAULT_REGION`` — what a user would set — so the
S3 backend takes no test-only path.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def s3_endpoint(moto_endpoint: str) -> str:
    return moto_endpoint


@pytest.fixture
def aws_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """boto3's standard chain aimed at moto: endpoint, fake keys and region from the environment only."""
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return s3_endpoint


@pytest.fixture
def session(aws_env: str) -> boto3.session.Session:
    """One boto3 session per test: a fresh session costs ~0.2 s, a client from a warm one ~15 ms."""
    return boto3.session.Session()


@pytest.fixture
def s3(session: boto3.session.Session) -> Any:
    """A plain boto3 S3 client, to set up and to look at the bucket behind the backend's back."""
    return session.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"hookctl-state-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name
