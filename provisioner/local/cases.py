"""Test cases: ``<stack>.tests.yaml`` beside a stack file → validated ``Case`` values.
Local runs: loading and checking the cases ``hookctl test`` runs.

Input: a stack file's test-case file (YAML, read round-trip with ruamel so
every problem is reported as ``file:line: field: message``, all at once) and
the loaded ``Stack``. Output: one frozen ``Case`` per entry, its expectations
checked for shape and for the handler they apply to. I/O: reads the test-case
file and the event files it names; nothing else. Running the cases is
``suite``; checking a run against them ``checks``; writing results ``report``.

A case names one action or function, an event (overrides merged onto the
generated sample, or a complete event) and expectations::

    cases:
      - name: a listed JA4 fingerprint is denied
        action: deny-tls-fingerprints
        event: {security_context: {ja4: t13d1517h2_8daaf6152771_b6f405a00624}}
        expect:
          - denied: {reason: suspicious_tls_fingerprint}
          - log: t13d1517h2_8daaf6152771_b6f405a00624

A value ``{capture: NAME}`` (in ``secrets``, ``environment``, ``vars`` or the
event) becomes a ``CaptureRef``: at run time, the URL of the capture server,
``http://127.0.0.1:PORT/…/NAME``, so an action that posts to a webhook posts
there instead, and an ``http`` expectation checks what arrived.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..engine import events
from ..engine.errors import InputError, Problem
from ..engine.load import _line_of, read_document, suggest
from ..engine.model import Action, Function, Stack
from .capture import CaptureRef

CASE_KEYS = (
    "name",
    "action",
    "function",
    "description",
    "environments",
    "skip",
    "trigger_source",
    "pool",
    "event",
    "event_file",
    "replace_event",
    "unset",
    "secrets",
    "environment",
    "vars",
    "cache",
    "captures",
    "timeout_ms",
    "expect",
)
TOP_KEYS = ("cases",)
CAPTURE_KEYS = ("capture", "path")
CAPTURE_CONFIG_KEYS = ("status", "body", "content_type")
HTTP_KEYS = ("capture", "method", "path", "body_contains", "json", "headers", "count")

BOTH = "both"
# Expectation → which kind of handler it applies to.
EXPECTATIONS: dict[str, str] = {
    "error": BOTH,
    "log": BOTH,
    "no_log": BOTH,
    "http": BOTH,
    "response": "cognito",
    "result": "cognito",
    "denied": "auth0",
    "validation_error": "auth0",
    "id_token_claims": "auth0",
    "access_token_claims": "auth0",
    "user_metadata": "auth0",
    "app_metadata": "auth0",
    "mfa": "auth0",
    "redirect": "auth0",
    "api_call": "auth0",
    "no_api_call": "auth0",
}
# Auth0 expectations that only make sense on triggers whose api has the method.
AUTH0_EXPECTATION_TRIGGERS: dict[str, frozenset[str]] = {
    "denied": frozenset({"pre-user-registration", "post-login", "credentials-exchange"}),
    "validation_error": frozenset({"pre-user-registration", "post-login"}),
    "id_token_claims": frozenset({"post-login"}),
    "access_token_claims": frozenset({"post-login", "credentials-exchange"}),
    "user_metadata": frozenset({"pre-user-registration", "post-login"}),
    "app_metadata": frozenset({"pre-user-registration", "post-login"}),
    "mfa": frozenset({"post-login"}),
    "redirect": frozenset({"post-login"}),
}


def tests_path_for(stack_path: str) -> str | None:
    """The test-case file beside a stack: ``x.yaml`` → ``x.tests.yaml`` (or ``.tests.yml``)."""
    base = os.path.splitext(stack_path)[0]
    for suffix in (".tests.yaml", ".tests.yml"):
        if os.path.isfile(base + suffix):
            return base + suffix
    return None


# -- the case model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    kind: str
    value: Any
    line: int | None


@dataclass(frozen=True)
class Case:
    name: str
    target: str  # action or function name
    kind: str  # "auth0" | "cognito"
    file: str
    line: int | None
    expectations: tuple[Expectation, ...]
    event: Any = None  # overrides, or the whole event when replace_event
    replace_event: bool = False
    unset: tuple[str, ...] = ()
    trigger_source: str | None = None
    pool: str | None = None
    secrets: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    cache: Mapping[str, str] = field(default_factory=dict)
    captures: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timeout_ms: int | None = None
    environments: tuple[str, ...] = ()
    skip: str | None = None
    description: str = ""

    @property
    def where(self) -> str:
        return f"{display_path(self.file)}:{self.line}" if self.line else display_path(self.file)

    @property
    def title(self) -> str:
        return f"{self.target}: {self.name}"


def load_cases(path: str, stack: Stack) -> list[Case]:
    """Read and check every case of ``path`` against ``stack``; raises InputError listing all problems."""
    doc, _digest = read_document(path)
    loader = _CaseLoader(path, stack)
    cases = loader.build(doc)
    if loader.problems:
        raise InputError(loader.problems)
    return cases


class _CaseLoader:
    def __init__(self, path: str, stack: Stack) -> None:
        self.path = path
        self.stack = stack
        self.problems: list[Problem] = []
        entries: list[Action | Function] = [*stack.actions, *stack.functions]
        self.entries = {e.name: e for e in entries}

    def problem(self, line: int | None, fld: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, fld, message))

    def build(self, doc: Any) -> list[Case]:
        if not isinstance(doc, CommentedMap):
            self.problem(None, "cases", "expected a mapping with a `cases:` list")
            return []
        for key in doc:
            if key not in TOP_KEYS:
                self.problem(_line_of(doc, key), str(key), f"unknown key{suggest(str(key), TOP_KEYS)}")
        node = doc.get("cases")
        if not isinstance(node, CommentedSeq):
            self.problem(_line_of(doc, "cases"), "cases", "expected a list of test cases")
            return []
        cases: list[Case] = []
        seen: dict[str, int | None] = {}
        for index, item in enumerate(node):
            line = _line_of(node, index)
            case = self.case(item, f"cases[{index}]", line)
            if case is None:
                continue
            key = f"{case.target}/{case.name}"
            if key in seen:
                self.problem(
                    line, f"cases[{index}].name", f"{case.name!r} is already a case of {case.target} (line {seen[key]})"
                )
            seen[key] = line
            cases.append(case)
        return cases

    def case(self, item: Any, fld: str, line: int | None) -> Case | None:
        if not isinstance(item, CommentedMap):
            self.problem(line, fld, "expected a mapping (name, action or function, event, expect)")
            return None
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(line, f"{fld}.name", "every case needs a name (a sentence saying what it checks)")
            name = f"case {fld}"
        else:
            fld = f"{fld} ({name})"
        for key in item:
            if key not in CASE_KEYS:
                self.problem(_line_of(item, key), f"{fld}.{key}", f"unknown key{suggest(str(key), CASE_KEYS)}")
        entry = self.target(item, fld, line)
        if entry is None:
            return None
        kind = "auth0" if isinstance(entry, Action) else "cognito"
        trigger_source = self.trigger_source(item, fld, entry)
        pool = self.optional_string(item, "pool", fld)
        if pool is not None and isinstance(entry, Function) and pool not in {t.pool for t in entry.triggers}:
            self.problem(
                _line_of(item, "pool"),
                f"{fld}.pool",
                f"function {entry.name} serves no trigger on pool "
                f"{pool!r}{suggest(pool, tuple(t.pool for t in entry.triggers))}",
            )
        replace = item.get("replace_event", False)
        if not isinstance(replace, bool):
            self.problem(_line_of(item, "replace_event"), f"{fld}.replace_event", "expected true or false")
            replace = False
        event: Any = None
        if "event" in item and "event_file" in item:
            self.problem(_line_of(item, "event_file"), f"{fld}.event_file", "give either event or event_file")
        if "event" in item:
            event = self.plain(item["event"], f"{fld}.event", _line_of(item, "event"))
            if not isinstance(event, dict):
                self.problem(_line_of(item, "event"), f"{fld}.event", "expected a mapping")
                event = None
        elif "event_file" in item:
            event = self.event_file(item, fld)
            replace = True
        unset = self.string_list(item, "unset", fld)
        secrets = self.string_map(item, "secrets", fld)
        declared = {s.name for s in entry.secrets}
        for secret in secrets:
            if secret not in declared:
                self.problem(
                    _line_of(item.get("secrets"), secret),
                    f"{fld}.secrets.{secret}",
                    f"{entry.name} declares no secret {secret!r}{suggest(secret, tuple(declared))}",
                )
        environment = self.string_map(item, "environment", fld)
        if environment and kind == "auth0":
            self.problem(
                _line_of(item, "environment"),
                f"{fld}.environment",
                "Auth0 actions have no environment variables; use secrets",
            )
        variables = self.plain(item.get("vars"), f"{fld}.vars", _line_of(item, "vars")) if "vars" in item else {}
        if not isinstance(variables, dict):
            self.problem(_line_of(item, "vars"), f"{fld}.vars", "expected a mapping of template variables")
            variables = {}
        cache = self.string_map(item, "cache", fld)
        if cache and kind != "auth0":
            self.problem(_line_of(item, "cache"), f"{fld}.cache", "api.cache exists only for Auth0 actions")
        captures = self.captures(item, fld)
        timeout = item.get("timeout_ms")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0):
            self.problem(
                _line_of(item, "timeout_ms"), f"{fld}.timeout_ms", "expected a positive number of milliseconds"
            )
            timeout = None
        environments = self.string_list(item, "environments", fld)
        for env in environments:
            if env not in self.stack.environments:
                self.problem(
                    _line_of(item, "environments"),
                    f"{fld}.environments",
                    f"the stack has no environment {env!r}{suggest(env, self.stack.environments)}",
                )
        skip = item.get("skip")
        if skip is not None and not isinstance(skip, str):
            self.problem(_line_of(item, "skip"), f"{fld}.skip", "expected the reason for skipping, as text")
            skip = None
        expectations = self.expectations(item, fld, entry)
        return Case(
            name=str(name),
            target=entry.name,
            kind=kind,
            file=self.path,
            line=line,
            expectations=tuple(expectations),
            event=event,
            replace_event=bool(replace),
            unset=tuple(unset),
            trigger_source=trigger_source,
            pool=pool,
            secrets=secrets,
            environment=environment,
            variables=variables,
            cache={k: str(v) for k, v in cache.items()},
            captures=captures,
            timeout_ms=timeout,
            environments=tuple(environments),
            skip=skip,
            description=str(item.get("description") or ""),
        )

    # -- pieces ---------------------------------------------------------------------------
    def target(self, item: CommentedMap, fld: str, line: int | None) -> Action | Function | None:
        given = [k for k in ("action", "function") if k in item]
        if len(given) != 1:
            self.problem(line, fld, "name exactly one `action:` (Auth0) or `function:` (Cognito)")
            return None
        key = given[0]
        name = item[key]
        entry = self.entries.get(name) if isinstance(name, str) else None
        wanted = Action if key == "action" else Function
        if entry is None or not isinstance(entry, wanted):
            names = tuple(e.name for e in self.entries.values() if isinstance(e, wanted))
            self.problem(
                _line_of(item, key), f"{fld}.{key}", f"the stack has no {key} named {name!r}{suggest(str(name), names)}"
            )
            return None
        return entry

    def trigger_source(self, item: CommentedMap, fld: str, entry: Action | Function) -> str | None:
        source = self.optional_string(item, "trigger_source", fld)
        if source is None:
            return None
        if isinstance(entry, Action):
            self.problem(
                _line_of(item, "trigger_source"),
                f"{fld}.trigger_source",
                "trigger_source is for Cognito functions; an action has exactly one trigger",
            )
            return None
        if source not in events.TRIGGER_BY_SOURCE:
            self.problem(
                _line_of(item, "trigger_source"),
                f"{fld}.trigger_source",
                f"unknown triggerSource {source!r}{suggest(source, tuple(events.TRIGGER_BY_SOURCE))}",
            )
            return None
        trigger = events.TRIGGER_BY_SOURCE[source]
        served = {t.trigger for t in entry.triggers}
        if trigger not in served:
            self.problem(
                _line_of(item, "trigger_source"),
                f"{fld}.trigger_source",
                f"{source} goes to {trigger}; {entry.name} serves {', '.join(sorted(served))}",
            )
            return None
        return source

    def optional_string(self, item: CommentedMap, key: str, fld: str) -> str | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(_line_of(item, key), f"{fld}.{key}", "expected a string")
            return None
        return value

    def string_list(self, item: CommentedMap, key: str, fld: str) -> list[str]:
        value = item.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(_line_of(item, key), f"{fld}.{key}", "expected a list of strings")
            return []
        return [str(v) for v in value]

    def string_map(self, item: CommentedMap, key: str, fld: str) -> dict[str, Any]:
        """Names → strings (or ``{capture: …}``); numbers and booleans are taken as their text."""
        node = item.get(key)
        if node is None:
            return {}
        if not isinstance(node, CommentedMap):
            self.problem(_line_of(item, key), f"{fld}.{key}", "expected a mapping of names to values")
            return {}
        out: dict[str, Any] = {}
        for name, value in node.items():
            parsed = self.plain(value, f"{fld}.{key}.{name}", _line_of(node, name))
            if isinstance(parsed, CaptureRef):
                out[str(name)] = parsed
            elif isinstance(parsed, bool):
                out[str(name)] = "true" if parsed else "false"
            elif isinstance(parsed, str | int | float):
                out[str(name)] = str(parsed)
            else:
                self.problem(_line_of(node, name), f"{fld}.{key}.{name}", "expected a string or {capture: NAME}")
        return out

    def plain(self, node: Any, fld: str, line: int | None, *, refs: bool = True) -> Any:
        """YAML → plain values; ``{capture: NAME[, path: /x]}`` → CaptureRef (when ``refs``)."""
        if isinstance(node, CommentedMap):
            if refs and "capture" in node:
                extra = [k for k in node if k not in CAPTURE_KEYS]
                name = node.get("capture")
                path = node.get("path", "")
                if extra or not isinstance(name, str) or not isinstance(path, str):
                    self.problem(line, fld, "a capture reference is {capture: NAME} or {capture: NAME, path: /x}")
                    return None
                return CaptureRef(name, path if not path or path.startswith("/") else "/" + path)
            return {str(k): self.plain(v, f"{fld}.{k}", _line_of(node, k), refs=refs) for k, v in node.items()}
        if isinstance(node, CommentedSeq | list):
            return [self.plain(v, f"{fld}[{i}]", _line_of(node, i), refs=refs) for i, v in enumerate(node)]
        if node is None or isinstance(node, bool | int | float):
            return node
        if isinstance(node, str):
            return str(node)
        self.problem(line, fld, f"unsupported value {type(node).__name__}")
        return None

    def event_file(self, item: CommentedMap, fld: str) -> Any:
        name = item.get("event_file")
        line = _line_of(item, "event_file")
        if not isinstance(name, str):
            self.problem(line, f"{fld}.event_file", "expected a path (JSON or YAML), relative to this file")
            return None
        path = os.path.join(os.path.dirname(os.path.abspath(self.path)), name)
        try:
            if name.endswith(".json"):
                with open(path, encoding="utf-8") as fh:
                    data = json.load(fh)
            else:
                raw, _ = read_document(path)
                data = self.plain(raw, f"{fld}.event_file", line)
        except (OSError, ValueError) as exc:
            self.problem(line, f"{fld}.event_file", f"cannot read {name}: {exc}")
            return None
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None
        if not isinstance(data, dict):
            self.problem(line, f"{fld}.event_file", f"{name} does not hold a JSON object")
            return None
        return data

    def captures(self, item: CommentedMap, fld: str) -> dict[str, dict[str, Any]]:
        node = item.get("captures")
        if node is None:
            return {}
        if not isinstance(node, CommentedMap):
            self.problem(
                _line_of(item, "captures"),
                f"{fld}.captures",
                "expected capture names mapped to {status, body, content_type}",
            )
            return {}
        out: dict[str, dict[str, Any]] = {}
        for name, spec in node.items():
            sfld = f"{fld}.captures.{name}"
            if not isinstance(spec, CommentedMap):
                self.problem(_line_of(node, name), sfld, "expected {status: 500, body: ..., content_type: ...}")
                continue
            for key in spec:
                if key not in CAPTURE_CONFIG_KEYS:
                    self.problem(
                        _line_of(spec, key), f"{sfld}.{key}", f"unknown key{suggest(str(key), CAPTURE_CONFIG_KEYS)}"
                    )
            status = spec.get("status", 200)
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                self.problem(_line_of(spec, "status"), f"{sfld}.status", "expected an HTTP status code")
                status = 200
            out[str(name)] = {
                "status": status,
                "body": str(spec.get("body", "ok")),
                "content_type": str(spec.get("content_type", "text/plain")),
            }
        return out

    def expectations(self, item: CommentedMap, fld: str, entry: Action | Function) -> list[Expectation]:
        node = item.get("expect")
        if node is None:
            self.problem(
                _line_of(item, None),
                f"{fld}.expect",
                "every case needs expectations (`expect: [{error: false}]` to only check it runs)",
            )
            return []
        if isinstance(node, CommentedMap):  # a single expectation written as a mapping
            node_items = [(k, v, _line_of(node, k)) for k, v in node.items()]
        elif isinstance(node, CommentedSeq):
            node_items = []
            for i, sub in enumerate(node):
                if not isinstance(sub, CommentedMap) or len(sub) != 1:
                    self.problem(_line_of(node, i), f"{fld}.expect[{i}]", "each expectation is one `kind: value` pair")
                    continue
                key = next(iter(sub))
                node_items.append((key, sub[key], _line_of(node, i)))
        else:
            self.problem(_line_of(item, "expect"), f"{fld}.expect", "expected a list of `kind: value` pairs")
            return []
        kind = "auth0" if isinstance(entry, Action) else "cognito"
        out: list[Expectation] = []
        for key, raw, line in node_items:
            efld = f"{fld}.expect.{key}"
            if key not in EXPECTATIONS:
                self.problem(line, efld, f"unknown expectation{suggest(str(key), tuple(EXPECTATIONS))}")
                continue
            applies = EXPECTATIONS[key]
            if applies not in (BOTH, kind):
                self.problem(
                    line, efld, f"{key} is for {'Auth0 actions' if applies == 'auth0' else 'Cognito functions'}"
                )
                continue
            triggers = AUTH0_EXPECTATION_TRIGGERS.get(key)
            if triggers and isinstance(entry, Action) and entry.trigger not in triggers:
                self.problem(
                    line,
                    efld,
                    f"the {entry.trigger} trigger's api cannot do that "
                    f"({key} applies to {', '.join(sorted(triggers))})",
                )
                continue
            value = self.plain(raw, efld, line, refs=False)
            message = _check_value(str(key), value)
            if message:
                self.problem(line, efld, message)
                continue
            out.append(Expectation(str(key), value, line))
        return out


def _check_value(kind: str, value: Any) -> str | None:
    """Shape of each expectation's value; None when fine."""
    text_or_bool = ("error",)
    if kind in text_or_bool:
        return None if isinstance(value, str | bool) else "expected true, false or text the error message contains"
    if kind in ("log", "no_log", "no_api_call"):
        return None if isinstance(value, str) and value else "expected the text to look for"
    if kind in ("response", "result"):
        return None if isinstance(value, dict) else "expected a mapping of fields to values ({} for an empty one)"
    if kind in ("id_token_claims", "access_token_claims", "user_metadata", "app_metadata"):
        return None if isinstance(value, dict) and value else "expected a mapping of fields to values"
    if kind == "denied":
        if isinstance(value, bool):
            return None
        if isinstance(value, dict) and set(value) <= {"reason", "message", "code"}:
            return None
        return "expected true, false or {reason, message, code}"
    if kind == "validation_error":
        if isinstance(value, bool) or (isinstance(value, dict) and set(value) <= {"code", "message"}):
            return None
        return "expected true, false or {code, message}"
    if kind == "mfa":
        if isinstance(value, bool) or (isinstance(value, dict) and set(value) <= {"provider", "options"}):
            return None
        return "expected true, false or {provider, options}"
    if kind == "redirect":
        if isinstance(value, bool | str) or (isinstance(value, dict) and set(value) <= {"url", "query"}):
            return None
        return "expected true, false, the URL it starts with, or {url, query}"
    if kind == "api_call":
        if isinstance(value, str) and value.startswith("api."):
            return None
        if isinstance(value, dict) and set(value) <= {"method", "args"} and isinstance(value.get("method"), str):
            if "args" in value and not isinstance(value["args"], list):
                return "args is a list of the first arguments to compare"
            return None
        return "expected a method such as api.user.setUserMetadata, or {method, args}"
    if kind == "http":
        if not isinstance(value, dict) or not isinstance(value.get("capture"), str):
            return "expected {capture: NAME, method, path, body_contains, json, headers, count}"
        unknown = [k for k in value if k not in HTTP_KEYS]
        if unknown:
            return f"unknown key {unknown[0]!r}{suggest(unknown[0], HTTP_KEYS)}"
        if "count" in value and (isinstance(value["count"], bool) or not isinstance(value["count"], int)):
            return "count is a number of requests"
        return None
    return None


def display_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
