"""Test-case files: loading with file:line problems, expectation checks, capture server, JUnit."""

from __future__ import annotations

import textwrap
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from provisioner.engine.errors import InputError
from provisioner.engine.load import load_stack
from provisioner.local import cases as testcases
from provisioner.local import run as localrun
from provisioner.local.capture import Captured, CaptureRef, CaptureServer
from provisioner.local.checks import check
from provisioner.local.report import CaseResult, StackReport, summary, write_junit
from provisioner.local.suite import run_stack_tests

from .conftest import needs_node


def write_cases(stack_file: Path, text: str) -> Path:
    path = stack_file.with_name(stack_file.stem + ".tests.yaml")
    path.write_text(textwrap.dedent(text))
    return path


def load(stack_file: Path, text: str) -> list[testcases.Case]:
    path = write_cases(stack_file, text)
    return testcases.load_cases(str(path), load_stack(str(stack_file), "dev"))


def test_tests_path_for__beside_the_stack(small_stack: Path) -> None:
    assert testcases.tests_path_for(str(small_stack)) is None
    path = write_cases(small_stack, "cases: []\n")
    assert testcases.tests_path_for(str(small_stack)) == str(path)


def test_load_cases__valid_file__cases_with_lines_and_capture_refs(small_stack: Path) -> None:
    cases = load(
        small_stack,
        """\
        cases:
          - name: blocked domain is denied
            action: gate
            secrets: {API_KEY: test-key}
            event: {user: {email: a@blocked.example}}
            expect:
              - denied: {reason: blocked_domain}
          - name: posts the user id
            action: hook
            vars: {url: {capture: hooks, path: /new}}
            expect:
              - http: {capture: hooks, json: {id: "auth0|64f1c0ffee0123456789abcd"}}
          - name: short names fail
            function: signup
            trigger_source: PreSignUp_AdminCreateUser
            unset: [request.userAttributes.email]
            expect:
              error: too short
        """,
    )
    assert [(c.target, c.line, c.kind) for c in cases] == [
        ("gate", 2, "auth0"),
        ("hook", 8, "auth0"),
        ("signup", 13, "cognito"),
    ]
    assert cases[0].secrets == {"API_KEY": "test-key"}
    assert cases[1].variables == {"url": CaptureRef("hooks", "/new")}
    assert cases[1].expectations[0].value == {"capture": "hooks", "json": {"id": "auth0|64f1c0ffee0123456789abcd"}}
    assert cases[2].trigger_source == "PreSignUp_AdminCreateUser"
    assert cases[2].expectations == (testcases.Expectation("error", "too short", 18),)


def test_load_cases__many_mistakes__every_one_reported_with_file_and_line(small_stack: Path) -> None:
    with pytest.raises(InputError) as info:
        load(
            small_stack,
            """\
            cases:
              - name: typo in a key
                action: gate
                expcet: []
              - name: unknown action
                action: gaet
                expect: [{error: false}]
              - name: action expectation on a function
                function: signup
                expect: [{denied: true}]
              - name: wrong trigger source
                function: signup
                trigger_source: PostConfirmation_ConfirmSignUp
                expect: [{error: false}]
              - name: undeclared secret
                action: gate
                secrets: {API_KEYS: x}
                expect: [{denied: false}]
              - name: api the trigger lacks
                action: hook
                expect: [{denied: true}]
              - name: bad expectation value
                action: gate
                expect: [{http: {url: x}}]
            """,
        )
    message = info.value.message
    path = str(small_stack.with_name("small.tests.yaml"))
    expected = [
        f"{path}:4: cases[0] (typo in a key).expcet: unknown key (did you mean 'expect'?)",
        f"{path}:2: cases[0] (typo in a key).expect: every case needs expectations",
        f"{path}:6: cases[1] (unknown action).action: the stack has no action named 'gaet' (did you mean 'gate'?)",
        f"{path}:10: cases[2] (action expectation on a function).expect.denied: denied is for Auth0 actions",
        f"{path}:13: cases[3] (wrong trigger source).trigger_source: PostConfirmation_ConfirmSignUp goes to "
        "PostConfirmation; signup serves PreSignUp",
        f"{path}:17: cases[4] (undeclared secret).secrets.API_KEYS: gate declares no secret 'API_KEYS' "
        "(did you mean 'API_KEY'?)",
        f"{path}:21: cases[5] (api the trigger lacks).expect.denied: the post-user-registration trigger's api "
        "cannot do that",
        f"{path}:24: cases[6] (bad expectation value).expect.http: expected {{capture: NAME",
    ]
    for line in expected:
        assert line in message, f"{line!r} not in:\n{message}"
    assert message.startswith("8 problems:")


def test_load_cases__not_yaml__syntax_error_with_line(small_stack: Path) -> None:
    with pytest.raises(InputError) as info:
        load(small_stack, "cases:\n  - name: x\n    action: [unclosed\n")
    assert "small.tests.yaml:" in info.value.message and "syntax error" in info.value.message


