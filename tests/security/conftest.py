"""Fixtures for the pull-request attacks: the attacker's listener and the checkout (see harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.providers.cognito.conftest import aws  # noqa: F401  (an empty moto account, reused as is)

from .harness import Listener, PullRequest


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pr(tmp_path: Path, listener: Listener) -> PullRequest:
    return PullRequest(tmp_path / "checkout", listener)
