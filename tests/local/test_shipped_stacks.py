"""The shipped stacks' test cases pass; a deliberately broken template makes its case fail readably.

Runs the `invoke`, `test` and `event` commands through click's CliRunner on a
local group (the same command objects `cli.py` registers), and — once they
are registered — through the installed `hookctl` console script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from provisioner.cli import local as cli_local
from provisioner.local import cases as testcases
from provisioner.local.capture import CaptureRef, CaptureServer

from ..cli.helpers import hookctl_path, run
from .conftest import needs_node

REPO = Path(__file__).resolve().parents[2]
STACKS = REPO / "stacks"
SHIPPED = ["auth0-registration", "cognito-signup", "example"]

pytestmark = needs_node


@click.group()
def local() -> None:
    """The local-run commands on a group of their own."""


local.add_command(cli_local.invoke)
local.add_command(cli_local.test_cmd)
local.add_command(cli_local.event)


def hk(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(local, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture
def stack_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a shipped stack and its test cases into tmp_path (to break its templates there)."""

    def copy(name: str) -> Path:
        shutil.copy(STACKS / f"{name}.yaml", tmp_path / f"{name}.yaml")
        shutil.copy(STACKS / f"{name}.tests.yaml", tmp_path / f"{name}.tests.yaml")
        return tmp_path / f"{name}.yaml"

    return copy


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_stack__every_environment__all_cases_pass(name: str, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = hk("test", "-s", str(STACKS / f"{name}.yaml"), "--junit", str(junit))
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output
    assert "FAILED" not in result.output
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0"
    assert int(root.get("tests") or 0) >= 5
    suites = sorted(str(s.get("name")) for s in root.findall("testsuite"))
    assert [s.rsplit("/", 1)[-1] for s in suites] == [f"{name}.yaml (prod)", f"{name}.yaml (sandbox)"]


def test_shipped_stacks__cover_every_seed_example() -> None:
    from provisioner.engine.load import load_stack

    names: dict[str, set[str]] = {}
    for stack in SHIPPED:
        path = str(STACKS / f"{stack}.yaml")
        cases = testcases.load_cases(str(STACKS / f"{stack}.tests.yaml"), load_stack(path, "sandbox"))
        for case in cases:
            names.setdefault(case.target, set()).update(e.kind for e in case.expectations)
    # Seed 000/002: Slack notice, store-user-id, JA3/JA4 deny list (Auth0).
    assert "http" in names["slack-new-user"] and "http" in names["store-user-id"]
    assert "denied" in names["deny-tls-fingerprints"]
    # Seed 002 (Cognito pre sign-up) and 004 (post authentication).
    assert "error" in names["reject-short-username"]
    assert "response" in names["auto-confirm-partners"] and "response" in names["auto-confirm-domain"]
    assert "response" in names["auto-confirm-all"]
    assert "log" in names["log-sign-in"] and "log" in names["log-sign-in-py"]


def test_slack_case__capture_server_received_the_new_user_text() -> None:
    result = hk("test", "-s", str(STACKS / "auth0-registration.yaml"), "-e", "sandbox", "-k", "slack-new-user: posts")
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output and "1 passed, 0 failed" in result.output


BROKEN_REJECT_SHORT = """\
// Off by one: rejects names of exactly the minimum length too.
export const handler = async (event) => {
  if (event.userName.length <= {{ min_length }}) {
    throw new Error("Cannot register users with username less than the minimum length of " + {{ min_length }});
  }
  return event;
};
"""

BROKEN_DENY = """\
// Forgets to deny: logs the fingerprint and lets everyone in.
exports.onExecutePreUserRegistration = async (event, api) => {
  console.log("[ACTION]", { clientJa4: event?.security_context?.ja4 });
};
"""

BROKEN_PYTHON = """\
def lambda_handler(event, context)
    return event
"""


def test_broken_template__off_by_one__its_case_fails_with_the_error_and_line(stack_copy: Callable[[str], Path]) -> None:
    stack = stack_copy("cognito-signup")
    override = stack.parent / "templates" / "cognito" / "pre-sign-up" / "reject-short-username.mjs.j2"
    override.parent.mkdir(parents=True)
    override.write_text(BROKEN_REJECT_SHORT)
    result = hk("test", "-s", str(stack), "-e", "sandbox", "-k", "reject-short-username")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("PASSED ") and "shorter than 5 characters is rejected" in line for line in lines)
    assert any(line.startswith("FAILED ") and "a 5-character user name signs up" in line for line in lines)
    assert (
        "unexpected error: Error: Cannot register users with username less than the minimum length of 5\n"
        "      at index.mjs:4: throw new Error(" in result.output
    )
    assert "Cognito would answer the client: PreSignUp failed with error" in result.output
    assert "1 passed, 1 failed" in result.output


