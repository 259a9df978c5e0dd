"""Real AWS behaviours moto skips, modelled in a layer in front of it (sandbox, tests and bench).
Sandbox: AWS's delays and refusals in front of moto.

moto answers at once and accepts requests AWS refuses. ``BehaviourLayer`` wraps
moto's WSGI application in the same process and, for the calls hookctl makes,
answers the way AWS does. Each behaviour is on by default and can be switched
off (``AwsBehaviours``, ``HOOKCTL_SANDBOX_AWS_OFF``); its durations are settings
(realistic by default; ``HOOKCTL_SANDBOX_TIME_SCALE`` shortens them for the test
suite, the refusals, states and their order staying the same).

``iam_propagation``
    A role created less than ``role_propagation_seconds`` ago cannot be used:
    CreateFunction and UpdateFunctionConfiguration naming it answer 400
    ``InvalidParameterValueException`` "The role defined for the function cannot
    be assumed by Lambda." (the message terraform-provider-aws retries on in
    ``internal/service/lambda/function.go``, ``retryFunctionOp``), and an
    UpdateUserPool whose ``SmsConfiguration`` names it answers
    ``InvalidSmsRoleTrustRelationshipException`` "Role does not have a trust
    relationship allowing Cognito to assume the role" (retried by
    ``userPoolErrorRetryable`` in ``internal/service/cognitoidp/user_pool.go``).
``lambda_states``
    After CreateFunction the function is ``State: Pending`` for
    ``function_create_seconds``; after UpdateFunctionCode/Configuration its
    ``LastUpdateStatus`` is ``InProgress`` for ``function_update_seconds``.
    Meanwhile another update, or AddPermission, answers 409
    ``ResourceConflictException`` ("The operation cannot be performed at this
    time. An update is in progress for resource: …"). Source: Lambda developer
    guide, "Lambda function states"; terraform-provider-aws retries
    ResourceConflictException on create/update (``retryFunctionOp``) and on
    AddPermission (``internal/service/lambda/permission.go``).
``lambda_limits``
    Lambda quotas (developer guide, "Lambda quotas"): environment variables
    4 KB in total ("Lambda was unable to configure your environment variables
    because the environment variables you have provided exceeded the 4KB
    limit. String measured: …"), a zip of at most 50 MB in the request
    (413 ``RequestEntityTooLargeException``) and 250 MB unzipped
    (``InvalidParameterValueException`` "Unzipped size must be smaller than
    262144000 bytes").
``pool_revalidation``
    UpdateUserPool re-validates what it is sent, changed or not: MfaConfiguration
    ON/OPTIONAL without SmsConfiguration is refused with "SMS configuration and
    Auto verification for phone_number are required when MFA is
    required/optional" (aws-cdk#11478, aws/aws-cli#3876,
    cloudformation-coverage-roadmap#769: a pool whose MFA is TOTP only, set
    through SetUserPoolMfaConfig); an SmsConfiguration role must trust
    cognito-idp.amazonaws.com. While the SMS role is unusable DescribeUserPool
    reports ``SmsConfigurationFailure`` (a field the service computes).
    Omitting MfaConfiguration leaves MFA as SetUserPoolMfaConfig set it, unless
    ``update_resets_mfa`` (AWS documents neither way).
``pool_tiers``
    DescribeUserPool carries ``UserPoolTier`` (moto omits it; CreateUserPool
    defaults to ESSENTIALS as AWS does since November 2024). PreTokenGeneration
    event versions V2_0 and V3_0 need ESSENTIALS or PLUS: on a LITE pool
    UpdateUserPool answers ``FeatureUnavailableInTierException`` (Cognito
    developer guide, "Pre token generation Lambda trigger" / "Feature plans").
"""

from __future__ import annotations

import base64
import collections
import io
import json
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import unquote

ENV_LIMIT = 4 * 1024  # bytes of Environment.Variables, measured as JSON
ZIP_LIMIT = 50 * 1024 * 1024  # direct upload
UNZIPPED_LIMIT = 250 * 1024 * 1024
# LambdaConfigType.KMSKeyID's pattern (ArnType) in botocore's cognito-idp service model.
_ARN_PART = r"[\w+=/,.@-]+"
_KMS_KEY_ARN = re.compile(
    rf"arn:{_ARN_PART}:{_ARN_PART}:([\w+=/,.@-]*)?:[0-9]+:{_ARN_PART}(:{_ARN_PART})?(:{_ARN_PART})?"
)
ADVANCED_TOKEN_VERSIONS = frozenset({"V2_0", "V3_0"})
TIERS_WITH_ADVANCED_TOKENS = frozenset({"ESSENTIALS", "PLUS"})
BEHAVIOURS = ("iam_propagation", "lambda_states", "lambda_limits", "pool_revalidation", "pool_tiers")
SETTLE_PATH = "/hookctl-model/settle"


