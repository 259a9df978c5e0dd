"""The Cognito provider's names, normalised documents, pool edits and limits.
Provider cognito: the pure planning half (no I/O, no SDK).

``provider.py`` reads the live systems through ``client.py`` and hands plain
values to these functions; they turn the stack and those values into the
normalised documents the differ compares. ``client.py`` uses the pool edits
(the read-modify-write of a pool's ``LambdaConfig``) and the IAM documents it
sends; ``operations.py`` turns the differ's changes into operations on
``LambdaCognitoClient``.

Resources and their documents:

``cognito.function.<function>``
    runtime, handler, role, timeout, memory, architecture, description (the
    stack's text), ``code_digest`` (hookctl's build-input digest, kept as a
    marker at the end of the Lambda description so ``ListFunctions`` alone
    reads it back), ``environment`` (plain variables), ``secret_refs``
    (``HOOKCTL_SECRET_<NAME>`` references to Secrets Manager / SSM) and
    ``secrets`` (salted hashes of env/file-sourced values; sensitive).
    ``CodeSha256`` is compared too: the deployed zip not being hookctl's build
    of the same digest is drift (code changed outside hookctl).
``cognito.permission.<function>.<pool>``
    the ``lambda:InvokeFunction`` grant to ``cognito-idp.amazonaws.com`` for
    one pool (``SourceArn`` = pool ARN, ``SourceAccount``).
``cognito.pool.<pool>.<Trigger>``
    one ``LambdaConfig`` entry: the function ARN, plus ``lambda_version``
    (PreTokenGeneration and the sender triggers) and ``kms_key_id`` (senders).
``iam.role.<function>``
    only when the stack gives no role: trust in ``lambda.amazonaws.com``, the
    AWS basic execution policy, and read access to exactly the function's
    Secrets Manager secrets and SSM parameters.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...engine import catalog
from ...engine.errors import InputError, Problem
from ...engine.model import Function, PoolTrigger, SecretRef, Stack
from ...engine.plan import SecretValue
from ...engine.secrets import secret_hash

PROVIDER = "cognito"

# Ownership tags on every function hookctl creates: a runner with no state
# proves with them (ListTags) that a function is its own before touching it.
TAG_MANAGED = "hookctl:managed"
TAG_STACK = "hookctl:stack"
TAG_ENVIRONMENT = "hookctl:environment"
TAG_FUNCTION = "hookctl:function"

COGNITO_PRINCIPAL = "cognito-idp.amazonaws.com"
LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
INVOKE_ACTION = "lambda:InvokeFunction"
STATEMENT_PREFIX = "hookctl-cognito-"
SECRET_ENV_PREFIX = "HOOKCTL_SECRET_"
SECRETS_POLICY_NAME = "hookctl-secrets"
SECRETSMANAGER_READ = "secretsmanager:GetSecretValue"
SSM_READ = "ssm:GetParameter"
KMS_DECRYPT = "kms:Decrypt"
DEFAULT_ARCHITECTURE = "x86_64"

MAX_NAME = 64  # Lambda function names and IAM role names
MAX_DESCRIPTION = 256  # Lambda descriptions
DIGEST_CHARS = 16  # of hookctl's sha256 digest kept in the description marker (64 bits)
_MARKER_RE = re.compile(r"(?:^| )\[hookctl ([0-9a-f]{16})\]$")
_ROLE_DESCRIPTION_RE = re.compile(r"^Execution role of hookctl function (\S+) ")

# DescribeUserPool fields that change without anyone editing the pool.
# Fields the service computes and changes by itself: never settings, never compared, never sent.
# Status is deprecated; SmsConfigurationFailure / EmailConfigurationFailure say whether Cognito can use
# the SMS role or the SES identity right now, and come and go as IAM propagates or SES verifies.
VOLATILE_POOL_FIELDS = frozenset(
    {"LastModifiedDate", "EstimatedNumberOfUsers", "Status", "SmsConfigurationFailure", "EmailConfigurationFailure"}
)
# UserPoolType (DescribeUserPool) and UpdateUserPool's input name two fields differently.
UPDATE_FIELD_SOURCES = {"UserPoolId": "Id", "PoolName": "Name"}
# Deprecated: Cognito rejects an update carrying it together with
# Policies.PasswordPolicy.TemporaryPasswordValidityDays, which replaces it.
DROPPED_ON_UPDATE = (("AdminCreateUserConfig", "UnusedAccountValidityDays"),)
# Known emulator gap, tolerated narrowly: moto rebuilds the pool from the
# update's parameters, so UsernameAttributes (set at creation only, and not an
# UpdateUserPool parameter) disappears after an update; AWS keeps it and cannot
# change it after creation. Only its *disappearance* is tolerated, never a
# different value.
VANISHING_ON_EMULATORS = frozenset({"UsernameAttributes"})

SENDER_TRIGGERS = catalog.COGNITO_KMS_TRIGGERS
# LambdaConfig keys whose value is a {LambdaArn, LambdaVersion} structure rather than an ARN
# (botocore's cognito-idp model, LambdaConfigType). InboundFederation is one of them although
# the catalog lists it with the plain triggers; its only version is V1_0.
STRUCTURED_TRIGGERS = SENDER_TRIGGERS | frozenset({"InboundFederation"})
VERSIONED_TRIGGERS = STRUCTURED_TRIGGERS | frozenset({"PreTokenGeneration"})


# -- names ------------------------------------------------------------------------------


def _bounded(text: str, allowed: str = r"[^A-Za-z0-9_-]") -> str:
    """``text`` with disallowed characters replaced, cut to 64 with a hash suffix if longer."""
    clean = re.sub(allowed, "-", text)
    if len(clean) <= MAX_NAME:
        return clean
    suffix = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{clean[: MAX_NAME - 9]}-{suffix}"


@dataclass(frozen=True)
class Names:
    """Physical names of one stack environment's resources."""

    stack: str
    environment: str
    # ``function_name:`` of the stack's functions: existing functions managed under their own names.
    given: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, stack: Stack) -> Names:
        given = tuple((fn.name, fn.function_name) for fn in stack.functions if fn.function_name)
        return cls(stack.name, stack.environment.name, given)

    def function(self, logical: str) -> str:
        for name, physical in self.given:
            if name == logical:
                return physical
        return _bounded(f"{self.stack}-{self.environment}-{logical}")

    @property
    def prefix(self) -> str:
        """Every function name of this stack environment starts with this (a candidate, not proof)."""
        return _bounded(f"{self.stack}-{self.environment}-")[: MAX_NAME - 9]

    def role(self, logical: str) -> str:
        """A role hookctl creates is always named by the stack, whatever its function is called."""
        return _bounded(f"{self.stack}-{self.environment}-{logical}")

    @property
    def role_path(self) -> str:
        return f"/hookctl/{self.stack}/{self.environment}/"

    def tags(self, logical: str) -> dict[str, str]:
        return {
            TAG_MANAGED: "true",
            TAG_STACK: self.stack,
            TAG_ENVIRONMENT: self.environment,
            TAG_FUNCTION: logical,
        }

    def tags_filter(self) -> dict[str, str]:
        """The tags every function of this stack environment carries (to find them by tag)."""
        return {TAG_MANAGED: "true", TAG_STACK: self.stack, TAG_ENVIRONMENT: self.environment}

    def owns(self, tags: Mapping[str, str]) -> bool:
        return (
            tags.get(TAG_MANAGED) == "true"
            and tags.get(TAG_STACK) == self.stack
            and tags.get(TAG_ENVIRONMENT) == self.environment
        )

    def role_description(self, logical: str) -> str:
        return f"Execution role of hookctl function {logical} ({self.stack}/{self.environment})"


