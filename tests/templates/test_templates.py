"""The shipped template library and the example stacks.

Every stack in ``stacks/`` loads for each of its environments and renders;
every rendered handler is syntax-checked (``node --check``, ``py_compile``);
hostile variable values stay inside their literals; and the handlers behave
like the seed examples they come from. JavaScript runs in the local ``node``
with stub packages (``@slack/webhook``, ``axios``, the AWS SDK) written into a
temporary ``node_modules``; Python handlers run in-process, with moto standing
in for Secrets Manager and SSM. Nothing here reaches the internet.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import py_compile
import re
import shutil
import subprocess
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine import catalog
from provisioner.engine.errors import InputError
from provisioner.engine.load import discover_stacks, load_stack, read_document
from provisioner.engine.model import Stack
from provisioner.engine.render import Rendered, render_all

ROOT = Path(__file__).resolve().parents[2]
STACKS_DIR = ROOT / "stacks"
TEMPLATES_DIR = ROOT / "templates"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None, reason="node is not on PATH: rendered JavaScript can be neither checked nor run"
)

# Quotes of every kind, a template literal, an HTML close tag, JS and Python
# line terminators, NUL, Jinja syntax, non-ASCII and an astral character.
HOSTILE = "\"'`${process.exit(1)}\\</script>\u2028'''\"\"\"\n\r\t\u2029\x00{{ 7*7 }}{% raw %}<!-- -->#\u00e9\U0001f600"

SEED_DOMAIN_EVENT_ATTRIBUTES = {"email": "testuser@example.com", "custom:domain": "example.com"}


# -- building and rendering stacks ---------------------------------------------------------


def _kebab(trigger: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", trigger).lower()


COGNITO_TRIGGER_BY_FOLDER = {_kebab(t): t for t in catalog.COGNITO_TRIGGERS}


def _yaml_text(document: dict[str, Any]) -> str:
    """JSON is YAML; escape what a YAML reader would fold (NEL, U+2028/9, BOM)."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    return re.sub("[\x7f-\x9f\u2028\u2029\ufeff]", lambda m: f"\\u{ord(m.group()):04x}", text)


def shipped_templates() -> list[str]:
    """Every shipped handler template (``_lib`` holds includes, not handlers)."""
    return sorted(
        p.relative_to(TEMPLATES_DIR).as_posix()
        for p in TEMPLATES_DIR.rglob("*.j2")
        if "_lib" not in p.relative_to(TEMPLATES_DIR).parts
    )


def write_entry_stack(
    directory: Path,
    template: str,
    variables: dict[str, Any] | None = None,
    *,
    secrets: dict[str, Any] | None = None,
) -> Path:
    """A one-entry stack for ``template`` (its trigger and runtime follow from its path)."""
    directory.mkdir(parents=True, exist_ok=True)
    provider, folder, _ = template.split("/", 2)
    entry: dict[str, Any] = {"template": template, "vars": variables or {}}
    if secrets:
        entry["secrets"] = secrets
    document: dict[str, Any] = {"stack": "templates-test"}
    if provider == "auth0":
        entry["trigger"] = folder
        document["environments"] = {"test": {"auth0": {"domain": "test.example.auth0.com"}}}
        document["auth0"] = {"actions": {"entry": entry}}
    else:
        runtime = "python3.13" if template.endswith(".py.j2") else "nodejs22.x"
        entry.update(runtime=runtime, trigger=COGNITO_TRIGGER_BY_FOLDER[folder])
        pools = {"main": "us-east-1_Test01"}
        document["environments"] = {"test": {"cognito": {"region": "us-east-1", "pools": pools}}}
        document["cognito"] = {"functions": {"entry": entry}}
    path = directory / "stack.yaml"
    path.write_text(_yaml_text(document), encoding="utf-8")
    return path


def render_entry(directory: Path, template: str, variables: dict[str, Any] | None = None, **kw: Any) -> Rendered:
    stack = load_stack(str(write_entry_stack(directory, template, variables, **kw)), "test")
    (rendered,) = render_all(stack)
    return rendered


def stack_environments(path: str) -> list[str]:
    doc, _ = read_document(path)
    return list(doc["environments"])


STACK_CASES = [
    pytest.param(path, env, id=f"{Path(path).stem}-{env}")
    for path in discover_stacks(str(STACKS_DIR))
    for env in stack_environments(path)
]


@cache
def rendered_stack(path: str, env: str) -> tuple[Stack, tuple[Rendered, ...]]:
    stack = load_stack(path, env)
    return stack, tuple(render_all(stack))


