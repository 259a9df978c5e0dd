"""Dependency lists and lock files cannot pass options to pip or npm, nor make them fetch from
a server of the pull request's choosing; local installs run no package code (issue 11, item 3)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from provisioner.local.deps import DependencyCache

from .harness import Listener, PullRequest

PLAN = ("plan", "-s", "stacks/pr.yaml", "-e", "ci", "--markdown", "--out", "plan.hookctl")


def _function(pr: PullRequest, runtime: str, dependencies: dict[str, str]) -> None:
    template = "auto-confirm-all.py.j2" if runtime.startswith("python") else "auto-confirm-all.mjs.j2"
    pr.write(
        "stacks/pr.yaml",
        f"""\
        stack: pr
        environments:
          ci:
            cognito: {{region: eu-west-1, pools: {{main: eu-west-1_AbC123}}}}
        cognito:
          functions:
            hello:
              template: cognito/pre-sign-up/{template}
              runtime: {runtime}
              trigger: PreSignUp
              dependencies: {json.dumps(dependencies)}
        """,
    )
    pr.write("stacks/pr.tests.yaml", "cases:\n  - name: confirms\n    function: hello\n    expect: [{error: false}]\n")


@pytest.mark.parametrize(
    ("runtime", "name"),
    [
        ("python3.12", "--index-url=http://127.0.0.1:{port}/simple/?x"),
        ("python3.12", "-i http://127.0.0.1:{port}/simple/"),
        ("python3.12", "pkg @ http://127.0.0.1:{port}/pkg.whl"),
        ("python3.12", "requests\n"),
        ("nodejs22.x", "--registry=http://127.0.0.1:{port}/"),
        ("nodejs22.x", "evil@http://127.0.0.1:{port}/x.tgz"),
        ("nodejs22.x", "../../x"),
    ],
)
def test_dependency_name__an_option_url_or_path__refused_before_any_install(
    pr: PullRequest, listener: Listener, runtime: str, name: str
) -> None:
    _function(pr, runtime, {name.format(port=listener.port): "1.0.0"})
    for args in (("validate", "-s", "stacks/pr.yaml"), PLAN, ("test", "-s", "stacks/pr.yaml", "--install-deps")):
        run = pr.hk(*args, HOOKCTL_FAKE_STORE=str(pr.root / "live.json"))
        assert run.code == 1, f"{args}: {run.all}"
        assert "cognito.functions.hello.dependencies." in run.all  # `hookctl test` reports on stdout
        assert "expected a PyPI package name" in run.all or "expected an npm package name" in run.all
    assert listener.connections == 0
    pr.assert_clean()


@pytest.mark.parametrize("version", ["1.0.0 --index-url=http://127.0.0.1:1/", "1.0.0\n", "*", ">=1"])
def test_dependency_version__anything_but_an_exact_version__refused(pr: PullRequest, version: str) -> None:
    _function(pr, "python3.12", {"requests": version})
    run = pr.hk("validate", "-s", "stacks/pr.yaml")
    assert run.code == 1
    assert "cognito.functions.hello.dependencies.requests: PyPI dependencies need an exact version" in run.err


@pytest.mark.parametrize(
    "lock",
    [
        "requests==2.32.3\n--index-url http://127.0.0.1:{port}/simple/\n",
        "--extra-index-url=http://127.0.0.1:{port}/simple/\nrequests==2.32.3\n",
        "-r /etc/passwd\n",
        "requests @ http://127.0.0.1:{port}/requests.whl\n",
        "requests==2.32.3 \\\n  --index-url=http://127.0.0.1:{port}/\n",
    ],
)
def test_pip_lock_file__with_options_or_urls__refused_by_plan_and_test(
    pr: PullRequest, listener: Listener, lock: str
) -> None:
    _function(pr, "python3.12", {"requests": "2.32.3"})
    pr.write("stacks/locks/hello/requirements.txt", lock.format(port=listener.port))
    plan = pr.hk(*PLAN, HOOKCTL_FAKE_STORE=str(pr.root / "live.json"))
    assert plan.code == 1
    assert "building cognito.function.hello: lock file stacks/locks/hello/requirements.txt: line" in plan.err
    test = pr.hk("test", "-s", "stacks/pr.yaml", "--install-deps")
    assert test.code == 1
    assert "lock file stacks/locks/hello/requirements.txt: line" in test.all
    assert listener.connections == 0
    pr.assert_clean()


def test_npm_lock_file__resolving_outside_the_registry__refused(pr: PullRequest, listener: Listener) -> None:
    _function(pr, "nodejs22.x", {"left-pad": "1.3.0"})
    lock = {
        "name": "hookctl-function",
        "lockfileVersion": 3,
        "packages": {
            "": {"dependencies": {"left-pad": "1.3.0"}},
            "node_modules/left-pad": {"version": "1.3.0", "resolved": f"{listener.url}/left-pad-1.3.0.tgz"},
        },
    }
    pr.write("stacks/locks/hello/package-lock.json", json.dumps(lock))
    plan = pr.hk(*PLAN, HOOKCTL_FAKE_STORE=str(pr.root / "live.json"))
    assert plan.code == 1
    assert "node_modules/left-pad resolves outside the npm registry (https://registry.npmjs.org/)" in plan.err
    assert listener.connections == 0
    pr.assert_clean()


class Recorder:
    """Stands in for subprocess.run: records each command, installs nothing."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        return subprocess.CompletedProcess(command, 0, "", "")


def test_local_install__pip_wheels_only_and_requirements_after_double_dash(tmp_path: Path) -> None:
    recorder = Recorder()
    DependencyCache(str(tmp_path), runner=recorder).install("cognito.function.x", "py", [("requests", "2.32.3")], None)
    (command,) = recorder.commands
    assert "--only-binary=:all:" in command
    assert command[-2:] == ["--", "requests==2.32.3"]


def test_local_install__npm_runs_no_scripts(tmp_path: Path) -> None:
    recorder = Recorder()
    DependencyCache(str(tmp_path), runner=recorder).install("auth0.action.x", "js", [("left-pad", "1.3.0")], None)
    assert recorder.commands and all("--ignore-scripts" in command for command in recorder.commands)


def test_lambda_build__pip_requirements_after_double_dash(tmp_path: Path) -> None:
    from provisioner.engine.load import load_stack
    from provisioner.engine.package import package_function
    from provisioner.engine.render import render_all

    (tmp_path / "stack.yaml").write_text(
        "stack: s\nenvironments: {ci: {cognito: {region: eu-west-1, pools: {main: eu-west-1_AbC123}}}}\n"
        "cognito:\n  functions:\n    f:\n      template: cognito/pre-sign-up/auto-confirm-all.py.j2\n"
        "      runtime: python3.12\n      trigger: PreSignUp\n      dependencies: {requests: 2.32.3}\n"
    )
    stack = load_stack(str(tmp_path / "stack.yaml"), "ci")
    (rendered,) = render_all(stack)
    recorder = Recorder()
    package_function(stack.functions[0], rendered, str(tmp_path / "build"), runner=recorder)
    (command,) = recorder.commands
    assert "--only-binary=:all:" in command
    assert command[-2:] == ["--", "requests==2.32.3"]
