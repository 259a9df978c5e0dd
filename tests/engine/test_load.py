"""The loader: inheritance, ${VAR} targets, shorthand triggers, versioned triggers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from provisioner.engine.errors import InputError
from provisioner.engine.load import load_stack

STACK = """\
stack: s
vars: {a: 1, b: stack}
environments:
  base:
    vars: {b: base, c: base}
    cognito:
      region: ${HOOKCTL_VAR_TEST_REGION:-eu-west-1}
      pools: {main: "${HOOKCTL_VAR_TEST_POOL:-eu-west-1_Base1}", extra: eu-west-1_Extra1}
  prod:
    inherit: base
    vars: {c: prod}
cognito:
  functions:
    f:
      template: x.mjs.j2
      runtime: nodejs22.x
      trigger: PreSignUp
      vars: {a: 2}
    tokens:
      template: y.mjs.j2
      runtime: nodejs22.x
      triggers:
        - {pool: main, trigger: PreTokenGeneration, lambda_version: V2_0}
        - {pool: extra, trigger: CustomEmailSender, kms_key_id: "arn:aws:kms:eu-west-1:1:key/k"}
"""


def test_inherit__child_wins_and_vars_layer_stack_env_entry(write_stack: Callable[..., str]) -> None:
    stack = load_stack(write_stack(STACK), "prod")
    fn = stack.functions[0]
    assert stack.template_vars(fn.vars) == {"a": 2, "b": "base", "c": "prod"}
    assert stack.environment.cognito is not None
    assert dict(stack.environment.cognito.pools)["extra"].user_pool_id == "eu-west-1_Extra1"


def test_targets__read_environment_variables(write_stack: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKCTL_VAR_TEST_POOL", "us-east-1_FromEnv9")
    monkeypatch.setenv("HOOKCTL_VAR_TEST_REGION", "us-east-1")
    stack = load_stack(write_stack(STACK), "base")
    assert stack.environment.cognito is not None
    assert stack.environment.cognito.region == "us-east-1"
    assert dict(stack.environment.cognito.pools)["main"].user_pool_id == "us-east-1_FromEnv9"


def test_shorthand_trigger__every_pool_and_versions_defaulted(write_stack: Callable[..., str]) -> None:
    stack = load_stack(write_stack(STACK), "prod")
    f, tokens = stack.functions
    assert sorted(t.address for t in f.triggers) == ["cognito.pool.extra.PreSignUp", "cognito.pool.main.PreSignUp"]
    assert [(t.trigger, t.lambda_version, t.kms_key_id) for t in tokens.triggers] == [
        ("PreTokenGeneration", "V2_0", None),
        ("CustomEmailSender", "V1_0", "arn:aws:kms:eu-west-1:1:key/k"),
    ]


def test_inherit_cycle__reported(write_stack: Callable[..., str]) -> None:
    text = STACK.replace("  base:\n", "  base:\n    inherit: prod\n", 1)
    with pytest.raises(InputError, match="inheritance cycle"):
        load_stack(write_stack(text), "prod")


def test_sender_trigger_without_kms_key__reported(write_stack: Callable[..., str]) -> None:
    text = STACK.replace(', kms_key_id: "arn:aws:kms:eu-west-1:1:key/k"', "")
    with pytest.raises(InputError, match="CustomEmailSender needs kms_key_id"):
        load_stack(write_stack(text), "prod")


def test_several_environments_without_choice__asks_for_one(write_stack: Callable[..., str]) -> None:
    with pytest.raises(InputError, match="choose one with -e"):
        load_stack(write_stack(STACK), None)