def role_logical_name(description: str | None) -> str | None:
    match = _ROLE_DESCRIPTION_RE.match(description or "")
    return match.group(1) if match else None


def statement_id(user_pool_id: str) -> str:
    return f"{STATEMENT_PREFIX}{user_pool_id}"


def function_arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:lambda:{region}:{account}:function:{name}"


def role_arn(partition: str, account: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:role{path}{name}"


def basic_execution_policy(partition: str) -> str:
    return f"arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def arn_parts(arn: str) -> tuple[str, str, str] | None:
    """(partition, region, account) of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return parts[1], parts[3], parts[4]


def function_name_of(arn: str) -> str:
    """A Lambda function's name from its ARN (``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``)."""
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else arn


def declared_function(stack: Stack, logical: str) -> Function | None:
    return next((fn for fn in stack.functions if fn.name == logical), None)


def ownership(tags: Mapping[str, str]) -> str:
    """Who owns a resource, by its tags, as a conflict message says it."""
    if tags.get(TAG_MANAGED) == "true":
        return f"is owned by hookctl stack {tags.get(TAG_STACK)!r} environment {tags.get(TAG_ENVIRONMENT)!r}"
    return "exists and no hookctl stack owns it (import and adopt it to manage it)"


def with_marker(description: str, digest: str) -> str:
    marker = f"[hookctl {digest[:DIGEST_CHARS]}]"
    return f"{description} {marker}" if description else marker


def split_marker(description: str | None) -> tuple[str, str | None]:
    """The stack's description and the digest marker hookctl appended (None if absent)."""
    text = description or ""
    match = _MARKER_RE.search(text)
    if match is None:
        return text, None
    return text[: match.start()], match.group(1)


def address_function(logical: str) -> str:
    return f"cognito.function.{logical}"


def address_permission(logical: str, pool: str) -> str:
    return f"cognito.permission.{logical}.{pool}"


def address_entry(pool: str, trigger: str) -> str:
    return f"cognito.pool.{pool}.{trigger}"


def address_role(logical: str) -> str:
    return f"iam.role.{logical}"


# -- pools ------------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def pool_digest(pool: Mapping[str, Any]) -> str:
    """sha256 of everything DescribeUserPool says about a pool except what moves by itself."""
    kept = {k: v for k, v in pool.items() if k not in VOLATILE_POOL_FIELDS}
    return hashlib.sha256(_canonical(kept).encode()).hexdigest()


def last_modified(pool: Mapping[str, Any]) -> str | None:
    value = pool.get("LastModifiedDate")
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime.datetime) else str(value)


