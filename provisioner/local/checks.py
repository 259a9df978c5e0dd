"""Expectation checks: one run of a case's handler → the expectations it did not meet.
Local runs: checking what a handler did against a case's ``expect:`` list.

Input: a ``Case``, the ``RunResult`` of its run and the requests the capture
server received for it. Output: readable failure messages (``line N: …``),
none when the case passed. Pure: no I/O. Expectations compare partially:
an expected mapping needs only its own keys, and YAML's ``true`` is not ``1``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import run as localrun
from .capture import Captured
from .cases import Case


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
