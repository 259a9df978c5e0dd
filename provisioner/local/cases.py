"""Test cases: ``<stack>.tests.yaml`` beside a stack file → checked runs of its handlers.

Input: a stack file's test-case file (YAML, read round-trip with ruamel so
every problem is reported as ``file:line: field: message``, all at once) and
the loaded ``Stack``. Output: a ``CaseResult`` per case (passed, failed or
skipped, with readable reasons), a pytest-like report and, on request, JUnit
XML. I/O: reads the test-case file (and event files it names), runs each case
through ``localrun`` and serves a loopback HTTP capture server on 127.0.0.1
while the cases run. Nothing here reaches beyond loopback.

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
event) becomes the URL of the capture server, ``http://127.0.0.1:PORT/…/NAME``,
so an action that posts to a webhook posts there instead, and an ``http``
expectation checks what arrived.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..engine import events
from ..engine.errors import HookctlError, InputError, Problem
from ..engine.load import _line_of, load_stack, read_document, suggest
from ..engine.model import Action, Function, Stack
from ..engine.render import Renderer
from . import run as localrun

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
class CaptureRef:
    """``{capture: NAME, path: /x}``: replaced by the capture server's URL for NAME at run time."""

    name: str
    path: str = ""


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
        return f"{_display(self.file)}:{self.line}" if self.line else _display(self.file)

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


# -- the capture server ----------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    """One HTTP request the capture server received."""

    capture: str
    method: str
    path: str  # below the capture's own URL ("" or "/v1/users")
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: str

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        body = self.body if len(self.body) <= 300 else self.body[:299] + "…"
        return f"{self.method} {self.path or '/'} {body}"


