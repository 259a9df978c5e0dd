"""Auth0 actions run in Node.js with an `event` and an `api` like the trigger's.

Every api method the issue lists is called by a real action and must be
recorded with its arguments and behave as Auth0 documents it (chainable where
the docs say it returns the api object). The run also records console output,
errors and time taken, and enforces the time limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.engine import events
from provisioner.local import run as localrun
from provisioner.local.deps import DependencyCache
from provisioner.local.invocation import find_entry, prepare

from .conftest import action_invocation, needs_node

pytestmark = needs_node


def test_pre_user_registration__every_api_method__recorded_and_chainable(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecutePreUserRegistration = async (event, api) => {
              const chained = api.access.deny("bad_actor", "You cannot sign up")
                .user.setUserMetadata("plan", "free");
              console.log("chainable", chained === api);
              api.user.setAppMetadata("tier", { level: 2 });
              api.validation.error("invalid_payload", "Missing name");
              console.log("cache set", JSON.stringify(api.cache.set("k", "v")));
              console.log("cache get", api.cache.get("k").value);
              console.log("cache delete", JSON.stringify(api.cache.delete("k")), api.cache.get("k"));
            };
            """,
            "pre-user-registration",
        )
    )
    assert result.status == "ok", result.error
    assert [c.method for c in result.api_calls] == [
        "api.access.deny",
        "api.user.setUserMetadata",
        "api.user.setAppMetadata",
        "api.validation.error",
        "api.cache.set",
        "api.cache.get",
        "api.cache.delete",
        "api.cache.get",
    ]
    assert result.denial == {"reason": "bad_actor", "message": "You cannot sign up"}
    assert result.metadata("user") == {"plan": "free"}
    assert result.metadata("app") == {"tier": {"level": 2}}
    assert result.validation_error == {"code": "invalid_payload", "message": "Missing name"}
    assert result.outcome == "denied"
    texts = [line.text for line in result.logs]
    assert texts == [
        "chainable true",
        'cache set {"type":"success"}',
        "cache get v",
        'cache delete {"type":"success"} undefined',
    ]


def test_post_user_registration__event_only__api_has_no_access_methods(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecutePostUserRegistration = async (event, api) => {
              console.log(event.user.user_id, event.user.email, Object.keys(api).join(","));
              api.access.deny("no");
            };
            """,
            "post-user-registration",
        )
    )
    assert result.logs[0].text == "auth0|64f1c0ffee0123456789abcd jane.doe@example.com cache"
    assert result.status == "error"
    assert result.error is not None and result.error.name == "TypeError"
    assert "Cannot read properties of undefined (reading 'deny')" in result.error.message
    assert result.location == 'action.js:4: api.access.deny("no");'


def test_post_login__every_api_method__recorded(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecutePostLogin = async (event, api) => {
              api.idToken.setCustomClaim("https://example.com/roles", ["admin"]);
              api.accessToken.setCustomClaim("https://example.com/tier", "gold")
                .accessToken.addScope("read:all").accessToken.removeScope("write:all");
              api.user.setAppMetadata("logins", 6).user.setUserMetadata("theme", "dark");
              api.multifactor.enable("any", { allowRememberBrowser: false });
              api.redirect.sendUserTo("https://consent.example.com/start", { query: { step: "1" } });
              const token = api.redirect.encodeToken({ secret: "s3cret", payload: { a: 1 }, expiresInSeconds: 60 });
              console.log("token parts", token.split(".").length);
              api.authentication.challengeWith({ type: "otp" }, { additionalFactors: [{ type: "email" }] });
              api.authentication.recordMethod("https://example.com/mfa");
              api.authentication.setPrimaryUser("auth0|primary");
              try { api.authentication.setPrimaryUser("auth0|again"); } catch (e) { console.log("second:", e.message); }
              console.log("rule", api.rules.wasExecuted("rul_1"));
              api.samlResponse.setAttribute("role", "admin");
              api.access.deny("Only on weekdays");
            };
            """,
            "post-login",
        )
    )
    assert result.status == "ok", result.error
    assert result.claims("id") == {"https://example.com/roles": ["admin"]}
    assert result.claims("access") == {"https://example.com/tier": "gold"}
    assert result.metadata("app") == {"logins": 6}
    assert result.metadata("user") == {"theme": "dark"}
    assert result.mfa == {"provider": "any", "options": {"allowRememberBrowser": False}}
    assert result.redirect == {"url": "https://consent.example.com/start", "query": {"step": "1"}}
    assert result.denial == {"reason": "Only on weekdays"}
    methods = {c.method for c in result.api_calls}
    assert {
        "api.accessToken.addScope",
        "api.accessToken.removeScope",
        "api.redirect.encodeToken",
        "api.authentication.challengeWith",
        "api.authentication.recordMethod",
        "api.authentication.setPrimaryUser",
        "api.rules.wasExecuted",
        "api.samlResponse.setAttribute",
    } <= methods
    texts = [line.text for line in result.logs]
    assert "token parts 3" in texts
    assert "second: api.authentication.setPrimaryUser can only be called once per transaction" in texts
    assert "rule false" in texts


