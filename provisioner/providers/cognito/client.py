"""The Cognito provider's thin client: Lambda functions, IAM roles, permissions and user pool triggers.
Provider cognito: the client half (the only module that imports boto3).

It talks to AWS only through boto3's standard chain (region, credentials,
profile; ``AWS_ENDPOINT_URL`` points it at moto in tests and the sandbox —
there is no test-only path here).

``LambdaCognitoClient`` makes only the calls hookctl needs, domain arguments
in, plain values out, botocore errors translated into ``ProviderError`` naming
the resource and the API call (never the request's parameters: they may hold
secret environment values). Multi-step sequences live here: creating a role
(cleaned up if a later step fails), waiting for a function to be ready after
every write, idempotent permissions, creates that recognise what their own
lost-answer attempt made when botocore retries them, and the read-modify-write
of a user pool (never re-sent blindly). Every API call is counted (``calls``)
through botocore's ``before-call`` event. ``RolePropagation`` shares what one
write learns about IAM's delay with the client's other threads.

The module stays over 800 lines because it is one class: each method is one
API call or one such sequence, and they share the client's state (the boto3
clients, the call counter, the lock, the role propagation), its pacing and its
error translation; splitting it would split that state, not a concern.
``provider.py`` reads through it; ``plan.py`` builds the documents it sends.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from ...engine import progress as progresslib
from ...engine.errors import HookctlError, ProviderError, StaleError
from ..base import Client, http_timeout
from .plan import (
    PROVIDER,
    SECRETS_POLICY_NAME,
    VANISHING_ON_EMULATORS,
    arn_parts,
    cognito_statements,
    lambda_config_mismatches,
    merge_lambda_config,
    pool_digest,
    settings_changes,
    trust_policy,
    update_request,
)
from .plan import last_modified as pool_last_modified

if TYPE_CHECKING:
    import boto3

    # The session type, for modules that must not import boto3 themselves (provider.py).
    AwsSession = boto3.session.Session
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

log = logging.getLogger(__name__)

T = TypeVar("T")

# Lambda accepts a zip of at most 50 MB in the request itself; larger ones go through S3.
MAX_DIRECT_UPLOAD = 50 * 1024 * 1024
# How long a Lambda write is retried while IAM and Lambda settle, and how long hookctl waits for a
# function to become ready: terraform-provider-aws's lambdaPropagationTimeout (5 minutes,
# internal/service/lambda/consts.go), used by retryFunctionOp for CreateFunction and
# UpdateFunctionConfiguration and by AddPermission (internal/service/lambda/function.go, permission.go).
LAMBDA_PROPAGATION_SECONDS = 300.0
# A role IAM has just created can take seconds before Lambda may assume it (retryFunctionOp's messages).
ROLE_NOT_READY = (
    "The role defined for the function cannot be assumed by Lambda",
    "The provided execution role does not have permissions",
)
# ResourceConflictException also means "exists already" (CreateFunction, AddPermission); only these are transient:
# a function still Pending after its creation, or an update in progress (LastUpdateStatus InProgress).
FUNCTION_BUSY = ("An update is in progress", "currently in the following state")
FIRST_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 5.0
# Longest pause between two attempts of a Lambda write refused while IAM and Lambda settle (a role
# Lambda cannot assume yet, a function still Pending). A refused attempt writes nothing, so hookctl
# tries again at least once a second: with 5 s steps a role usable after 8 s was found usable only
# at 12.5 s (bench/RESULTS.md). The total stays LAMBDA_PROPAGATION_SECONDS.
MAX_SETTLE_RETRY_DELAY = 1.0


class RolePropagation:
    """How long IAM takes, in this account today, before Lambda may assume a role this apply made.

    IAM is eventually consistent: a new role is refused by Lambda for seconds ("cannot be assumed
    by Lambda"; terraform-provider-aws retries for lambdaPropagationTimeout). Roles made by one apply
    propagate alike, so one function finds out for all: the first whose write waits on a new role
    probes, about once a second; the others wait for what it learns, the time from its role's
    creation to the first write accepted, and try once their own role is that old. 50 new functions
    so make a handful of refused writes, not one a second each, which would also run into Lambda's
    control-plane quota of 15 requests per second
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html#api-requests).
    A function refused even then retries on its own, as before. Shared by the client's threads.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._created: dict[str, float] = {}  # role ARN -> when this apply created it
        self._delay: float | None = None  # learned: creation to first accepted write
        self._prober: str | None = None  # the resource whose retries find the delay out

    def created(self, role_arn: str) -> None:
        with self._lock:
            self._created[role_arn] = self.clock()

    def wait_before_trying(self, role_arn: str | None, resource: str) -> float:
        """Seconds ``resource`` should wait before its next write using ``role_arn``; 0: go now."""
        with self._lock:
            made = self._created.get(role_arn or "")
            if made is None:
                return 0.0  # not a role this apply made: nothing to learn from others
            if self._delay is not None:
                return max(0.0, made + self._delay - self.clock())
            if self._prober in (None, resource):
                self._prober = resource
                return 0.0
            return MAX_SETTLE_RETRY_DELAY  # someone is finding out: look again in a moment

    def accepted(self, role_arn: str | None) -> None:
        """A write using ``role_arn`` went through: its role is usable this long after creation."""
        with self._lock:
            made = self._created.get(role_arn or "")
            if made is not None and self._delay is None:
                self._delay = self.clock() - made

    def done(self, resource: str) -> None:
        """``resource`` stopped trying (accepted or failed): another may probe."""
        with self._lock:
            if self._prober == resource:
                self._prober = None


class LambdaCognitoClient(Client):
    """The only object a Cognito plan's operations run against."""

    OPERATIONS: ClassVar[frozenset[str]] = frozenset(
        {
            "create_role",
            "update_role",
            "delete_role",
            "create_function",
            "update_function_code",
            "update_function_configuration",
            "delete_function",
            "add_permission",
            "remove_permission",
            "update_pool_triggers",
        }
    )
    SECRET_PARAMS: ClassVar[Mapping[str, str]] = {
        "create_function": "environment",
        "update_function_configuration": "environment",
    }

    def __init__(
        self,
        session: boto3.session.Session,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        waiter_delay: float = FIRST_RETRY_DELAY,
        propagation_seconds: float = LAMBDA_PROPAGATION_SECONDS,
    ) -> None:
        self.session = session
        self.sleep = sleep
        self.clock = clock
        # First pause between polls of a function that is not ready yet (then ×1.5, at most 5 s).
        self.waiter_delay = waiter_delay
        self.propagation_seconds = propagation_seconds
        self.propagation = RolePropagation(clock)
        # "service:Operation" -> number of API calls made (retries of one call count once).
        self.calls: collections.Counter[str] = collections.Counter()
        self._clients: dict[str, Any] = {}
        # Operations run on several threads (the executor's --parallelism): boto3 clients are
        # thread-safe once made, but making one and counting calls are not.
        self._lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------
    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def _aws(self, service: str, *, sdk_retries: bool = True) -> Any:
        key = service if sdk_retries else f"{service} (no SDK retries)"
        with self._lock:
            return self._client_for(key, service, sdk_retries)

    def _client_for(self, key: str, service: str, sdk_retries: bool) -> Any:
        if key not in self._clients:
            # botocore's own default read timeout is 60 s; $HOOKCTL_HTTP_TIMEOUT overrides it.
            timeout = http_timeout(60.0)
            config = Config(read_timeout=timeout, connect_timeout=min(timeout, 60.0))
            if not sdk_retries:
                # For writes botocore must not re-send blindly: hookctl reads again and decides.
                config = config.merge(Config(retries={"total_max_attempts": 1}))
            client = self.session.client(service, config=config)  # type: ignore[call-overload]
            client.meta.events.register("before-call", self._count)
            self._clients[key] = client
        return self._clients[key]

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1

    @property
    def lambda_(self) -> LambdaClient:
        return self._aws("lambda")

    @property
    def cognito(self) -> CognitoIdentityProviderClient:
        return self._aws("cognito-idp")

    @property
    def iam(self) -> IAMClient:
        return self._aws("iam")

    @property
    def secretsmanager(self) -> SecretsManagerClient:
        return self._aws("secretsmanager")

    @property
    def sts(self) -> STSClient:
        return self._aws("sts")

    @property
    def ssm(self) -> SSMClient:
        return self._aws("ssm")

    @property
    def kms(self) -> Any:  # no type stubs installed for KMS
        return self._aws("kms")

    @property
    def tagging(self) -> Any:  # no type stubs installed for the Resource Groups Tagging API
        return self._aws("resourcegroupstaggingapi")

    def writes(self) -> dict[str, int]:
        """Calls that are not reads (Get/List/Describe), e.g. to prove a re-apply wrote nothing."""
        return {name: n for name, n in self.calls.items() if not _is_read(name)}

    def _call(self, call: str, resource: str, fn: Callable[[], T], *, redact: Iterable[str] = ()) -> T:
        # With no "missing" codes, _maybe returns whatever fn returned.
        return cast(T, self._maybe(call, resource, fn, missing=(), redact=redact))

    def _maybe(
        self,
        call: str,
        resource: str,
        fn: Callable[[], T],
        *,
        missing: Iterable[str],
        redact: Iterable[str] = (),
        settling: bool = False,
    ) -> T | None:
        """``fn()`` with botocore errors translated; None when the error code is one of ``missing``.

        With ``settling``, an error that only says IAM or Lambda has not settled yet raises ``_Settling``.
        """
        try:
            return fn()
        except ClientError as exc:
            if settling and _is_settling(exc):
                raise _Settling(_translate(exc, call, resource, redact), _code(exc)) from None
            if _code(exc) in set(missing):
                return None
            raise _translate(exc, call, resource, redact) from None
        except ParamValidationError:
            # Its text quotes the parameters, which may hold secret values.
            raise ProviderError(
                PROVIDER,
                call,
                resource,
                "the request did not pass botocore's validation",
                hint="This is a hookctl bug; rerun with --debug and report it.",
            ) from None
        except BotoCoreError as exc:
            # Connection, credential and region errors: their text names endpoints, never parameters.
            raise ProviderError(PROVIDER, call, resource, f"{type(exc).__name__}: {exc}") from None

    # -- reads (the provider's, never an operation) ---------------------------------------
    def list_functions(self) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            for page in self.lambda_.get_paginator("list_functions").paginate():
                found.extend(dict(f) for f in page.get("Functions", []))
            return found

        return self._call("ListFunctions", f"the functions of {self.region}", run)

    def get_function(self, name: str, resource: str) -> tuple[dict[str, Any], dict[str, str]] | None:
        """A function's configuration and tags (one GetFunction), or None when there is no such function."""
        answer = self._maybe(
            "GetFunction", resource, lambda: self.lambda_.get_function(FunctionName=name), missing=[_NOT_FOUND]
        )
        if answer is None:
            return None
        return dict(answer["Configuration"]), dict(answer.get("Tags") or {})

    def tagged_functions(self, tags: Mapping[str, str]) -> list[str]:
        """ARNs of the region's Lambda functions carrying all ``tags`` (Resource Groups Tagging API).

        GetResources answers ARNs and tags only — never a function's configuration or environment.
        """

        def run() -> list[str]:
            found: list[str] = []
            pages = self.tagging.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": k, "Values": [v]} for k, v in sorted(tags.items())],
                ResourceTypeFilters=["lambda:function"],
            )
            for page in pages:
                found.extend(str(m["ResourceARN"]) for m in page.get("ResourceTagMappingList", []))
            return found

        return self._call("GetResources", f"the functions tagged {_tag_text(tags)}", run)

    def list_tags(self, arn: str, resource: str) -> dict[str, str]:
        return dict(self._call("ListTags", resource, lambda: self.lambda_.list_tags(Resource=arn)).get("Tags", {}))

    def function_policy(self, name: str, resource: str) -> dict[str, Any] | None:
        """The function's resource policy, or None when it has no statement at all."""
        answer = self._maybe(
            "GetPolicy", resource, lambda: self.lambda_.get_policy(FunctionName=name), missing=[_NOT_FOUND]
        )
        if answer is None:
            return None
        policy = json.loads(answer["Policy"])
        return policy if isinstance(policy, dict) else None

    def describe_pool(self, user_pool_id: str, resource: str, *, missing_ok: bool = False) -> dict[str, Any] | None:
        answer = self._maybe(
            "DescribeUserPool",
            resource,
            lambda: self.cognito.describe_user_pool(UserPoolId=user_pool_id),
            missing=[_NOT_FOUND] if missing_ok else [],
        )
        return None if answer is None else dict(answer["UserPool"])

    def list_roles(self, path_prefix: str) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            for page in self.iam.get_paginator("list_roles").paginate(PathPrefix=path_prefix):
                found.extend(dict(r) for r in page.get("Roles", []))
            return found

        return self._call("ListRoles", f"roles under {path_prefix}", run)

    def role_policies(
        self, name: str, resource: str, policy_name: str
    ) -> tuple[list[str], dict[str, Any] | None] | None:
        """Managed policies attached to a role and its inline policy ``policy_name``; None if the role is gone."""
        attached = self._maybe(
            "ListAttachedRolePolicies",
            resource,
            lambda: [
                p["PolicyArn"]
                for page in self.iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                for p in page.get("AttachedPolicies", [])
            ],
            missing=[_NO_SUCH_ENTITY],
        )
        if attached is None:
            return None
        answer = self._maybe(
            "GetRolePolicy",
            resource,
            lambda: self.iam.get_role_policy(RoleName=name, PolicyName=policy_name),
            missing=[_NO_SUCH_ENTITY],
        )
        if answer is None:
            return attached, None
        document: Any = answer["PolicyDocument"]
        return attached, dict(json.loads(document) if isinstance(document, str) else document)

    def describe_secret(self, secret_id: str, resource: str) -> tuple[str, str | None]:
        """A secret's ARN and the KMS key it is encrypted under (None: Secrets Manager's AWS managed key)."""
        answer = self._call("DescribeSecret", resource, lambda: self.secretsmanager.describe_secret(SecretId=secret_id))
        return str(answer["ARN"]), (str(answer["KmsKeyId"]) if answer.get("KmsKeyId") else None)

    def parameter_keys(self, names: Iterable[str], resource: str) -> dict[str, str]:
        """The KMS key of each SecureString parameter among ``names`` (name -> KeyId)."""
        wanted = sorted(set(names))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 50):  # DescribeParameters takes at most 50 values a filter
            chunk = wanted[start : start + 50]

            def run(chunk: list[str] = chunk) -> list[dict[str, Any]]:
                pages = self.ssm.get_paginator("describe_parameters").paginate(
                    ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": chunk}]
                )
                return [dict(p) for page in pages for p in page.get("Parameters", [])]

            for parameter in self._call("DescribeParameters", resource, run):
                if parameter.get("Type") == "SecureString" and parameter.get("KeyId"):
                    found[str(parameter["Name"])] = str(parameter["KeyId"])
        return found

    def customer_key_arn(self, key_id: str, resource: str) -> str | None:
        """The ARN of a customer-managed KMS key named by id, alias or ARN; None for an AWS managed key."""
        if key_id.startswith("alias/aws/") or ":alias/aws/" in key_id:
            return None
        if ":key/" in key_id:
            return key_id
        answer = self._call("DescribeKey", resource, lambda: self.kms.describe_key(KeyId=key_id))
        metadata = answer["KeyMetadata"]
        return str(metadata["Arn"]) if metadata.get("KeyManager") == "CUSTOMER" else None

    def caller_account(self) -> tuple[str, str]:
        """(partition, account) of the credentials."""
        answer = self._call("GetCallerIdentity", "the AWS credentials", lambda: self.sts.get_caller_identity())
        parts = arn_parts(answer["Arn"])
        return (parts[0] if parts else "aws"), str(answer["Account"])

    def pool_update_shape(self) -> Any:
        """UpdateUserPool's input shape from botocore's model: what a pool update may carry."""
        return self.cognito.meta.service_model.operation_model("UpdateUserPool").input_shape

    # -- roles ----------------------------------------------------------------------------
    def create_role(
        self,
        *,
        address: str,
        name: str,
        path: str,
        description: str,
        trust: list[str],
        managed_policies: list[str],
        secrets_policy: dict[str, Any] | None,
        tags: dict[str, str],
    ) -> dict[str, Any]:
        resource = f"{address} ({name})"
        created = self._maybe(
            "CreateRole",
            resource,
            lambda: self.iam.create_role(
                RoleName=name,
                Path=path,
                Description=description,
                AssumeRolePolicyDocument=json.dumps(trust_policy(trust)),
                Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
            ),
            missing=[_ENTITY_EXISTS],
        )
        # botocore retries a CreateRole whose answer was lost (a timeout, a dropped connection); the
        # retry then finds the role the first attempt made. Adopt it only if it is that role.
        role: Mapping[str, Any] = created["Role"] if created else self._created_role(name, path, tags, resource)
        self.propagation.created(str(role["Arn"]))
        try:
            for arn in managed_policies:
                self._attach(name, resource, arn)
            if secrets_policy is not None:
                self._put_secrets_policy(name, resource, secrets_policy)
        except HookctlError:
            # A half-made role would be adopted next time without its policies: remove it.
            self._delete_role(name, resource)
            raise
        return {"Arn": role["Arn"], "RoleName": name}

    def _created_role(self, name: str, path: str, tags: Mapping[str, str], resource: str) -> dict[str, Any]:
        role: dict[str, Any] = dict(self._call("GetRole", resource, lambda: self.iam.get_role(RoleName=name))["Role"])
        found = {t["Key"]: t["Value"] for t in role.get("Tags") or []}
        if role.get("Path") != path or any(found.get(k) != v for k, v in tags.items()):
            raise ProviderError(
                PROVIDER,
                "CreateRole",
                resource,
                "EntityAlreadyExists: a role with this name exists and hookctl did not create it for this stack",
                hint="Rename the function in the stack, or remove or rename the existing role.",
            )
        return role

    def update_role(
        self,
        *,
        address: str,
        name: str,
        trust: list[str] | None,
        attach: list[str],
        detach: list[str],
        secrets_policy: dict[str, Any] | None,
        secrets_policy_changed: bool,
    ) -> dict[str, Any]:
        resource = f"{address} ({name})"
        if trust is not None:
            self._call(
                "UpdateAssumeRolePolicy",
                resource,
                lambda: self.iam.update_assume_role_policy(
                    RoleName=name, PolicyDocument=json.dumps(trust_policy(trust))
                ),
            )
        for arn in attach:
            self._attach(name, resource, arn)
        for arn in detach:
            self._detach(name, resource, arn)
        if secrets_policy_changed:
            if secrets_policy is not None:
                self._put_secrets_policy(name, resource, secrets_policy)
            else:
                self._delete_inline(name, resource, _SECRETS_POLICY)
        return {"RoleName": name}

    def delete_role(self, *, address: str, name: str) -> dict[str, Any]:
        self._delete_role(name, f"{address} ({name})")
        return {}

    def _attach(self, name: str, resource: str, arn: str) -> None:
        self._call("AttachRolePolicy", resource, lambda: self.iam.attach_role_policy(RoleName=name, PolicyArn=arn))

    def _detach(self, name: str, resource: str, arn: str) -> None:
        self._ignore_missing(
            "DetachRolePolicy", resource, lambda: self.iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        )

    def _delete_inline(self, name: str, resource: str, policy: str) -> None:
        self._ignore_missing(
            "DeleteRolePolicy", resource, lambda: self.iam.delete_role_policy(RoleName=name, PolicyName=policy)
        )

    def _put_secrets_policy(self, name: str, resource: str, policy: Mapping[str, Any]) -> None:
        self._call(
            "PutRolePolicy",
            resource,
            lambda: self.iam.put_role_policy(
                RoleName=name, PolicyName=_SECRETS_POLICY, PolicyDocument=json.dumps(policy)
            ),
        )

    def _delete_role(self, name: str, resource: str) -> None:
        policies = self.role_policies(name, resource, _SECRETS_POLICY)
        if policies is None:
            return
        inline = self._maybe(
            "ListRolePolicies",
            resource,
            lambda: self.iam.list_role_policies(RoleName=name)["PolicyNames"],
            missing=[_NO_SUCH_ENTITY],
        )
        for arn in policies[0]:
            self._detach(name, resource, arn)
        for policy in inline or ():
            self._delete_inline(name, resource, policy)
        self._ignore_missing("DeleteRole", resource, lambda: self.iam.delete_role(RoleName=name))

    def _ignore_missing(self, call: str, resource: str, fn: Callable[[], object]) -> None:
        self._maybe(call, resource, fn, missing=[_NO_SUCH_ENTITY, _NOT_FOUND])

    # -- functions ------------------------------------------------------------------------
    def create_function(
        self,
        *,
        address: str,
        name: str,
        zip_path: str,
        code_sha256: str,
        runtime: str,
        handler: str,
        role: str,
        timeout: int,
        memory: int,
        description: str,
        architecture: str,
        environment: dict[str, str],
        tags: dict[str, str],
    ) -> dict[str, Any]:
        resource = f"{address} ({name})"
        code = _read_zip(address, zip_path, code_sha256)
        redact = list(environment.values())
        # Runtime and architecture are checked by the loader; the stubs type them as literals.
        request: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": runtime,
            "Role": role,
            "Handler": handler,
            "Code": {"ZipFile": code},
            "Description": description,
            "Timeout": timeout,
            "MemorySize": memory,
            "Architectures": [architecture],
            "Environment": {"Variables": environment},
            "Tags": tags,
            "Publish": False,
        }

        def create() -> Mapping[str, Any]:
            try:
                return self.lambda_.create_function(**request)
            except ClientError as exc:
                message = str(exc.response.get("Error", {}).get("Message", ""))
                if _code(exc) == _CONFLICT and "already exist" in message:
                    # botocore retries a CreateFunction whose answer was lost; the retry then finds the
                    # function the first attempt made. Adopt it only if it is exactly that function.
                    adopted = self._created_function(request, code_sha256, resource)
                    if adopted is not None:
                        return adopted
                raise

        answer = self._settling("CreateFunction", resource, create, redact=redact, role=role)
        self._wait_ready(name, resource)
        return {"FunctionArn": answer["FunctionArn"], "CodeSha256": answer["CodeSha256"]}

    def _created_function(self, request: Mapping[str, Any], code_sha256: str, resource: str) -> dict[str, Any] | None:
        """The existing function if it is the one ``request`` would create (same tags, code and settings)."""
        found = self._call(
            "GetFunction", resource, lambda: self.lambda_.get_function(FunctionName=request["FunctionName"])
        )
        config, tags = found.get("Configuration") or {}, found.get("Tags") or {}
        same = (
            config.get("CodeSha256") == code_sha256
            and all(tags.get(k) == v for k, v in request["Tags"].items())
            and all(
                config.get(k) == request[k]
                for k in ("Runtime", "Role", "Handler", "Description", "Timeout", "MemorySize")
            )
            and (config.get("Environment") or {}).get("Variables", {}) == request["Environment"]["Variables"]
        )
        return dict(config) if same else None

    def update_function_code(
        self, *, address: str, name: str, zip_path: str, code_sha256: str, architecture: str
    ) -> dict[str, Any]:
        resource = f"{address} ({name})"
        code = _read_zip(address, zip_path, code_sha256)
        request: dict[str, Any] = {
            "FunctionName": name,
            "ZipFile": code,
            "Architectures": [architecture],
            "Publish": False,
        }
        answer = self._settling("UpdateFunctionCode", resource, lambda: self.lambda_.update_function_code(**request))
        self._wait_ready(name, resource)
        if answer.get("CodeSha256") not in (None, code_sha256):
            raise ProviderError(
                PROVIDER,
                "UpdateFunctionCode",
                resource,
                f"Lambda reports CodeSha256 {answer['CodeSha256']}, expected {code_sha256}",
            )
        return {"FunctionArn": answer["FunctionArn"], "CodeSha256": answer.get("CodeSha256")}

    def update_function_configuration(
        self,
        *,
        address: str,
        name: str,
        runtime: str | None = None,
        handler: str | None = None,
        role: str | None = None,
        timeout: int | None = None,
        memory: int | None = None,
        description: str | None = None,
        environment: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        resource = f"{address} ({name})"
        request: dict[str, Any] = {"FunctionName": name}
        for key, value in (
            ("Runtime", runtime),
            ("Handler", handler),
            ("Role", role),
            ("Timeout", timeout),
            ("MemorySize", memory),
            ("Description", description),
        ):
            if value is not None:
                request[key] = value
        if environment is not None:
            request["Environment"] = {"Variables": environment}
        answer = self._settling(
            "UpdateFunctionConfiguration",
            resource,
            lambda: self.lambda_.update_function_configuration(**request),
            redact=(environment or {}).values(),
            role=role,
        )
        self._wait_ready(name, resource)
        return {"FunctionArn": answer["FunctionArn"]}

    def delete_function(self, *, address: str, name: str) -> dict[str, Any]:
        self._ignore_missing(
            "DeleteFunction", f"{address} ({name})", lambda: self.lambda_.delete_function(FunctionName=name)
        )
        return {}

    def _settling(
        self,
        call: str,
        resource: str,
        fn: Callable[[], T],
        *,
        redact: Iterable[str] = (),
        missing: Iterable[str] = (),
        role: str | None = None,
    ) -> T:
        """``fn()``, retried while IAM and Lambda settle, for up to ``propagation_seconds``.

        Retried: a role IAM made moments ago that Lambda cannot assume yet, and a function that is
        still Pending or has an update in progress (ResourceConflictException) — the cases
        terraform-provider-aws's retryFunctionOp retries for lambdaPropagationTimeout. Waiting here,
        inside the client, lets an executor overlap the waits of independent functions. A write
        using a role this apply made first waits for what ``RolePropagation`` has learned.
        """
        deadline = self.clock() + self.propagation_seconds
        delay = FIRST_RETRY_DELAY
        follow = True  # wait for what other functions learned about IAM; not after a refused try
        try:
            while True:
                while follow and (wait := self.propagation.wait_before_trying(role, resource)) > 0:
                    if self.clock() + wait > deadline + MAX_SETTLE_RETRY_DELAY:
                        break
                    with progresslib.waiting(f"{call} waits for its new role to propagate in IAM"):
                        self.sleep(min(wait, MAX_SETTLE_RETRY_DELAY))
                try:
                    answer = cast(T, self._maybe(call, resource, fn, missing=missing, redact=redact, settling=True))
                except _Settling as exc:
                    if self.clock() + delay > deadline:
                        raise exc.error from None
                    if self.propagation.wait_before_trying(role, resource) == 0.0 and exc.reason != _CONFLICT:
                        follow = False  # refused though on time (or probing): retry on its own from now
                    log.info("%s: %s not possible yet (%s); retrying in %.1f s", resource, call, exc.reason, delay)
                    with progresslib.waiting(f"{call} waits for {_SETTLING_ACTIVITY.get(exc.reason, exc.reason)}"):
                        self.sleep(delay)
                    delay = min(delay * 2, MAX_SETTLE_RETRY_DELAY)
                    continue
                self.propagation.accepted(role)
                return answer
        finally:
            self.propagation.done(resource)

    def _wait_ready(self, name: str, resource: str) -> None:
        """Poll until the function is Active and its last update finished (Lambda's function states)."""
        deadline = self.clock() + self.propagation_seconds
        delay = self.waiter_delay
        while True:
            config = self._call(
                "GetFunctionConfiguration", resource, lambda: self.lambda_.get_function_configuration(FunctionName=name)
            )
            state, update = config.get("State"), config.get("LastUpdateStatus")
            if state == "Failed" or update == "Failed":
                reason = config.get("LastUpdateStatusReason") or config.get("StateReason") or "no reason given"
                raise ProviderError(
                    PROVIDER,
                    "GetFunctionConfiguration",
                    resource,
                    f"the function did not become ready: {reason}",
                    hint="Check the function in the Lambda console; apply again once it is fixed.",
                )
            if state in (None, "Active", "Inactive") and update in (None, "Successful"):
                return
            if self.clock() + delay > deadline:
                raise ProviderError(
                    PROVIDER,
                    "GetFunctionConfiguration",
                    resource,
                    f"the function is still State {state}, LastUpdateStatus {update} after "
                    f"{self.propagation_seconds:.0f} s",
                    hint="Check the function in the Lambda console, then apply again.",
                )
            with progresslib.waiting(f"waiting for {name} to become ready (State {state}, update {update})"):
                self.sleep(delay)
            delay = min(max(delay, 0.01) * 1.5, MAX_RETRY_DELAY)

    # -- permissions ----------------------------------------------------------------------
    def add_permission(
        self,
        *,
        address: str,
        function_name: str,
        statement_id: str,
        source_arn: str,
        source_account: str,
        replace: bool = False,
    ) -> dict[str, Any]:
        resource = f"{address} ({function_name})"
        if replace:
            self._ignore_missing(
                "RemovePermission",
                resource,
                lambda: self.lambda_.remove_permission(FunctionName=function_name, StatementId=statement_id),
            )

        def add() -> object:
            return self.lambda_.add_permission(
                FunctionName=function_name,
                StatementId=statement_id,
                Action="lambda:InvokeFunction",
                Principal="cognito-idp.amazonaws.com",
                SourceArn=source_arn,
                SourceAccount=source_account,
            )

        # Missing means "the statement id exists"; a busy function (Pending, update in progress) is waited for.
        added = self._settling("AddPermission", resource, add, missing=[_CONFLICT])
        if added is None:
            # The statement id exists already (an earlier apply that died, say): keep it if it is the same grant.
            statements = cognito_statements(self.function_policy(function_name, resource))
            same = [
                s
                for s in statements
                if s["sid"] == statement_id and s["source_arn"] == source_arn and s["source_account"] == source_account
            ]
            if not same:
                self._ignore_missing(
                    "RemovePermission",
                    resource,
                    lambda: self.lambda_.remove_permission(FunctionName=function_name, StatementId=statement_id),
                )
                self._settling("AddPermission", resource, add)
        return {"StatementId": statement_id}

    def remove_permission(self, *, address: str, function_name: str, statement_id: str) -> dict[str, Any]:
        self._ignore_missing(
            "RemovePermission",
            f"{address} ({function_name})",
            lambda: self.lambda_.remove_permission(FunctionName=function_name, StatementId=statement_id),
        )
        return {}

    # -- pools ----------------------------------------------------------------------------
    def update_pool_triggers(
        self,
        *,
        address: str,
        pool: str,
        user_pool_id: str,
        expected_last_modified: str | None,
        expected_digest: str,
        entries: dict[str, dict[str, Any]],
        remove: list[str],
    ) -> dict[str, Any]:
        """Read-modify-write of one pool's LambdaConfig, proving nothing else changed.

        UpdateUserPool resets every setting it is not given, so the request is
        the pool as just read (only the fields UpdateUserPool accepts) with
        LambdaConfig edited. Refuses if the pool changed since the plan read
        it; reads it back after writing and fails, naming the field, if
        anything besides LambdaConfig moved.
        """
        resource = f"pool {pool} ({user_pool_id})"
        before = self.describe_pool(user_pool_id, resource)
        assert before is not None
        moved = pool_last_modified(before) != expected_last_modified
        # LastModifiedDate alone can miss a change made within its resolution
        # (moto does not even move it on UpdateUserPool): compare the content too.
        if moved or pool_digest(before) != expected_digest:
            raise StaleError(
                f"{resource} changed since the plan was made"
                + (f" (LastModifiedDate {expected_last_modified} → {pool_last_modified(before)})" if moved else "")
                + "; nothing was written to it",
                hint="Plan again and review the new plan.",
            )
        request = update_request(before, self.pool_update_shape())
        request["UserPoolId"] = user_pool_id
        current = dict(before.get("LambdaConfig") or {})
        wanted = merge_lambda_config(current, entries, remove)
        request["LambdaConfig"] = wanted
        mfa: dict[str, Any] | None = None
        if request.get("MfaConfiguration") in ("ON", "OPTIONAL") and not request.get("SmsConfiguration"):
            # MFA without SMS (TOTP or email only) is SetUserPoolMfaConfig's: UpdateUserPool refuses to be
            # sent it ("SMS configuration and Auto verification for phone_number are required when MFA is
            # required/optional"), even unchanged. So it is left out of the update — terraform-provider-aws
            # likewise sets MFA with SetUserPoolMfaConfig (internal/service/cognitoidp/user_pool.go) —
            # and what SetUserPoolMfaConfig set is read first, to put back should the update reset it.
            mfa = self.pool_mfa_config(user_pool_id, resource)
            del request["MfaConfiguration"]
        self._write_pool(request, before, wanted, resource)
        after = self.describe_pool(user_pool_id, resource)
        assert after is not None
        if mfa is not None and after.get("MfaConfiguration") != before.get("MfaConfiguration"):
            log.warning("%s: UpdateUserPool reset MFA to %s; restoring it", resource, after.get("MfaConfiguration"))
            self._restore_mfa(user_pool_id, mfa, resource)
            after = self.describe_pool(user_pool_id, resource)
            assert after is not None
        changed = settings_changes(before, after)
        lost = lambda_config_mismatches(dict(after.get("LambdaConfig") or {}), wanted)
        if changed or lost:
            fields = ", ".join(changed + lost)
            raise ProviderError(
                PROVIDER,
                "UpdateUserPool",
                resource,
                f"reading the pool back after the update shows {fields} changed, which hookctl did not ask for",
                hint="Compare the pool with its previous settings in the Cognito console and restore them; "
                "hookctl re-sent every setting UpdateUserPool accepts exactly as it read it.",
            )
        for key in sorted(VANISHING_ON_EMULATORS):
            if key in before and key not in after:
                log.warning("%s: %s vanished after UpdateUserPool (a known moto gap; AWS keeps it)", resource, key)
        return {"LastModifiedDate": pool_last_modified(after)}

    def pool_mfa_config(self, user_pool_id: str, resource: str) -> dict[str, Any]:
        answer = self._call(
            "GetUserPoolMfaConfig", resource, lambda: self.cognito.get_user_pool_mfa_config(UserPoolId=user_pool_id)
        )
        return {k: v for k, v in answer.items() if k != "ResponseMetadata"}

    def _restore_mfa(self, user_pool_id: str, saved: Mapping[str, Any], resource: str) -> None:
        """SetUserPoolMfaConfig with exactly what GetUserPoolMfaConfig answered before the update."""
        shape: Any = self.cognito.meta.service_model.operation_model("SetUserPoolMfaConfig").input_shape
        request = {k: v for k, v in saved.items() if k in shape.members and v is not None}
        request["UserPoolId"] = user_pool_id
        self._call("SetUserPoolMfaConfig", resource, lambda: self.cognito.set_user_pool_mfa_config(**request))

    def _send_pool_update(self, once: Any, request: Mapping[str, Any], resource: str) -> None:
        """UpdateUserPool, sent again while Cognito cannot use the pool's SMS role or SES identity yet.

        UpdateUserPool re-validates the SmsConfiguration and EmailConfiguration it is sent, though
        hookctl re-sends them unchanged (left out, they would be reset). A role IAM made moments ago
        fails that check until it propagates: terraform-provider-aws retries these errors
        (userPoolErrorRetryable in internal/service/cognitoidp/user_pool.go) for IAM's 2 minutes.
        The request was refused, not handled, so sending it again is safe.
        """
        deadline = self.clock() + POOL_ROLE_PROPAGATION_SECONDS
        delay = FIRST_RETRY_DELAY
        while True:
            try:
                once.update_user_pool(**request)
                return
            except ClientError as exc:
                if _code(exc) not in _POOL_ROLE_NOT_READY:
                    raise
                if self.clock() + delay > deadline:
                    error = exc.response.get("Error", {})
                    setting = "EmailConfiguration" if "Email" in _code(exc) else "SmsConfiguration"
                    raise ProviderError(
                        PROVIDER,
                        "UpdateUserPool",
                        resource,
                        f"{_code(exc)}: {error.get('Message')}. UpdateUserPool re-validates the pool's {setting}, "
                        "which hookctl does not change but must re-send (UpdateUserPool resets what it is not "
                        "sent); nothing was written",
                        hint=f"Fix the pool's {setting} (the role's trust policy must let cognito-idp.amazonaws.com "
                        "assume it, with the pool's ExternalId), then apply again.",
                    ) from None
                log.info("%s: UpdateUserPool refused (%s); retrying in %.1f s", resource, _code(exc), delay)
                self.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    def _write_pool(
        self, request: dict[str, Any], before: Mapping[str, Any], wanted: Mapping[str, Any], resource: str
    ) -> None:
        """Send UpdateUserPool; after a failed attempt, read the pool again before sending anything more.

        The request carries every setting of the pool as hookctl read it, and UpdateUserPool replaces
        them all. botocore retries a call whose answer was lost (a timeout, a dropped connection, a
        5xx) by sending it again, which would silently undo whatever another administrator changed
        in between. So the call goes out without SDK retries, and after a failure the pool is read:
        written already (its answer was lost) → done; untouched → safe to send again; changed in any
        other way → stop without writing, and say what moved.
        """
        once = self._aws("cognito-idp", sdk_retries=False)
        failure = ""
        for attempt in range(POOL_WRITE_ATTEMPTS):
            if attempt:
                self.sleep(min(0.5 * 2**attempt, 5.0))
            try:
                self._send_pool_update(once, request, resource)
                return
            except ClientError as exc:
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
                if status < 500 and _code(exc) not in _THROTTLED:
                    raise _translate(exc, "UpdateUserPool", resource, ()) from None
                failure = _code(exc) or f"HTTP {status}"
            except ParamValidationError:
                raise ProviderError(
                    PROVIDER, "UpdateUserPool", resource, "the request did not pass botocore's validation"
                ) from None
            except BotoCoreError as exc:  # timeouts and dropped connections: the write may have landed
                failure = type(exc).__name__
            now = self.describe_pool(request["UserPoolId"], resource)
            assert now is not None
            moved = settings_changes(before, now)
            landed = not lambda_config_mismatches(dict(now.get("LambdaConfig") or {}), dict(wanted))
            if landed and not moved:
                return  # the write landed; only its answer was lost
            if not moved and not lambda_config_mismatches(
                dict(now.get("LambdaConfig") or {}), dict(before.get("LambdaConfig") or {})
            ):
                continue  # nothing landed and nothing else moved: sending it again is safe
            written = "the new triggers are in place, but " if landed else ""
            raise ProviderError(
                PROVIDER,
                "UpdateUserPool",
                resource,
                f"no answer ({failure}); reading the pool again shows {written}"
                f"{', '.join(moved) or 'LambdaConfig'} changed since hookctl read it, which hookctl did not send "
                "(someone else is editing the pool?); hookctl did not send the update again",
                hint="Check those settings in the Cognito console, then plan and apply again.",
            )
        raise ProviderError(
            PROVIDER, "UpdateUserPool", resource, f"no success after {POOL_WRITE_ATTEMPTS} attempts: {failure}"
        )

    # -- import and adopt (provisioner.adopt): a function hookctl did not build ----------------
    def function_code_location(self, name: str, resource: str) -> str:
        """Where GetFunction says the function's deployment package is (``Code.Location``).

        On AWS that is a pre-signed URL: it is never shown, logged or put into an error.
        """
        answer = self._call("GetFunction", resource, lambda: self.lambda_.get_function(FunctionName=name))
        location = str((answer.get("Code") or {}).get("Location") or "")
        if not location:
            raise HookctlError(f"{resource}: GetFunction returned no Code.Location")
        return location

    def download_package(self, location: str, resource: str, *, max_bytes: int, timeout: float) -> bytes:
        """A function's package from GetFunction's ``Code.Location``; refuses one over ``max_bytes``.

        On AWS that is a pre-signed HTTPS URL of Lambda's own bucket, fetched as is. When
        boto3 is pointed at another endpoint (``AWS_ENDPOINT_URL``: the sandbox, moto,
        LocalStack), nothing is fetched from amazonaws.com: an S3 location there is read
        with S3 GetObject through the configured endpoint instead.
        """
        import urllib.parse
        import urllib.request

        url = urllib.parse.urlsplit(location)
        endpoint = urllib.parse.urlsplit(str(self.lambda_.meta.endpoint_url))
        data: bytes
        if not self._on_aws(endpoint.hostname) and self._on_aws(url.hostname):
            bucket, key = self._s3_object(location)
            data = self._call(
                "GetObject",
                f"{resource} (s3://{bucket}/{key})",
                lambda: self._aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read(max_bytes + 1),
            )
        else:
            if url.scheme != "https" and not (url.scheme == "http" and url.hostname == endpoint.hostname):
                raise HookctlError(f"{resource}: refusing to download its code from a {url.scheme or 'relative'} URL")
            try:
                with urllib.request.urlopen(location, timeout=timeout) as answer:  # https (or the endpoint's http)
                    data = answer.read(max_bytes + 1)
            except OSError as exc:  # never echo the URL: it is pre-signed
                raise HookctlError(f"{resource}: downloading its code failed ({type(exc).__name__})") from None
        if len(data) > max_bytes:
            raise HookctlError(f"{resource}: its package is larger than {max_bytes // (1024 * 1024)} MB")
        return bytes(data)

    def tag_function(self, arn: str, tags: Mapping[str, str], resource: str) -> None:
        """TagResource: adds or overwrites ``tags``; the function's other tags stay."""
        self._call("TagResource", resource, lambda: self.lambda_.tag_resource(Resource=arn, Tags=dict(tags)))

    @staticmethod
    def _on_aws(host: str | None) -> bool:
        return bool(host) and str(host).lower().endswith((".amazonaws.com", ".amazonaws.com.cn"))

    @staticmethod
    def _s3_object(location: str) -> tuple[str, str]:
        """(bucket, key) of an S3 URL on amazonaws.com."""
        import urllib.parse

        url = urllib.parse.urlsplit(location)
        host = str(url.hostname or "").lower()
        path = urllib.parse.unquote(url.path.lstrip("/"))
        if host.startswith(("s3.", "s3-")):  # path style: s3.<region>.amazonaws.com/<bucket>/<key>
            bucket, _, key = path.partition("/")
            return bucket, key
        return host.split(".s3", 1)[0], path  # virtual-hosted: <bucket>.s3[.-]<region>.amazonaws.com/<key>


POOL_WRITE_ATTEMPTS = 3  # as many as botocore's standard retry mode makes
# IAM's eventual consistency as terraform-provider-aws allows for it (propagationTimeout, 2 minutes).
POOL_ROLE_PROPAGATION_SECONDS = 120.0
_POOL_ROLE_NOT_READY = frozenset(
    {
        "InvalidSmsRoleTrustRelationshipException",
        "InvalidSmsRoleAccessPolicyException",
        "InvalidEmailRoleAccessPolicyException",
    }
)
# botocore's throttling error codes (botocore/retries/standard.py): the request was not handled.
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
_SECRETS_POLICY = SECRETS_POLICY_NAME
_NOT_FOUND = "ResourceNotFoundException"  # Lambda, Cognito
_NO_SUCH_ENTITY = "NoSuchEntity"  # IAM
_ENTITY_EXISTS = "EntityAlreadyExists"  # IAM
_CONFLICT = "ResourceConflictException"  # Lambda: exists already, or an update is in progress


class _Settling(Exception):
    """An error that only says IAM or Lambda has not settled yet; ``error`` is what to raise if it persists."""

    def __init__(self, error: ProviderError, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


# What a settling retry waits for, by the error code that refused the call.
_SETTLING_ACTIVITY = {
    "InvalidParameterValueException": "its new role to propagate in IAM",
    _CONFLICT: "the function's last change to finish",
}


def _is_settling(exc: ClientError) -> bool:
    code = _code(exc)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if code == "InvalidParameterValueException":
        return any(m in message for m in ROLE_NOT_READY)
    return code == _CONFLICT and any(m in message for m in FUNCTION_BUSY)


def _tag_text(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _is_read(name: str) -> bool:
    operation = name.split(":", 1)[-1]
    return operation.startswith(("Get", "List", "Describe"))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


_HINTS = {
    "AccessDenied": "The credentials lack an IAM permission for this call.",
    "AccessDeniedException": "The credentials lack an IAM permission for this call.",
    "UnrecognizedClientException": "Check the AWS credentials (profile, keys, session token).",
    "ExpiredTokenException": "The AWS session expired; sign in again.",
}


def _translate(exc: ClientError, call: str, resource: str, redact: Iterable[str]) -> ProviderError:
    """A botocore error as a ``ProviderError``: code and the service's message, never the request.

    Lambda quotes the whole environment in some errors ("String measured:
    {...}"): that tail is cut, and any value hookctl sent is masked anyway.
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "Error")
    message = str(error.get("Message") or "").split("String measured", 1)[0].strip()
    for value in redact:
        if isinstance(value, str) and len(value) >= 4:
            message = message.replace(value, "****")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    detail = f"{code}: {message}" if message else code
    return ProviderError(PROVIDER, call, resource, detail, hint=_HINTS.get(code), status=status)


def _read_zip(address: str, path: str, code_sha256: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_DIRECT_UPLOAD + 1)
    except OSError as exc:
        raise StaleError(
            f"{address}: the build {path} is gone ({exc.strerror})", hint="Plan again: planning rebuilds it."
        ) from None
    if len(data) > MAX_DIRECT_UPLOAD:
        raise HookctlError(
            f"{address}: the zip is larger than Lambda's 50 MB direct upload limit",
            hint="Trim the function's dependencies; upload through S3 is not supported yet.",
        )
    actual = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    if actual != code_sha256:
        raise StaleError(
            f"{address}: the build changed since the plan was made (CodeSha256 {actual}, plan has {code_sha256})",
            hint="Plan again and review the new plan.",
        )
    return data


def region_from_environment(explicit: str | None = None) -> str | None:
    """The region as the AWS SDKs and CLI read it: an explicit one, else ``AWS_REGION``, else
    ``AWS_DEFAULT_REGION`` (botocore itself reads only the latter, then its config file)."""
    return explicit or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def session_for(region: str | None) -> boto3.session.Session:
    """A boto3 session on the standard chain, in ``region`` or else the environment's region."""
    import boto3  # deferred: commands that need no AWS start faster

    return boto3.session.Session(region_name=region_from_environment(region))


__all__ = ["LambdaCognitoClient", "RolePropagation", "region_from_environment", "session_for"]