@dataclass(frozen=True)
class AwsBehaviours:
    """Which behaviours are on, and how long things take (seconds, realistic by default)."""

    iam_propagation: bool = True
    lambda_states: bool = True
    lambda_limits: bool = True
    pool_revalidation: bool = True
    pool_tiers: bool = True
    # Not documented either way: does an UpdateUserPool without MfaConfiguration turn off MFA that
    # SetUserPoolMfaConfig set? Off (the default) it keeps it; on, it resets it to OFF, so a test
    # can prove hookctl copes with both.
    update_resets_mfa: bool = False
    # IAM: "a few seconds" in practice; terraform-provider-aws allows up to 5 minutes.
    role_propagation_seconds: float = 8.0
    function_create_seconds: float = 2.0
    function_update_seconds: float = 2.0

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> AwsBehaviours:
        """``HOOKCTL_SANDBOX_AWS_OFF=lambda_states,…`` (or ``all``); ``HOOKCTL_SANDBOX_TIME_SCALE=0.05``."""
        env = os.environ if environ is None else environ
        off = {name.strip() for name in env.get("HOOKCTL_SANDBOX_AWS_OFF", "").split(",") if name.strip()}
        unknown = off - set(BEHAVIOURS) - {"all"}
        if unknown:
            raise ValueError(
                f"HOOKCTL_SANDBOX_AWS_OFF: unknown behaviour {', '.join(sorted(unknown))} "
                f"(known: {', '.join(BEHAVIOURS)}, all)"
            )
        base = cls().without(*(BEHAVIOURS if "all" in off else off))
        scale = float(env.get("HOOKCTL_SANDBOX_TIME_SCALE") or 1.0)
        return base.scaled(scale)

    def without(self, *names: str) -> AwsBehaviours:
        return replace(self, **{name: False for name in names})

    def scaled(self, factor: float) -> AwsBehaviours:
        durations = {f.name: getattr(self, f.name) * factor for f in fields(self) if f.name.endswith("_seconds")}
        return replace(self, **durations)


@dataclass
class _Function:
    arn: str
    pending_until: float = 0.0
    updating_until: float = 0.0


@dataclass
class _Model:
    roles: dict[str, float] = field(default_factory=dict)  # role ARN -> when it was created
    functions: dict[str, _Function] = field(default_factory=dict)  # function name -> its states
    tiers: dict[str, str] = field(default_factory=dict)  # pool id -> UserPoolTier


Answer = tuple[str, list[tuple[str, str]], bytes]


