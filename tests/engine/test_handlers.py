"""Handlers: plain ``code:`` files, runtimes inferred from the extension, the template search path,
and the syntax and export checks that validate and plan run on every rendered handler."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from provisioner.engine.check import check_rendered
from provisioner.engine.errors import InputError
from provisioner.engine.load import load_stack
from provisioner.engine.pipeline import validate_stack
from provisioner.engine.render import render_all, search_path, shipped_templates_dir


def _repo(tmp_path: Path, stack: str, files: dict[str, str]) -> str:
    """A repository holding only stacks/ (and what the case adds), like a user's."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "stacks").mkdir()
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    path = tmp_path / "stacks" / "s.yaml"
    path.write_text(textwrap.dedent(stack))
    return str(path)


HEAD = """\
stack: s
environments:
  dev:
    auth0: {domain: dev.example.auth0.com}
    cognito: {region: eu-west-1, pools: {main: eu-west-1_AbC123}}
"""

PLAIN_JS = """\
// Template-literal syntax Jinja would choke on: ${{a:1}.a} and {% raw %}
exports.onExecutePostLogin = async (event, api) => {
  console.log(`${{a: 1}.a}`);
};
"""


def test_code__plain_file_is_used_as_is_not_through_jinja(tmp_path: Path) -> None:
    stack_file = _repo(
        tmp_path,
        HEAD + "auth0:\n  actions:\n    hello: {trigger: post-login, code: ../handlers/hello.js}\n",
        {"handlers/hello.js": PLAIN_JS},
    )
    stack = validate_stack(stack_file, "dev")
    [rendered] = render_all(stack)
    assert rendered.source == PLAIN_JS
    assert rendered.suffix == ".js"


def test_code__runtime_inferred_from_extension(tmp_path: Path) -> None:
    stack_file = _repo(
        tmp_path,
        HEAD
        + "cognito:\n  functions:\n"
        + "    py: {code: ../handlers/signup.py, trigger: PreSignUp}\n"
        + "    js: {code: ../handlers/auth.mjs, trigger: PostAuthentication}\n",
        {
            "handlers/signup.py": "def lambda_handler(event, context):\n    return event\n",
            "handlers/auth.mjs": "export const handler = async (event) => event;\n",
        },
    )
    stack = validate_stack(stack_file, "dev")
    runtimes = {f.name: (f.runtime, f.handler) for f in stack.functions}
    assert runtimes == {
        "py": ("python3.13", "lambda_function.lambda_handler"),
        "js": ("nodejs22.x", "index.handler"),
    }


def test_runtime__required_when_the_extension_does_not_say(tmp_path: Path) -> None:
    stack_file = _repo(
        tmp_path,
        HEAD + "cognito:\n  functions:\n    f: {template: odd.j2, trigger: PreSignUp}\n",
        {},
    )
    with pytest.raises(InputError) as caught:
        load_stack(stack_file, "dev")
    assert "cognito.functions.f.runtime: is required" in caught.value.message


def test_code__outside_the_repository_is_refused_on_the_code_line(tmp_path: Path) -> None:
    outside = tmp_path / "outside.js"
    outside.write_text(PLAIN_JS)
    repo = tmp_path / "repo"
    repo.mkdir()
    stack_file = _repo(
        repo,
        HEAD + "auth0:\n  actions:\n    hello:\n      trigger: post-login\n      code: ../../outside.js\n",
        {},
    )
    with pytest.raises(InputError) as caught:
        render_all(load_stack(stack_file, "dev"))
    assert caught.value.problems[0].line == 10
    assert "is outside the repository" in caught.value.message


def test_code__and_template_together_is_an_error(tmp_path: Path) -> None:
    stack_file = _repo(
        tmp_path,
        HEAD + "auth0:\n  actions:\n    hello: {trigger: post-login, code: a.js, template: b.js.j2}\n",
        {},
    )
    with pytest.raises(InputError, match="give either template or code, not both"):
        load_stack(stack_file, "dev")


def test_search_path__stack_folder_repo_root_and_shipped_library(tmp_path: Path) -> None:
    stack_file = _repo(
        tmp_path,
        HEAD + "template_path: [../shared]\nauth0:\n  actions:\n    hello: {trigger: post-login, template: hi.js.j2}\n",
        {
            "templates/hi.js.j2": "exports.onExecutePostLogin = async () => {{ 1 }};\n",
            "shared/.keep": "",
        },
    )
    stack = load_stack(stack_file, "dev")
    assert search_path(stack) == [
        str(tmp_path / "shared"),
        str(tmp_path / "stacks" / "templates"),
        str(tmp_path / "templates"),
        shipped_templates_dir(),
    ]
    [rendered] = render_all(stack)  # found in the repository's templates/
    assert rendered.template_path == str(tmp_path / "templates" / "hi.js.j2")


def test_template_path__first_match_wins(tmp_path: Path) -> None:
    stack_file = _repo(
        tmp_path,
        HEAD + "template_path: ../shared\nauth0:\n  actions:\n    hello: {trigger: post-login, template: hi.js.j2}\n",
        {
            "templates/hi.js.j2": "exports.onExecutePostLogin = async () => 1;\n",
            "shared/hi.js.j2": "exports.onExecutePostLogin = async () => 2;\n",
        },
    )
    [rendered] = render_all(load_stack(stack_file, "dev"))
    assert "=> 2;" in rendered.source


def test_unknown_template__reported_on_the_template_line(tmp_path: Path) -> None:
    stack_file = _repo(
        tmp_path,
        HEAD + "auth0:\n  actions:\n    hello:\n      trigger: post-login\n      template: nope.js.j2\n",
        {},
    )
    with pytest.raises(InputError) as caught:
        render_all(load_stack(stack_file, "dev"))
    assert caught.value.problems[0].line == 10  # the template: line, not the action's (line 8)


def test_check__every_shipped_template_of_the_examples_passes() -> None:
    from tests.conftest import REPO

    for name in ("example.yaml", "auth0-registration.yaml", "cognito-signup.yaml"):
        stack = load_stack(str(REPO / "stacks" / name), "sandbox")
        assert check_rendered(stack, render_all(stack)) == []


def test_validate__offline_without_secrets_then_check_secrets_finds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOKCTL_TEST_UNSET_HOOK", raising=False)
    stack_file = _repo(
        tmp_path,
        HEAD
        + "auth0:\n  actions:\n    hello:\n      trigger: post-login\n      code: ../handlers/hello.js\n"
        + "      secrets: {HOOK: {env: HOOKCTL_TEST_UNSET_HOOK}}\n",
        {"handlers/hello.js": PLAIN_JS},
    )
    validate_stack(stack_file, "dev")  # no secret needed
    with pytest.raises(InputError, match="HOOKCTL_TEST_UNSET_HOOK is not set"):
        validate_stack(stack_file, "dev", check_secrets=True)
