"""Bad input: one clear error naming file, line and field; exit code 1; no API write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import BASIC_STACK

from .helpers import run


def _plan(stack_dir: Path, env: dict[str, str] | None = None) -> tuple[int, str, Path]:
    store = stack_dir / "fake-store.json"
    result = run(
        ["plan", "-s", "stack.yaml", "-e", "dev"],
        cwd=stack_dir,
        env={"HOOKCTL_FAKE_STORE": str(store), "HOOKCTL_TEST_SLACK_URL": "x-secret", **(env or {})},
    )
    return result.code, result.err, store


def _edit(stack_dir: Path, old: str, new: str) -> None:
    path = stack_dir / "stack.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _line(stack_dir: Path, needle: str, name: str = "stack.yaml") -> int:
    for number, line in enumerate((stack_dir / name).read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def _assert_error(code: int, err: str, store: Path, expected: str) -> None:
    assert code == 1, err
    assert err.startswith("Error: "), err
    assert expected in err, err
    assert "Traceback" not in err
    assert not store.exists(), "no provider call may happen on bad input"


def test_plan__yaml_syntax_error__names_file_and_line(stack_dir: Path) -> None:
    _edit(stack_dir, "  retries: 2\n", "  retries: [2\n")
    code, err, store = _plan(stack_dir)
    _assert_error(code, err, store, f"stack.yaml:{_line(stack_dir, 'environments:')}: yaml: syntax error")


def test_plan__unknown_key__names_field_and_suggests(stack_dir: Path) -> None:
    _edit(stack_dir, "      template: auth0/hello.js.j2", "      templte: auth0/hello.js.j2")
    code, err, store = _plan(stack_dir)
    line = _line(stack_dir, "templte:")
    _assert_error(
        code, err, store, f"stack.yaml:{line}: auth0.actions.notify.templte: unknown key (did you mean 'template'?)"
    )


def test_plan__unknown_trigger__names_field(stack_dir: Path) -> None:
    _edit(stack_dir, "      trigger: post-user-registration", "      trigger: post-user-registraton")
    code, err, store = _plan(stack_dir)
    line = _line(stack_dir, "post-user-registraton")
    _assert_error(
        code,
        err,
        store,
        f"stack.yaml:{line}: auth0.actions.notify.trigger: unknown Auth0 trigger "
        "'post-user-registraton' (did you mean 'post-user-registration'?)",
    )


def test_plan__unknown_cognito_trigger__names_field(stack_dir: Path) -> None:
    _edit(stack_dir, "      trigger: PreSignUp", "      trigger: PreSignup")
    code, err, store = _plan(stack_dir)
    line = _line(stack_dir, "trigger: PreSignup")
    _assert_error(code, err, store, f"stack.yaml:{line}: cognito.functions.signup.trigger: unknown Cognito trigger")


def test_plan__unknown_template__names_template_field(stack_dir: Path) -> None:
    _edit(stack_dir, "auth0/hello.js.j2", "auth0/nope.js.j2")
    code, err, store = _plan(stack_dir)
    line = _line(stack_dir, "template: auth0/nope.js.j2")  # the template: line, not the action's
    _assert_error(code, err, store, f"stack.yaml:{line}: auth0.actions.notify.template: no template 'auth0/nope.js.j2'")


def test_plan__template_syntax_error__names_template_file_and_line(stack_dir: Path) -> None:
    path = stack_dir / "templates" / "auth0" / "hello.js.j2"
    path.write_text(path.read_text().replace("{{ retries }}", "{{ retries }"))
    code, err, store = _plan(stack_dir)
    _assert_error(
        code, err, store, "templates/auth0/hello.js.j2:4: auth0.actions.notify.template: template syntax error"
    )


def test_plan__undefined_template_variable__names_template_line_and_variable(stack_dir: Path) -> None:
    _edit(stack_dir, "  retries: 2\n", "")
    code, err, store = _plan(stack_dir)
    _assert_error(
        code, err, store, "templates/auth0/hello.js.j2:4: auth0.actions.notify.vars.retries: undefined variable"
    )


def test_plan__missing_secret_source__names_secret_field(stack_dir: Path) -> None:
    store = stack_dir / "fake-store.json"
    result = run(["plan", "-s", "stack.yaml", "-e", "dev"], cwd=stack_dir, env={"HOOKCTL_FAKE_STORE": str(store)})
    line = _line(stack_dir, "env: HOOKCTL_TEST_SLACK_URL")
    _assert_error(
        result.code,
        result.err,
        store,
        f"stack.yaml:{line}: "
        "auth0.actions.notify.secrets.SLACK_WEBHOOK_URL.env: environment variable HOOKCTL_TEST_SLACK_URL is not set",
    )


def test_plan__binding_to_undeclared_action__names_binding(stack_dir: Path) -> None:
    _edit(stack_dir, "bindings: [notify]", "bindings: [notify, audit]")
    code, err, store = _plan(stack_dir)
    line = _line(stack_dir, "bindings: [notify, audit]")
    _assert_error(
        code,
        err,
        store,
        f"stack.yaml:{line}: auth0.triggers.post-user-registration.bindings[1]: "
        "binds 'audit', which is not a declared action",
    )


def test_plan__secret_given_by_value__refused_without_echoing_it(stack_dir: Path) -> None:
    _edit(stack_dir, "          env: HOOKCTL_TEST_SLACK_URL", "          value: hunter2-inline")
    code, err, store = _plan(stack_dir)
    _assert_error(code, err, store, "auth0.actions.notify.secrets.SLACK_WEBHOOK_URL.value: a stack never holds")
    assert "hunter2-inline" not in err


def test_validate__several_problems__all_reported_at_once(stack_dir: Path) -> None:
    _edit(stack_dir, "      trigger: PreSignUp", "      trigger: PreSignup")
    _edit(stack_dir, "      template: auth0/hello.js.j2", "      templte: auth0/hello.js.j2")
    result = run(["validate", "-s", "stack.yaml", "-e", "dev"], cwd=stack_dir, env={"HOOKCTL_TEST_SLACK_URL": "x"})
    assert result.code == 1
    assert "problems:" in result.err
    assert "templte" in result.err and "PreSignup" in result.err


@pytest.mark.parametrize("runtime", ["node16", "nodejs14.x"])
def test_validate__unsupported_runtime__names_field(stack_dir: Path, runtime: str) -> None:
    _edit(stack_dir, "      runtime: nodejs22.x", f"      runtime: {runtime}")
    result = run(["validate", "-s", "stack.yaml", "-e", "dev"], cwd=stack_dir, env={"HOOKCTL_TEST_SLACK_URL": "x"})
    assert result.code == 1
    assert (
        f"stack.yaml:{_line(stack_dir, runtime)}: cognito.functions.signup.runtime: unsupported runtime" in result.err
    )


def test_basic_stack_fixture_is_valid() -> None:
    assert "stack: demo" in BASIC_STACK


def test_validate__two_stack_files_with_one_stack_name__error_names_both(stack_dir: Path) -> None:
    stacks = stack_dir / "stacks"
    stacks.mkdir()
    shutil.copytree(stack_dir / "templates", stacks / "templates")
    (stacks / "a.yaml").write_text(
        (stack_dir / "stack.yaml").read_text().replace("stack: demo", "prune: true\nstack: demo")
    )
    (stacks / "b.yaml").write_text((stack_dir / "stack.yaml").read_text())
    everything = run(["validate"], cwd=stack_dir, env={"HOOKCTL_TEST_SLACK_URL": "x"})
    assert everything.code == 1
    assert "stacks/a.yaml:2: stack: the stack name 'demo' is also used by stacks/b.yaml" in everything.err
    assert "stacks/b.yaml:1: stack: the stack name 'demo' is also used by stacks/a.yaml" in everything.err
    one = run(["validate", "-s", "stacks/b.yaml"], cwd=stack_dir, env={"HOOKCTL_TEST_SLACK_URL": "x"})
    assert one.code == 1 and "is also used by stacks/a.yaml" in one.err
    (stacks / "b.yaml").write_text((stack_dir / "stack.yaml").read_text().replace("stack: demo", "stack: other"))
    fixed = run(["validate"], cwd=stack_dir, env={"HOOKCTL_TEST_SLACK_URL": "x"})
    assert fixed.code == 0, fixed.err
