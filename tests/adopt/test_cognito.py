"""Import and adopt against moto: functions, permissions and LambdaConfig made by hand with boto3."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.adopt.adoption import Adoption, NotAdoptable, adopt, adoption_text
from provisioner.adopt.importing import write_import
from provisioner.adopt.stackfile import NotImportable, Selection, import_live
from provisioner.engine.load import load_stack
from provisioner.providers.cognito.plan import TAG_MANAGED

from .conftest import Live, function_arn

API_TOKEN = "tok_9f8e7d6c5b4a39281706f5e4"  # looks random: declared as a secret, never written down
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/4b1c2d3e-aaaa-bbbb-cccc-1234567890ab"
SIGNUP_PY = """\
import os

ALLOWED = os.environ["ALLOWED_DOMAIN"]


def lambda_handler(event, context):
    # "{{ not jinja }}" and {% raw %} in a comment
    email = event["request"]["userAttributes"].get("email", "")
    event["response"]["autoConfirmUser"] = email.endswith("@" + ALLOWED)
    return event
"""
TOKENS_MJS = "export const handler = async (event) => {\n  event.response = {};\n  return event;\n};\n"
MAILER_JS = "exports.handler = async (event) => event;\n"


def _seed(live: Live) -> dict[str, str]:
    ids = {"main": live.pool("main"), "partners": live.pool("partners")}
    role = live.role()
    live.function(
        "shop-prod-signup",
        {"lambda_function.py": SIGNUP_PY},
        runtime="python3.13",
        handler="lambda_function.lambda_handler",
        role=role,
        environment={"ALLOWED_DOMAIN": "example.com", "API_TOKEN": API_TOKEN, "HOOKCTL_SECRET_DB": "ssm:/shop/db"},
        Timeout=7,
        MemorySize=256,
        Description="Confirms company sign-ups",
    )
    live.function("shop-prod-tokens", {"index.mjs": TOKENS_MJS}, role=role)
    live.function("shop-prod-mailer", {"index.js": MAILER_JS}, runtime="nodejs20.x", role=role)
    live.function("legacy-auth", {"index.mjs": TOKENS_MJS}, role=role)
    for name, pools in (
        ("shop-prod-signup", ("main", "partners")),
        ("shop-prod-tokens", ("main",)),
        ("shop-prod-mailer", ("partners",)),
        ("legacy-auth", ("main",)),
    ):
        for pool in pools:
            live.grant(name, ids[pool], f"cognito-{pool}")
    live.attach(
        ids["main"],
        {
            "PreSignUp": function_arn("shop-prod-signup"),
            "PreTokenGeneration": function_arn("shop-prod-tokens"),
            "PreTokenGenerationConfig": {"LambdaArn": function_arn("shop-prod-tokens"), "LambdaVersion": "V2_0"},
            "PostAuthentication": function_arn("legacy-auth"),
        },
    )
    live.attach(
        ids["partners"],
        {
            "PreSignUp": function_arn("shop-prod-signup"),
            "CustomEmailSender": {"LambdaArn": function_arn("shop-prod-mailer"), "LambdaVersion": "V1_0"},
            "KMSKeyID": KMS_KEY,
        },
    )
    return ids


def _import(live: Live, ids: dict[str, str], *patterns: str, stack: str = "shop") -> list[str]:
    pools = {"main": ids["main"], "partners": ids["partners"]}
    selection = Selection(tuple(patterns))
    imported = import_live(stack, "prod", None, live.read_cognito(pools, selection), selection)
    return write_import(imported, live.stack_path)


def test_import_then_adopt__plan_empty_and_unselected_untouched(account: Live) -> None:
    ids = _seed(account)
    files = _import(account, ids, "shop-prod-*")
    stack = load_stack(account.stack_path, "prod")
    by_name = {f.name: f for f in stack.functions}
    assert sorted(by_name) == ["mailer", "signup", "tokens"]
    signup = by_name["signup"]
    assert (signup.runtime, signup.handler, signup.timeout, signup.memory) == (
        "python3.13",
        "lambda_function.lambda_handler",
        7,
        256,
    )
    assert signup.description == "Confirms company sign-ups"
    assert dict(signup.environment) == {"ALLOWED_DOMAIN": "example.com"}
    assert {(s.name, s.source, s.locator) for s in signup.secrets} == {
        ("API_TOKEN", "env", "API_TOKEN"),
        ("DB", "ssm", "/shop/db"),
    }
    assert {(t.pool, t.trigger) for t in signup.triggers} == {("main", "PreSignUp"), ("partners", "PreSignUp")}
    (tokens,) = by_name["tokens"].triggers
    assert (tokens.trigger, tokens.lambda_version) == ("PreTokenGeneration", "V2_0")
    (mailer,) = by_name["mailer"].triggers
    assert (mailer.trigger, mailer.kms_key_id) == ("CustomEmailSender", KMS_KEY)
    for path in files:
        assert API_TOKEN not in Path(path).read_text()

    account.environ["API_TOKEN"] = API_TOKEN
    shown: list[str] = []

    def confirm(adoption: Adoption) -> bool:
        shown.append(adoption_text(adoption))
        return True

    result = adopt(account.stack_path, "prod", account.factory, account.options(), confirm=confirm)
    assert result.remaining == ()
    assert account.plan().plan.empty
    assert API_TOKEN not in shown[0]
    assert "tagged hookctl:environment=prod" in shown[0]
    for name in ("shop-prod-signup", "shop-prod-tokens", "shop-prod-mailer"):
        assert account.tags(name)[TAG_MANAGED] == "true"
    assert account.configuration("shop-prod-signup")["Environment"]["Variables"]["API_TOKEN"] == API_TOKEN
    # The unselected function is as it was, and still serves its pool.
    assert TAG_MANAGED not in account.tags("legacy-auth")
    assert account.lambda_config(ids["main"])["PostAuthentication"] == function_arn("legacy-auth")
    # A runner without state proves ownership by the tags.
    import shutil

    shutil.rmtree(account.root / "state")
    assert account.plan().plan.empty


def test_adopt__secret_exported_with_another_value__refused_and_nothing_written(account: Live) -> None:
    ids = _seed(account)
    _import(account, ids, "shop-prod-signup")
    account.environ["API_TOKEN"] = "not-the-live-value"
    with pytest.raises(NotAdoptable, match="secret API_TOKEN differs from the function's live value"):
        adopt(account.stack_path, "prod", account.factory, account.options(), confirm=lambda _a: True)
    assert TAG_MANAGED not in account.tags("shop-prod-signup")


def test_import__package_with_more_than_the_handler__refused_with_reason(account: Live) -> None:
    ids = {"main": account.pool("main"), "partners": account.pool("partners")}
    role = account.role()
    account.function(
        "shop-prod-bundled",
        {"index.js": MAILER_JS, "package.json": "{}", "node_modules/axios/index.js": "module.exports = {};"},
        role=role,
    )
    account.function("other-name", {"index.js": MAILER_JS}, role=role)
    account.attach(
        ids["main"],
        {"PreSignUp": function_arn("shop-prod-bundled"), "PostConfirmation": function_arn("other-name")},
    )
    with pytest.raises(NotImportable) as caught:
        _import(account, ids)
    text = caught.value.message
    assert "function shop-prod-bundled: its package holds node_modules/axios/index.js, package.json" in text
    assert "bundles its dependencies" in text
    # A function named otherwise is importable (under function_name:); only the bundle is refused.
    assert "other-name" not in text
    assert "cannot import 1 selected resource" in text
    assert not Path(account.stack_path).exists()


def test_import__select__only_matching_functions(account: Live) -> None:
    ids = _seed(account)
    _import(account, ids, "*-tokens")
    stack = load_stack(account.stack_path, "prod")
    assert [f.name for f in stack.functions] == ["tokens"]
    assert dict(stack.environment.cognito.pools).keys() == {"main"}  # type: ignore[union-attr]


def test_adopt__function_redeployed_after_import__refused_and_nothing_written(account: Live) -> None:
    ids = _seed(account)
    _import(account, ids, "shop-prod-tokens")
    account.function("shop-prod-tokens-v2", {"index.mjs": TOKENS_MJS + "// v2\n"}, role=account.role("r2"))
    account.boto("lambda").update_function_code(
        FunctionName="shop-prod-tokens", S3Bucket="awslambda-eu-west-1-tasks", S3Key="uploads/shop-prod-tokens-v2.zip"
    )
    with pytest.raises(NotAdoptable, match="tokens: its live code differs from the template"):
        adopt(account.stack_path, "prod", account.factory, account.options(), confirm=lambda _a: True)
    assert TAG_MANAGED not in account.tags("shop-prod-tokens")