# -- checks, without running anything ----------------------------------------------------------


def case_with(*expectations: tuple[str, Any], kind: str = "auth0") -> testcases.Case:
    return testcases.Case(
        name="n",
        target="t",
        kind=kind,
        file="x.tests.yaml",
        line=1,
        expectations=tuple(testcases.Expectation(k, v, 10 + i) for i, (k, v) in enumerate(expectations)),
    )


def auth0_run(*calls: tuple[str, tuple[Any, ...]], trigger: str = "post-login", **fields: Any) -> localrun.RunResult:
    run = localrun.RunResult("auth0.action.t", "auth0", trigger, None, "ok", 20_000, **fields)
    run.api_calls = [localrun.ApiCall(m, a) for m, a in calls]
    return run


def cognito_run(result: Any, status: str = "ok", **fields: Any) -> localrun.RunResult:
    return localrun.RunResult(
        "cognito.function.t", "cognito", "PreSignUp", "PreSignUp_SignUp", status, 5_000, result=result, **fields
    )


def test_check__auth0_expectations_met__no_failures() -> None:
    run = auth0_run(
        ("api.access.deny", ("Weekends only",)),
        ("api.idToken.setCustomClaim", ("https://x/roles", ["a"])),
        ("api.accessToken.setCustomClaim", ("tier", "gold")),
        ("api.user.setUserMetadata", ("plan", "free")),
        ("api.user.setAppMetadata", ("n", 1)),
        ("api.multifactor.enable", ("duo", {"allowRememberBrowser": True})),
        ("api.redirect.sendUserTo", ("https://consent.example.com/x", {"query": {"s": "1"}})),
        logs=[localrun.LogLine("log", "hello world")],
    )
    case = case_with(
        ("denied", {"reason": "Weekends only"}),
        ("id_token_claims", {"https://x/roles": ["a"]}),
        ("access_token_claims", {"tier": "gold"}),
        ("user_metadata", {"plan": "free"}),
        ("app_metadata", {"n": 1}),
        ("mfa", {"provider": "duo"}),
        ("redirect", "https://consent.example.com/"),
        ("api_call", {"method": "api.user.setUserMetadata", "args": ["plan"]}),
        ("no_api_call", "api.validation.error"),
        ("log", "hello"),
        ("no_log", "goodbye"),
    )
    assert check(case, run, []) == []


def test_check__auth0_expectations_unmet__one_readable_message_each() -> None:
    run = auth0_run(("api.user.setUserMetadata", ("plan", "paid")), logs=[localrun.LogLine("log", "hi")])
    case = case_with(
        ("denied", True),
        ("user_metadata", {"plan": "free"}),
        ("id_token_claims", {"role": "x"}),
        ("mfa", True),
        ("log", "bye"),
        ("api_call", "api.access.deny"),
    )
    assert check(case, run, []) == [
        "line 10: expected access to be denied, but the action did not call api.access.deny "
        '(api calls: api.user.setUserMetadata("plan", "paid"))',
        'line 11: user_metadata \'plan\': expected "free", got "paid"',
        "line 12: expected ID token claim 'role' = \"x\", but it was not set (set: {})",
        "line 13: expected api.multifactor.enable to be called, but it was not "
        '(api calls: api.user.setUserMetadata("plan", "paid"))',
        "line 14: expected a log line containing 'bye'; the handler logged:\n  hi",
        'line 15: expected a call to api.access.deny; the action called: api.user.setUserMetadata("plan", "paid")',
    ]


def test_check__denied_false__reports_the_call() -> None:
    run = auth0_run(("api.access.deny", ("r", "m")), trigger="pre-user-registration")
    assert check(case_with(("denied", False)), run, []) == [
        'line 10: expected access not to be denied, but the action called api.access.deny("r", "m")'
    ]


def test_check__cognito_response__true_is_not_one_and_missing_fields_named() -> None:
    run = cognito_run({"response": {"autoConfirmUser": 1, "autoVerifyEmail": False}})
    case = case_with(("response", {"autoConfirmUser": True, "autoVerifyPhone": True}), kind="cognito")
    failures = check(case, run, [])
    assert failures == ["line 10: response.autoConfirmUser: expected true, got 1"]
    run = cognito_run({"response": {"autoConfirmUser": True}})
    assert check(case, run, []) == [
        'line 10: response.autoVerifyPhone: expected true, but it is not set (got response = {"autoConfirmUser": true})'
    ]


def test_check__empty_response_expected__anything_set_fails() -> None:
    case = case_with(("response", {}), kind="cognito")
    assert check(case, cognito_run({"response": {}}), []) == []
    assert check(case, cognito_run({"response": {"x": 1}}), []) == [
        'line 10: response: expected {} (nothing set), got {"x": 1}'
    ]