@dataclass(frozen=True)
class PoolView:
    """What a plan needs to know about one pool (JSON-able through ``facts``)."""

    name: str
    user_pool_id: str
    arn: str
    lambda_config: Mapping[str, Any]
    last_modified: str | None
    digest: str
    tier: str | None = None  # UserPoolTier: LITE, ESSENTIALS or PLUS (None: not reported)

    @classmethod
    def of(cls, name: str, pool: Mapping[str, Any]) -> PoolView:
        return cls(
            name=name,
            user_pool_id=str(pool["Id"]),
            arn=str(pool["Arn"]),
            lambda_config=dict(pool.get("LambdaConfig") or {}),
            last_modified=last_modified(pool),
            digest=pool_digest(pool),
            tier=str(pool["UserPoolTier"]) if pool.get("UserPoolTier") else None,
        )

    def to_fact(self) -> dict[str, Any]:
        return {
            "id": self.user_pool_id,
            "arn": self.arn,
            "lambda_config": _plain(self.lambda_config),
            "last_modified": self.last_modified,
            "digest": self.digest,
            "tier": self.tier,
        }

    @classmethod
    def from_fact(cls, name: str, fact: Mapping[str, Any]) -> PoolView:
        return cls(
            name,
            fact["id"],
            fact["arn"],
            fact["lambda_config"],
            fact["last_modified"],
            fact["digest"],
            fact.get("tier"),
        )


# PreTokenGeneration event versions V2_0 (access token customisation) and V3_0 (machine-to-machine)
# need the Essentials or Plus feature plan; a Lite pool refuses them (FeatureUnavailableInTierException).
# Cognito developer guide, "Pre token generation Lambda trigger" and "User pool feature plans".
ADVANCED_TOKEN_VERSIONS = frozenset({"V2_0", "V3_0"})
TIERS_WITH_ADVANCED_TOKENS = frozenset({"ESSENTIALS", "PLUS"})


def tier_problem(pt: PoolTrigger, view: PoolView) -> Problem | None:
    """A trigger the pool's feature plan cannot take, as a stack-file problem (None when it can)."""
    if pt.trigger != "PreTokenGeneration" or (pt.lambda_version or "V1_0") not in ADVANCED_TOKEN_VERSIONS:
        return None
    if view.tier is None or view.tier in TIERS_WITH_ADVANCED_TOKENS:
        return None
    return Problem(
        pt.origin.file,
        pt.origin.line,
        f"{pt.origin.field}.lambda_version",
        f"PreTokenGeneration {pt.lambda_version} needs the Essentials or Plus feature plan; pool {view.name} "
        f"({view.user_pool_id}) is on {view.tier}",
    )


