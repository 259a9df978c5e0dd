"""Fixtures for running handlers locally: a Runner, invocation builders, a small stack.

Handlers run for real: Auth0 actions and Node.js functions in the machine's
``node`` (tests that need it are skipped without it), Python functions in this
interpreter, each in its own subprocess. Nothing reaches beyond loopback: npm
packages are hookctl's test shims, stub modules in a temporary directory, or
come from a registry served on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine import events
from provisioner.local import run as localrun
from provisioner.local.deps import DependencyCache
from provisioner.local.invocation import Invocation

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not on PATH")


@pytest.fixture
def runner(tmp_path: Path) -> localrun.Runner:
    """A runner with its own empty dependency cache and a short kill grace."""
    cache = DependencyCache(str(tmp_path / "cache"))
    return localrun.Runner(cache=cache, kill_grace_s=1.0)


ActionRun = Callable[..., localrun.RunResult]


def action_invocation(
    source: str,
    trigger: str,
    *,
    event: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    timeout_ms: int = 5_000,
    dependencies: tuple[tuple[str, str], ...] = (),
    cache_seed: Mapping[str, str] | None = None,
) -> Invocation:
    return Invocation(
        kind="auth0",
        address="auth0.action.t",
        name="t",
        trigger=trigger,
        trigger_source=None,
        runtime="node22",
        language="js",
        filename="action.js",
        export=events.AUTH0_HANDLERS[trigger],
        source=textwrap.dedent(source),
        event=dict(event) if event is not None else events.auth0_event(trigger),
        timeout_ms=timeout_ms,
        secrets=dict(secrets or {}),
        dependencies=dependencies,
        cache_seed=dict(cache_seed or {}),
    )


def function_invocation(
    source: str,
    trigger_source: str,
    *,
    language: str = "js",
    filename: str | None = None,
    event: Mapping[str, Any] | None = None,
    environment: Mapping[str, str] | None = None,
    timeout_ms: int = 5_000,
) -> Invocation:
    trigger = events.TRIGGER_BY_SOURCE[trigger_source]
    default_name = "index.mjs" if language == "js" else "lambda_function.py"
    return Invocation(
        kind="cognito",
        address="cognito.function.t",
        name="t",
        trigger=trigger,
        trigger_source=trigger_source,
        runtime="nodejs22.x" if language == "js" else "python3.13",
        language=language,
        filename=filename or default_name,
        export="handler" if language == "js" else "lambda_handler",
        source=textwrap.dedent(source),
        event=dict(event) if event is not None else events.cognito_event(trigger_source),
        timeout_ms=timeout_ms,
        environment=dict(environment or {}),
    )


TESTS_TEMPLATE_JS = """\
export const handler = async (event) => {
  if (event.userName.length < {{ min_length }}) {
    throw new Error({{ message | js }});
  }
  event.response.autoConfirmUser = true;
  return event;
};
"""

SMALL_STACK = """\
stack: small
environments:
  dev:
    auth0: {domain: dev-tenant.eu.auth0.com}
    cognito:
      region: eu-west-1
      pools:
        main: eu-west-1_Main1
        other: eu-west-1_Other1
auth0:
  actions:
    gate:
      trigger: pre-user-registration
      template: auth0/gate.js.j2
      vars: {blocked: blocked.example}
      secrets:
        API_KEY: {env: SMALL_API_KEY}
    hook:
      trigger: post-user-registration
      template: auth0/hook.js.j2
      vars: {url: "https://hooks.example.com/new"}
cognito:
  functions:
    signup:
      template: cognito/signup.mjs.j2
      runtime: nodejs22.x
      timeout: 10
      vars: {min_length: 5, message: too short}
      secrets:
        TOKEN: {env: SMALL_TOKEN}
      triggers:
        - {pool: main, trigger: PreSignUp}
    sender:
      template: cognito/sender.py.j2
      runtime: python3.13
      timeout: 10
      triggers:
        - {pool: other, trigger: CustomEmailSender, kms_key_id: "arn:aws:kms:eu-west-1:123456789012:key/abc"}
"""

GATE_TEMPLATE = """\
exports.onExecutePreUserRegistration = async (event, api) => {
  console.log("key", event.secrets.API_KEY);
  if (event.user.email.endsWith("@" + {{ blocked | js }})) {
    api.access.deny("blocked_domain", "Sign-ups from this domain are closed");
  }
};
"""

HOOK_TEMPLATE = """\
const axios = require("axios");
exports.onExecutePostUserRegistration = async (event) => {
  await axios.post({{ url | js }}, { id: event.user.user_id });
};
"""

SENDER_TEMPLATE = """\
import os


def lambda_handler(event, context):
    print("sending", event["triggerSource"], os.environ.get("AWS_REGION"))
"""


@pytest.fixture
def small_stack(tmp_path: Path) -> Path:
    """A stack with two actions and two functions, its own templates, and a tests file slot."""
    root = tmp_path / "small"
    (root / "templates" / "auth0").mkdir(parents=True)
    (root / "templates" / "cognito").mkdir(parents=True)
    (root / "templates" / "auth0" / "gate.js.j2").write_text(GATE_TEMPLATE)
    (root / "templates" / "auth0" / "hook.js.j2").write_text(HOOK_TEMPLATE)
    (root / "templates" / "cognito" / "signup.mjs.j2").write_text(TESTS_TEMPLATE_JS)
    (root / "templates" / "cognito" / "sender.py.j2").write_text(SENDER_TEMPLATE)
    (root / "small.yaml").write_text(SMALL_STACK)
    return root / "small.yaml"
