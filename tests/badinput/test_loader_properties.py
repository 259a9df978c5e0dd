"""Property: ``load_stack`` on any file either returns a ``Stack`` or raises ``InputError`` whose
every problem names the file, a field and a message. Never another exception.

Inputs: arbitrary bytes, arbitrary text, text built from YAML's own punctuation (anchors, tags,
flow brackets, BOMs, tabs), arbitrary nested data dumped to YAML, and stack-shaped documents whose
keys come from the stack vocabulary so the validator's deeper branches run. ``HOOKCTL_LONG=1``
runs ten times as many examples.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from provisioner.engine import load
from provisioner.engine.errors import InputError

EXAMPLES = 2000 if os.environ.get("HOOKCTL_LONG") == "1" else 200
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ENVIRONMENTS = st.sampled_from([None, "dev", "prod"])
LOCATED = re.compile(r"^(?P<file>[^\n]+?)(?::(?P<line>[1-9][0-9]*))?: (?P<field>[^\n]+?): (?P<message>.+)$", re.S)

# Every key the stack format knows, so generated documents reach past the first "unknown key".
VOCABULARY = sorted(
    {
        *load.TOP_KEYS,
        *load.ENV_KEYS,
        *load.ENV_AUTH0_KEYS,
        *load.ENV_COGNITO_KEYS,
        *load.AUTH0_KEYS,
        *load.ACTION_KEYS,
        *load.TRIGGER_KEYS,
        *load.COGNITO_KEYS,
        *load.FUNCTION_KEYS,
        *load.POOL_TRIGGER_KEYS,
        *load.SECRET_KEYS,
        "value",
        "dev",
        "prod",
        "main",
        "hello",
        "post-login",
        "PreSignUp",
        "nodejs22.x",
        "node22",
        "eu-west-1_AbC123",
        "hello.js.j2",
        "signup.mjs.j2",
    }
)
YAML_PIECES = [
    "stack: ",
    "environments:",
    "auth0:",
    "cognito:",
    "actions:",
    "functions:",
    "triggers:",
    "vars:",
    "secrets:",
    "\n",
    "\n  ",
    "\n    ",
    "  ",
    "\t",
    "- ",
    ": ",
    "? ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "<<: ",
    "!!python/object:os.system ",
    "!custom ",
    "!!binary ",
    "!!set ",
    "|",
    ">-",
    "'",
    '"',
    "#",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "\ufeff",
    "\x00",
    "\u2028",
    "\x85",
    "dev",
    "hello",
    "post-login",
    "1e999",
    "0x1F",
    "2024-01-01",
    "~",
    "null",
    "yes",
    "9" * 40,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(VOCABULARY),
)
keys = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=12), st.integers(-5, 5), st.booleans())
nested = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(keys, children, max_size=6),
    ),
    max_leaves=40,
)
vocab_values = st.recursive(
    st.one_of(st.sampled_from(VOCABULARY), scalars),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(VOCABULARY), children, max_size=6),
    ),
    max_leaves=25,
)
stack_shaped = st.fixed_dictionaries(
    {"stack": st.one_of(st.just("corpus"), scalars), "environments": vocab_values},
    optional={
        "vars": vocab_values,
        "auth0": vocab_values,
        "cognito": vocab_values,
        "prune": scalars,
        "description": scalars,
    },
)


def _dump(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _check(content: bytes, environment: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "stack.yaml")
        Path(path).write_bytes(content)
        try:
            stack = load.load_stack(path, environment)
        except InputError as exc:
            assert exc.problems, "an InputError must carry at least one problem"
            for problem in exc.problems:
                assert problem.file == path, problem
                assert problem.line is None or (isinstance(problem.line, int) and problem.line >= 1), problem
                assert isinstance(problem.field, str) and problem.field.strip(), problem
                assert isinstance(problem.message, str) and problem.message.strip(), problem
                assert LOCATED.match(str(problem)), str(problem)
            assert exc.message.startswith(str(exc.problems[0])) or exc.message.startswith(f"{len(exc.problems)} ")
        else:
            assert stack.path == path


@SETTINGS
@given(content=st.binary(max_size=2000), environment=ENVIRONMENTS)
def test_load_stack__arbitrary_bytes__only_input_errors(content: bytes, environment: str | None) -> None:
    _check(content, environment)


@SETTINGS
@given(text=st.text(max_size=2000), environment=ENVIRONMENTS)
def test_load_stack__arbitrary_text__only_input_errors(text: str, environment: str | None) -> None:
    _check(text.encode("utf-8", "surrogatepass"), environment)


@SETTINGS
@given(pieces=st.lists(st.sampled_from(YAML_PIECES), max_size=60), environment=ENVIRONMENTS)
def test_load_stack__yaml_punctuation_soup__only_input_errors(pieces: list[str], environment: str | None) -> None:
    _check("".join(pieces).encode("utf-8"), environment)


@SETTINGS
@given(data=nested, environment=ENVIRONMENTS)
def test_load_stack__arbitrary_nested_data__only_input_errors(data: Any, environment: str | None) -> None:
    _check(_dump(data).encode("utf-8"), environment)


@SETTINGS
@given(data=stack_shaped, environment=ENVIRONMENTS)
def test_load_stack__stack_shaped_documents__only_input_errors(data: Any, environment: str | None) -> None:
    _check(_dump(data).encode("utf-8"), environment)


@settings(SETTINGS, max_examples=EXAMPLES // 5)
@given(depth=st.integers(min_value=1, max_value=200), flow=st.booleans(), environment=ENVIRONMENTS)
def test_load_stack__any_nesting_depth__only_input_errors(depth: int, flow: bool, environment: str | None) -> None:
    head = "stack: corpus\nenvironments:\n  dev: {}\nvars:\n  x: "
    body = "[" * depth + "]" * depth if flow else "".join("\n" + "  " * (i + 2) + f"k{i}:" for i in range(depth))
    _check((head + body + "\n").encode("utf-8"), environment)