def _plain(value: Any) -> Any:
    return json.loads(_canonical(value))


def pool_entries(lambda_config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """LambdaConfig → one normalised document per trigger key.

    PreTokenGeneration is read from PreTokenGenerationConfig when present (it
    carries the event version), else from the legacy key with V1_0; the
    structured triggers carry their version, and the sender triggers the
    pool's one KMSKeyID.
    """
    entries: dict[str, dict[str, Any]] = {}
    for trigger in sorted(catalog.COGNITO_TRIGGERS):
        if trigger == "PreTokenGeneration":
            config = lambda_config.get("PreTokenGenerationConfig") or {}
            arn = config.get("LambdaArn") or lambda_config.get(trigger)
            if arn:
                entries[trigger] = {"lambda_arn": arn, "lambda_version": config.get("LambdaVersion") or "V1_0"}
        elif trigger in STRUCTURED_TRIGGERS:
            config = lambda_config.get(trigger) or {}
            if isinstance(config, Mapping) and config.get("LambdaArn"):
                entries[trigger] = {
                    "lambda_arn": config["LambdaArn"],
                    "lambda_version": config.get("LambdaVersion") or "V1_0",
                }
                if trigger in SENDER_TRIGGERS:
                    entries[trigger]["kms_key_id"] = lambda_config.get("KMSKeyID")
        elif lambda_config.get(trigger):
            entries[trigger] = {"lambda_arn": lambda_config[trigger]}
    return entries


def merge_lambda_config(
    current: Mapping[str, Any], set_entries: Mapping[str, Mapping[str, Any]], remove: Iterable[str]
) -> dict[str, Any]:
    """``current`` with hookctl's entries set and removed; every other key kept as it was.

    ``set_entries`` maps a trigger to ``{"LambdaArn", "LambdaVersion"?, "KMSKeyID"?}``.
    PreTokenGeneration is written both ways (the legacy key and
    PreTokenGenerationConfig.LambdaArn must agree). KMSKeyID goes when the last
    sender trigger goes.
    """
    config = copy.deepcopy(dict(current))
    removed_sender = False
    for trigger in remove:
        config.pop(trigger, None)
        if trigger == "PreTokenGeneration":
            config.pop("PreTokenGenerationConfig", None)
        removed_sender = removed_sender or trigger in SENDER_TRIGGERS
    for trigger, entry in set_entries.items():
        arn = entry["LambdaArn"]
        if trigger == "PreTokenGeneration":
            config[trigger] = arn
            version = entry.get("LambdaVersion") or "V1_0"
            config["PreTokenGenerationConfig"] = {"LambdaArn": arn, "LambdaVersion": version}
        elif trigger in STRUCTURED_TRIGGERS:
            config[trigger] = {"LambdaArn": arn, "LambdaVersion": entry.get("LambdaVersion") or "V1_0"}
            if trigger in SENDER_TRIGGERS and entry.get("KMSKeyID"):
                config["KMSKeyID"] = entry["KMSKeyID"]
        else:
            config[trigger] = arn
    if removed_sender and not any(config.get(t) for t in SENDER_TRIGGERS):
        config.pop("KMSKeyID", None)
    return config


def update_request(pool: Mapping[str, Any], input_shape: Any) -> dict[str, Any]:
    """The UpdateUserPool request that re-sends ``pool`` (a DescribeUserPool result) unchanged.

    Keeps exactly the members of UpdateUserPool's input shape in botocore's
    model, recursively (so a field AWS adds to the API flows through without a
    hookctl release), maps the two renamed ones and drops the deprecated
    ``AdminCreateUserConfig.UnusedAccountValidityDays``.
    """
    request: dict[str, Any] = {}
    for name, member in input_shape.members.items():
        source = UPDATE_FIELD_SOURCES.get(name, name)
        if source in pool and pool[source] is not None:
            request[name] = _filtered(pool[source], member)
    for parent, child in DROPPED_ON_UPDATE:
        if isinstance(request.get(parent), dict):
            request[parent].pop(child, None)
    return request


def _filtered(value: Any, shape: Any) -> Any:
    kind = getattr(shape, "type_name", "")
    if kind == "structure" and isinstance(value, Mapping):
        return {k: _filtered(v, shape.members[k]) for k, v in value.items() if k in shape.members and v is not None}
    if kind == "list" and isinstance(value, list):
        return [_filtered(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, Mapping):
        return {k: _filtered(v, shape.value) for k, v in value.items()}
    return copy.deepcopy(value)


def settings_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Dotted paths of pool settings that differ, other than LambdaConfig (hookctl's to change)."""
    ignored = VOLATILE_POOL_FIELDS | {"LambdaConfig"}
    changed: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key in ignored:
            continue
        if key in VANISHING_ON_EMULATORS and key in before and key not in after:
            continue
        _compare(before.get(key, _ABSENT), after.get(key, _ABSENT), key, changed)
    dropped = {".".join(pair) for pair in DROPPED_ON_UPDATE}
    return [path for path in changed if path not in dropped]


_ABSENT = object()


def _compare(before: Any, after: Any, path: str, out: list[str]) -> None:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after)):
            _compare(before.get(key, _ABSENT), after.get(key, _ABSENT), f"{path}.{key}", out)
    elif _canonical(_absent_to_none(before)) != _canonical(_absent_to_none(after)) or (
        (before is _ABSENT) != (after is _ABSENT)
    ):
        out.append(path)


def _absent_to_none(value: Any) -> Any:
    return None if value is _ABSENT else value


def lambda_config_mismatches(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """LambdaConfig keys whose read-back value is not what was written."""
    paths: list[str] = []
    for key in sorted(set(actual) | set(expected)):
        if _canonical(actual.get(key)) != _canonical(expected.get(key)):
            paths.append(f"LambdaConfig.{key}")
    return paths


# -- functions ---------------------------------------------------------------------------


def secret_reference(ref: SecretRef, secret_arns: Mapping[str, str]) -> str:
    """The value of ``HOOKCTL_SECRET_<NAME>``: ``secretsmanager:<arn>[#key]`` or ``ssm:<name>``."""
    if ref.source == "secretsmanager":
        arn = secret_arns.get(ref.locator, ref.locator)
        return f"secretsmanager:{arn}" + (f"#{ref.key}" if ref.key else "")
    return f"ssm:{ref.locator}"


def referenced(fn: Function) -> list[SecretRef]:
    return [ref for ref in fn.secrets if ref.source in ("secretsmanager", "ssm")]


def valued(fn: Function) -> list[SecretRef]:
    return [ref for ref in fn.secrets if ref.source in ("env", "file")]


def check_environment(fn: Function) -> None:
    """Plain variables, secret values and secret references share one Lambda environment."""
    problems: list[Problem] = []
    where = fn.origin
    for key in fn.environment:
        if key.startswith(SECRET_ENV_PREFIX):
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    f"{where.field}.environment.{key}",
                    f"names starting with {SECRET_ENV_PREFIX} are hookctl's secret references",
                )
            )
    for ref in fn.secrets:
        if ref.name in fn.environment:
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    f"{where.field}.environment.{ref.name}",
                    f"{ref.name} is also declared as a secret",
                )
            )
    if problems:
        raise InputError(problems)


