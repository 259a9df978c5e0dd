"""Cognito functions run in Node.js or Python, in a subprocess, with Lambda's calling conventions."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.engine.errors import InputError
from provisioner.engine.load import load_stack
from provisioner.local import run as localrun
from provisioner.local.invocation import find_entry, prepare

from .conftest import function_invocation, needs_node


@needs_node
def test_node_async_handler__returns_the_event__response_recorded(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            """
            export const handler = async (event, context) => {
              console.log(context.functionName, context.getRemainingTimeInMillis() > 0, process.env.AWS_REGION);
              event.response.autoConfirmUser = true;
              return event;
            };
            """,
            "PreSignUp_SignUp",
        )
    )
    assert result.status == "ok", result.error
    assert result.result["response"]["autoConfirmUser"] is True
    assert result.logs[0].text == "t true us-east-1"


@needs_node
def test_node_callback_handler__callback_value_is_the_result(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            """
            exports.handler = (event, context, callback) => {
              setTimeout(() => callback(null, { ...event, response: { answerCorrect: true } }), 10);
            };
            """,
            "VerifyAuthChallengeResponse_Authentication",
            filename="index.js",
        )
    )
    assert result.status == "ok", result.error
    assert result.result["response"] == {"answerCorrect": True}


@needs_node
def test_node_callback_error__fails_with_cognitos_client_message(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            "exports.handler = (event, context, callback) => callback(new Error('No such user'));",
            "UserMigration_Authentication",
            filename="index.js",
        )
    )
    assert result.status == "error"
    assert result.client_message == "UserMigration failed with error No such user."


@needs_node
def test_node_handler_returning_nothing__unrecognizable_lambda_output(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            "export const handler = async (event) => { console.log('forgot to return'); };",
            "PostAuthentication_Authentication",
        )
    )
    assert result.status == "error"
    assert result.error is not None and "Unrecognizable lambda output" in result.error.message


@needs_node
def test_node_sync_handler_without_callback__lambda_returns_null(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            "exports.handler = function (event, context, callback) { console.log('no answer'); };",
            "PreAuthentication_Authentication",
            filename="index.js",
        )
    )
    assert result.error is not None and "Unrecognizable lambda output" in result.error.message
    assert [line.text for line in result.logs] == ["no answer"]


@needs_node
def test_node_promise_that_cannot_settle__reported_instead_of_null(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            "export const handler = async () => new Promise(() => {});", "PostAuthentication_Authentication"
        )
    )
    assert result.status == "error"
    assert result.error is not None and "never settled" in result.error.message


@needs_node
def test_custom_sender__asynchronous__may_return_nothing(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            "export const handler = async (event) => { console.log(event.request.type); };",
            "CustomSMSSender_SignUp",
        )
    )
    assert result.status == "ok"
    assert result.logs[0].text == "customSMSSenderRequestV1"


@needs_node
def test_pre_sign_up__verify_email_without_email__refused_like_cognito(runner: localrun.Runner) -> None:
    event = {"userName": "u", "request": {"userAttributes": {}}, "response": {}}
    result = runner.run(
        function_invocation(
            "export const handler = async (event) => { event.response.autoVerifyEmail = true; return event; };",
            "PreSignUp_SignUp",
            event=event,
        )
    )
    assert result.status == "error"
    assert result.error is not None and "autoVerifyEmail is true but the user has no email" in result.error.message


@needs_node
def test_node_unhandled_rejection__fails_the_invocation_like_lambda(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            """
            export const handler = async (event) => {
              Promise.reject(new Error("lost"));
              await new Promise((r) => setTimeout(r, 50));
              return event;
            };
            """,
            "PostConfirmation_ConfirmSignUp",
        )
    )
    assert result.status == "error"
    assert result.error is not None and result.error.name == "Runtime.UnhandledPromiseRejection"


@needs_node
def test_node_environment__function_env_and_secret_test_values_only(
    runner: localrun.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak")
    result = runner.run(
        function_invocation(
            """
            export const handler = async (event) => {
              console.log(process.env.WEBHOOK_URL, String(process.env.AWS_SECRET_ACCESS_KEY), process.env._HANDLER);
              return event;
            };
            """,
            "PostConfirmation_ConfirmSignUp",
            environment={"WEBHOOK_URL": "http://127.0.0.1:9/hook"},
        )
    )
    assert result.logs[0].text == "http://127.0.0.1:9/hook undefined index.handler"


def test_python_handler__prints_become_logs__result_recorded(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            """
            import os


            def lambda_handler(event, context):
                print("Trigger function =", event["triggerSource"])
                print("remaining", context.get_remaining_time_in_millis() > 0, os.environ["AWS_LAMBDA_FUNCTION_NAME"])
                event["response"]["autoConfirmUser"] = True
                return event
            """,
            "PreSignUp_ExternalProvider",
            language="py",
        )
    )
    assert result.status == "ok", result.error
    assert [line.text for line in result.logs] == ["Trigger function = PreSignUp_ExternalProvider", "remaining True t"]
    assert result.result["response"]["autoConfirmUser"] is True


def test_python_exception__message_and_source_line(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            """
            def lambda_handler(event, context):
                if len(event["userName"]) < 5:
                    raise Exception("Cannot register users with username less than the minimum length of 5")
                return event
            """,
            "PreSignUp_SignUp",
            language="py",
            event={"userName": "abc", "request": {}, "response": {}},
        )
    )
    assert result.status == "error"
    assert result.error is not None and result.error.name == "Exception"
    assert result.location == (
        'lambda_function.py:4: raise Exception("Cannot register users with username less than the minimum length of 5")'
    )
    assert result.client_message == (
        "PreSignUp failed with error Cannot register users with username less than the minimum length of 5."
    )


def test_python_sys_exit__reported_not_fatal(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            "import sys\n\ndef lambda_handler(event, context):\n    print('leaving')\n    sys.exit(2)\n",
            "PostAuthentication_Authentication",
            language="py",
        )
    )
    assert result.status == "error"
    assert result.error is not None and result.error.message == "the handler called sys.exit(2)"
    assert [line.text for line in result.logs] == ["leaving"]


def test_python_os_exit__crash_reported_with_logs(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            """
            import os


            def lambda_handler(event, context):
                print("about to crash", flush=True)
                os._exit(5)
            """,
            "PostAuthentication_Authentication",
            language="py",
        )
    )
    assert result.status == "crashed"
    assert result.error is not None and "exit code 5" in result.error.message
    assert [line.text for line in result.logs] == ["about to crash"]


def test_python_endless_loop__times_out(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            "def lambda_handler(event, context):\n    while True:\n        pass\n",
            "PreAuthentication_Authentication",
            language="py",
            timeout_ms=300,
        )
    )
    assert result.status == "timeout"
    assert result.error is not None and "timed out after 300 ms" in result.error.message


def test_python_unserialisable_answer__marshal_error(runner: localrun.Runner) -> None:
    result = runner.run(
        function_invocation(
            "def lambda_handler(event, context):\n    return {'response': {1, 2}}\n",
            "PostAuthentication_Authentication",
            language="py",
        )
    )
    assert result.error is not None and result.error.name == "Runtime.MarshalError"


def test_prepare__cognito_limits__five_seconds_sync_function_timeout_for_senders(small_stack: Path) -> None:
    stack = load_stack(str(small_stack), "dev")
    signup = prepare(stack, find_entry(stack, "signup"), secrets={"TOKEN": "t"})
    sender = prepare(stack, find_entry(stack, "sender"))
    assert signup.timeout_ms == 5_000  # Cognito waits 5 s for PreSignUp, whatever the function's timeout
    assert sender.timeout_ms == 10_000  # sender triggers are asynchronous: the function's own 10 s
    assert signup.event["userPoolId"] == "eu-west-1_Main1"
    assert signup.event["region"] == "eu-west-1"
    assert signup.environment["TOKEN"] == "t"
    assert sender.trigger_source == "CustomEmailSender_SignUp"
    assert sender.event["request"]["type"] == "customEmailSenderRequestV1"
    assert sender.event["userPoolId"] == "eu-west-1_Other1"


def test_prepare__trigger_source_of_another_trigger__refused(small_stack: Path) -> None:
    stack = load_stack(str(small_stack), "dev")
    with pytest.raises(InputError) as info:
        prepare(stack, find_entry(stack, "signup"), trigger_source="PostConfirmation_ConfirmSignUp")
    assert "goes to the PostConfirmation trigger; function signup serves PreSignUp" in info.value.message


def test_prepare__undeclared_secret__refused_with_location(small_stack: Path) -> None:
    stack = load_stack(str(small_stack), "dev")
    with pytest.raises(InputError) as info:
        prepare(stack, find_entry(stack, "gate"), secrets={"NOPE": "x"})
    assert "small.yaml:" in info.value.message and "undeclared secrets: NOPE" in info.value.message


def test_find_entry__misspelt__suggests(small_stack: Path) -> None:
    stack = load_stack(str(small_stack), "dev")
    with pytest.raises(InputError) as info:
        find_entry(stack, "sigup")
    assert "did you mean 'signup'" in info.value.message