# Required (or illustrative) variables for rendering each shipped template alone.
SAMPLE_VARS: dict[str, dict[str, Any]] = {
    "auth0/post-user-registration/store-user-id.js.j2": {"url": "https://users.example.com/v1"},
    "auth0/pre-user-registration/deny-tls-fingerprints.js.j2": {"ja4": ["t13d1517h2_8daaf6152771_b6f405a00624"]},
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Every shipped template rendered on its own with its defaults."""
    base = tmp_path_factory.mktemp("library")
    return {
        template: render_entry(base / f"t{i}", template, SAMPLE_VARS.get(template))
        for i, template in enumerate(shipped_templates())
    }


# -- running rendered handlers ---------------------------------------------------------------

HARNESS = r"""
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const [modulePath, exportName, casesPath] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesPath, "utf8"));
const logs = [];
console.log = (...args) => { logs.push(format(...args)); };
console.error = console.log;
globalThis.__hookctlCalls = [];
const loaded = await import(pathToFileURL(modulePath).href);
const fn = loaded[exportName] ?? loaded.default?.[exportName];
if (typeof fn !== "function") throw new Error(`no export ${exportName}`);
const results = [];
for (const event of cases) {
  const denied = [];
  // An Auth0 action gets (event, api); a Lambda handler gets (event, context).
  const api = { access: { deny: (...args) => { denied.push(args); } } };
  const firstLog = logs.length;
  const firstCall = globalThis.__hookctlCalls.length;
  const result = {};
  try {
    result.returned = (await fn(event, api)) ?? null;
    result.ok = true;
  } catch (error) {
    result.ok = false;
    result.error = String(error.message);
  }
  result.logs = logs.slice(firstLog);
  result.calls = globalThis.__hookctlCalls.slice(firstCall);
  result.denied = denied;
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
"""

STUBS = {
    "@slack/webhook/index.js": """
class IncomingWebhook {
  constructor(url) { this.url = url; }
  async send(message) {
    globalThis.__hookctlCalls.push({ module: "@slack/webhook", url: this.url, message });
    return { text: "ok" };
  }
}
module.exports = { IncomingWebhook };
""",
    "axios/index.js": """
module.exports = {
  post: async (url, data, config) => {
    globalThis.__hookctlCalls.push({ module: "axios", url, data, config });
    return { status: 201, data: {} };
  },
};
""",
    "@aws-sdk/client-secrets-manager/package.json": '{"type": "module", "main": "index.js"}',
    "@aws-sdk/client-secrets-manager/index.js": """
export class GetSecretValueCommand { constructor(input) { this.input = input; } }
export class SecretsManagerClient {
  async send(command) {
    globalThis.__hookctlCalls.push({ module: "secretsmanager", input: command.input });
    const value = JSON.parse(process.env.FAKE_AWS ?? "{}").secretsmanager?.[command.input.SecretId];
    if (value === undefined) {
      const error = new Error("Secrets Manager can't find the specified secret.");
      error.name = "ResourceNotFoundException";
      throw error;
    }
    return { SecretString: value };
  }
}
""",
    "@aws-sdk/client-ssm/package.json": '{"type": "module", "main": "index.js"}',
    "@aws-sdk/client-ssm/index.js": """
export class GetParameterCommand { constructor(input) { this.input = input; } }
export class SSMClient {
  async send(command) {
    globalThis.__hookctlCalls.push({ module: "ssm", input: command.input });
    const value = JSON.parse(process.env.FAKE_AWS ?? "{}").ssm?.[command.input.Name];
    return { Parameter: { Name: command.input.Name, Type: "SecureString", Value: value } };
  }
}
""",
}


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    """A folder with the harness and stub npm packages; handlers are written beside them."""
    work = tmp_path / "node"
    work.mkdir()
    # Stops Node's search for a package.json "type": a .js file here is CommonJS.
    (work / "package.json").write_text('{"private": true}')
    (work / "harness.mjs").write_text(HARNESS)
    for rel, text in STUBS.items():
        path = work / "node_modules" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return work


def export_name(rendered: Rendered) -> str:
    if rendered.address.startswith("auth0."):
        match = re.search(r"exports\.(onExecute\w+)\s*=", rendered.source)
        assert match, f"{rendered.template}: no exports.onExecute… handler"
        return match.group(1)
    return "handler"


def run_node(
    work: Path, rendered: Rendered, events: list[dict[str, Any]], env: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Import the rendered module in node and call its handler with each event in turn."""
    assert NODE is not None
    module = work / ("index.mjs" if rendered.suffix == ".mjs" else "action.js")
    module.write_text(rendered.source, encoding="utf-8")
    cases = work / "cases.json"
    cases.write_text(json.dumps(events), encoding="utf-8")
    proc = subprocess.run(
        [NODE, str(work / "harness.mjs"), str(module), export_name(rendered), str(cases)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        cwd=work,
    )
    assert proc.returncode == 0, f"node failed ({proc.returncode}):\n{proc.stderr}"
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    return results


def load_python(rendered: Rendered) -> types.ModuleType:
    module = types.ModuleType("lambda_function")
    exec(compile(rendered.source, rendered.template, "exec"), module.__dict__)
    return module


def run_python(rendered: Rendered, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Same result shape as ``run_node``, for a Python handler run in-process."""
    module = load_python(rendered)
    results = []
    for event in events:
        out = io.StringIO()
        result: dict[str, Any] = {}
        with contextlib.redirect_stdout(out):
            try:
                result["returned"] = module.lambda_handler(json.loads(json.dumps(event)), None)
                result["ok"] = True
            except Exception as exc:
                result["ok"] = False
                result["error"] = str(exc)
        result["logs"] = out.getvalue().splitlines()
        results.append(result)
    return results


LANGUAGES = [pytest.param("mjs", marks=needs_node, id="node"), pytest.param("py", id="python")]


@pytest.fixture
def invoke(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., list[dict[str, Any]]]:
    """invoke(template, vars, events): render one Cognito template, run it on each event."""
    counter = iter(range(1000))

    def run(template: str, variables: dict[str, Any] | None, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rendered = render_entry(tmp_path / f"stack{next(counter)}", template, variables)
        if rendered.language == "py":
            return run_python(rendered, events)
        return run_node(request.getfixturevalue("node_dir"), rendered, events)

    return run


def cognito_event(
    trigger_source: str,
    *,
    user_name: str = "jdoe_12345",
    attributes: dict[str, str] | None = None,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event shaped like Cognito's: the common fields, then request and response."""
    return {
        "version": "1",
        "triggerSource": trigger_source,
        "region": "us-east-1",
        "userPoolId": "us-east-1_Example01",
        "userName": user_name,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789"},
        "request": {"userAttributes": attributes or {}, "validationData": None, "clientMetadata": {}},
        "response": response if response is not None else {},
    }


def sign_up(user_name: str = "jdoe_12345", **attributes: str) -> dict[str, Any]:
    return cognito_event(
        "PreSignUp_SignUp",
        user_name=user_name,
        attributes=attributes,
        response={"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    )


def registration_event(**user: Any) -> dict[str, Any]:
    """An Auth0 post/pre-user-registration event (the fields these actions read)."""
    base = {"user_id": "auth0|65f0c0ffee", "email": "new.user@example.com"}
    return {
        "user": {**base, **user},
        "connection": {"name": "Username-Password-Authentication", "strategy": "auth0"},
        "secrets": {"SLACK_WEBHOOK_URL": "https://hooks.slack.test/services/T0/B0/x"},
        "security_context": {},
    }


# -- stacks: load and render -------------------------------------------------------------


def test_stacks__shipped_examples__present() -> None:
    names = {Path(p).name for p in discover_stacks(str(STACKS_DIR))}
    assert {"auth0-registration.yaml", "cognito-signup.yaml", "example.yaml"} <= names


@pytest.mark.parametrize(("path", "env"), STACK_CASES)
def test_stack__each_environment__loads_and_renders_every_entry(path: str, env: str) -> None:
    stack, rendered = rendered_stack(path, env)
    entries = (*stack.actions, *stack.functions)
    assert [r.address for r in rendered] == [e.address for e in entries]
    for entry, result in zip(entries, rendered, strict=True):
        assert result.source.strip(), entry.address
    for fn in stack.functions:
        assert fn.triggers, f"{fn.address} serves no pool trigger"


@pytest.mark.parametrize(("path", "env"), STACK_CASES)
def test_stack__rendered_twice__identical_source(path: str, env: str) -> None:
    first = [r.source for r in render_all(load_stack(path, env))]
    second = [r.source for r in render_all(load_stack(path, env))]
    assert first == second


def test_auth0_registration__post_user_registration__bound_in_declared_order() -> None:
    stack, _ = rendered_stack(str(STACKS_DIR / "auth0-registration.yaml"), "prod")
    order = {b.trigger: b.actions for b in stack.bindings}
    assert order["post-user-registration"] == ("store-user-id", "slack-new-user")
    assert stack.environment.auth0 is not None and stack.environment.auth0.domain
    sandbox, _ = rendered_stack(str(STACKS_DIR / "auth0-registration.yaml"), "sandbox")
    assert sandbox.environment.auth0 is not None and sandbox.environment.auth0.domain is None


def test_auth0_registration__dependencies__pinned_exactly() -> None:
    stack, _ = rendered_stack(str(STACKS_DIR / "auth0-registration.yaml"), "sandbox")
    deps = {a.name: dict(a.dependencies) for a in stack.actions}
    assert set(deps["slack-new-user"]) == {"@slack/webhook"}
    assert set(deps["store-user-id"]) == {"axios"}
    secrets = {a.name: [s.describe() for s in a.secrets] for a in stack.actions}
    assert secrets["slack-new-user"] == ["env:SLACK_WEBHOOK_URL"]


def test_cognito_signup__each_pool__one_function_per_trigger() -> None:
    stack, _ = rendered_stack(str(STACKS_DIR / "cognito-signup.yaml"), "prod")
    served = {(t.pool, t.trigger): fn.template for fn in stack.functions for t in fn.triggers}
    pre_sign_up = {served[(pool, "PreSignUp")].split("/")[-1] for pool in ("main", "partners", "internal")}
    assert pre_sign_up == {
        "reject-short-username.mjs.j2",
        "auto-confirm-domain.py.j2",
        "auto-confirm-all.mjs.j2",
    }
    post_auth = {served[(pool, "PostAuthentication")].split("/")[-1] for pool in ("main", "partners")}
    assert post_auth == {"log-sign-in.mjs.j2", "log-sign-in.py.j2"}


# -- the template library: conventions, syntax ------------------------------------------------


@pytest.mark.parametrize("template", shipped_templates())
def test_template__path_and_header__follow_conventions(template: str) -> None:
    provider, folder, name = template.split("/")
    if provider == "auth0":
        assert folder in catalog.AUTH0_TRIGGERS
        assert name.endswith(".js.j2")
    else:
        assert provider == "cognito"
        assert folder in COGNITO_TRIGGER_BY_FOLDER
        assert name.endswith((".mjs.j2", ".py.j2"))
    text = (TEMPLATES_DIR / template).read_text()
    header = text.split("-#}", 1)[0]
    assert text.startswith("{#-"), "templates open with a {#- … -#} header"
    for word in ("Trigger:", "Vars:", "Secrets:"):
        assert word in header, f"header lacks {word}"


def test_library__every_template__follows_handler_conventions(library: dict[str, Rendered]) -> None:
    for template, rendered in library.items():
        if template.startswith("auth0/"):
            trigger = template.split("/")[1]
            camel = "".join(part.title() for part in trigger.split("-"))
            assert f"exports.onExecute{camel} = async (event, api)" in rendered.source, template
        elif rendered.suffix == ".mjs":
            assert re.search(r"^export (const handler =|\{ handler \})", rendered.source, re.M), template
        else:
            assert "\ndef lambda_handler(event, context):" in rendered.source, template


def _all_sources(library: dict[str, Rendered]) -> dict[str, Rendered]:
    unique: dict[str, Rendered] = {r.source: r for r in library.values()}
    for case in STACK_CASES:
        for r in rendered_stack(*case.values)[1]:
            unique.setdefault(r.source, r)
    return unique


@needs_node
def test_rendered_javascript__node_check__passes(library: dict[str, Rendered], tmp_path: Path) -> None:
    assert NODE is not None
    sources = [r for r in _all_sources(library).values() if r.language == "js"]
    files = []
    for i, rendered in enumerate(sources):
        path = tmp_path / f"handler{i}{rendered.suffix}"
        path.write_text(rendered.source, encoding="utf-8")
        files.append((rendered, path))

    def check(item: tuple[Rendered, Path]) -> tuple[Rendered, subprocess.CompletedProcess[str]]:
        return item[0], subprocess.run([NODE, "--check", str(item[1])], capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        failures = [f"{r.address} ({r.template}):\n{p.stderr}" for r, p in pool.map(check, files) if p.returncode]
    assert not failures, "\n".join(failures)
    assert len(files) >= 10


def test_rendered_python__py_compile__passes(library: dict[str, Rendered], tmp_path: Path) -> None:
    sources = [r for r in _all_sources(library).values() if r.language == "py"]
    for i, rendered in enumerate(sources):
        path = tmp_path / f"lambda_function{i}.py"
        path.write_text(rendered.source, encoding="utf-8")
        py_compile.compile(str(path), cfile=str(tmp_path / f"c{i}.pyc"), doraise=True)
    assert len(sources) >= 5


# -- containment: values cannot leave their literals ----------------------------------------

ECHO_TEMPLATES = {
    "echo/echo.mjs.j2": (
        "{#- echo: test template -#}\n"
        "export const value = {{ value | js }};\n"
        "export const items = {{ items | js }};\n"
        "export const mapping = {{ mapping | js }};\n"
    ),
    "echo/echo.js.j2": (
        "exports.value = {{ value | js }};\nexports.items = {{ items | js }};\nexports.mapping = {{ mapping | js }};\n"
    ),
    "echo/echo.py.j2": (
        '"""Echo."""\nVALUE = {{ value | py }}\nITEMS = {{ items | py }}\nMAPPING = {{ mapping | py }}\n'
    ),
}
HOSTILE_VARS = {"value": HOSTILE, "items": [HOSTILE, 1, True, None], "mapping": {HOSTILE: [HOSTILE]}}


def render_local(tmp_path: Path, template: str, text: str, variables: dict[str, Any]) -> Rendered:
    """Render a test template kept in the stack's own templates/ folder."""
    (tmp_path / "templates" / template).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "templates" / template).write_text(text, encoding="utf-8")
    document = {
        "stack": "echo",
        "environments": {"test": {"auth0": {"domain": "test.example.auth0.com"}}},
        "auth0": {"actions": {"echo": {"trigger": "post-login", "template": template, "vars": variables}}},
    }
    (tmp_path / "stack.yaml").write_text(_yaml_text(document), encoding="utf-8")
    (rendered,) = render_all(load_stack(str(tmp_path / "stack.yaml"), "test"))
    return rendered


def test_stack_file__hostile_value__loads_unchanged(tmp_path: Path) -> None:
    path = write_entry_stack(tmp_path, "cognito/pre-sign-up/reject-short-username.py.j2", {"message": HOSTILE})
    (fn,) = load_stack(str(path), "test").functions
    assert fn.vars["message"] == HOSTILE


@needs_node
@pytest.mark.parametrize("template", ["echo/echo.mjs.j2", "echo/echo.js.j2"])
def test_js_filter__hostile_values__round_trip_through_node(tmp_path: Path, template: str) -> None:
    assert NODE is not None
    rendered = render_local(tmp_path, template, ECHO_TEMPLATES[template], HOSTILE_VARS)
    assert "\u2028" not in rendered.source and "</script>" not in rendered.source
    module = tmp_path / f"echo{rendered.suffix}"
    module.write_text(rendered.source, encoding="utf-8")
    (tmp_path / "package.json").write_text('{"private": true}')
    script = (
        "const m = await import(process.argv[1]);"
        "const e = m.default ?? m;"
        "process.stdout.write(JSON.stringify({value: e.value, items: e.items, mapping: e.mapping}));"
    )
    proc = subprocess.run(
        [NODE, "--input-type=module", "-e", script, module.as_uri()], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == HOSTILE_VARS


def test_py_filter__hostile_values__parse_back_as_equal_constants(tmp_path: Path) -> None:
    rendered = render_local(tmp_path, "echo/echo.py.j2", ECHO_TEMPLATES["echo/echo.py.j2"], HOSTILE_VARS)
    assert rendered.source.isascii()
    tree = ast.parse(rendered.source)
    assert [type(node) for node in tree.body] == [ast.Expr, ast.Assign, ast.Assign, ast.Assign]
    values = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert values == {"VALUE": HOSTILE, "ITEMS": HOSTILE_VARS["items"], "MAPPING": HOSTILE_VARS["mapping"]}


@pytest.mark.parametrize(("suffix", "language"), [(".js.j2", "js"), (".py.j2", "py")])
def test_template__bare_string_value__input_error_names_file_and_line(
    tmp_path: Path, suffix: str, language: str
) -> None:
    template = f"test/bare{suffix}"
    text = "{#- a test template -#}\n# line 2\nok = {{ value | literal }}\nbad = {{ value }}\n"
    with pytest.raises(InputError) as caught:
        render_local(tmp_path, template, text, {"value": "x"})
    (problem,) = caught.value.problems
    assert problem.file.endswith(f"templates/test/bare{suffix}")
    assert problem.line == 4
    assert f"'{language}' filter" in problem.message


def test_shipped_python_template__hostile_message__is_one_string_constant(tmp_path: Path) -> None:
    rendered = render_entry(tmp_path, "cognito/pre-sign-up/reject-short-username.py.j2", {"message": HOSTILE})
    constants = {
        target.id: node.value.value
        for node in ast.parse(rendered.source).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert constants["MESSAGE"] == HOSTILE
    (result,) = run_python(rendered, [sign_up("abc")])
    assert result == {"ok": False, "error": HOSTILE, "logs": []}


@needs_node
def test_shipped_js_templates__hostile_values__reach_the_apis_unchanged(tmp_path: Path, node_dir: Path) -> None:
    deny = render_entry(
        tmp_path / "deny",
        "auth0/pre-user-registration/deny-tls-fingerprints.js.j2",
        {"ja4": [HOSTILE], "ja3": HOSTILE, "reason": HOSTILE, "user_message": HOSTILE, "log": False},
    )
    event = registration_event()
    event["security_context"] = {"ja4": HOSTILE}
    (result,) = run_node(node_dir, deny, [event])
    assert result["denied"] == [[HOSTILE, HOSTILE]]

    slack = render_entry(
        tmp_path / "slack",
        "auth0/post-user-registration/slack-notify.js.j2",
        {"channel": HOSTILE, "prefix": HOSTILE},
    )
    (result,) = run_node(node_dir, slack, [registration_event()])
    (call,) = result["calls"]
    assert call["message"] == {"text": f"{HOSTILE}new.user@example.com", "channel": HOSTILE}

    store = render_entry(tmp_path / "store", "auth0/post-user-registration/store-user-id.js.j2", {"url": HOSTILE})
    (result,) = run_node(node_dir, store, [registration_event()])
    assert result["calls"][0]["url"] == HOSTILE

    reject = render_entry(tmp_path / "reject", "cognito/pre-sign-up/reject-short-username.mjs.j2", {"message": HOSTILE})
    (result,) = run_node(node_dir, reject, [sign_up("abc")])
    assert result["error"] == HOSTILE


@pytest.mark.parametrize("language", LANGUAGES)
def test_auto_confirm_domain__hostile_domain__matches_only_itself(invoke: Any, language: str) -> None:
    template = f"cognito/pre-sign-up/auto-confirm-domain.{language}.j2"
    hostile_domain = HOSTILE.replace("\x00", "")
    results = invoke(
        template,
        {"domains": [hostile_domain]},
        [sign_up(email=f"user@{hostile_domain}"), sign_up(email="user@example.com")],
    )
    assert [r["returned"]["response"]["autoConfirmUser"] for r in results] == [True, False]


@pytest.mark.parametrize("language", LANGUAGES)
def test_auto_confirm_domain__domains_yaml_null__falls_back_to_custom_domain(invoke: Any, language: str) -> None:
    template = f"cognito/pre-sign-up/auto-confirm-domain.{language}.j2"
    (result,) = invoke(
        template, {"domains": None}, [sign_up(email="a@example.com", **{"custom:domain": "example.com"})]
    )
    assert result["returned"]["response"]["autoConfirmUser"] is True


def test_list_vars__yaml_null__render_as_empty_lists(tmp_path: Path) -> None:
    deny = render_entry(tmp_path / "deny", "auth0/pre-user-registration/deny-tls-fingerprints.js.j2", {"ja4": None})
    assert "new Set([])" in deny.source
    notify = render_entry(tmp_path / "notify", "cognito/post-confirmation/notify-webhook.mjs.j2", {"attributes": None})
    assert "const ATTRIBUTES = [];" in notify.source


# -- behaviour: Cognito pre sign-up ------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_reject_short_username__shorter_than_minimum__rejected_with_seed_message(invoke: Any, language: str) -> None:
    template = f"cognito/pre-sign-up/reject-short-username.{language}.j2"
    short, exact, long_ = invoke(template, None, [sign_up("rroe"), sign_up("rroe5"), sign_up("richard_roe")])
    assert short["ok"] is False
    assert short["error"] == "Cannot register users with username less than the minimum length of 5"
    assert exact["ok"] and long_["ok"]
    assert long_["returned"]["userName"] == "richard_roe"


@pytest.mark.parametrize("language", LANGUAGES)
def test_reject_short_username__custom_minimum__message_follows(invoke: Any, language: str) -> None:
    template = f"cognito/pre-sign-up/reject-short-username.{language}.j2"
    too_short, astral = invoke(template, {"min_length": 8}, [sign_up("abcdefg"), sign_up("\U0001f600" * 8)])
    assert too_short["error"] == "Cannot register users with username less than the minimum length of 8"
    # Eight characters, sixteen UTF-16 units: both languages count characters.
    assert astral["ok"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_auto_confirm_domain__seed_test_event__auto_confirmed(invoke: Any, language: str) -> None:
    template = f"cognito/pre-sign-up/auto-confirm-domain.{language}.j2"
    seed_event = {"request": {"userAttributes": SEED_DOMAIN_EVENT_ATTRIBUTES}, "response": {}}
    other = sign_up(email="testuser@example.org", **{"custom:domain": "example.com"})
    no_claim = sign_up(email="testuser@example.com")
    results = invoke(template, None, [seed_event, other, no_claim])
    assert [r["returned"]["response"]["autoConfirmUser"] for r in results] == [True, False, False]


@pytest.mark.parametrize("language", LANGUAGES)
def test_auto_confirm_domain__listed_domains__confirms_only_those(invoke: Any, language: str) -> None:
    template = f"cognito/pre-sign-up/auto-confirm-domain.{language}.j2"
    events = [
        sign_up(email="ana@Partner.Example"),
        sign_up(email="bo@globex.example.com"),
        # A domain list replaces the custom:domain rule: a self-declared domain is not enough.
        sign_up(email="eve@evil.example", **{"custom:domain": "evil.example"}),
        sign_up(email="sub@x.partner.example"),
        sign_up(phone_number="+15555550100"),
        sign_up(email="nobody@"),
    ]
    results = invoke(template, {"domains": ["partner.example", "GLOBEX.example.com"]}, events)
    assert [r["ok"] for r in results] == [True] * len(events)
    confirmed = [r["returned"]["response"]["autoConfirmUser"] for r in results]
    assert confirmed == [True, True, False, False, False, False]
    assert all(r["returned"]["response"]["autoVerifyEmail"] is False for r in results)


@pytest.mark.parametrize("language", LANGUAGES)
def test_auto_confirm_all__attributes_present__confirmed_and_verified(invoke: Any, language: str) -> None:
    template = f"cognito/pre-sign-up/auto-confirm-all.{language}.j2"
    both = sign_up(email="a@example.com", phone_number="+15555550100")
    email_only = sign_up(email="a@example.com")
    neither = sign_up(name="A")
    seed_event = {"request": {"userAttributes": {"email": "a@example.com"}}, "response": {}}
    results = invoke(template, None, [both, email_only, neither, seed_event])
    responses = [r["returned"]["response"] for r in results]
    assert responses[0] == {"autoConfirmUser": True, "autoVerifyEmail": True, "autoVerifyPhone": True}
    assert responses[1] == {"autoConfirmUser": True, "autoVerifyEmail": True, "autoVerifyPhone": False}
    assert responses[2] == {"autoConfirmUser": True, "autoVerifyEmail": False, "autoVerifyPhone": False}
    assert responses[3] == {"autoConfirmUser": True, "autoVerifyEmail": True}


@pytest.mark.parametrize("language", LANGUAGES)
def test_auto_confirm_all__verification_disabled__only_confirmed(invoke: Any, language: str) -> None:
    template = f"cognito/pre-sign-up/auto-confirm-all.{language}.j2"
    (result,) = invoke(
        template,
        {"verify_email": False, "verify_phone": False},
        [sign_up(email="a@example.com", phone_number="+15555550100")],
    )
    assert result["returned"]["response"] == {
        "autoConfirmUser": True,
        "autoVerifyEmail": False,
        "autoVerifyPhone": False,
    }


# -- behaviour: Cognito post authentication ------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_log_sign_in__seed_test_event__logs_seed_lines(invoke: Any, language: str) -> None:
    template = f"cognito/post-authentication/log-sign-in.{language}.j2"
    seed_event = {
        "triggerSource": "testTrigger",
        "userPoolId": "testPool",
        "userName": "testName",
        "callerContext": {"clientId": "12345"},
        "response": {},
    }
    full_event = cognito_event("PostAuthentication_Authentication", attributes={"email": "a@example.com"})
    seed, full = invoke(template, None, [seed_event, full_event])
    assert seed["logs"] == [
        "Authentication successful",
        "Trigger function = testTrigger",
        "User pool =  testPool",
        "App client ID =  12345",
        "User ID =  testName",
    ]
    assert seed["returned"] == seed_event
    assert full["logs"][1:] == [
        "Trigger function = PostAuthentication_Authentication",
        "User pool =  us-east-1_Example01",
        "App client ID =  1example23456789",
        "User ID =  jdoe_12345",
    ]


# -- behaviour: Auth0 actions ------------------------------------------------------------------


@needs_node
def test_slack_notify__new_user__sends_new_user_text_to_channel(tmp_path: Path, node_dir: Path) -> None:
    rendered = render_entry(tmp_path, "auth0/post-user-registration/slack-notify.js.j2", {"channel": "#signups"})
    no_email = registration_event(email=None)
    no_secret = registration_event()
    no_secret["secrets"] = {}
    ok, phone_user, missing = run_node(node_dir, rendered, [registration_event(), no_email, no_secret])
    assert ok["ok"] and ok["calls"] == [
        {
            "module": "@slack/webhook",
            "url": "https://hooks.slack.test/services/T0/B0/x",
            "message": {"text": "New User: new.user@example.com", "channel": "#signups"},
        }
    ]
    assert phone_user["calls"][0]["message"]["text"] == "New User: auth0|65f0c0ffee"
    assert missing == {**missing, "ok": False, "calls": []}
    assert "SLACK_WEBHOOK_URL" in missing["error"]


@needs_node
def test_slack_notify__no_channel__message_without_channel(tmp_path: Path, node_dir: Path) -> None:
    rendered = render_entry(tmp_path, "auth0/post-user-registration/slack-notify.js.j2")
    (result,) = run_node(node_dir, rendered, [registration_event()])
    assert result["calls"][0]["message"] == {"text": "New User: new.user@example.com"}


@needs_node
def test_store_user_id__new_user__posts_id_and_email_to_url(tmp_path: Path, node_dir: Path) -> None:
    url = "https://my-api.exampleco.com/users"
    rendered = render_entry(tmp_path, "auth0/post-user-registration/store-user-id.js.j2", {"url": url})
    (result,) = run_node(node_dir, rendered, [registration_event()])
    (call,) = result["calls"]
    assert call == {
        "module": "axios",
        "url": url,
        "data": {"user_id": "auth0|65f0c0ffee", "email": "new.user@example.com"},
        "config": {"headers": {}, "timeout": 5000},
    }


@needs_node
def test_store_user_id__token_secret__sends_bearer_or_fails_when_unset(tmp_path: Path, node_dir: Path) -> None:
    rendered = render_entry(
        tmp_path,
        "auth0/post-user-registration/store-user-id.js.j2",
        {"url": "https://my-api.exampleco.com/users", "token_secret": "USERS_API_TOKEN", "timeout_ms": 2500},
        secrets={"USERS_API_TOKEN": {"env": "USERS_API_TOKEN"}},
    )
    with_token = registration_event()
    with_token["secrets"] = {"USERS_API_TOKEN": "tkn-123"}
    ok, unset = run_node(node_dir, rendered, [with_token, registration_event()])
    assert ok["calls"][0]["config"] == {"headers": {"Authorization": "Bearer tkn-123"}, "timeout": 2500}
    assert unset["ok"] is False and unset["calls"] == []
    assert "USERS_API_TOKEN" in unset["error"]


@needs_node
def test_deny_tls_fingerprints__listed_ja4_or_ja3__denied_with_reason(tmp_path: Path, node_dir: Path) -> None:
    flagged = "t13d1517h2_8daaf6152771_b6f405a00624"
    rendered = render_entry(
        tmp_path,
        "auth0/pre-user-registration/deny-tls-fingerprints.js.j2",
        {"ja4": [flagged, "t13d1516h2_8daaf6152771_d8a2da3f94cd"], "ja3": ["e7d705a3286e19ea42f587b344ee6865"]},
    )

    def event(**security_context: str) -> dict[str, Any]:
        return {**registration_event(), "security_context": security_context}

    results = run_node(
        node_dir,
        rendered,
        [
            event(ja4=flagged),
            event(ja4="t13d1715h2_5b57614c22b0_3d5424432f57"),
            event(ja3="e7d705a3286e19ea42f587b344ee6865"),
            event(ja4=flagged[:10]),
            {"user": {"user_id": "x"}},
        ],
    )
    seed_denial = ["suspicious_tls_fingerprint", "Your TLS fingerprint has been flagged as suspicious"]
    assert [r["denied"] for r in results] == [[seed_denial], [], [seed_denial], [], []]
    assert all(r["ok"] for r in results)
    # The seed's log line: the client's fingerprints, tagged [ACTION].
    (line,) = results[0]["logs"]
    assert line.startswith("[ACTION] {") and f"clientJa4: '{flagged}'" in line


@needs_node
def test_deny_tls_fingerprints__single_string__is_not_a_substring_match(tmp_path: Path, node_dir: Path) -> None:
    flagged = "t13d1517h2_8daaf6152771_b6f405a00624"
    rendered = render_entry(tmp_path, "auth0/pre-user-registration/deny-tls-fingerprints.js.j2", {"ja4": flagged})
    events = [{"security_context": {"ja4": flagged}}, {"security_context": {"ja4": "t"}}]
    assert [len(r["denied"]) for r in run_node(node_dir, rendered, events)] == [1, 0]


# -- behaviour: post confirmation webhook and the secrets include -------------------------------


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append({"path": self.path, "type": self.headers["content-type"], "body": json.loads(body)})
        self.send_response(500 if self.path.startswith("/fail") else 204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback: (base URL, received requests); /fail… answers 500."""
    received: list[dict[str, Any]] = []
    handler = type("Handler", (_Webhook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def confirmation(source: str = "PostConfirmation_ConfirmSignUp") -> dict[str, Any]:
    return cognito_event(source, attributes={"email": "a@example.com", "name": "A", "phone_number": "+1555"})


NOTICE = {
    "event": "user_confirmed",
    "userPoolId": "us-east-1_Example01",
    "userName": "jdoe_12345",
    "attributes": {"email": "a@example.com", "name": "A"},
}
WEBHOOK_VARS = {"attributes": ["email", "name"]}


@needs_node
def test_notify_webhook_node__plain_env_secret__posts_notice_once_per_sign_up(
    tmp_path: Path, node_dir: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    base, received = webhook
    rendered = render_entry(
        tmp_path, "cognito/post-confirmation/notify-webhook.mjs.j2", WEBHOOK_VARS, secrets={"WEBHOOK_URL": {"env": "X"}}
    )
    events = [confirmation(), confirmation("PostConfirmation_ConfirmForgotPassword")]
    results = run_node(node_dir, rendered, events, env={"WEBHOOK_URL": f"{base}/hook"})
    assert [r["ok"] for r in results] == [True, True]
    assert results[0]["returned"] == events[0]
    assert received == [{"path": "/hook", "type": "application/json", "body": NOTICE}]


@needs_node
def test_notify_webhook_node__secretsmanager_reference__read_once_and_cached(
    tmp_path: Path, node_dir: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    base, received = webhook
    rendered = render_entry(tmp_path, "cognito/post-confirmation/notify-webhook.mjs.j2", WEBHOOK_VARS)
    env = {
        "HOOKCTL_SECRET_WEBHOOK_URL": "secretsmanager:hookctl/test/crm-webhook#url",
        "FAKE_AWS": json.dumps({"secretsmanager": {"hookctl/test/crm-webhook": json.dumps({"url": f"{base}/sm"})}}),
    }
    first, second = run_node(node_dir, rendered, [confirmation(), confirmation()], env=env)
    assert first["calls"] == [{"module": "secretsmanager", "input": {"SecretId": "hookctl/test/crm-webhook"}}]
    assert second["calls"] == []
    assert [r["path"] for r in received] == ["/sm", "/sm"]


@needs_node
def test_notify_webhook_node__ssm_reference__posts_to_parameter_value(
    tmp_path: Path, node_dir: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    base, received = webhook
    rendered = render_entry(tmp_path, "cognito/post-confirmation/notify-webhook.mjs.j2", WEBHOOK_VARS)
    env = {
        "HOOKCTL_SECRET_WEBHOOK_URL": "ssm:/hookctl/test/webhook",
        "FAKE_AWS": json.dumps({"ssm": {"/hookctl/test/webhook": f"{base}/ssm"}}),
    }
    (result,) = run_node(node_dir, rendered, [confirmation()], env=env)
    assert result["calls"] == [{"module": "ssm", "input": {"Name": "/hookctl/test/webhook", "WithDecryption": True}}]
    assert [r["path"] for r in received] == ["/ssm"]


@needs_node
def test_notify_webhook_node__failures__logged_without_secret_and_never_thrown(
    tmp_path: Path, node_dir: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    base, _ = webhook
    rendered = render_entry(tmp_path, "cognito/post-confirmation/notify-webhook.mjs.j2")
    token_url = f"{base}/fail?token=s3cr3t-token"
    (http_error,) = run_node(node_dir, rendered, [confirmation()], env={"WEBHOOK_URL": token_url})
    assert http_error["ok"] and "webhook answered HTTP 500" in http_error["logs"][0]

    not_json = {
        "HOOKCTL_SECRET_WEBHOOK_URL": "secretsmanager:crm#url",
        "FAKE_AWS": json.dumps({"secretsmanager": {"crm": "s3cr3t-token not json"}}),
    }
    (bad_secret,) = run_node(node_dir, rendered, [confirmation()], env=not_json)
    assert bad_secret["ok"] and "crm is not a JSON document" in bad_secret["logs"][0]

    (unset,) = run_node(node_dir, rendered, [confirmation()], env={})
    assert unset["ok"] and "secret WEBHOOK_URL is not configured" in unset["logs"][0]
    for result in (http_error, bad_secret, unset):
        assert "s3cr3t" not in json.dumps(result)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's in-process AWS, for the Python secrets include (boto3 as in the Lambda runtime)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours *_proxy variables; the loopback webhook must be reached directly."""
    monkeypatch.setenv("no_proxy", "*")


def test_notify_webhook_python__plain_env_secret__posts_notice_once_per_sign_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: tuple[str, list[dict[str, Any]]], no_proxy: None
) -> None:
    base, received = webhook
    monkeypatch.delenv("HOOKCTL_SECRET_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("WEBHOOK_URL", f"{base}/hook")
    rendered = render_entry(tmp_path, "cognito/post-confirmation/notify-webhook.py.j2", WEBHOOK_VARS)
    events = [confirmation(), confirmation("PostConfirmation_ConfirmForgotPassword")]
    results = run_python(rendered, events)
    assert [r["ok"] for r in results] == [True, True]
    assert results[0]["logs"] == []
    assert received == [{"path": "/hook", "type": "application/json", "body": NOTICE}]


def test_notify_webhook_python__references__read_once_through_boto3(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, Any]]],
    no_proxy: None,
    aws: Any,
) -> None:
    base, received = webhook
    aws.client("secretsmanager").create_secret(Name="hookctl/test/crm", SecretString=json.dumps({"url": f"{base}/sm"}))
    aws.client("ssm").put_parameter(Name="/hookctl/test/webhook", Value=f"{base}/ssm", Type="SecureString")
    rendered = render_entry(tmp_path, "cognito/post-confirmation/notify-webhook.py.j2", WEBHOOK_VARS)

    monkeypatch.setenv("HOOKCTL_SECRET_WEBHOOK_URL", "secretsmanager:hookctl/test/crm#url")
    module = load_python(rendered)
    module.lambda_handler(confirmation(), None)
    # Cached in module scope: rotating the secret does not change a warm function.
    aws.client("secretsmanager").put_secret_value(SecretId="hookctl/test/crm", SecretString='{"url": "x"}')
    module.lambda_handler(confirmation(), None)

    monkeypatch.setenv("HOOKCTL_SECRET_WEBHOOK_URL", "ssm:/hookctl/test/webhook")
    run_python(rendered, [confirmation()])
    assert [r["path"] for r in received] == ["/sm", "/sm", "/ssm"]


def test_notify_webhook_python__failures__logged_without_secret_and_never_raised(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, Any]]],
    no_proxy: None,
    aws: Any,
) -> None:
    base, _ = webhook
    rendered = render_entry(tmp_path, "cognito/post-confirmation/notify-webhook.py.j2")
    monkeypatch.delenv("HOOKCTL_SECRET_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("WEBHOOK_URL", f"{base}/fail?token=s3cr3t-token")
    (http_error,) = run_python(rendered, [confirmation()])
    assert http_error["ok"] and "webhook answered HTTP 500" in http_error["logs"][0]

    aws.client("secretsmanager").create_secret(Name="crm", SecretString="s3cr3t-token not json")
    monkeypatch.setenv("HOOKCTL_SECRET_WEBHOOK_URL", "secretsmanager:crm#url")
    (bad_secret,) = run_python(rendered, [confirmation()])
    assert bad_secret["ok"] and "crm is not a JSON document" in bad_secret["logs"][0]

    monkeypatch.setenv("HOOKCTL_SECRET_WEBHOOK_URL", "secretsmanager:missing")
    (missing,) = run_python(rendered, [confirmation()])
    assert missing["ok"] and "ResourceNotFoundException" in missing["logs"][0]

    monkeypatch.setenv("HOOKCTL_SECRET_WEBHOOK_URL", "vault:kv/crm")
    (unknown,) = run_python(rendered, [confirmation()])
    assert unknown["ok"] and 'must start with "secretsmanager:" or "ssm:"' in unknown["logs"][0]
    for result in (http_error, bad_secret, missing, unknown):
        assert "s3cr3t" not in json.dumps(result)
