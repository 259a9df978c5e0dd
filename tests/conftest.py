"""Shared fixtures: small stack files written into a temporary directory."""

from __future__ import annotations

import os
import socket
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Sandboxes in the suite build Auth0 actions for half a second, not the sandbox's realistic
# seconds: the build still goes pending -> building -> built, and hookctl still waits for it.
os.environ.setdefault("HOOKCTL_SANDBOX_BUILD_SECONDS", "0.5")

HELLO_TEMPLATE = """\
{#- A tiny post-user-registration action used by the engine tests. -#}
exports.onExecutePostUserRegistration = async (event, api) => {
  const channel = {{ channel | js }};
  const retries = {{ retries }};
  console.log(channel, retries, event.user.email);
};
"""

SIGNUP_TEMPLATE = """\
export const handler = async (event) => {
  event.response.autoConfirmUser = event.userName.length >= {{ min_length }};
  return event;
};
"""

BASIC_STACK = """\
stack: demo
vars:
  channel: "#general"
  retries: 2
environments:
  dev:
    auth0:
      domain: dev.example.auth0.com
    cognito:
      region: eu-west-1
      pools:
        main: eu-west-1_AbC123
    vars:
      min_length: 5
auth0:
  actions:
    notify:
      trigger: post-user-registration
      template: auth0/hello.js.j2
      dependencies:
        "@slack/webhook": 7.0.2
      secrets:
        SLACK_WEBHOOK_URL:
          env: HOOKCTL_TEST_SLACK_URL
  triggers:
    post-user-registration:
      bindings: [notify]
cognito:
  functions:
    signup:
      template: cognito/signup.mjs.j2
      runtime: nodejs22.x
      trigger: PreSignUp
"""


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    """A stack directory with its own templates/ and stack.yaml (BASIC_STACK)."""
    (tmp_path / "templates" / "auth0").mkdir(parents=True)
    (tmp_path / "templates" / "cognito").mkdir(parents=True)
    (tmp_path / "templates" / "auth0" / "hello.js.j2").write_text(HELLO_TEMPLATE)
    (tmp_path / "templates" / "cognito" / "signup.mjs.j2").write_text(SIGNUP_TEMPLATE)
    (tmp_path / "stack.yaml").write_text(BASIC_STACK)
    return tmp_path


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[[str], str]:
    """Write a dedented stack file into tmp_path and return its path."""

    def write(text: str, name: str = "stack.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return str(path)

    return write


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "hooks.slack.test/T000/B000/SuperSecretValue-7f3a9"
    monkeypatch.setenv("HOOKCTL_TEST_SLACK_URL", value)
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on loopback for the whole session (its backends are process-wide anyway)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("NO_COLOR", "1")
    # The sandbox models AWS's delays (provisioner/sandbox/awsmodel.py); the suite runs them 20× faster.
    os.environ.setdefault("HOOKCTL_SANDBOX_TIME_SCALE", "0.05")
