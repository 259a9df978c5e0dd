"""Templates resolve through their real path: nothing outside the template folders is read,
symbolic links included (issue 11, item 4)."""

from __future__ import annotations

import os

import pytest

from .harness import PullRequest

STACK = """\
stack: pr
environments:
  ci:
    auth0: {domain: exampleco.us.auth0.com}
auth0:
  actions:
    hello:
      trigger: post-login
      template: auth0/%s
"""
INCLUDER = "exports.onExecutePostLogin = async () => {\n  // {%% include '%s' %%}\n};\n"
CASES = "cases:\n  - name: runs\n    action: hello\n    expect: [{error: false}]\n"


def _ci(pr: PullRequest) -> None:
    """What CI runs on the pull request; each must refuse and say why."""
    store = str(pr.root / "live.json")
    for args in (
        ("validate", "-s", "stacks/pr.yaml"),
        ("render", "-s", "stacks/pr.yaml", "-o", "out"),
        ("plan", "-s", "stacks/pr.yaml", "--markdown", "--out", "plan.hookctl"),
        ("plan", "-s", "stacks/pr.yaml", "--json"),
        ("test", "-s", "stacks/pr.yaml"),
    ):
        run = pr.hk(*args, HOOKCTL_FAKE_STORE=store)
        assert run.code == 1, f"{args}: {run.all}"
        assert "resolves outside the template folders" in run.all, f"{args}: {run.all}"


def test_template__a_symlink_to_a_runner_file__refused(pr: PullRequest) -> None:
    pr.write("stacks/pr.yaml", STACK % "leak.js.j2")
    pr.write("stacks/pr.tests.yaml", CASES)
    (pr.root / "stacks/templates/auth0").mkdir(parents=True)
    os.symlink(pr.secret_file, pr.root / "stacks/templates/auth0/leak.js.j2")
    _ci(pr)
    pr.assert_clean()


@pytest.mark.parametrize("target", ["secret", "/etc/passwd"])
def test_include__of_a_symlink_to_a_runner_file__refused(pr: PullRequest, target: str) -> None:
    pr.write("stacks/pr.yaml", STACK % "hello.js.j2")
    pr.write("stacks/pr.tests.yaml", CASES)
    pr.write("stacks/templates/auth0/hello.js.j2", INCLUDER % "auth0/data.txt")
    os.symlink(pr.secret_file if target == "secret" else target, pr.root / "stacks/templates/auth0/data.txt")
    _ci(pr)
    pr.assert_clean()


def test_include__through_a_symlinked_folder__refused(pr: PullRequest) -> None:
    pr.write("stacks/pr.yaml", STACK % "hello.js.j2")
    pr.write("stacks/pr.tests.yaml", CASES)
    pr.write("stacks/templates/auth0/hello.js.j2", INCLUDER % "auth0/runner/secret.txt")
    os.symlink(pr.runner, pr.root / "stacks/templates/auth0/runner")
    _ci(pr)
    pr.assert_clean()


def test_templates_folder__itself_a_symlink_out_of_the_stack__not_searched(pr: PullRequest) -> None:
    (pr.runner / "auth0").mkdir()
    os.symlink(pr.secret_file, pr.runner / "auth0" / "leak.js.j2")
    pr.write("stacks/pr.yaml", STACK % "leak.js.j2")
    os.symlink(pr.runner, pr.root / "stacks/templates")
    run = pr.hk("validate", "-s", "stacks/pr.yaml")
    assert run.code == 1
    assert "no template 'auth0/leak.js.j2'" in run.err
    pr.assert_clean()


def test_template__a_symlink_inside_the_template_folder__still_works(pr: PullRequest) -> None:
    """Links that stay inside the folders are fine: a shared template under another name."""
    pr.write("stacks/pr.yaml", STACK % "alias.js.j2")
    pr.write("stacks/templates/auth0/real.js.j2", "exports.onExecutePostLogin = async () => {};\n")
    os.symlink("real.js.j2", pr.root / "stacks/templates/auth0/alias.js.j2")
    run = pr.hk("render", "-s", "stacks/pr.yaml", "-o", "out")
    assert run.code == 0, run.err