def test_post_login__redirect_to_a_relative_url__fails_like_auth0(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            "exports.onExecutePostLogin = async (event, api) => { api.redirect.sendUserTo('/consent'); };",
            "post-login",
        )
    )
    assert result.status == "error"
    assert result.error is not None and "Invalid URL" in result.error.message


def test_credentials_exchange__deny_and_claims__recorded_with_code(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecuteCredentialsExchange = async (event, api) => {
              api.accessToken.setCustomClaim("https://example.com/client", event.client.client_id);
              if (!event.accessToken.scope.includes("admin")) {
                api.access.deny("invalid_scope", "admin scope required");
              }
            };
            """,
            "credentials-exchange",
        )
    )
    assert result.denial == {"code": "invalid_scope", "reason": "admin scope required"}
    assert result.claims("access") == {"https://example.com/client": "AbCdEfGhIjKlMnOpQrStUvWxYz012345"}
    assert result.warnings == []


def test_credentials_exchange__undocumented_deny_code__warned(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            "exports.onExecuteCredentialsExchange = async (event, api) => { api.access.deny('nope', 'x'); };",
            "credentials-exchange",
        )
    )
    assert any('code "nope" is not one of' in w for w in result.warnings)


def test_secrets__test_values_only__frozen_on_event(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecutePostUserRegistration = async (event) => {
              event.secrets.SLACK_WEBHOOK_URL = "overwritten";
              console.log(event.secrets.SLACK_WEBHOOK_URL, String(event.secrets.OTHER), Object.isFrozen(event.secrets));
            };
            """,
            "post-user-registration",
            secrets={"SLACK_WEBHOOK_URL": "http://127.0.0.1:9/test-value"},
        )
    )
    assert result.logs[0].text == "http://127.0.0.1:9/test-value undefined true"


def test_console__every_level_and_stdout__recorded_in_order(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecutePreUserRegistration = async (event) => {
              console.log("one", { a: 1 });
              console.info("two");
              console.warn("three");
              console.error("four", new Error("boom").message);
              process.stdout.write("five\\nsix\\n");
            };
            """,
            "pre-user-registration",
        )
    )
    assert [(line.level, line.text) for line in result.logs] == [
        ("log", "one { a: 1 }"),
        ("info", "two"),
        ("warn", "three"),
        ("error", "four boom"),
        ("stdout", "five"),
        ("stdout", "six"),
    ]


def test_duration__recorded_for_the_handler_only(runner: localrun.Runner) -> None:
    """The harness times the handler on ``performance.now()``; the action replaces that clock with
    one it drives itself: 5,000 ms pass while the module loads, 120 ms while the handler runs."""
    result = runner.run(
        action_invocation(
            """
            const { performance } = require("node:perf_hooks");
            let now = 0;
            performance.now = () => now;
            now += 5_000; // loading the module
            exports.onExecutePreUserRegistration = async () => {
              await new Promise((r) => setTimeout(r, 10));
              now += 120;
            };
            """,
            "pre-user-registration",
        )
    )
    assert result.status == "ok", result.error
    assert result.duration_ms == 120


def test_time_limit__pending_promise__times_out_at_the_limit(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecutePreUserRegistration = async (event, api) => {
              console.log("started");
              api.user.setUserMetadata("before", true);
              await new Promise((resolve) => setTimeout(resolve, 60_000));
            };
            """,
            "pre-user-registration",
            timeout_ms=300,
        )
    )
    assert result.status == "timeout"
    assert result.error is not None and "timed out after 300 ms" in result.error.message
    assert [line.text for line in result.logs] == ["started"]
    assert result.metadata("user") == {"before": True}


def test_time_limit__busy_loop__killed_by_hookctl(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            "exports.onExecutePreUserRegistration = async () => { console.log('spinning'); for (;;) {} };",
            "pre-user-registration",
            timeout_ms=200,
        )
    )
    assert result.status == "timeout"
    assert "hookctl killed it" in " ".join(result.warnings)
    assert [line.text for line in result.logs] == ["spinning"]


