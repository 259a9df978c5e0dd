"""Shared fixtures: small stack files written into a temporary directory."""

from __future__ import annotations

import ast
import functools
import os
import socket
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    """moto's server on loopback for the whole session (its backends are process-wide anyway).

    One per pytest-xdist worker: each worker is its own process with its own moto backends, and
    the server binds port 0, so the kernel hands every worker a port of its own (no pick-then-bind
    race between workers).
    """
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("NO_COLOR", "1")
    # The sandbox models AWS's delays (provisioner/sandbox/awsmodel.py); the suite runs them 20× faster.
    os.environ.setdefault("HOOKCTL_SANDBOX_TIME_SCALE", "0.05")


# -- running in parallel (pytest-xdist) ---------------------------------------------------------
#
# `make test` runs pytest -n auto --dist loadgroup. Tests are handed to the workers one by one,
# except the tests of a module that builds a fixture once for several tests (scope module, class or
# package: the bad-input corpus run, the online secrets sequence, the fault-proxy sandbox...): those
# go to one worker together, so the fixture is built once, not once per worker. xdist's own
# loadgroup reads xdist_group marks through a node-id suffix that pytest 9.2 no longer keeps
# (https://github.com/pytest-dev/pytest-xdist/issues/1386), and the controller process does not
# collect tests, so the grouping is decided here from the source: a module shares fixtures when it,
# or a conftest.py above it, declares a fixture with such a scope.

_SHARED_SCOPES = frozenset({"module", "class", "package"})


def _is_fixture_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
        isinstance(target, ast.Name) and target.id == "fixture"
    )


@functools.cache
def _declares_shared_fixture(path: Path) -> bool:
    """Whether this file declares a fixture built once for several tests (a non-constant scope counts)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and _is_fixture_decorator(decorator)):
                continue
            for keyword in decorator.keywords:
                if keyword.arg == "scope" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value in ("function", "session")
                ):
                    return True
    return False


def shares_fixtures(root: Path, module: str) -> bool:
    """Whether the tests of ``module`` (a path relative to ``root``) share a fixture built once for them."""
    path = root / module
    if _declares_shared_fixture(path):
        return True
    folder = path.parent
    while folder == root or root in folder.parents:
        if _declares_shared_fixture(folder / "conftest.py"):
            return True
        if folder == root:
            break
        folder = folder.parent
    return False


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: xdist_group marks where they work, plus one group per fixture-sharing module."""
    if config.getoption("dist", None) != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    root = config.rootpath

    class SharedFixtureScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            if scope != nodeid:  # an xdist_group mark that reached the node id
                return scope
            module = nodeid.split("::", 1)[0]
            return module if shares_fixtures(root, module) else nodeid

    return SharedFixtureScheduling(config, log)