def test_broken_template__never_denies__case_says_deny_was_not_called(stack_copy: Callable[[str], Path]) -> None:
    stack = stack_copy("example")
    override = stack.parent / "templates" / "auth0" / "pre-user-registration" / "deny-tls-fingerprints.js.j2"
    override.parent.mkdir(parents=True)
    override.write_text(BROKEN_DENY)
    result = hk("test", "-s", str(stack), "-e", "sandbox", "-k", "deny-tls")
    assert result.exit_code == 1
    assert (
        "expected access to be denied, but the action did not call api.access.deny (api calls: nothing)"
        in result.output
    )
    assert "1 passed, 1 failed" in result.output  # "other fingerprints sign up" still passes


def test_broken_template__python_syntax_error__load_error_with_line(stack_copy: Callable[[str], Path]) -> None:
    stack = stack_copy("cognito-signup")
    override = stack.parent / "templates" / "cognito" / "pre-sign-up" / "auto-confirm-domain.py.j2"
    override.parent.mkdir(parents=True)
    override.write_text(BROKEN_PYTHON)
    result = hk("test", "-s", str(stack), "-e", "sandbox", "-k", "auto-confirm-partners")
    assert result.exit_code == 1
    assert (
        "unexpected error: SyntaxError: expected ':' (lambda_function.py, line 1) (while loading lambda_function.py)"
        in result.output
    )
    assert "2 failed" in result.output


def test_broken_template__render_error__case_fails_with_the_template_problem(stack_copy: Callable[[str], Path]) -> None:
    stack = stack_copy("example")
    override = stack.parent / "templates" / "cognito" / "post-authentication" / "log-sign-in.mjs.j2"
    override.parent.mkdir(parents=True)
    override.write_text("export const handler = async (e) => {{ undefined_thing | js }};\n")
    result = hk("test", "-s", str(stack), "-e", "sandbox", "-k", "log-sign-in")
    assert result.exit_code == 1
    assert "could not run the handler:" in result.output
    assert "undefined variable" in result.output and "undefined_thing" in result.output


def test_test_command__case_file_with_mistakes__error_then_other_stacks_still_run(tmp_path: Path) -> None:
    shutil.copy(STACKS / "example.yaml", tmp_path / "example.yaml")
    (tmp_path / "example.tests.yaml").write_text(
        "cases:\n  - name: x\n    action: slack-new-usr\n    expect: [{error: false}]\n"
    )
    result = hk("test", "-s", str(tmp_path / "example.yaml"), "-s", str(STACKS / "example.yaml"), "-e", "sandbox")
    assert result.exit_code == 1
    assert "example.tests.yaml:3: cases[0] (x).action: the stack has no action named 'slack-new-usr'" in result.output
    assert "passed, 0 failed, 1 error in" in result.output


def test_test_command__no_test_file__says_where_to_write_it(tmp_path: Path) -> None:
    shutil.copy(STACKS / "example.yaml", tmp_path / "example.yaml")
    result = hk("test", "-s", str(tmp_path / "example.yaml"), "-e", "sandbox")
    assert result.exit_code == 1
    assert "no test cases: write" in result.output and "example.tests.yaml" in result.output


# -- invoke and event ---------------------------------------------------------------------------


def test_invoke__text__denied_action_shows_the_call() -> None:
    event_json = json.dumps({"security_context": {"ja4": "t13d1517h2_8daaf6152771_b6f405a00624"}, "user": {}})
    result = hk(
        "invoke",
        "-s",
        str(STACKS / "example.yaml"),
        "-e",
        "sandbox",
        "deny-tls-fingerprints",
        "--event",
        "-",
        stdin=event_json,
    )
    assert result.exit_code == 0, result.output
    assert "auth0.action.deny-tls-fingerprints (pre-user-registration): denied in" in result.output
    assert (
        'api.access.deny("suspicious_tls_fingerprint", "Your TLS fingerprint has been flagged as suspicious")'
        in result.output
    )


def test_invoke__merge__partial_event_onto_the_sample() -> None:
    partial = json.dumps({"request": {"userAttributes": {"email": "someone@elsewhere.example"}}})
    args = ["invoke", "-s", str(STACKS / "example.yaml"), "-e", "sandbox", "auto-confirm-domain", "--json"]
    result = hk(*args, "--event", "-", "--merge", stdin=partial)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["result"]["response"]["autoConfirmUser"] is False
    assert document["result"]["userPoolId"] == "us-east-1_Example01"  # the rest came from the sample