# Lambda quotas: "the total size of all environment variables doesn't exceed 4 KB", measured on the
# variables as JSON (the refusal quotes "String measured: {...}").
LAMBDA_ENVIRONMENT_LIMIT = 4 * 1024
ENVIRONMENT_HINT = (
    "Lambda's environment holds at most 4 KB in total. Declare large values as Secrets Manager or SSM "
    "secrets (passed by reference, read by the function at cold start) instead of env or file secrets."
)


def json_size(value: str) -> int:
    """Bytes ``value`` takes inside a JSON string (escapes included, quotes not)."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8")) - 2


def environment_problem(fn: Function, references: Mapping[str, str], secret_sizes: Mapping[str, int]) -> Problem | None:
    """Would the function's Environment.Variables exceed Lambda's 4 KB? (Sizes only; never values.)"""
    variables: dict[str, str] = dict(fn.environment)
    variables.update({f"{SECRET_ENV_PREFIX}{name}": ref for name, ref in references.items()})
    # A stand-in of the secret's size: the measure needs lengths, never the value.
    variables.update({name: "x" * size for name, size in secret_sizes.items()})
    total = len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if total <= LAMBDA_ENVIRONMENT_LIMIT:
        return None
    secrets = sum(size for size in secret_sizes.values())
    where = fn.origin
    return Problem(
        where.file,
        where.line,
        f"{where.field}.environment",
        f"the function's environment would be {total} bytes (secret values {secrets} of them); "
        f"Lambda accepts at most {LAMBDA_ENVIRONMENT_LIMIT} in total",
    )


def desired_function_doc(
    fn: Function, digest: str, role: str, secret_arns: Mapping[str, str], hashes: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "runtime": fn.runtime,
        "handler": fn.handler,
        "role": role,
        "timeout": fn.timeout,
        "memory": fn.memory,
        "architecture": DEFAULT_ARCHITECTURE,
        "description": fn.description,
        "code_digest": digest[:DIGEST_CHARS],
        "environment": dict(sorted(fn.environment.items())),
        "secret_refs": {ref.name: secret_reference(ref, secret_arns) for ref in sorted(referenced(fn), key=_by_name)},
        "secrets": {ref.name: hashes[ref.name] for ref in sorted(valued(fn), key=_by_name) if ref.name in hashes},
    }


def _by_name(ref: SecretRef) -> str:
    return ref.name


def live_function_doc(config: Mapping[str, Any], plain: Iterable[str], salt: str) -> dict[str, Any]:
    """A ListFunctions entry in the shape of ``desired_function_doc``.

    Environment variables are sorted into plain ones (declared as plain in the
    stack, or set as plain by hookctl according to the state), secret
    references, and everything else, which is hashed and shown only as
    ``(sensitive)``: a value hookctl cannot prove harmless is never displayed.
    """
    plain_names = set(plain)
    variables = (config.get("Environment") or {}).get("Variables") or {}
    environment: dict[str, str] = {}
    refs: dict[str, str] = {}
    hashed: dict[str, str] = {}
    for key, value in sorted(variables.items()):
        if key.startswith(SECRET_ENV_PREFIX):
            refs[key[len(SECRET_ENV_PREFIX) :]] = value
        elif key in plain_names:
            environment[key] = value
        else:
            hashed[key] = secret_hash(str(value), salt)
    description, digest = split_marker(config.get("Description"))
    architectures = config.get("Architectures") or [DEFAULT_ARCHITECTURE]
    doc: dict[str, Any] = {
        "runtime": config.get("Runtime"),
        "handler": config.get("Handler"),
        "role": config.get("Role"),
        "timeout": config.get("Timeout"),
        "memory": config.get("MemorySize"),
        "architecture": architectures[0],
        "description": description,
        "environment": environment,
        "secret_refs": refs,
        "secrets": hashed,
    }
    if digest is not None:
        doc["code_digest"] = digest
    return doc


def function_environment(fn: Function, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's ``Environment.Variables`` for a desired document: secret values as placeholders."""
    variables: dict[str, Any] = dict(doc["environment"])
    for name, reference in doc["secret_refs"].items():
        variables[f"{SECRET_ENV_PREFIX}{name}"] = reference
    for name, value_hash in doc["secrets"].items():
        variables[name] = SecretValue(address_function(fn.name), name, value_hash)
    return variables