def test_check__unexpected_error__headline_location_and_client_message() -> None:
    run = cognito_run(None, status="error", location="index.mjs:3: throw new Error(MESSAGE);")
    run.error = localrun.HandlerError("Error", "too short", "Error: too short\n    at handler (index.mjs:3:11)")
    failures = check(case_with(("response", {"autoConfirmUser": True}), kind="cognito"), run, [])
    assert failures == [
        "unexpected error: Error: too short\n"
        "  at index.mjs:3: throw new Error(MESSAGE);\n"
        "  at handler (index.mjs:3:11)\n"
        "  Cognito would answer the client: PreSignUp failed with error too short."
    ]


def test_check__expected_error_missing__says_what_happened_instead() -> None:
    failures = check(case_with(("error", "too short"), kind="cognito"), cognito_run({"response": {"a": 1}}), [])
    assert failures == [
        "line 10: expected an error containing 'too short', but the handler finished normally (response: {\"a\": 1})"
    ]


def test_check__expected_error_matches_cognitos_client_message_too() -> None:
    run = cognito_run(None, status="error")
    run.error = localrun.HandlerError("Error", "too short")
    assert check(case_with(("error", "PreSignUp failed with error"), kind="cognito"), run, []) == []


def test_check__http__matching_request_counted_and_mismatches_explained() -> None:
    posted = Captured("slack", "POST", "", {}, {"content-type": "application/json"}, '{"text": "New User: a@b"}')
    other = Captured("slack", "POST", "", {}, {}, "not json")
    run = auth0_run()
    ok = case_with(("http", {"capture": "slack", "method": "post", "json": {"text": "New User: a@b"}, "count": 1}))
    assert check(ok, run, [posted, other]) == []
    wrong = case_with(("http", {"capture": "slack", "json": {"text": "New User: x@y"}}))
    assert check(wrong, run, [posted]) == [
        'line 10: expected a request to capture \'slack\' with JSON {"text": "New User: x@y"}; '
        'body.text: expected "New User: x@y", got "New User: a@b"\n'
        "capture 'slack' received:\n"
        '  POST / {"text": "New User: a@b"}'
    ]
    nothing = case_with(("http", {"capture": "users", "method": "POST"}))
    assert check(nothing, run, [posted]) == [
        "line 10: expected a POST request to capture 'users', but nothing was sent to it (api calls: nothing)"
    ]


# -- capture server ---------------------------------------------------------------------------


def test_capture_server__scopes_kept_apart__configured_answer_returned() -> None:
    with CaptureServer() as server:
        first = server.scope()
        second = server.scope({"api": {"status": 503, "body": "later", "content_type": "text/plain"}})
        url = server.url(first, CaptureRef("api", "/v1/users"))
        assert url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            url + "?x=1", data=b'{"a": 1}', method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200 and response.read() == b"ok"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.url(second, CaptureRef("api")), timeout=5)
        assert info.value.code == 503
        (got,) = server.received(first)
        assert (got.capture, got.method, got.path, got.query, got.json) == (
            "api",
            "POST",
            "/v1/users",
            {"x": ["1"]},
            {"a": 1},
        )
        assert [r.method for r in server.received(second)] == ["GET"]


# -- JUnit --------------------------------------------------------------------------------------


def test_write_junit__failures_skips_and_logs(tmp_path: Path) -> None:
    passed = CaseResult(case_with(), "passed", [], auth0_run(logs=[localrun.LogLine("log", "hi")]), 0.01)
    failed = CaseResult(case_with(), "failed", ["line 3: expected x\nmore"], None, 0.02)
    skipped = CaseResult(case_with(), "skipped", ["not yet"], None, 0.0)
    report = StackReport("stacks/s.yaml", "dev", "stacks/s.tests.yaml", [passed, failed, skipped])
    path = tmp_path / "out" / "junit.xml"
    write_junit(str(path), [report], 0.5)
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "stacks/s.yaml (dev)"
    cases = suite.findall("testcase")
    assert cases[0].findtext("system-out") == "hi"
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "line 3: expected x"
    assert cases[2].find("skipped") is not None


def test_summary__counts_passed_failed_skipped_deselected() -> None:
    results = [
        CaseResult(case_with(), "passed"),
        CaseResult(case_with(), "failed"),
        CaseResult(case_with(), "skipped", ["why"]),
    ]
    report = StackReport("s.yaml", "dev", "s.tests.yaml", results, deselected=2)
    assert summary([report], 1.234) == "1 passed, 1 failed, 1 skipped, 2 deselected in 1.23s"
    assert summary([], 0.1, errors=1) == "0 passed, 0 failed, 1 error in 0.10s"


@needs_node
def test_run_stack_tests__for_the_demo__echoes_lines_and_summary() -> None:
    lines: list[str] = []
    repo = Path(__file__).resolve().parents[2]
    assert run_stack_tests(str(repo / "stacks" / "example.yaml"), "sandbox", lines.append) is True
    assert sum(line.startswith("PASSED ") for line in lines) == 6
    assert lines[-1].startswith("6 passed, 0 failed in ")