def test_invoke__json__cognito_error_exit_1(tmp_path: Path) -> None:
    event_file = tmp_path / "event.json"
    event_file.write_text(
        json.dumps({"userName": "ab", "triggerSource": "PreSignUp_SignUp", "request": {}, "response": {}})
    )
    result = hk(
        "invoke",
        "-s",
        str(STACKS / "cognito-signup.yaml"),
        "-e",
        "prod",
        "reject-short-username",
        "--event",
        str(event_file),
        "--json",
    )
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["status"] == "error"
    assert document["client_message"].startswith("PreSignUp failed with error Cannot register users")
    assert document["trigger_source"] == "PreSignUp_SignUp"


def test_invoke__generated_event_and_trigger_source(tmp_path: Path) -> None:
    result = hk(
        "invoke",
        "-s",
        str(STACKS / "cognito-signup.yaml"),
        "-e",
        "sandbox",
        "auto-confirm-all",
        "--trigger-source",
        "PreSignUp_AdminCreateUser",
        "--json",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["result"]["response"]["autoConfirmUser"] is True
    assert document["result"]["userPoolId"] == "us-east-1_SbxIntern1"


def test_invoke__secret_test_value_reaches_event_secrets(tmp_path: Path) -> None:
    with CaptureServer() as server:
        scope = server.scope()
        url = server.url(scope, CaptureRef("slack"))
        result = hk(
            "invoke",
            "-s",
            str(STACKS / "example.yaml"),
            "-e",
            "sandbox",
            "slack-new-user",
            "--secret",
            f"SLACK_WEBHOOK_URL={url}",
        )
        assert result.exit_code == 0, result.output
        (posted,) = server.received(scope)
    assert posted.json["text"] == "New User: jane.doe@example.com"
    assert "test shim for @slack/webhook" in result.output


def test_event__cognito_pre_sign_up__prints_sample_json() -> None:
    result = hk("event", "cognito", "PreSignUp_SignUp")
    assert result.exit_code == 0
    sample = json.loads(result.output)
    assert sample["triggerSource"] == "PreSignUp_SignUp"
    assert set(sample["response"]) == {"autoConfirmUser", "autoVerifyEmail", "autoVerifyPhone"}


def test_event__seed_and_list_and_unknown() -> None:
    assert json.loads(hk("event", "cognito", "testTrigger").output)["userPoolId"] == "testPool"
    listing = hk("event", "cognito", "--list").output
    assert "  CustomSMSSender_Authentication" in listing and "testTrigger" in listing
    assert "pre-user-registration  onExecutePreUserRegistration" in hk("event", "auth0", "--list").output
    wrong = CliRunner().invoke(local, ["event", "cognito", "PreSignup_SignUp"])
    assert wrong.exit_code == 2 and "did you mean 'PreSignUp_SignUp'" in wrong.output


# -- the real console script, once cli.py registers the commands --------------------------------


def _registered() -> bool:
    try:
        out = subprocess.run([hookctl_path(), "--help"], capture_output=True, text=True, timeout=60).stdout
    except (AssertionError, OSError, subprocess.TimeoutExpired):
        return False
    return all(f"  {name} " in out for name in ("invoke", "test", "event"))


@pytest.mark.skipif(not _registered(), reason="cli.py does not register invoke/test/event yet")
def test_console_script__test_invoke_event__end_to_end(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    tested = run(["test", "-s", "stacks/example.yaml", "-e", "sandbox", "--junit", str(junit)], cwd=REPO)
    assert tested.code == 0, tested.all
    assert "6 passed, 0 failed" in tested.out
    assert ET.parse(junit).getroot().get("tests") == "6"
    sample = run(["event", "cognito", "PreSignUp_SignUp"], cwd=REPO)
    assert json.loads(sample.out)["triggerSource"] == "PreSignUp_SignUp"
    invoked = run(
        ["invoke", "-s", "stacks/cognito-signup.yaml", "-e", "sandbox", "reject-short-username", "--event", "-"],
        cwd=REPO,
        stdin=json.dumps({"userName": "abc", "request": {}, "response": {}}),
    )
    assert invoked.code == 1
    assert "Cognito answers the client: PreSignUp failed with error Cannot register users" in invoked.out
    broken = run(["invoke", "-s", "stacks/example.yaml", "-e", "sandbox", "nope"], cwd=REPO)
    assert broken.code == 1 and broken.err.startswith("Error: ")
