"""Fixtures: moto's server on loopback, and boto3 pointed at it the standard way.

One ``ThreadedMotoServer`` serves the whole session on a free port of
127.0.0.1; every test starts from an empty account (``/moto-api/reset``) and
sees only ``AWS_ENDPOINT_URL``, fake credentials and ``AWS_DEFAULT_REGION`` —
exactly what a user would set — so hookctl's code takes no test-only path.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from .world import REGION, World


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "managed_policies: moto knows AWS's managed policies (AWSLambdaBasicExecutionRole), as IAM does. "
        "Loading them costs moto most of a second per reset, so only tests in which hookctl creates "
        "roles ask for them.",
    )


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest) -> World:
    """An empty moto account, with boto3 configured through the environment only."""
    # moto's server runs in this process and reads this when the reset rebuilds its backends.
    if request.node.get_closest_marker("managed_policies"):
        monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    else:
        monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=30) as answer:
        assert answer.status == 200
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return World(tmp_path)