# Which document fields each Lambda write carries.
CODE_FIELDS = frozenset({"architecture"})
CONFIG_FIELDS = frozenset(
    {
        "runtime",
        "handler",
        "role",
        "timeout",
        "memory",
        "description",
        "code_digest",
        "environment",
        "secret_refs",
        "secrets",
    }
)
ENVIRONMENT_FIELDS = frozenset({"environment", "secret_refs", "secrets"})


# -- permissions ------------------------------------------------------------------------


def cognito_statements(policy: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The Cognito invoke grants of a function policy, normalised: sid, source_arn, source_account."""
    found: list[dict[str, Any]] = []
    for statement in (policy or {}).get("Statement") or []:
        principal = statement.get("Principal")
        service = principal.get("Service") if isinstance(principal, Mapping) else principal
        services = service if isinstance(service, list) else [service]
        actions = statement.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("Effect") != "Allow" or COGNITO_PRINCIPAL not in services:
            continue
        if INVOKE_ACTION not in actions and "lambda:*" not in actions:
            continue
        condition = statement.get("Condition") or {}
        source_arn = _condition(condition, "AWS:SourceArn", ("ArnLike", "ArnEquals", "StringEquals", "StringLike"))
        source_account = _condition(condition, "AWS:SourceAccount", ("StringEquals", "StringLike"))
        found.append({"sid": statement.get("Sid"), "source_arn": source_arn, "source_account": source_account})
    return found


def _condition(condition: Mapping[str, Any], key: str, operators: tuple[str, ...]) -> str | None:
    for operator in operators:
        block = condition.get(operator) or {}
        for name, value in block.items():
            if name.lower() == key.lower():
                return str(value[0] if isinstance(value, list) else value)
    return None


def permission_doc(source_arn: str | None, source_account: str | None) -> dict[str, Any]:
    return {
        "principal": COGNITO_PRINCIPAL,
        "action": INVOKE_ACTION,
        "source_arn": source_arn,
        "source_account": source_account,
    }


# -- roles ------------------------------------------------------------------------------


def secret_resource_arns(
    fn: Function,
    secret_arns: Mapping[str, str],
    partition: str,
    region: str,
    account: str,
    secret_keys: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """What the function's role may do on what: read its secrets, and decrypt with the customer-managed
    keys they are encrypted under (``secret_keys``: locator -> key ARN) and with the key Cognito
    encrypts a sender trigger's codes with (``kms_key_id``)."""
    access: dict[str, set[str]] = {}
    keys = secret_keys or {}
    for ref in referenced(fn):
        if ref.locator in keys:
            access.setdefault(KMS_DECRYPT, set()).add(keys[ref.locator])
        if ref.source == "secretsmanager":
            access.setdefault(SECRETSMANAGER_READ, set()).add(secret_arns.get(ref.locator, ref.locator))
        else:
            if ref.locator.startswith("arn:"):
                arn = ref.locator
            else:
                name = ref.locator if ref.locator.startswith("/") else f"/{ref.locator}"
                arn = f"arn:{partition}:ssm:{region}:{account}:parameter{name}"
            access.setdefault(SSM_READ, set()).add(arn)
    for pt in fn.triggers:
        if pt.trigger in SENDER_TRIGGERS and pt.kms_key_id:
            access.setdefault(KMS_DECRYPT, set()).add(pt.kms_key_id)
    return {action: sorted(arns) for action, arns in sorted(access.items())}


def desired_role_doc(partition: str, access: Mapping[str, list[str]]) -> dict[str, Any]:
    return {
        "trust": [LAMBDA_PRINCIPAL],
        "managed_policies": [basic_execution_policy(partition)],
        "secret_access": dict(access),
    }


def trust_policy(services: list[str]) -> dict[str, Any]:
    """The role's trust policy document: ``services`` may assume it."""
    principal: Any = services[0] if len(services) == 1 else list(services)
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
    }


