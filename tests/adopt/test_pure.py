"""The pure half of import / adopt: templates that render to exactly the live code, secrets, checks."""

from __future__ import annotations

import io
import zipfile

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.adopt.adoption import check_adoption
from provisioner.adopt.importing import parse_pools
from provisioner.adopt.stackfile import (
    NotImportable,
    Selection,
    _Refused,
    handler_source,
    import_live,
    looks_secret,
    template_text,
)
from provisioner.engine.errors import HookctlError
from provisioner.engine.load import load_stack
from provisioner.engine.plan import CREATE, UPDATE, FieldChange, Plan, ResourceChange
from provisioner.providers.auth0.plan import SECRET_UNKNOWN, LiveAction, TriggerInfo, marker

ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def _render(template: str) -> str:
    return ENV.from_string(template).render()


@pytest.mark.parametrize(
    "code",
    [
        "",
        "plain();\n",
        "  leading();",
        "\n\nblank first\n",
        "a {{ b }} c",
        "{% if x %}",
        "{# comment #}",
        "x = '{% endraw %}'",
        "x = '{%- endraw -%}' + '{%+endraw+%}' + '{%endraw%}'",
        "{% raw %}{% endraw %}{% endraw %}",
        "ends with a brace {",
        "ends with {%",
    ],
)
@pytest.mark.parametrize("header", ["", "Imported from Auth0 action x."])
def test_template_text__renders_to_the_code(code: str, header: str) -> None:
    assert _render(template_text(code, header)) == code


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}%#-+ \n\tendrawx")), max_size=60), st.booleans())
def test_template_text__any_text__renders_to_itself(code: str, with_header: bool) -> None:
    assert _render(template_text(code, "h" if with_header else "")) == code


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_TOKEN", "x"),
        ("DB_PASSWORD", "hunter2"),
        ("STRIPE_KEY", "k"),
        ("HOOK", "https://hooks.slack.com/services/T0/B0/abc"),
        ("DATABASE_URL", "postgres://app:s3cr3t@db.internal:5432/app"),
        ("ID", "AKIAIOSFODNN7EXAMPLE"),
        ("BEARER", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"),
        ("OPAQUE", "q8Zr2LmX7pV4nT1wK9sB3fH6"),
        ("CALLBACK", "https://example.com/cb?sig=abc"),
    ],
)
def test_looks_secret__credentials(name: str, value: str) -> None:
    assert looks_secret(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALLOWED_DOMAIN", "example.com"),
        ("LOG_LEVEL", "debug"),
        ("MIN_LENGTH", "5"),
        ("TABLE", "users-prod"),
        ("ENDPOINT", "https://api.example.com/v1/users"),
        ("ROLE", "arn:aws:iam::123456789012:role/service-role/app"),
    ],
)
def test_looks_secret__ordinary_settings(name: str, value: str) -> None:
    assert not looks_secret(name, value)


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_handler_source__only_the_handler__its_text_and_suffix() -> None:
    assert handler_source(_zip({"src/app.cjs": "x"}), "src/app.handler", "nodejs22.x") == ("x", ".cjs")
    assert handler_source(_zip({"lambda_function.py": "y"}), "lambda_function.h", "python3.12") == ("y", ".py")


def test_handler_source__missing_handler_or_extra_files__refused() -> None:
    with pytest.raises(_Refused, match=r"no index\.js / index\.mjs / index\.cjs"):
        handler_source(_zip({"main.js": "x"}), "index.handler", "nodejs22.x")
    with pytest.raises(_Refused, match=r"holds util\.js besides index\.mjs"):
        handler_source(_zip({"index.mjs": "x", "util.js": "y"}), "index.handler", "nodejs22.x")
    with pytest.raises(_Refused, match="not a readable zip"):
        handler_source(b"not a zip", "index.handler", "nodejs22.x")


def _action(name: str, code: str = "exports.x = 1;\n", **changes: object) -> LiveAction:
    values: dict[str, object] = {
        "id": f"id-{name}",
        "name": name,
        "trigger": "post-login",
        "trigger_version": "v3",
        "code": code,
        "runtime": "node22",
        "dependencies": {},
        "secrets": {},
        "status": "built",
        "all_changes_deployed": True,
        "deployed_code": code,
        "deployed_number": 1,
        "errors": (),
    }
    values.update(changes)
    return LiveAction(**values)  # type: ignore[arg-type]


def _snapshot(*actions: LiveAction) -> object:
    from provisioner.adopt.stackfile import Auth0Snapshot

    return Auth0Snapshot(
        "tenant.example", {"post-login": TriggerInfo("post-login", "v3", "trigger-bound")}, tuple(actions), {}
    )


def test_import__already_owned_by_this_stack__marker_stripped() -> None:
    own = marker("s", "prod")
    imported = import_live("s", "prod", _snapshot(_action("a", own + "code();\n")), None)  # type: ignore[arg-type]
    assert imported.actions[0].code == "code();\n"