class CaptureServer:
    """An HTTP server on 127.0.0.1 that records what handlers send it.

    URLs are ``http://127.0.0.1:PORT/<scope>/<capture><path>``: each case gets
    its own scope, so cases may run in parallel without seeing each other's
    requests. Every request is answered ``200 ok`` unless the case configured
    the capture otherwise (``captures: {NAME: {status: 500}}``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, list[Captured]] = {}
        self._answers: dict[tuple[str, str], Mapping[str, Any]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def _handle(self) -> None:
                body = self._body().decode("utf-8", "replace")
                parts = urlsplit(self.path)
                segments = parts.path.split("/", 3)  # "", scope, capture, rest
                scope = segments[1] if len(segments) > 1 else ""
                capture = segments[2] if len(segments) > 2 else ""
                rest = "/" + segments[3] if len(segments) > 3 else ""
                request = Captured(
                    capture,
                    self.command,
                    rest,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                answer = server._record(scope, request)
                data = str(answer.get("body", "ok")).encode("utf-8")
                self.send_response(int(answer.get("status", 200)))
                self.send_header("Content-Type", str(answer.get("content_type", "text/plain")))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()  # the blank line after the last chunk
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hookctl-capture", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def scope(self, answers: Mapping[str, Mapping[str, Any]] | None = None) -> str:
        token = uuid.uuid4().hex[:12]
        with self._lock:
            self._requests[token] = []
            for name, answer in (answers or {}).items():
                self._answers[(token, name)] = answer
        return token

    def url(self, scope: str, ref: CaptureRef) -> str:
        return f"http://127.0.0.1:{self.port}/{scope}/{ref.name}{ref.path}"

    def _record(self, scope: str, request: Captured) -> Mapping[str, Any]:
        with self._lock:
            self._requests.setdefault(scope, []).append(request)
            return self._answers.get((scope, request.capture), {})

    def received(self, scope: str) -> list[Captured]:
        with self._lock:
            return list(self._requests.get(scope, []))


def resolve_captures(value: Any, url: Callable[[CaptureRef], str]) -> Any:
    if isinstance(value, CaptureRef):
        return url(value)
    if isinstance(value, dict):
        return {k: resolve_captures(v, url) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_captures(v, url) for v in value]
    return value


# -- running and checking ---------------------------------------------------------------------


@dataclass
class CaseResult:
    case: Case
    status: str  # "passed" | "failed" | "skipped"
    failures: list[str] = field(default_factory=list)
    run: localrun.RunResult | None = None
    seconds: float = 0.0

    def details(self) -> str:
        lines = list(self.failures)
        if self.run is not None and self.status == "failed":
            if self.run.logs and not any("logged:" in f for f in self.failures):
                lines.append("logs:")
                lines += [f"  {line.text}" for line in self.run.logs[-localrun.LOG_TAIL :]]
            lines += [f"warning: {w}" for w in self.run.warnings]
            lines += [f"note: used hookctl's test shim for {shim}" for shim in self.run.shims]
        return "\n".join(lines)


@dataclass
class StackReport:
    stack_path: str
    environment: str
    tests_path: str
    results: list[CaseResult]
    deselected: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class TestOptions:
    node_modules: str | None = None
    install_deps: bool = False
    cache_dir: str | None = None
    select: str | None = None  # substring of "target: name"
    jobs: int = 0
    kill_grace_s: float = localrun.KILL_GRACE_S
    progress: Callable[[str], None] = lambda _m: None
    on_result: Callable[[CaseResult], None] = lambda _r: None


def run_stack(
    stack_path: str, environment: str | None, options: TestOptions, runner: localrun.Runner | None = None
) -> StackReport:
    """Load a stack and its test-case file and run every selected case."""
    tests_path = tests_path_for(stack_path)
    if tests_path is None:
        base = os.path.splitext(stack_path)[0]
        raise InputError([Problem(stack_path, None, "tests", f"no test cases: write {_display(base)}.tests.yaml")])
    stack = load_stack(stack_path, environment)
    cases = load_cases(tests_path, stack)
    env_name = stack.environment.name
    selected = [
        c
        for c in cases
        if (not c.environments or env_name in c.environments)
        and (not options.select or options.select.lower() in c.title.lower())
    ]
    runner = runner or make_runner(options)
    renderer = Renderer(stack)
    render_lock = threading.Lock()
    results: list[CaseResult] = []
    with CaptureServer() as server:

        def one(case: Case) -> CaseResult:
            return run_case(stack, case, runner, server, renderer, render_lock)

        jobs = options.jobs or min(8, (os.cpu_count() or 2) * 2)
        # Cases run in parallel (each in its own process); results arrive in declaration order.
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for result in pool.map(one, selected):
                options.on_result(result)
                results.append(result)
    notes: list[str] = []
    shims: list[str] = []
    for result in results:
        if result.run is not None:
            notes += result.run.notes
            shims += result.run.shims
    if shims:
        names = ", ".join(dict.fromkeys(shims))
        notes.append(f"{names}: hookctl's test shims stood in for the real packages (--install-deps installs them)")
    return StackReport(
        stack_path, env_name, tests_path, results, len(cases) - len(selected), list(dict.fromkeys(notes))
    )


def run_stack_tests(stack_path: str, environment: str | None, echo: Callable[[str], None]) -> bool:
    """``hookctl test`` for one stack and environment, written through ``echo``; True when every case passed.

    For callers other than the CLI (``hookctl demo``): one line per case, the
    failures explained, then the summary.
    """
    started = time.perf_counter()
    report = run_stack(stack_path, environment, TestOptions(on_result=lambda r: echo(result_line(r))))
    failures = failure_section([report])
    if failures:
        echo(failures)
    echo(summary([report], time.perf_counter() - started))
    return all(r.status != "failed" for r in report.results)


def make_runner(options: TestOptions) -> localrun.Runner:
    cache = localrun.DependencyCache(
        options.cache_dir or localrun.DependencyCache.default_root(), progress=options.progress
    )
    return localrun.Runner(
        node_modules=options.node_modules,
        cache=cache,
        install_deps=options.install_deps,
        kill_grace_s=options.kill_grace_s,
    )


def run_case(
    stack: Stack,
    case: Case,
    runner: localrun.Runner,
    server: CaptureServer,
    renderer: Renderer | None = None,
    render_lock: Any = None,
) -> CaseResult:
    started = time.perf_counter()
    if case.skip:
        return CaseResult(case, "skipped", [case.skip])
    scope = server.scope(case.captures)

    def url(ref: CaptureRef) -> str:
        return server.url(scope, ref)

    entry = localrun.find_entry(stack, case.target)
    event = resolve_captures(case.event, url)
    try:
        with render_lock or contextlib.nullcontext():
            invocation = localrun.prepare(
                stack,
                entry,
                event=event if case.replace_event else None,
                overrides=None if case.replace_event else event,
                unset=case.unset,
                trigger_source=case.trigger_source,
                pool=case.pool,
                secrets=resolve_captures(dict(case.secrets), url),
                environment=resolve_captures(dict(case.environment), url),
                variables=resolve_captures(dict(case.variables), url),
                timeout_ms=case.timeout_ms,
                cache_seed=case.cache,
                renderer=renderer,
            )
        run = runner.run(invocation)
    except HookctlError as exc:
        message = exc.message + (f"\nHint: {exc.hint}" if exc.hint else "")
        return CaseResult(
            case, "failed", [f"could not run the handler: {message}"], None, time.perf_counter() - started
        )
    failures = check(case, run, server.received(scope))
    return CaseResult(case, "failed" if failures else "passed", failures, run, time.perf_counter() - started)


def check(case: Case, run: localrun.RunResult, received: Sequence[Captured]) -> list[str]:
    """Every unmet expectation of ``case`` as a readable message (empty: the case passed)."""
    failures: list[str] = []
    error_expectations = [e for e in case.expectations if e.kind == "error"]
    expects_error = any(e.value is not False for e in error_expectations)
    if run.error is not None and not expects_error:
        failures.append(_unexpected_error(run))
        return failures
    for expectation in case.expectations:
        message = _CHECKS[expectation.kind](expectation.value, run, received)
        if message:
            prefix = f"line {expectation.line}: " if expectation.line else ""
            failures.append(prefix + message)
    return failures


def _unexpected_error(run: localrun.RunResult) -> str:
    assert run.error is not None
    lines = [f"unexpected error: {run.error.headline()}"]
    if run.error.phase == "load":
        lines[0] += f" (while loading {run.source_file})"
    if run.location:
        lines.append(f"  at {run.location}")
    stack_lines = [ln for ln in run.error.stack.splitlines() if ln.strip() and ln.strip() != run.error.headline()]
    lines += [f"  {ln.strip()}" for ln in stack_lines[:8]]
    if run.client_message:
        lines.append(f"  Cognito would answer the client: {run.client_message}")
    return "\n".join(lines)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _mismatch(expected: Any, actual: Any, path: str) -> str | None:
    """Partial comparison: expected mappings need only their own keys; lists and scalars must be equal."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected a mapping {_json(expected)}, got {_json(actual)}"
        for key, value in expected.items():
            if key not in actual:
                return (
                    f"{path}.{key}: expected {_json(value)}, but it is not set"
                    if path
                    else f"{key}: expected {_json(value)}, but it is not set"
                )
            found = _mismatch(value, actual[key], f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if _same(expected, actual):
        return None
    return f"{path}: expected {_json(expected)}, got {_json(actual)}"


def _same(expected: Any, actual: Any) -> bool:
    """Equality that keeps true apart from 1 and "1" apart from 1 (YAML and JSON types differ)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            _mismatch(e, a, "") is None for e, a in zip(expected, actual, strict=True)
        )
    return bool(expected == actual)


def _dig(document: Any, path: str) -> tuple[bool, Any]:
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _check_fields(expected: Mapping[str, Any], actual: Any, label: str) -> str | None:
    if not expected:  # `response: {}`: nothing set at all
        return None if actual == {} else f"{label}: expected {{}} (nothing set), got {_json(actual)}"
    for path, value in expected.items():
        found, got = _dig(actual, path)
        if not found:
            return f"{label}.{path}: expected {_json(value)}, but it is not set (got {label} = {_json(actual)})"
        mismatch = _mismatch(value, got, f"{label}.{path}")
        if mismatch:
            return mismatch
    return None


def _check_error(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    if value is False:
        return None  # handled up front: any error fails the case
    if run.error is None:
        what = f"an error containing {value!r}" if isinstance(value, str) else "an error"
        return f"expected {what}, but the handler finished normally ({_summary(run)})"
    if isinstance(value, str):
        haystack = f"{run.error.headline()}\n{run.client_message or ''}"
        if value not in haystack:
            return f"expected an error containing {value!r}, got {run.error.headline()}"
    return None


def _check_log(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    if any(value in line.text for line in run.logs):
        return None
    return f"expected a log line containing {value!r}; the handler logged:\n" + _logged(run)


def _check_no_log(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    hits = [line.text for line in run.logs if value in line.text]
    return f"expected no log line containing {value!r}, found: {hits[0]!r}" if hits else None


def _logged(run: localrun.RunResult) -> str:
    if not run.logs:
        return "  (nothing)"
    return "\n".join(f"  {line.text}" for line in run.logs[-localrun.LOG_TAIL :])


def _check_response(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    if not isinstance(run.result, dict) or "response" not in run.result:
        return f"expected a response, but the handler returned {_json(run.result)}"
    return _check_fields(value, run.result["response"], "response")


def _check_result(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    return _check_fields(value, run.result, "result")


def _check_denied(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    denial = run.denial
    if value is False:
        return (
            None
            if denial is None
            else f"expected access not to be denied, but the action called "
            f"{run.calls('api.access.deny')[-1].describe()}"
        )
    if denial is None:
        return f"expected access to be denied, but the action did not call api.access.deny ({_summary(run)})"
    if isinstance(value, dict):
        for key, wanted in value.items():
            if denial.get(key) != wanted:
                return f"expected the denial's {key} to be {_json(wanted)}, got {_json(denial.get(key))}"
    return None


def _check_validation(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    found = run.validation_error
    if value is False:
        return None if found is None else f"expected no validation error, got {_json(found)}"
    if found is None:
        return f"expected api.validation.error to be called, but it was not ({_summary(run)})"
    if isinstance(value, dict):
        for key, wanted in value.items():
            if found.get(key) != wanted:
                return f"expected the validation error's {key} to be {_json(wanted)}, got {_json(found.get(key))}"
    return None


def _check_mapping(label: str, actual: Callable[[localrun.RunResult], dict[str, Any]]) -> Any:
    def checker(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
        got = actual(run)
        for key, wanted in value.items():
            if key not in got:
                return f"expected {label} {key!r} = {_json(wanted)}, but it was not set (set: {_json(got)})"
            mismatch = _mismatch(wanted, got[key], f"{label} {key!r}")
            if mismatch:
                return mismatch
        return None

    return checker


def _check_mfa(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    mfa = run.mfa
    if value is False:
        return None if mfa is None else f"expected no multifactor challenge, got {_json(mfa)}"
    if mfa is None:
        return f"expected api.multifactor.enable to be called, but it was not ({_summary(run)})"
    if isinstance(value, dict):
        return _mismatch(value, mfa, "multifactor")
    return None


def _check_redirect(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    redirect = run.redirect
    if value is False:
        return None if redirect is None else f"expected no redirect, got {_json(redirect)}"
    if redirect is None:
        return f"expected api.redirect.sendUserTo to be called, but it was not ({_summary(run)})"
    if isinstance(value, str) and not str(redirect["url"]).startswith(value):
        return f"expected a redirect to {value}…, got {redirect['url']}"
    if isinstance(value, dict):
        return _mismatch(value, redirect, "redirect")
    return None


def _check_api_call(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    method = value if isinstance(value, str) else value["method"]
    args = None if isinstance(value, str) else value.get("args")
    calls = run.calls(method)
    if not calls:
        return f"expected a call to {method}; the action called: {_calls(run)}"
    if args is None:
        return None
    for call in calls:
        if all(_mismatch(a, b, "") is None for a, b in zip(args, call.args, strict=False)) and len(call.args) >= len(
            args
        ):
            return None
    return f"expected {method} called with {_json(args)}; it was called as: " + "; ".join(c.describe() for c in calls)


def _check_no_api_call(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    calls = run.calls(value)
    return f"expected no call to {value}, got {calls[0].describe()}" if calls else None


def _check_http(value: Any, run: localrun.RunResult, received: Sequence[Captured]) -> str | None:
    name = value["capture"]
    mine = [r for r in received if r.capture == name]
    matching = [r for r in mine if _http_matches(value, r) is None]
    count = value.get("count")
    wanted = _http_description(value)
    if count is not None:
        if len(matching) == count:
            return None
        return f"expected {count} {wanted}; got {len(matching)}" + _received(mine, name)
    if matching:
        return None
    if mine:
        reasons = "; ".join(filter(None, (_http_matches(value, r) for r in mine)))
        return f"expected {wanted}; {reasons}" + _received(mine, name)
    return f"expected {wanted}, but nothing was sent to it ({_summary(run)})"


def _http_description(value: Mapping[str, Any]) -> str:
    method = f"{str(value['method']).upper()} " if value.get("method") else ""
    parts = [f"a {method}request to capture {value['capture']!r}"]
    if "path" in value:
        parts.append(f"at {value['path']}")
    if "body_contains" in value:
        parts.append(f"with a body containing {value['body_contains']!r}")
    if "json" in value:
        parts.append(f"with JSON {_json(value['json'])}")
    return " ".join(parts)


def _http_matches(value: Mapping[str, Any], request: Captured) -> str | None:
    if "method" in value and str(value["method"]).upper() != request.method:
        return f"it got {request.method}, not {str(value['method']).upper()}"
    if "path" in value and str(value["path"]) != (request.path or "/"):
        return f"it got path {request.path or '/'}, not {value['path']}"
    if "body_contains" in value and str(value["body_contains"]) not in request.body:
        return f"the body {request.body!r} does not contain {value['body_contains']!r}"
    if "json" in value:
        body = request.json
        if body is None:
            return f"the body is not JSON: {request.body!r}"
        mismatch = _mismatch(value["json"], body, "body")
        if mismatch:
            return mismatch
    for header, wanted in (value.get("headers") or {}).items():
        got = request.headers.get(str(header).lower())
        if got is None or str(wanted) not in got:
            return f"header {header} is {got!r}, expected it to contain {wanted!r}"
    return None


def _received(requests: Sequence[Captured], name: str) -> str:
    if not requests:
        return ""
    return f"\ncapture {name!r} received:\n" + "\n".join(f"  {r.describe()}" for r in requests)


def _calls(run: localrun.RunResult) -> str:
    return ", ".join(c.describe() for c in run.api_calls) or "nothing"


def _summary(run: localrun.RunResult) -> str:
    if run.kind == "auth0":
        return f"api calls: {_calls(run)}"
    response = run.result.get("response") if isinstance(run.result, dict) else run.result
    return f"response: {_json(response)}"


_CHECKS: dict[str, Callable[[Any, localrun.RunResult, Sequence[Captured]], str | None]] = {
    "error": _check_error,
    "log": _check_log,
    "no_log": _check_no_log,
    "http": _check_http,
    "response": _check_response,
    "result": _check_result,
    "denied": _check_denied,
    "validation_error": _check_validation,
    "id_token_claims": _check_mapping("ID token claim", lambda r: r.claims("id")),
    "access_token_claims": _check_mapping("access token claim", lambda r: r.claims("access")),
    "user_metadata": _check_mapping("user_metadata", lambda r: r.metadata("user")),
    "app_metadata": _check_mapping("app_metadata", lambda r: r.metadata("app")),
    "mfa": _check_mfa,
    "redirect": _check_redirect,
    "api_call": _check_api_call,
    "no_api_call": _check_no_api_call,
}


# -- reporting ------------------------------------------------------------------------------


def result_line(result: CaseResult) -> str:
    label = result.status.upper()
    timing = f" ({result.run.duration_ms:.0f} ms)" if result.run is not None else ""
    reason = f" — {result.failures[0]}" if result.status == "skipped" and result.failures else ""
    return f"{label:<7} {result.case.where} {result.case.title}{timing}{reason}"


def summary(reports: Sequence[StackReport], seconds: float, errors: int = 0) -> str:
    results = [r for report in reports for r in report.results]
    passed = sum(r.status == "passed" for r in results)
    failed = sum(r.status == "failed" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    deselected = sum(report.deselected for report in reports)
    parts = [f"{passed} passed", f"{failed} failed"]
    if skipped:
        parts.append(f"{skipped} skipped")
    if deselected:
        parts.append(f"{deselected} deselected")
    if errors:
        parts.append(f"{errors} error{'s' if errors > 1 else ''}")
    return f"{', '.join(parts)} in {seconds:.2f}s"


def failure_section(reports: Sequence[StackReport]) -> str:
    blocks: list[str] = []
    for report in reports:
        for result in report.results:
            if result.status != "failed":
                continue
            head = f"{result.case.where} {result.case.title}"
            body = "\n".join(f"    {line}" for line in result.details().splitlines())
            blocks.append(f"___ {head} ___\n{body}")
    return "\n\n".join(blocks)


def write_junit(path: str, reports: Sequence[StackReport], seconds: float) -> None:
    """JUnit XML: one testsuite per stack and environment, one testcase per case."""
    root = ET.Element("testsuites", name="hookctl test", time=f"{seconds:.3f}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for report in reports:
        suite = ET.SubElement(root, "testsuite", name=f"{_display(report.stack_path)} ({report.environment})")
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        suite_time = 0.0
        for result in report.results:
            counts["tests"] += 1
            suite_time += result.seconds
            stack_name = os.path.splitext(os.path.basename(report.stack_path))[0]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{stack_name}.{report.environment}.{result.case.target}",
                name=result.case.name,
                file=_display(result.case.file),
                line=str(result.case.line or 0),
                time=f"{result.seconds:.3f}",
            )
            if result.status == "failed":
                counts["failures"] += 1
                first = result.failures[0].splitlines()[0] if result.failures else "failed"
                failure = ET.SubElement(case, "failure", message=first, type="AssertionError")
                failure.text = result.details()
            elif result.status == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=result.failures[0] if result.failures else "skipped")
            if result.run is not None and result.run.logs:
                out = ET.SubElement(case, "system-out")
                out.text = result.run.log_text()
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
        suite.set("time", f"{suite_time:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def iter_results(reports: Sequence[StackReport]) -> Iterator[CaseResult]:
    for report in reports:
        yield from report.results


def _display(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