def secrets_policy(access: Mapping[str, list[str]]) -> dict[str, Any] | None:
    """The role's inline policy: read exactly the declared secrets, decrypt with exactly the keys they and
    the sender triggers need; None when there is nothing to grant."""
    statements = [
        {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": list(access[action])}
        for sid, action in (
            ("ReadSecretsManagerSecrets", SECRETSMANAGER_READ),
            ("ReadSsmParameters", SSM_READ),
            ("DecryptWithKmsKeys", KMS_DECRYPT),
        )
        if access.get(action)
    ]
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def live_role_doc(role: Mapping[str, Any], attached: Iterable[str], inline: Mapping[str, Any] | None) -> dict[str, Any]:
    trust: set[str] = set()
    for statement in _statements(role.get("AssumeRolePolicyDocument")):
        actions = _as_list(statement.get("Action"))
        principal = statement.get("Principal")
        if statement.get("Effect") == "Allow" and "sts:AssumeRole" in actions and isinstance(principal, Mapping):
            trust.update(str(s) for s in _as_list(principal.get("Service")))
    access: dict[str, set[str]] = {}
    for statement in _statements(inline):
        if statement.get("Effect") != "Allow":
            continue
        for action in _as_list(statement.get("Action")):
            if action in (SECRETSMANAGER_READ, SSM_READ, KMS_DECRYPT):
                access.setdefault(str(action), set()).update(str(r) for r in _as_list(statement.get("Resource")))
    return {
        "trust": sorted(trust),
        "managed_policies": sorted(attached),
        "secret_access": {action: sorted(arns) for action, arns in sorted(access.items())},
    }


def _statements(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
