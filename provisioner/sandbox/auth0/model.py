"""The emulated tenant's records, its trigger catalogue and the API's error shape.
Sandbox: the Auth0 emulator's data model.

Plain data shared by the store, the response shapes and the server: ``ApiError``
(Auth0's ``{statusCode, error, message, errorCode}``), ``TriggerSpec`` and the
catalogue a real tenant lists (``DEFAULT_TRIGGERS``), and the records the tenant
keeps (actions, versions, bindings, write-only secrets).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

JsonDict = dict[str, Any]


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# errorCode values. Verified against real responses:
#   invalid_body      - node-auth0 issue #740 (PATCH bindings with a bad body)
#   too_many_requests - terraform-provider-auth0 recording TestAccAction.yaml (429)
# INFERRED (no public source found; Auth0 uses the same naming scheme elsewhere):
#   invalid_query_string, missing_authentication, invalid_token, token_expired,
#   inexistent_action, inexistent_action_version, inexistent_trigger,
#   action_conflict, action_bound, entity_limit_exceeded, action_not_built,
#   action_not_deployed, incompatible_trigger, entity_bound_trigger, internal_error
E_INVALID_BODY = "invalid_body"
E_INVALID_QUERY = "invalid_query_string"
E_TOO_MANY = "too_many_requests"


class ApiError(Exception):
    """An error answered in Auth0's shape ``{statusCode, error, message, errorCode}``."""

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code

    def body(self) -> JsonDict:
        out: JsonDict = {
            "statusCode": self.status,
            "error": _REASONS.get(self.status, "Error"),
            "message": self.message,
        }
        if self.error_code:
            out["errorCode"] = self.error_code
        return out


def _bad_body(message: str) -> ApiError:
    # Message prefix as in node-auth0 #740: "Payload validation error: ...".
    return ApiError(400, f"Payload validation error: {message}", E_INVALID_BODY)


# --------------------------------------------------------------------------------------
# Trigger catalogue
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerSpec:
    """One entry of ``GET /actions/triggers`` (SDK type ``ActionTrigger``)."""

    id: str
    version: str
    status: str
    runtimes: tuple[str, ...]
    default_runtime: str
    compatible_triggers: tuple[tuple[str, str], ...] = ()
    binding_policy: Literal["trigger-bound", "entity-bound"] = "trigger-bound"

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "runtimes": list(self.runtimes),
            "default_runtime": self.default_runtime,
            "compatible_triggers": [{"id": i, "version": v} for i, v in self.compatible_triggers],
            "binding_policy": self.binding_policy,
        }


# The catalogue as a real tenant lists it (auth0-deploy-cli test/e2e/recordings/
# should-deploy-without-deleting-resources-if-AUTH0_ALLOW_DELETE-is-false.json, 2026, interaction
# 254; excerpt in tests/sandbox/contract/recordings/deploy-cli-create-deploy-triggers.json): one entry per
# version, deprecated versions still listed with runtimes ["node22"] (post-login v2: node18 and
# node22) and their old default runtime, the current versions with node18-actions and node22
# (default node22), and four entity-bound triggers (custom-token-exchange with the bare "node18",
# event-stream, password-hash-migration, mcp-tool).
_CURRENT_RUNTIMES = ("node18-actions", "node22")


def _current(trigger_id: str, version: str, *compatible: tuple[str, str]) -> TriggerSpec:
    return TriggerSpec(trigger_id, version, "CURRENT", _CURRENT_RUNTIMES, "node22", compatible)


def _deprecated(trigger_id: str, version: str, runtimes: tuple[str, ...] = ("node22",)) -> TriggerSpec:
    return TriggerSpec(trigger_id, version, "DEPRECATED", runtimes, "node16" if version == "v2" else "node12")


def _entity_bound(trigger_id: str, runtimes: tuple[str, ...] = ("node22",)) -> TriggerSpec:
    return TriggerSpec(trigger_id, "v1", "CURRENT", runtimes, "node22", binding_policy="entity-bound")


DEFAULT_TRIGGERS: tuple[TriggerSpec, ...] = (
    _current("post-login", "v3", ("post-login", "v2")),
    _deprecated("post-login", "v2", ("node18", "node22")),
    _deprecated("post-login", "v1"),
    _deprecated("credentials-exchange", "v1"),
    _current("credentials-exchange", "v2"),
    _current("pre-user-registration", "v2"),
    _deprecated("pre-user-registration", "v1"),
    _current("post-user-registration", "v2"),
    _deprecated("post-user-registration", "v1"),
    _deprecated("post-change-password", "v1"),
    _current("post-change-password", "v2"),
    _current("send-phone-message", "v2"),
    _deprecated("send-phone-message", "v1"),
    _current("password-reset-post-challenge", "v1"),
    _current("custom-phone-provider", "v1"),
    _current("custom-email-provider", "v1"),
    _entity_bound("custom-token-exchange", ("node18", "node22")),
    _entity_bound("event-stream"),
    _entity_bound("password-hash-migration"),
    _entity_bound("mcp-tool"),
)


# --------------------------------------------------------------------------------------


def _ts(epoch: float) -> str:
    """RFC 3339 UTC timestamp like the API's ``2022-08-30T08:56:02.558313Z``."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class SecretRecord:
    name: str
    value: str
    updated_at: float

    def public(self) -> JsonDict:
        # Write-only: GET never returns the value (SDK ActionSecretResponse has only
        # name and updated_at).
        return {"name": self.name, "updated_at": _ts(self.updated_at)}


@dataclass
class VersionRecord:
    id: str
    number: int
    code: str
    runtime: str
    dependencies: list[JsonDict]
    secrets: list[SecretRecord]
    supported_trigger: JsonDict
    draft_revision: int
    created_at: float
    build_started_at: float
    build_ready_at: float
    build_outcome: Literal["built", "failed"]
    errors: list[JsonDict] = field(default_factory=list)


@dataclass
class ActionRecord:
    id: str
    name: str
    supported_trigger: JsonDict  # {"id": ..., "version": ...}
    code: str
    runtime: str
    dependencies: list[JsonDict]
    secrets: list[SecretRecord]
    created_at: float
    updated_at: float
    build_started_at: float
    build_ready_at: float
    build_outcome: Literal["built", "failed"]
    build_errors: list[JsonDict] = field(default_factory=list)
    draft_revision: int = 1
    versions: list[VersionRecord] = field(default_factory=list)
    deployed_version_id: str | None = None
    pending_version_id: str | None = None
    pending_effective_at: float | None = None
    installed_integration_id: str | None = None
    modules: list[JsonDict] = field(default_factory=list)

    def version(self, version_id: str) -> VersionRecord | None:
        return next((v for v in self.versions if v.id == version_id), None)


@dataclass
class BindingRecord:
    id: str
    trigger_id: str
    action_id: str
    display_name: str
    created_at: float
    updated_at: float
    secret_names: list[str] = field(default_factory=list)