class BehaviourLayer:
    """WSGI middleware: ``BehaviourLayer(moto_app, AwsBehaviours())``."""

    def __init__(self, app: Any, behaviours: AwsBehaviours, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.behaviours = behaviours
        self.clock = clock
        self._model = _Model()
        self._lock = threading.RLock()
        # (operation, error code) -> how many requests the layer refused (to show what it reproduced).
        self.refused: collections.Counter[tuple[str, str]] = collections.Counter()
        # (operation, Lambda function name) -> refusals of requests about that function.
        self.refused_functions: collections.Counter[tuple[str, str]] = collections.Counter()

    # -- control -------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self._model = _Model()
            self.refused.clear()
            self.refused_functions.clear()

    def settle(self) -> None:
        """Every role propagated and every function ready now (for test set-up done by hand)."""
        with self._lock:
            self._model.roles.clear()
            for fn in self._model.functions.values():
                fn.pending_until = fn.updating_until = 0.0

    # -- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == SETTLE_PATH:
            self.settle()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path == "/moto-api/reset":
            self.reset()
        service, operation = _classify(environ, body)
        with self._lock:
            refusal = self._before(service, operation, path, body)
        if refusal is not None:
            status, headers, answer = refusal
            self.refused[(operation, dict(headers)["x-amzn-ErrorType"])] += 1
            if service == "lambda":
                name = _function_name(path) or str(_json(body).get("FunctionName") or "")
                self.refused_functions[(operation, name)] += 1
            start_response(status, headers)
            return [answer]
        status, headers, answer = self._forward(environ, start_response)
        if status.startswith("2"):
            with self._lock:
                answer = self._after(service, operation, path, body, answer)
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(answer))))
        start_response(status, headers)
        return [answer]

    def _forward(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Answer:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, list(headers)
            return lambda _data: None

        chunks = self.app(environ, capture)
        try:
            answer = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return captured["status"], captured["headers"], answer

    # -- requests ------------------------------------------------------------------------
    def _before(self, service: str, operation: str, path: str, body: bytes) -> Answer | None:
        b = self.behaviours
        now = self.clock()
        if service == "lambda":
            request = _json(body)
            name = _function_name(path)
            if operation in ("CreateFunction", "UpdateFunctionConfiguration"):
                role = request.get("Role")
                if b.iam_propagation and role and self._unpropagated(str(role), now):
                    return _lambda_error(
                        400,
                        "InvalidParameterValueException",
                        "The role defined for the function cannot be assumed by Lambda.",
                    )
                variables = (request.get("Environment") or {}).get("Variables")
                if b.lambda_limits and variables and _env_size(variables) > ENV_LIMIT:
                    return _lambda_error(
                        400,
                        "InvalidParameterValueException",
                        "Lambda was unable to configure your environment variables because the environment variables "
                        "you have provided exceeded the 4KB limit. String measured: "
                        + json.dumps(variables, separators=(",", ":")),
                    )
            if operation in ("CreateFunction", "UpdateFunctionCode") and b.lambda_limits:
                code = (
                    request.get("Code", {}).get("ZipFile") if operation == "CreateFunction" else request.get("ZipFile")
                )
                refusal = _zip_refusal(operation, code)
                if refusal is not None:
                    return refusal
            if operation in ("UpdateFunctionConfiguration", "UpdateFunctionCode", "AddPermission") and b.lambda_states:
                fn = self._model.functions.get(name or "")
                if fn is not None and now < fn.pending_until:
                    return _lambda_error(
                        409,
                        "ResourceConflictException",
                        "The operation cannot be performed at this time. The function is currently in the following "
                        "state: Pending",
                    )
                if fn is not None and now < fn.updating_until:
                    return _lambda_error(
                        409,
                        "ResourceConflictException",
                        "The operation cannot be performed at this time. "
                        f"An update is in progress for resource: {fn.arn}",
                    )
        if service == "cognito-idp" and operation == "UpdateUserPool":
            return self._pool_refusal(_json(body), now)
        return None

    def _pool_refusal(self, request: dict[str, Any], now: float) -> Answer | None:
        b = self.behaviours
        if b.pool_revalidation:
            sms = request.get("SmsConfiguration")
            if request.get("MfaConfiguration") in ("ON", "OPTIONAL") and not sms:
                return _json_error(
                    "InvalidParameterException",
                    "SMS configuration and Auto verification for phone_number are required when MFA is "
                    "required/optional",
                )
            if sms and self._sms_role_failure(str(sms.get("SnsCallerArn") or ""), now):
                return _json_error(
                    "InvalidSmsRoleTrustRelationshipException",
                    "Role does not have a trust relationship allowing Cognito to assume the role",
                )
            key = (request.get("LambdaConfig") or {}).get("KMSKeyID")
            if key is not None and not _KMS_KEY_ARN.fullmatch(str(key)):
                # The request shape's pattern in botocore's model, enforced server-side as AWS does.
                return _json_error(
                    "InvalidParameterException",
                    f"1 validation error detected: Value '{key}' at 'lambdaConfig.kMSKeyID' failed to satisfy "
                    f"constraint: Member must satisfy regular expression pattern: {_KMS_KEY_ARN.pattern}",
                )
        if b.pool_tiers:
            tier = request.get("UserPoolTier") or self._model.tiers.get(str(request.get("UserPoolId")), "ESSENTIALS")
            version = ((request.get("LambdaConfig") or {}).get("PreTokenGenerationConfig") or {}).get("LambdaVersion")
            if version in ADVANCED_TOKEN_VERSIONS and tier not in TIERS_WITH_ADVANCED_TOKENS:
                return _json_error(
                    "FeatureUnavailableInTierException",
                    f"PreTokenGeneration LambdaVersion {version} is not available in the {tier} feature plan; "
                    "upgrade the user pool to ESSENTIALS or PLUS",
                )
        return None

    def _unpropagated(self, role_arn: str, now: float) -> bool:
        created = self._model.roles.get(role_arn)
        return created is not None and now - created < self.behaviours.role_propagation_seconds

    def _sms_role_failure(self, role_arn: str, now: float) -> bool:
        """Can Cognito assume this SMS role now? Reads moto's IAM backend (same process)."""
        if not role_arn:
            return True
        if self.behaviours.iam_propagation and self._unpropagated(role_arn, now):
            return True
        trust = _role_trust(role_arn)
        return trust is None or "cognito-idp.amazonaws.com" not in trust

    # -- answers -------------------------------------------------------------------------
    def _after(self, service: str, operation: str, path: str, body: bytes, answer: bytes) -> bytes:
        b = self.behaviours
        now = self.clock()
        if service == "iam" and operation == "CreateRole":
            found = re.search(rb"<Arn>([^<]+)</Arn>", answer)
            if found:
                self._model.roles[found.group(1).decode()] = now
            return answer
        if service == "lambda":
            return self._after_lambda(operation, path, answer, now)
        if service == "cognito-idp":
            if not (b.pool_tiers or b.pool_revalidation):
                return answer
            request = _json(body)
            if operation == "CreateUserPool":
                data = _json(answer)
                pool = data.get("UserPool") or {}
                self._model.tiers[str(pool.get("Id"))] = str(request.get("UserPoolTier") or "ESSENTIALS")
                self._decorate_pool(pool, now)
                return json.dumps(data).encode()
            if operation == "UpdateUserPool" and request.get("UserPoolTier"):
                self._model.tiers[str(request.get("UserPoolId"))] = str(request["UserPoolTier"])
            if operation == "UpdateUserPool" and b.update_resets_mfa and "MfaConfiguration" not in request:
                _reset_mfa(str(request.get("UserPoolId")))
            if operation == "DescribeUserPool":
                data = _json(answer)
                self._decorate_pool(data.get("UserPool") or {}, now)
                return json.dumps(data).encode()
        return answer

    def _decorate_pool(self, pool: dict[str, Any], now: float) -> dict[str, Any]:
        if self.behaviours.pool_tiers:
            pool["UserPoolTier"] = self._model.tiers.get(str(pool.get("Id")), "ESSENTIALS")
        sms = pool.get("SmsConfiguration")
        if self.behaviours.pool_revalidation and sms:
            if self._sms_role_failure(str(sms.get("SnsCallerArn") or ""), now):
                pool["SmsConfigurationFailure"] = "InvalidSmsRoleTrustRelationshipException"
            else:
                pool.pop("SmsConfigurationFailure", None)
        return pool

    def _after_lambda(self, operation: str, path: str, answer: bytes, now: float) -> bytes:
        b = self.behaviours
        name = _function_name(path)
        if operation == "CreateFunction":
            config = _json(answer)
            fn = _Function(str(config.get("FunctionArn")), pending_until=now + b.function_create_seconds)
            self._model.functions[str(config.get("FunctionName"))] = fn
            return json.dumps(self._decorate(config, now)).encode() if b.lambda_states else answer
        if operation == "DeleteFunction":
            self._model.functions.pop(name or "", None)
            return answer
        if not b.lambda_states:
            return answer
        if operation in ("UpdateFunctionCode", "UpdateFunctionConfiguration") and name:
            config = _json(answer)
            fn = self._model.functions.setdefault(name, _Function(str(config.get("FunctionArn"))))
            fn.updating_until = now + b.function_update_seconds
            return json.dumps(self._decorate(config, now)).encode()
        if operation == "GetFunctionConfiguration":
            return json.dumps(self._decorate(_json(answer), now)).encode()
        if operation == "GetFunction":
            data = _json(answer)
            if isinstance(data.get("Configuration"), dict):
                self._decorate(data["Configuration"], now)
            return json.dumps(data).encode()
        if operation == "ListFunctions":
            data = _json(answer)
            for config in data.get("Functions") or []:
                self._decorate(config, now)
            return json.dumps(data).encode()
        return answer

    def _decorate(self, config: dict[str, Any], now: float) -> dict[str, Any]:
        """A function's configuration as Lambda reports it right now (State, LastUpdateStatus)."""
        fn = self._model.functions.get(str(config.get("FunctionName")))
        if fn is None:
            return config
        if now < fn.pending_until:
            config.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
            config.update(LastUpdateStatus="InProgress")
        elif now < fn.updating_until:
            config.update(State="Active", LastUpdateStatus="InProgress")
            config.update(LastUpdateStatusReason="The function is being updated.")
            config.update(LastUpdateStatusReasonCode="Updating")
        else:
            config.update(State="Active", LastUpdateStatus="Successful")
            for key in ("StateReason", "StateReasonCode", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
                config.pop(key, None)
        return config


# -- request classification --------------------------------------------------------------

_LAMBDA_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", r"/2015-03-31/functions/?", "CreateFunction"),
    ("GET", r"/2015-03-31/functions/?", "ListFunctions"),
    ("GET", r"/2015-03-31/functions/[^/]+", "GetFunction"),
    ("DELETE", r"/2015-03-31/functions/[^/]+", "DeleteFunction"),
    ("PUT", r"/2015-03-31/functions/[^/]+/code", "UpdateFunctionCode"),
    ("PUT", r"/2015-03-31/functions/[^/]+/configuration", "UpdateFunctionConfiguration"),
    ("GET", r"/2015-03-31/functions/[^/]+/configuration", "GetFunctionConfiguration"),
    ("POST", r"/2015-03-31/functions/[^/]+/policy", "AddPermission"),
)


def _classify(environ: dict[str, Any], body: bytes) -> tuple[str, str]:
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", auth)
    service = scope.group(1) if scope else ""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, str(target).rsplit(".", 1)[-1]
    method, path = environ.get("REQUEST_METHOD", ""), unquote(environ.get("PATH_INFO", ""))
    if service == "lambda":
        for verb, pattern, name in _LAMBDA_ROUTES:
            if method == verb and re.fullmatch(pattern, path):
                return service, name
        return service, ""
    if service in ("iam", "sts"):
        found = re.search(rb"(?:^|&)Action=([A-Za-z]+)", body)
        return service, found.group(1).decode() if found else ""
    return service, ""


def _function_name(path: str) -> str | None:
    found = re.match(r"/2015-03-31/functions/([^/]+)", unquote(path))
    if not found:
        return None
    name = found.group(1)
    return name.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in name else name


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _env_size(variables: dict[str, Any]) -> int:
    return len(json.dumps(variables, separators=(",", ":")).encode())


def _zip_refusal(operation: str, encoded: Any) -> Answer | None:
    if not isinstance(encoded, str):
        return None
    data = base64.b64decode(encoded)
    if len(data) > ZIP_LIMIT:
        return _lambda_error(
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {ZIP_LIMIT * 4 // 3} bytes for the {operation} operation",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        return None
    if unzipped > UNZIPPED_LIMIT:
        return _lambda_error(
            400, "InvalidParameterValueException", f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes"
        )
    return None


def _role_trust(role_arn: str) -> set[str] | None:
    """Service principals the role's trust policy allows, from moto's IAM backend; None if no such role."""
    try:
        from moto.iam.models import iam_backends

        account = role_arn.split(":")[4]
        name = role_arn.rsplit("/", 1)[-1]
        backend = iam_backends[account]["global"]
        role = backend.get_role(name)
    except Exception:  # no such role (moto raises its own error type), or a malformed ARN
        return None
    document = role.assume_role_policy_document
    policy = json.loads(unquote(document)) if isinstance(document, str) else document
    services: set[str] = set()
    statements = policy.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        principal = (statement.get("Principal") or {}).get("Service") or []
        services.update([principal] if isinstance(principal, str) else principal)
    return services


def _reset_mfa(user_pool_id: str) -> None:
    """MFA back to OFF in moto's Cognito backend (same process), as SetUserPoolMfaConfig would."""
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    region = user_pool_id.split("_", 1)[0]
    cognitoidp_backends[DEFAULT_ACCOUNT_ID][region].set_user_pool_mfa_config(user_pool_id, {}, {}, "OFF")


def _lambda_error(status: int, code: str, message: str) -> Answer:
    reason = {400: "Bad Request", 409: "Conflict", 413: "Request Entity Too Large"}[status]
    payload = json.dumps({"Type": "User", "message": message}).encode()
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    return f"{status} {reason}", headers, payload


def _json_error(code: str, message: str) -> Answer:
    payload = json.dumps({"__type": code, "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    return "400 Bad Request", headers, payload


class ModelledMotoServer:
    """moto's server on 127.0.0.1 with ``BehaviourLayer`` in front (like moto's ThreadedMotoServer)."""

    def __init__(
        self,
        behaviours: AwsBehaviours | None = None,
        *,
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.behaviours = behaviours if behaviours is not None else AwsBehaviours.from_environment()
        self._port = port
        self._clock = clock
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.layer: BehaviourLayer | None = None

    def start(self) -> ModelledMotoServer:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        self.layer = BehaviourLayer(DomainDispatcherApplication(create_backend_app), self.behaviours, clock=self._clock)
        self._server = make_server("127.0.0.1", self._port, self.layer, True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> ModelledMotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