def test_import__secret_named_like_a_shell_variable__reads_a_qualified_one() -> None:
    imported = import_live(
        "s",
        "prod",
        _snapshot(_action("my-action", secrets={"PATH": "", "TOKEN": ""})),  # type: ignore[arg-type]
        None,
    )
    assert [(s.name, s.locator) for s in imported.actions[0].secrets] == [
        ("PATH", "MY_ACTION_PATH"),
        ("TOKEN", "TOKEN"),
    ]


def test_import__bad_stack_name__refused() -> None:
    with pytest.raises(NotImportable, match="stack name"):
        import_live("no spaces", "prod", _snapshot(), None)  # type: ignore[arg-type]


def test_import__selection_matches_nothing__error() -> None:
    with pytest.raises(HookctlError, match="nothing to import"):
        import_live("s", "prod", _snapshot(_action("a")), None, Selection(("zzz*",)))  # type: ignore[arg-type]


def test_written_stack__loads_with_environment_values_as_strings(tmp_path: object) -> None:
    """A value YAML would read as a number or boolean stays a string."""
    from pathlib import Path

    from provisioner.adopt.importing import write_import
    from provisioner.adopt.stackfile import Imported, ImportedFunction, ImportedTrigger

    fn = ImportedFunction(
        "f",
        "s-prod-f",
        "nodejs22.x",
        "index.handler",
        "arn:aws:iam::123456789012:role/r",
        3,
        128,
        "it's: a description # with a hash",
        (("COUNT", "5"), ("ENABLED", "true"), ("NULLISH", "null"), ("EMPTY", "")),
        (),
        (ImportedTrigger("main", "PreSignUp"),),
        "export const handler = async (e) => e;\n",
        ".mjs",
    )
    imported = Imported("s", "prod", region="eu-west-1", pools={"main": "eu-west-1_Abc123"}, functions=[fn])
    path = str(Path(str(tmp_path)) / "stacks" / "s.yaml")
    write_import(imported, path)
    loaded = load_stack(path, "prod").functions[0]
    assert dict(loaded.environment) == {"COUNT": "5", "ENABLED": "true", "NULLISH": "null", "EMPTY": ""}
    assert loaded.description == "it's: a description # with a hash"


def _plan(*changes: ResourceChange) -> Plan:
    return Plan("s", "prod", "rev", "fp", tuple(changes), ())


def test_check_adoption__marker_and_unknown_secret__allowed() -> None:
    own = marker("s", "prod")
    change = ResourceChange(
        "auth0.action.a",
        UPDATE,
        (FieldChange("code", "x", "y"), FieldChange("secrets.K", SECRET_UNKNOWN, "scrypt$..", True)),
        "code();\n",
        own + "code();\n",
    )
    stack = _stack()
    assert check_adoption(_plan(change), stack) == []


def test_check_adoption__anything_else__refused_with_reasons() -> None:
    own = marker("s", "prod")
    stack = _stack()
    changes = [
        ResourceChange("auth0.action.a", UPDATE, (FieldChange("code", "x", "y"),), "old();\n", own + "new();\n"),
        ResourceChange("auth0.action.b", CREATE, ()),
        ResourceChange("auth0.trigger.post-login", UPDATE, (FieldChange("bindings", [], ["b"]),)),
        ResourceChange("cognito.function.f", UPDATE, (FieldChange("timeout", 3, 5),)),
        ResourceChange("auth0.action.c", UPDATE, (FieldChange("secrets.K", "scrypt$a", "scrypt$b", True),)),
    ]
    reasons = check_adoption(_plan(*changes), stack)
    assert reasons == [
        "auth0.action.a: its code differs from the template beyond hookctl's marker line",
        "auth0.action.b: the plan would create it (it is not live)",
        "auth0.trigger.post-login: bindings would change",
        "cognito.function.f: timeout would change",
        "auth0.action.c: secrets.K: the exported value differs from the one hookctl recorded",
    ]


def _stack() -> object:
    from provisioner.engine.model import Environment, Origin, Stack

    origin = Origin("s.yaml", 1, "")
    return Stack("s", "s.yaml", Environment("prod", None, None, {}, origin), ("prod",), {}, (), (), (), False)


def test_parse_pools() -> None:
    assert parse_pools(["main=eu-west-1_AbC123"]) == {"main": "eu-west-1_AbC123"}
    for bad in (["main"], ["main=nope"], ["main=eu-west-1_A", "main=eu-west-1_B"]):
        with pytest.raises(HookctlError):
            parse_pools(bad)


def test_selection__include_and_leave_out() -> None:
    chosen = Selection(("app-*", "!app-legacy*"))
    assert [n for n in ("app-a", "app-legacy-x", "vendor") if chosen.wants(n)] == ["app-a"]
    assert Selection(("!vendor",)).wants("anything") and not Selection(("!vendor",)).wants("vendor")