def test_time_limit__default__is_auth0s_20_seconds(small_stack: Path) -> None:
    from provisioner.engine.load import load_stack

    stack = load_stack(str(small_stack), "dev")
    invocation = prepare(stack, find_entry(stack, "gate"))
    assert invocation.timeout_ms == events.AUTH0_TIME_LIMIT_MS == 20_000


def test_promise_that_never_settles__reported_not_hung(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            "exports.onExecutePreUserRegistration = () => new Promise(() => {});",
            "pre-user-registration",
        )
    )
    assert result.status == "error"
    assert result.error is not None and "never settled" in result.error.message


def test_process_exit__reported_with_the_logs_before_it(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            "exports.onExecutePreUserRegistration = async () => { console.log('bye'); process.exit(3); };",
            "pre-user-registration",
        )
    )
    assert result.status == "crashed"
    assert result.error is not None and result.error.message == "the handler called process.exit(3) before returning"
    assert [line.text for line in result.logs] == ["bye"]


def test_syntax_error__load_error_names_file_and_line(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecutePreUserRegistration = async (event, api) => {
              const x = ;
            };
            """,
            "pre-user-registration",
        )
    )
    assert result.status == "error"
    assert result.error is not None and result.error.phase == "load"
    assert result.error.name == "SyntaxError"
    assert result.location == "action.js:3: const x = ;"


def test_missing_export__names_what_the_module_exports(runner: localrun.Runner) -> None:
    result = runner.run(action_invocation("exports.onExecutePostLogin = async () => {};", "pre-user-registration"))
    assert result.error is not None
    assert "onExecutePreUserRegistration is not a function" in result.error.message
    assert "onExecutePostLogin" in result.error.message


def test_unhandled_rejection__warned_execution_still_finishes(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            exports.onExecutePostUserRegistration = async () => {
              Promise.reject(new Error("un-awaited call failed"));
              await new Promise((r) => setTimeout(r, 20));
            };
            """,
            "post-user-registration",
        )
    )
    assert result.status == "ok"
    assert any("never handled" in w for w in result.warnings)
    assert "un-awaited call failed" in result.log_text()


def test_dependencies__shim_used_and_reported_when_not_installed(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            """
            const { IncomingWebhook } = require("@slack/webhook");
            exports.onExecutePostUserRegistration = async () => { console.log(typeof IncomingWebhook); };
            """,
            "post-user-registration",
            dependencies=(("@slack/webhook", "8.0.2"),),
        )
    )
    assert result.logs[0].text == "function"
    assert result.shims == ["@slack/webhook"]


def test_dependencies__undeclared_package__not_resolvable_as_on_auth0(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            "const axios = require('axios');\nexports.onExecutePostUserRegistration = async () => {};",
            "post-user-registration",
        )
    )
    assert result.error is not None and "Cannot find module 'axios'" in result.error.message


def test_node_modules_override__wins_over_the_shim(tmp_path: Path) -> None:
    stub = tmp_path / "stubs" / "@slack" / "webhook"
    stub.mkdir(parents=True)
    (stub / "package.json").write_text(json.dumps({"name": "@slack/webhook", "main": "index.js"}))
    (stub / "index.js").write_text("exports.IncomingWebhook = class { send() { return 'stubbed'; } };\n")
    runner = localrun.Runner(node_modules=str(tmp_path / "stubs"), cache=DependencyCache(str(tmp_path / "c")))
    result = runner.run(
        action_invocation(
            """
            const { IncomingWebhook } = require("@slack/webhook");
            exports.onExecutePostUserRegistration = async () => { console.log(new IncomingWebhook("x").send()); };
            """,
            "post-user-registration",
            dependencies=(("@slack/webhook", "8.0.2"),),
        )
    )
    assert result.logs[0].text == "stubbed"
    assert result.shims == []


def test_environment__hookctls_own_variables_never_reach_the_action(
    runner: localrun.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", "must-not-leak")
    result = runner.run(
        action_invocation(
            "exports.onExecutePreUserRegistration = async () => {\n"
            "  console.log(String(process.env.AUTH0_CLIENT_SECRET));\n"
            "};",
            "pre-user-registration",
        )
    )
    assert result.logs[0].text == "undefined"


def test_cache_seed__readable_through_api_cache(runner: localrun.Runner) -> None:
    result = runner.run(
        action_invocation(
            "exports.onExecutePreUserRegistration = async (e, api) => { console.log(api.cache.get('token').value); };",
            "pre-user-registration",
            cache_seed={"token": "cached-value"},
        )
    )
    assert result.logs[0].text == "cached-value"
