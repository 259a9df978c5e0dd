"""An in-process emulator of the Auth0 Management API (the Actions part) on loopback.

Auth0 has no local edition, so hookctl's tests and its local sandbox talk to
this server instead. It is a real HTTPS server on ``127.0.0.1`` (and nothing
else), built from the standard library (``http.server`` + ``ssl``) with a
throwaway certificate authority from :mod:`provisioner.sandbox.tls`, so the
unmodified ``auth0-python`` client (``auth0.management.ManagementClient``) can
be pointed at it with ``domain="127.0.0.1:PORT"``.

What it emulates, and where each behaviour comes from:

* ``POST /oauth/token`` (client-credentials grant, form or JSON body) and a
  bearer token on every ``/api/v2`` call.
* ``/api/v2/actions/...``: triggers, actions (CRUD, paginated list with the
  SDK's filters), drafts that build asynchronously (pending -> building ->
  built | failed), deploy creating numbered immutable versions, version list /
  get / roll-back, trigger bindings replaced whole by ``PATCH``, write-only
  secrets, the documented entity limits, ``x-ratelimit-*`` headers and 429s.
* Test hooks: per-request latency, deterministic fault injection (status
  codes, dropped connections, delays), request counters, and direct access to
  the tenant data for set-up ("someone edited this action in the dashboard").
* Persistence: the tenant (and the client credentials and issued tokens) is
  saved as JSON so a stopped sandbox comes back as it was.

Response shapes follow the SDK's types (``auth0/management/types``) and, where
the SDK is silent, real responses recorded by the Terraform provider's test
suite (``auth0/terraform-provider-auth0``, ``test/data/recordings/*.yaml``);
the comment beside each behaviour names its source. Behaviour that no source
settles is marked ``INFERRED``.

Trusting the CA: httpx 0.28 (what the SDK uses) reads ``SSL_CERT_FILE`` when an
``httpx.Client`` is constructed and then trusts *only* that file. The SDK builds
its API client in ``ManagementClient.__init__`` and a fresh ``httpx.Client()``
for every client-credentials token fetch (``token_provider.py``), ignoring any
``httpx_client=`` passed in. So: set ``SSL_CERT_FILE=<emulator.ca_file>`` before
constructing the client (needed for client_id/client_secret), or pass
``token=emulator.issue_token()`` together with
``httpx_client=httpx.Client(verify=emulator.client_ssl_context())``.

Run it by hand with ``python -m provisioner.sandbox.auth0.server --help``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import random
import re
import secrets as secrets_module
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import parse_qs, unquote, urlsplit

from provisioner.sandbox.tls import TLSMaterial, ensure_tls_material

__all__ = [
    "DEFAULT_TRIGGERS",
    "ActionRecord",
    "ApiError",
    "Auth0Emulator",
    "BindingRecord",
    "EmulatorConfig",
    "FaultRule",
    "SecretRecord",
    "Tenant",
    "TriggerSpec",
    "VersionRecord",
    "main",
]

STATE_FILE = "tenant.json"
_STATE_FORMAT = 1

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
# 254; excerpt in tests/contract/recordings/deploy-cli-create-deploy-triggers.json): one entry per
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
# Configuration
# --------------------------------------------------------------------------------------

FaultKind = Literal["status", "drop", "delay"]


@dataclass
class FaultRule:
    """Make chosen requests fail. Deterministic for a given ``EmulatorConfig.seed``.

    A request matches when ``method`` (None = any) equals its method and ``path``
    (a regular expression, None = any) fully matches either its path template
    (``/api/v2/actions/actions/{id}``) or its concrete path. Among matching
    requests, one is faulted when *all* given selectors agree: it is one of the
    ``first_n`` matches, its match number is a multiple of ``every_nth``, and a
    seeded draw is below ``probability``. ``max_injections`` caps the total.

    Kinds: ``status`` answers ``status`` (e.g. 500, 503) in Auth0's error shape;
    ``drop`` closes the connection without an answer; ``delay`` sleeps
    ``delay_seconds`` and then answers normally (to push a client past its
    timeout).
    """

    kind: FaultKind = "status"
    method: str | None = None
    path: str | None = None
    status: int = 503
    first_n: int | None = None
    every_nth: int | None = None
    probability: float | None = None
    max_injections: int | None = None
    delay_seconds: float = 0.0
    matched: int = field(default=0, init=False)
    injected: int = field(default=0, init=False)

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path is None:
            return True
        pattern = re.compile(self.path)
        return bool(pattern.fullmatch(template) or pattern.fullmatch(path))


@dataclass
class EmulatorConfig:
    """Knobs of the emulator. The defaults describe a quiet, fast tenant."""

    port: int = 0
    client_id: str = "sandbox-client"
    client_secret: str | None = None  # None: reuse the persisted one or make a random one
    token_ttl_seconds: int = 86400
    # Token bucket over every /api/v2 call; None disables rate limiting.
    rate_limit_per_second: float | None = None
    rate_limit_burst: int | None = None  # bucket size; default = ceil(rate)
    latency_seconds: float = 0.0  # added before answering every request
    build_seconds: float = 0.0  # 0: a draft is built (or failed) by the next read
    # Another client of the same tenant (a pipeline, a script, the dashboard) spending this many
    # requests a second of the rate limit: the budget is the tenant's, not hookctl's (issue 12j).
    competing_requests_per_second: float = 0.0
    deploy_settle_seconds: float = 0.0  # window before a deploy becomes deployed_version
    # Auth0's build installs dependencies; it does not parse the code. terraform-provider-auth0's
    # TestAccAction.yaml (2026) PATCHes code ending in `};"` (an unterminated string literal) and the
    # build answers "built" and deploys as version 2. So parse-checking is off by default; the
    # other modes fail such a build, for tests that want a build failure from code.
    syntax_check: Literal["auto", "node", "brackets", "off"] = "off"
    # Dependencies npm cannot resolve ("name@version"): a draft that needs one fails to build. The
    # default is the recorded failed build, TestAccAction_FailedBuild.yaml (terraform-provider-auth0
    # 0b89b3c6, 2023): dependency crypto@17.7.1 (npm's crypto package ends at 1.0.1) -> "failed".
    unresolvable_dependencies: frozenset[str] = frozenset({"crypto@17.7.1"})
    # Whether a PATCH that does not send `secrets` re-stamps the existing secrets' updated_at.
    # No documentation or recording settles it (every recorded PATCH sends secrets), so both
    # behaviours are offered; the default is the one that would make a careless client report a
    # false "rotated outside" after its own code-only update.
    restamp_secrets_on_patch: bool = True
    faults: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    # Entity limits: https://auth0.com/docs/customize/actions/limitations
    max_actions: int = 100
    max_bindings_per_trigger: int = 20
    max_versions_per_action: int = 50
    # The docs say that past 50 versions "the oldest version [is] deleted"; "reject"
    # refuses the 51st deploy instead.
    version_overflow: Literal["prune", "reject"] = "prune"
    max_secrets: int = 30
    max_dependencies: int = 10
    max_code_bytes: int = 100 * 1024
    max_secret_name: int = 128
    max_secret_value: int = 4096
    max_per_page: int = 100
    triggers: tuple[TriggerSpec, ...] = DEFAULT_TRIGGERS
    clock: Callable[[], float] = time.time  # drives builds and deploy windows
    verbose: bool = False


# --------------------------------------------------------------------------------------
# Tenant data
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


def _build_status(started: float, ready: float, outcome: str, now: float) -> str:
    """pending for the first third of the build, building until ready, then outcome."""
    if now >= ready:
        return outcome
    if now < started + (ready - started) / 3:
        return "pending"
    return "building"


# --------------------------------------------------------------------------------------
# Code checks ("does it parse?")
# --------------------------------------------------------------------------------------


class SyntaxChecker:
    """Decides whether action code would build.

    ``node --check`` (when node is on PATH) parses the code as a CommonJS script,
    which is what an Action is; results are cached by code hash. Without node, a
    bracket-balance scan that skips strings, template literals and comments is
    the fallback (regular-expression literals are not understood, so ``/\\(/``
    would be a false failure).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._node = shutil.which("node") if mode in ("auto", "node") else None
        if mode == "node" and self._node is None:
            raise RuntimeError("syntax_check='node' but node is not on PATH")
        self._cache: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._dir: Path | None = None

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def check(self, code: str) -> list[str]:
        """Return human-readable problems; an empty list means the code parses."""
        if self.mode == "off":
            return []
        digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None:
            return list(cached)
        problems = self._node_check(code, digest) if self._node else None
        if problems is None:
            problems = _bracket_check(code)
        with self._lock:
            self._cache[digest] = problems
        return list(problems)

    def _node_check(self, code: str, digest: str) -> list[str] | None:
        assert self._node is not None
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="auth0-emu-check-"))
            folder = self._dir
        # One file per check, not per digest: two requests carrying the same code (a
        # create retried while its first attempt is still being handled) are checked
        # concurrently, and a shared path let one check delete the other's file, so
        # node reported "Cannot find module" and the build was marked failed.
        handle, name = tempfile.mkstemp(prefix=digest[:16], suffix=".js", dir=folder)
        path = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(code)
        try:
            proc = subprocess.run(
                [self._node, "--check", str(path)],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        finally:
            path.unlink(missing_ok=True)
        if proc.returncode == 0:
            return []
        lines = proc.stderr.splitlines()
        message = next((ln for ln in lines if re.match(r"^\w*Error\b", ln)), None)
        if message is None:
            return None  # node failed for another reason: fall back
        where = re.search(r":(\d+)$", lines[0]) if lines else None
        if where:
            message = f"{message} (line {where.group(1)})"
        return [message]


def _bracket_check(code: str) -> list[str]:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    i, line, n = 0, 1, len(code)
    while i < n:
        ch = code[i]
        if ch == "\n":
            line += 1
        elif ch in "'\"`":
            quote, i = ch, i + 1
            while i < n and code[i] != quote:
                if code[i] == "\\":
                    i += 1
                elif code[i] == "\n":
                    if quote != "`":
                        return [f"SyntaxError: Invalid or unexpected token (line {line})"]
                    line += 1
                i += 1
            if i >= n:
                return [f"SyntaxError: Unterminated string literal (line {line})"]
        elif code.startswith("//", i):
            while i < n and code[i] != "\n":
                i += 1
            continue
        elif code.startswith("/*", i):
            end = code.find("*/", i + 2)
            if end < 0:
                return [f"SyntaxError: Unterminated comment (line {line})"]
            line += code.count("\n", i, end)
            i = end + 2
            continue
        elif ch in "([{":
            stack.append((ch, line))
        elif ch in ")]}":
            if not stack or stack[-1][0] != pairs[ch]:
                return [f"SyntaxError: Unexpected token '{ch}' (line {line})"]
            stack.pop()
        i += 1
    if stack:
        return [f"SyntaxError: Unexpected end of input (opened line {stack[-1][1]})"]
    return []


# --------------------------------------------------------------------------------------
# The tenant: all state and all business rules (HTTP-independent)
# --------------------------------------------------------------------------------------


class Tenant:
    """Actions, versions and bindings of one emulated tenant.

    Every public method takes ``self.lock``; tests may call them directly to set
    up or inspect state ("edited outside hookctl", "unmanaged binding", "secret
    rotated in the dashboard"). The HTTP layer calls the same methods.
    """

    def __init__(self, config: EmulatorConfig, checker: SyntaxChecker | None = None) -> None:
        self.config = config
        self.checker = checker or SyntaxChecker(config.syntax_check)
        self.lock = threading.RLock()
        self.actions: dict[str, ActionRecord] = {}
        self.bindings: dict[str, list[BindingRecord]] = {}
        self.client_id = config.client_id
        self.client_secret = config.client_secret or secrets_module.token_urlsafe(32)
        self.signing_key = secrets_module.token_urlsafe(32)
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        # The trigger catalogue, as GET /actions/triggers lists it; promote_trigger() adds versions.
        self.triggers: list[TriggerSpec] = list(config.triggers)

    # ---- time -------------------------------------------------------------------

    def now(self) -> float:
        return self.config.clock()

    # ---- lookups ----------------------------------------------------------------

    def trigger_specs(self, trigger_id: str) -> list[TriggerSpec]:
        with self.lock:
            return [t for t in self.triggers if t.id == trigger_id]

    def trigger_spec(self, trigger_id: str, version: str) -> TriggerSpec | None:
        return next((t for t in self.trigger_specs(trigger_id) if t.version == version), None)

    def get_action(self, action_id: str) -> ActionRecord:
        with self.lock:
            action = self.actions.get(action_id)
            if action is None:
                # INFERRED message and code; 404 itself is in the SDK (NotFoundError).
                raise ApiError(404, "The action does not exist.", "inexistent_action")
            self._settle(action)
            return action

    def find_action(self, name: str) -> ActionRecord | None:
        with self.lock:
            action = next((a for a in self.actions.values() if a.name == name), None)
            if action is not None:
                self._settle(action)
            return action

    def action_status(self, action: ActionRecord) -> str:
        return _build_status(action.build_started_at, action.build_ready_at, action.build_outcome, self.now())

    def version_status(self, version: VersionRecord) -> str:
        return _build_status(version.build_started_at, version.build_ready_at, version.build_outcome, self.now())

    def deployed_version(self, action: ActionRecord) -> VersionRecord | None:
        self._settle(action)
        return action.version(action.deployed_version_id) if action.deployed_version_id else None

    def bound_triggers(self, action_id: str) -> list[str]:
        with self.lock:
            return [t for t, lst in self.bindings.items() if any(b.action_id == action_id for b in lst)]

    # ---- validation helpers -------------------------------------------------------

    def _validate_trigger(self, value: Any) -> tuple[JsonDict, TriggerSpec]:
        if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
            # SDK docstring: "an action can only target a single trigger at a time".
            raise _bad_body("'supported_triggers' must contain exactly one trigger.")
        entry = value[0]
        trigger_id, version = entry.get("id"), entry.get("version")
        if not isinstance(trigger_id, str) or not isinstance(version, str):
            raise _bad_body("'supported_triggers[0]' needs string 'id' and 'version'.")
        spec = self.trigger_spec(trigger_id, version)
        if spec is None:
            raise _bad_body(f"trigger '{trigger_id}' version '{version}' does not exist.")
        return {"id": trigger_id, "version": version}, spec

    def _validate_runtime(self, runtime: Any, spec: TriggerSpec) -> str:
        if runtime is None:
            return spec.default_runtime
        if not isinstance(runtime, str) or runtime not in spec.runtimes:
            # INFERRED message: the API rejects runtimes a trigger version does not list.
            raise _bad_body(
                f"runtime '{runtime}' is not supported by trigger '{spec.id}' {spec.version}; "
                f"supported: {', '.join(spec.runtimes)}."
            )
        return runtime

    def _validate_code(self, code: Any) -> str:
        if code is None:
            return ""
        if not isinstance(code, str):
            raise _bad_body("'code' must be a string.")
        if len(code.encode("utf-8")) > self.config.max_code_bytes:
            # Limit from https://auth0.com/docs/customize/actions/limitations; message INFERRED.
            raise _bad_body(f"'code' exceeds the maximum size of {self.config.max_code_bytes} bytes.")
        return code

    def _validate_dependencies(self, deps: Any) -> list[JsonDict]:
        if deps is None:
            return []
        if not isinstance(deps, list):
            raise _bad_body("'dependencies' must be an array.")
        if len(deps) > self.config.max_dependencies:
            raise _bad_body(f"an action may have at most {self.config.max_dependencies} dependencies.")
        out: list[JsonDict] = []
        for i, dep in enumerate(deps):
            if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
                raise _bad_body(f"'dependencies[{i}]' needs a string 'name'.")
            item: JsonDict = {"name": dep["name"], "version": str(dep.get("version") or "latest")}
            if dep.get("registry_url"):
                item["registry_url"] = str(dep["registry_url"])
            out.append(item)
        return out

    def _validate_secrets(self, value: Any, previous: Sequence[SecretRecord], now: float) -> list[SecretRecord]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _bad_body("'secrets' must be an array.")
        if len(value) > self.config.max_secrets:
            raise _bad_body(f"an action may have at most {self.config.max_secrets} secrets.")
        old = {s.name: s for s in previous}
        out: list[SecretRecord] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise _bad_body(f"'secrets[{i}]' needs a string 'name'.")
            name = item["name"]
            if not name or len(name) > self.config.max_secret_name:
                raise _bad_body(f"secret names are 1..{self.config.max_secret_name} characters.")
            secret_value = item.get("value")
            if secret_value is None:
                # INFERRED: a secret re-sent by name only keeps its stored value and
                # timestamp (SDK ActionSecretRequest: "A secret's value can only be set
                # upon creation"); a new one without a value is stored empty.
                kept = old.get(name)
                out.append(copy.copy(kept) if kept else SecretRecord(name, "", now))
                continue
            if not isinstance(secret_value, str) or len(secret_value) > self.config.max_secret_value:
                raise _bad_body(f"secret values are strings of at most {self.config.max_secret_value} characters.")
            # Every secret sent with a value is stamped with the write time, as in
            # recordings TestAccAction.yaml (id 6) and TestAccActionWithSecretsWO.yaml
            # (id 5), where updated_at == the action's new updated_at. Whether an
            # unchanged value keeps its old timestamp is not shown by any source; this
            # emulator re-stamps it (the safe assumption for drift detection).
            out.append(SecretRecord(name, secret_value, now))
        if len({s.name for s in out}) != len(out):
            raise _bad_body("secret names must be unique.")
        return out

    def _check_name(self, name: Any, *, exclude: str | None = None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise _bad_body("'name' is required and must be a non-empty string.")
        for other in self.actions.values():
            if other.name == name and other.id != exclude:
                # 409 per the task brief; message INFERRED.
                raise ApiError(409, f"An action with the name '{name}' already exists.", "action_conflict")
        return name

    # ---- builds -----------------------------------------------------------------

    def _start_build(self, action: ActionRecord, now: float) -> None:
        # INFERRED message: npm's own for a version that does not exist (error ETARGET); the API
        # gives no build log for a draft (the recording's failed draft carries no errors at all).
        problems = [
            f"No matching version found for {d['name']}@{d['version']}."
            for d in action.dependencies
            if f"{d['name']}@{d['version']}" in self.config.unresolvable_dependencies
        ]
        problems += self.checker.check(action.code)
        action.build_started_at = now
        action.build_ready_at = now + max(0.0, self.config.build_seconds)
        action.build_outcome = "failed" if problems else "built"
        action.build_errors = [{"id": "build_failed", "msg": p} for p in problems]

    def _settle(self, action: ActionRecord) -> None:
        """Promote a deploy to ``deployed_version`` once its settle window has passed."""
        if (
            action.pending_version_id is not None
            and action.pending_effective_at is not None
            and self.now() >= action.pending_effective_at
        ):
            action.deployed_version_id = action.pending_version_id
            action.pending_version_id = None
            action.pending_effective_at = None

    # ---- actions ----------------------------------------------------------------

    def create_action(self, body: Mapping[str, Any]) -> ActionRecord:
        with self.lock:
            now = self.now()
            trigger, spec = self._validate_trigger(body.get("supported_triggers"))
            if not isinstance(body.get("name"), str) or not body["name"].strip():
                raise _bad_body("'name' is required and must be a non-empty string.")
            code = self._validate_code(body.get("code"))
            runtime = self._validate_runtime(body.get("runtime"), spec)
            deps = self._validate_dependencies(body.get("dependencies"))
            secret_list = self._validate_secrets(body.get("secrets"), (), now)
            if len(self.actions) >= self.config.max_actions:
                # Limit: "Each tenant may have a maximum of 100 Actions"
                # (https://auth0.com/docs/customize/actions/limitations). INFERRED: 403.
                raise ApiError(
                    403,
                    f"You have reached the maximum number of actions ({self.config.max_actions}) for this tenant.",
                    "entity_limit_exceeded",
                )
            name = self._check_name(body["name"])
            action = ActionRecord(
                id=str(uuid.uuid4()),
                name=name,
                supported_trigger=trigger,
                code=code,
                runtime=runtime,
                dependencies=deps,
                secrets=secret_list,
                created_at=now,
                updated_at=now,
                build_started_at=now,
                build_ready_at=now,
                build_outcome="built",
                modules=list(body.get("modules") or []),
            )
            self._start_build(action, now)
            self.actions[action.id] = action
            if body.get("deploy") is True:
                # SDK create(deploy=True): "True if the action should be deployed after
                # creation". The version follows the draft's build, so a failed build
                # shows as deployed_version.status == "failed" with errors.
                self._new_version(action, now=now, follow_build=True)
            return action

    def update_action(self, action_id: str, body: Mapping[str, Any]) -> ActionRecord:
        with self.lock:
            action = self.get_action(action_id)
            now = self.now()
            trigger, spec = (
                action.supported_trigger,
                self.trigger_spec(action.supported_trigger["id"], action.supported_trigger["version"]),
            )
            if "supported_triggers" in body and body["supported_triggers"] is not None:
                trigger, spec = self._validate_trigger(body["supported_triggers"])
                if trigger["id"] != action.supported_trigger["id"] and self.bound_triggers(action.id):
                    # auth0-cli issue #462: "400 Bad Request: can't upgrade to this trigger."
                    raise ApiError(400, "can't upgrade to this trigger.", "incompatible_trigger")
            assert spec is not None
            name = action.name
            if "name" in body and body["name"] is not None:
                name = self._check_name(body["name"], exclude=action.id)
            code = self._validate_code(body["code"]) if body.get("code") is not None else action.code
            runtime = action.runtime
            if body.get("runtime") is not None or trigger != action.supported_trigger:
                runtime = self._validate_runtime(body.get("runtime") or action.runtime, spec)
            deps = (
                self._validate_dependencies(body["dependencies"])
                if body.get("dependencies") is not None
                else action.dependencies
            )
            # "Sending secrets replaces the whole list" (DESIGN.md); omitted = kept, and re-stamped
            # or not as configured (INFERRED either way: restamp_secrets_on_patch).
            if body.get("secrets") is not None:
                secret_list = self._validate_secrets(body["secrets"], action.secrets, now)
            else:
                secret_list = action.secrets
                if self.config.restamp_secrets_on_patch:
                    for secret in secret_list:
                        secret.updated_at = now
            action.name, action.supported_trigger, action.code = name, trigger, code
            action.runtime, action.dependencies, action.secrets = runtime, deps, secret_list
            if body.get("modules") is not None:
                action.modules = list(body["modules"])
            action.updated_at = now
            action.draft_revision += 1
            # Every PATCH restarts the draft build, even one that only changes secrets
            # (TestAccActionWithSecretsWO.yaml id 5: status "pending" after a
            # secrets-only PATCH).
            self._start_build(action, now)
            return action

    def delete_action(self, action_id: str, *, force: bool = False) -> None:
        with self.lock:
            action = self.get_action(action_id)
            bound = self.bound_triggers(action.id)
            if bound and not force:
                # terraform-provider-auth0 #64 / #1550:
                # "409 Conflict: Unable to delete an action bound to a trigger."
                raise ApiError(409, "Unable to delete an action bound to a trigger.", "action_bound")
            for trigger_id in bound:
                # SDK delete(force=...): "Force action deletion detaching bindings".
                self.bindings[trigger_id] = [b for b in self.bindings[trigger_id] if b.action_id != action.id]
            del self.actions[action.id]

    def list_actions(
        self,
        *,
        trigger_id: str | None = None,
        action_name: str | None = None,
        deployed: bool | None = None,
        installed: bool | None = None,
    ) -> list[ActionRecord]:
        with self.lock:
            out = []
            for action in self.actions.values():
                self._settle(action)
                if trigger_id is not None and action.supported_trigger["id"] != trigger_id:
                    continue
                if action_name is not None and action.name != action_name:
                    continue
                if deployed is not None and (action.deployed_version_id is not None) != deployed:
                    continue
                if installed is not None and (action.installed_integration_id is not None) != installed:
                    continue
                out.append(action)
            return out

    # ---- versions ---------------------------------------------------------------

    def _new_version(
        self,
        action: ActionRecord,
        *,
        now: float,
        source: VersionRecord | None = None,
        follow_build: bool = False,
    ) -> VersionRecord:
        limit = self.config.max_versions_per_action
        if len(action.versions) >= limit:
            if self.config.version_overflow == "reject":
                raise ApiError(
                    400,
                    f"An action may have at most {limit} versions.",
                    "entity_limit_exceeded",
                )
            # https://auth0.com/docs/customize/actions/limitations: "Once the limit is
            # reached, every additional version that is added will result in the oldest
            # version being deleted." The live deployed version is never the one pruned.
            keep = {action.deployed_version_id, action.pending_version_id}
            victim = next((v for v in action.versions if v.id not in keep), None)
            if victim is not None:
                action.versions.remove(victim)
        number = max((v.number for v in action.versions), default=0) + 1
        # A rollback copies an old version, already built; a deploy snapshots the draft and its build.
        base = source if source is not None else action
        follow = follow_build and source is None
        version = VersionRecord(
            id=str(uuid.uuid4()),
            number=number,
            code=base.code,
            runtime=base.runtime,
            dependencies=copy.deepcopy(base.dependencies),
            secrets=[copy.copy(s) for s in base.secrets],
            supported_trigger=dict(base.supported_trigger),
            draft_revision=base.draft_revision,
            created_at=now,
            build_started_at=action.build_started_at if follow else now,
            build_ready_at=action.build_ready_at if follow else now,
            build_outcome=action.build_outcome if follow else "built",
            errors=copy.deepcopy(action.build_errors) if follow else [],
        )
        action.versions.append(version)
        action.pending_version_id = version.id
        action.pending_effective_at = now + max(0.0, self.config.deploy_settle_seconds)
        return version

    def deploy_action(self, action_id: str) -> VersionRecord:
        with self.lock:
            action = self.get_action(action_id)
            if self.action_status(action) != "built":
                # alexkappa/terraform-provider-auth0 #470, auth0-deploy-cli #395:
                # "400 Bad Request: A draft must be in the 'built' state before it can be
                # deployed."
                raise ApiError(
                    400,
                    "A draft must be in the 'built' state before it can be deployed.",
                    "action_not_built",
                )
            return self._new_version(action, now=self.now())

    def rollback(self, action_id: str, version_id: str, *, update_draft: bool = False) -> VersionRecord:
        """``POST .../versions/{id}/deploy``: "Creates a new, deployed action version that
        is identical to the specified version" (docs: post-deploy-draft-version);
        ``update_draft`` also copies it into the draft (SDK
        DeployActionVersionRequestContent)."""
        with self.lock:
            action = self.get_action(action_id)
            source = self.get_version(action_id, version_id)
            if self.version_status(source) != "built":
                raise ApiError(400, "Only a version in the 'built' state can be deployed.", "action_not_built")
            now = self.now()
            if update_draft:
                action.code, action.runtime = source.code, source.runtime
                action.dependencies = copy.deepcopy(source.dependencies)
                action.secrets = [copy.copy(s) for s in source.secrets]
                action.supported_trigger = dict(source.supported_trigger)
                action.updated_at = now
                action.draft_revision += 1
                self._start_build(action, now)
                version = self._new_version(action, now=now)
            else:
                version = self._new_version(action, now=now, source=source)
            return version

    def list_versions(self, action_id: str) -> list[VersionRecord]:
        with self.lock:
            action = self.get_action(action_id)
            # INFERRED: newest first, as the dashboard's version history shows them.
            return sorted(action.versions, key=lambda v: v.number, reverse=True)

    def get_version(self, action_id: str, version_id: str) -> VersionRecord:
        with self.lock:
            action = self.get_action(action_id)
            version = action.version(version_id)
            if version is None:
                raise ApiError(404, "The action version does not exist.", "inexistent_action_version")
            return version

    # ---- bindings ---------------------------------------------------------------

    def _bindable_trigger(self, trigger_id: str, verb: str) -> None:
        specs = self.trigger_specs(trigger_id)
        if not specs:
            raise ApiError(404, f"The trigger '{trigger_id}' does not exist.", "inexistent_trigger")
        if all(s.binding_policy == "entity-bound" for s in specs):
            # auth0-deploy-cli #988/#990: 400 "cannot list action bindings for an
            # entity-bound trigger" (list). The update wording is INFERRED.
            raise ApiError(400, f"cannot {verb} action bindings for an entity-bound trigger", "entity_bound_trigger")

    def list_bindings(self, trigger_id: str) -> list[BindingRecord]:
        with self.lock:
            specs = self.trigger_specs(trigger_id)
            if specs and all(s.binding_policy == "entity-bound" for s in specs):
                # An entity-bound trigger lists no bindings: 200 {"bindings": [], "per_page": 50} in
                # auth0-deploy-cli's 2026 recordings (custom-token-exchange, event-stream, mcp-tool ...;
                # tests/contract/recordings/deploy-cli-create-deploy-triggers.json). Earlier tenants
                # answered 400 here (auth0-deploy-cli #988/#990).
                return []
            self._bindable_trigger(trigger_id, "list")
            return list(self.bindings.get(trigger_id, []))

    def set_bindings(self, trigger_id: str, body: Mapping[str, Any]) -> list[BindingRecord]:
        """Replace the trigger's whole ordered list (list order = execution order)."""
        with self.lock:
            self._bindable_trigger(trigger_id, "update")
            refs = body.get("bindings")
            if refs is None:
                refs = []
            if not isinstance(refs, list):
                raise _bad_body("'bindings' must be an array.")
            if len(refs) > self.config.max_bindings_per_trigger:
                # "Each flow may have a maximum of 20 active bound Actions"
                # (docs: actions/limitations); status and message INFERRED.
                raise _bad_body(f"a trigger may have at most {self.config.max_bindings_per_trigger} bindings.")
            now = self.now()
            existing = {b.id: b for b in self.bindings.get(trigger_id, [])}
            new_list: list[BindingRecord] = []
            for i, entry in enumerate(refs):
                ref = entry.get("ref") if isinstance(entry, dict) else None
                ref_type = ref.get("type") if isinstance(ref, dict) else None
                ref_value = ref.get("value") if isinstance(ref, dict) else None
                if ref_type not in ("action_id", "action_name", "binding_id") or not isinstance(ref_value, str):
                    # Verbatim from node-auth0 #740.
                    raise _bad_body(f"'Data does not match any schemas from 'oneOf'' on property bindings[{i}].")
                assert isinstance(entry, dict)
                display_name = entry.get("display_name")
                secret_names = [s.get("name") for s in entry.get("secrets") or [] if isinstance(s, dict)]
                if ref_type == "binding_id":
                    kept = existing.get(ref_value)
                    if kept is None:
                        # INFERRED status and message.
                        raise ApiError(
                            400,
                            f"The binding '{ref_value}' does not exist on this trigger.",
                            E_INVALID_BODY,
                        )
                    # A binding re-sent by binding_id keeps its id and created_at.
                    if isinstance(display_name, str) and display_name != kept.display_name:
                        kept.display_name, kept.updated_at = display_name, now
                    new_list.append(kept)
                    continue
                action = (
                    self.actions.get(ref_value)
                    if ref_type == "action_id"
                    else next((a for a in self.actions.values() if a.name == ref_value), None)
                )
                if action is None:
                    # INFERRED status and message.
                    raise ApiError(400, f"The action '{ref_value}' does not exist.", "inexistent_action")
                self._settle(action)
                if action.supported_trigger["id"] != trigger_id:
                    # alexkappa/terraform-provider-auth0 #503.
                    raise ApiError(
                        400,
                        "Trying to create a binding between an incompatible action and trigger.",
                        "incompatible_trigger",
                    )
                if action.deployed_version_id is None:
                    # auth0-deploy-cli #385 ("Trying to create a binding for an action that
                    # has not been deployed yet"); 400 per terraform-provider-auth0 #1590.
                    raise ApiError(
                        400,
                        "Trying to create a binding for an action that has not been deployed yet",
                        "action_not_deployed",
                    )
                # A ref by action_id/action_name always makes a new binding id, even for an
                # action already bound (TestAccActionDeleteWithUnbind.yaml ids 10 vs 30).
                new_list.append(
                    BindingRecord(
                        id=str(uuid.uuid4()),
                        trigger_id=trigger_id,
                        action_id=action.id,
                        display_name=display_name if isinstance(display_name, str) else action.name,
                        created_at=now,
                        updated_at=now,
                        secret_names=[n for n in secret_names if isinstance(n, str)],
                    )
                )
            self.bindings[trigger_id] = new_list
            return list(new_list)

    # ---- direct helpers for tests and sandbox set-up ------------------------------

    def promote_trigger(self, trigger_id: str, version: str, runtimes: Sequence[str] | None = None) -> TriggerSpec:
        """Auth0 releases a new version of a trigger: it becomes CURRENT, the previous CURRENT one is
        DEPRECATED and listed as compatible with the new one; actions keep the version they target.

        Shape of the catalogue after a promotion: the real 2022 answer quoted in
        terraform-provider-auth0 docs/guides/action_triggers.md (post-login v3 CURRENT with
        compatible_triggers [post-login v2], v2 and v1 DEPRECATED, all still listed). Moving an
        action to the new version is a PATCH of supported_triggers (the provider's
        supported_triggers is not ForceNew: internal/auth0/action/resource.go).
        """
        with self.lock:
            specs = self.trigger_specs(trigger_id)
            if not specs:
                raise ValueError(f"no trigger {trigger_id!r}")
            if any(s.version == version for s in specs):
                raise ValueError(f"trigger {trigger_id!r} already has version {version!r}")
            current = next((s for s in specs if s.status == "CURRENT"), specs[0])
            promoted = TriggerSpec(
                trigger_id,
                version,
                "CURRENT",
                tuple(runtimes) if runtimes is not None else current.runtimes,
                current.default_runtime,
                ((trigger_id, current.version),),
                current.binding_policy,
            )
            at = self.triggers.index(current)
            self.triggers[at] = replace(current, status="DEPRECATED")
            self.triggers.insert(at, promoted)
            return promoted

    def seed_action(
        self,
        name: str,
        trigger_id: str = "post-login",
        code: str = "exports.onExecutePostLogin = async (event, api) => {};",
        *,
        version: str | None = None,
        deploy: bool = True,
        secrets: Mapping[str, str] | None = None,
        dependencies: Sequence[Mapping[str, str]] = (),
        runtime: str | None = None,
    ) -> ActionRecord:
        """Create an action directly (built and, by default, deployed and settled)."""
        with self.lock:
            if version is None:
                current = [s for s in self.trigger_specs(trigger_id) if s.status == "CURRENT"]
                version = (current or self.trigger_specs(trigger_id))[0].version
            body: JsonDict = {
                "name": name,
                "supported_triggers": [{"id": trigger_id, "version": version}],
                "code": code,
                "dependencies": [dict(d) for d in dependencies],
                "secrets": [{"name": k, "value": v} for k, v in (secrets or {}).items()],
            }
            if runtime:
                body["runtime"] = runtime
            action = self.create_action(body)
            action.build_ready_at = action.build_started_at  # built now, whatever build_seconds is
            if deploy:
                if action.build_outcome != "built":
                    raise ValueError(f"seed_action({name!r}): code does not build: {action.build_errors}")
                self._new_version(action, now=self.now())
                action.pending_effective_at = self.now()
                self._settle(action)
            return action

    def edit_action(self, action_id: str, **changes: Any) -> ActionRecord:
        """Edit the draft as the dashboard would (same rules as PATCH). ``secrets`` may be
        a mapping name -> value."""
        body = dict(changes)
        if isinstance(body.get("secrets"), Mapping):
            body["secrets"] = [{"name": k, "value": v} for k, v in body["secrets"].items()]
        return self.update_action(action_id, body)

    def rotate_secret(self, action_id: str, name: str, value: str) -> SecretRecord:
        """Change one secret's value in the draft, as a dashboard user would."""
        with self.lock:
            action = self.get_action(action_id)
            now = self.now()
            record = next((s for s in action.secrets if s.name == name), None)
            if record is None:
                record = SecretRecord(name, value, now)
                action.secrets.append(record)
            record.value, record.updated_at = value, now
            action.updated_at = now
            action.draft_revision += 1
            self._start_build(action, now)
            return record

    def add_binding(
        self, trigger_id: str, action_id: str, display_name: str | None = None, *, position: int | None = None
    ) -> BindingRecord:
        """Bind an action directly (e.g. an "unmanaged" binding hookctl must keep)."""
        with self.lock:
            action = self.get_action(action_id)
            now = self.now()
            binding = BindingRecord(
                id=str(uuid.uuid4()),
                trigger_id=trigger_id,
                action_id=action.id,
                display_name=display_name or action.name,
                created_at=now,
                updated_at=now,
            )
            lst = self.bindings.setdefault(trigger_id, [])
            lst.insert(len(lst) if position is None else position, binding)
            return binding

    def secret_value(self, action_id: str, name: str) -> str | None:
        """The stored (write-only) value of a draft secret, for assertions."""
        with self.lock:
            action = self.get_action(action_id)
            return next((s.value for s in action.secrets if s.name == name), None)

    # ---- tokens -----------------------------------------------------------------

    def issue_token(self, ttl: float | None = None, *, audience: str = "", scope: str = "") -> str:
        """A signed JWT (HS256, emulator-private key) that this tenant accepts."""
        with self.lock:
            now = time.time()
            exp = now + (ttl if ttl is not None else self.config.token_ttl_seconds)
            header = {"alg": "HS256", "typ": "JWT"}
            payload = {
                "iss": "https://sandbox.auth0.local/",
                "sub": f"{self.client_id}@clients",
                "aud": audience,
                "iat": int(now),
                "exp": int(exp),
                "scope": scope,
                "gty": "client-credentials",
                "jti": uuid.uuid4().hex,
            }
            signing_input = f"{_b64(json.dumps(header))}.{_b64(json.dumps(payload))}"
            sig = hmac.new(self.signing_key.encode(), signing_input.encode(), hashlib.sha256).digest()
            token = f"{signing_input}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
            self.tokens[token] = exp
            return token

    def token_state(self, token: str) -> Literal["valid", "expired", "unknown"]:
        with self.lock:
            exp = self.tokens.get(token)
            if exp is None:
                return "unknown"
            return "valid" if time.time() < exp else "expired"

    # ---- persistence ------------------------------------------------------------

    def to_json(self) -> JsonDict:
        with self.lock:
            now = time.time()
            return {
                "format": _STATE_FORMAT,
                "credentials": {
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "signing_key": self.signing_key,
                },
                "tokens": {t: exp for t, exp in self.tokens.items() if exp > now},
                "actions": [asdict(a) for a in self.actions.values()],
                "bindings": {t: [asdict(b) for b in lst] for t, lst in self.bindings.items()},
                "triggers": [asdict(t) for t in self.triggers],
            }

    def load_json(self, data: Mapping[str, Any]) -> None:
        if data.get("format") != _STATE_FORMAT:
            raise ValueError(f"unsupported tenant state format {data.get('format')!r}")
        with self.lock:
            creds = data.get("credentials") or {}
            if self.config.client_secret is None and creds.get("client_id") == self.config.client_id:
                self.client_secret = creds.get("client_secret") or self.client_secret
            self.signing_key = creds.get("signing_key") or self.signing_key
            self.tokens = {str(t): float(e) for t, e in (data.get("tokens") or {}).items()}
            self.actions = {}
            for raw in data.get("actions") or []:
                item = dict(raw)
                item["secrets"] = [SecretRecord(**s) for s in item["secrets"]]
                versions = []
                for v in item["versions"]:
                    v = dict(v)
                    v["secrets"] = [SecretRecord(**s) for s in v["secrets"]]
                    versions.append(VersionRecord(**v))
                item["versions"] = versions
                action = ActionRecord(**item)
                self.actions[action.id] = action
            self.bindings = {t: [BindingRecord(**b) for b in lst] for t, lst in (data.get("bindings") or {}).items()}
            if data.get("triggers"):  # a promoted trigger version survives a restart
                self.triggers = [
                    TriggerSpec(
                        **{
                            **t,
                            "runtimes": tuple(t["runtimes"]),
                            "compatible_triggers": tuple(tuple(c) for c in t["compatible_triggers"]),
                        }
                    )
                    for t in data["triggers"]
                ]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


# --------------------------------------------------------------------------------------
# JSON rendering (shapes from the SDK types + recordings)
# --------------------------------------------------------------------------------------


class _Renderer:
    def __init__(self, tenant: Tenant) -> None:
        self.t = tenant

    def version(
        self,
        v: VersionRecord,
        action: ActionRecord,
        *,
        deployed: bool | None = None,
        embed_action: bool = False,
        with_action_id: bool = False,
    ) -> JsonDict:
        status = self.t.version_status(v)
        # Key set and order as the deploy response / deployed_version in
        # TestAccAction.yaml (ids 13, 14); action_id as in SDK ActionVersion (no recording has it).
        # A version's dependencies carry no registry_url (go-auth0 TestActionManager_Versions.yaml:
        # sent with one, listed without), and the deploy answer has no built_at (every recorded
        # deploy answer, e.g. TestAccAction.yaml, TestActionManager_DeployVersion.yaml).
        out: JsonDict = {
            "code": v.code,
            "dependencies": _built_dependencies(v.dependencies),
            "id": v.id,
            "deployed": (v.id == action.deployed_version_id) if deployed is None else deployed,
            "number": v.number,
        }
        if status == "built" and deployed is not False:
            out["built_at"] = _ts(v.build_ready_at)
        out["secrets"] = [s.public() for s in v.secrets]
        out["status"] = status
        out["created_at"] = _ts(v.created_at)
        out["updated_at"] = _ts(max(v.created_at, v.build_ready_at) if status in ("built", "failed") else v.created_at)
        out["runtime"] = v.runtime
        out["supported_triggers"] = [dict(v.supported_trigger)]
        if status == "failed" and v.errors:
            out["errors"] = copy.deepcopy(v.errors)
        if with_action_id:
            out["action_id"] = action.id
        if embed_action:
            out["action"] = self.action_base(action)
        return out

    def current_version(self, v: VersionRecord) -> JsonDict:
        # Undocumented "current_version" as seen in every GET after a deploy
        # (TestAccAction.yaml id 14): upper-case status and "build_time".
        status = self.t.version_status(v)
        out: JsonDict = {
            "id": v.id,
            "code": v.code,
            "runtime": v.runtime,
            "status": status.upper(),
            "number": v.number,
        }
        if status == "built":
            out["build_time"] = _ts(v.build_ready_at)
        out["created_at"] = _ts(v.created_at)
        out["updated_at"] = _ts(max(v.created_at, v.build_ready_at))
        return out

    def all_changes_deployed(self, action: ActionRecord) -> bool:
        deployed = self.t.deployed_version(action)
        return deployed is not None and deployed.draft_revision == action.draft_revision

    def action_base(self, action: ActionRecord) -> JsonDict:
        # SDK ActionBase, as embedded in the deploy response (TestAccAction.yaml id 13).
        return {
            "id": action.id,
            "name": action.name,
            "supported_triggers": [dict(action.supported_trigger)],
            "created_at": _ts(action.created_at),
            "updated_at": _ts(action.updated_at),
            "all_changes_deployed": self.all_changes_deployed(action),
        }

    def action(self, action: ActionRecord, *, fresh: bool = False) -> JsonDict:
        """Full action. ``fresh`` renders the answer to the write that started a build,
        which always says "pending" (POST and PATCH responses in the recordings)."""
        status = "pending" if fresh else self.t.action_status(action)
        out: JsonDict = {
            "id": action.id,
            "name": action.name,
            "supported_triggers": [dict(action.supported_trigger)],
            "created_at": _ts(action.created_at),
            "updated_at": _ts(action.updated_at),
            "code": action.code,
            # registry_url is answered until the draft is built, then dropped (go-auth0
            # TestActionManager_Versions.yaml ids 0-3).
            "dependencies": (
                _built_dependencies(action.dependencies) if status == "built" else copy.deepcopy(action.dependencies)
            ),
            "runtime": action.runtime,
            "status": status,
            "secrets": [s.public() for s in action.secrets],
        }
        # No "built_at" and no build "errors" on the action itself: neither appears in
        # any recorded response, including a failed build (TestAccAction_FailedBuild.yaml).
        deployed = self.t.deployed_version(action)
        if deployed is not None:
            out["current_version"] = self.current_version(deployed)
            out["deployed_version"] = self.version(deployed, action, deployed=True)
        if action.installed_integration_id:
            out["installed_integration_id"] = action.installed_integration_id
        if action.modules:
            out["modules"] = copy.deepcopy(action.modules)
        out["all_changes_deployed"] = self.all_changes_deployed(action)
        return out

    def binding(self, b: BindingRecord) -> JsonDict:
        action = self.t.actions.get(b.action_id)
        embedded: JsonDict = {}
        if action is not None:
            # The action embedded in a binding (TestAccActionDeleteWithUnbind.yaml id 10):
            # no code/runtime/secrets/status, updated_at equal to created_at and
            # all_changes_deployed false whatever the action's real state. Reproduced as seen.
            embedded = {
                "id": action.id,
                "name": action.name,
                "supported_triggers": [dict(action.supported_trigger)],
                "created_at": _ts(action.created_at),
                "updated_at": _ts(action.created_at),
            }
            deployed = self.t.deployed_version(action)
            if deployed is not None:
                embedded["current_version"] = self.current_version(deployed)
                embedded["deployed_version"] = self.version(deployed, action, deployed=True)
            embedded["all_changes_deployed"] = False
        return {
            "id": b.id,
            "trigger_id": b.trigger_id,
            "action": embedded,
            "created_at": _ts(b.created_at),
            "updated_at": _ts(b.updated_at),
            "display_name": b.display_name,
        }


def _built_dependencies(dependencies: Sequence[JsonDict]) -> list[JsonDict]:
    return [{k: v for k, v in d.items() if k != "registry_url"} for d in dependencies]


def _paginate(items: Sequence[JsonDict], key: str, page: int, per_page: int) -> JsonDict:
    """Page envelope as the API sends it.

    Recorded list responses omit zero-valued fields (Go ``omitempty``): page 0 has no
    "page", and an empty page has no "total" (TestAccActionDeleteWithUnbind.yaml:
    ``{"bindings":[...],"total":2,"per_page":100}`` then
    ``{"bindings":[],"page":1,"per_page":100}``). "total" is the overall count (SDK
    docstring "The total result count").
    """
    chunk = list(items[page * per_page : (page + 1) * per_page])
    out: JsonDict = {key: chunk}
    if chunk and items:
        out["total"] = len(items)
    if page:
        out["page"] = page
    out["per_page"] = per_page
    return out


# --------------------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------------------


class _TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = max(1, burst)
        self.tokens = float(self.capacity)
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        with self.lock:
            mono = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (mono - self.last) * self.rate)
            self.last = mono
            allowed = self.tokens >= 1.0
            if allowed:
                self.tokens -= 1.0
            # x-ratelimit-reset is in epoch seconds (ruby-auth0 lib/auth0/exception.rb
            # reads it with Time.at(Integer(...)); a real value, 1643756409, is quoted in
            # community.auth0.com/t/global-limit-has-been-reached/77440). INFERRED: it is
            # the moment the bucket is full again, rounded up so that a client waiting
            # until then (auth0-python core/http_client.py does) is let through.
            to_full = (self.capacity - self.tokens) / self.rate
            headers = {
                "x-ratelimit-limit": str(self.capacity),
                "x-ratelimit-remaining": str(int(self.tokens)),
                "x-ratelimit-reset": str(math.ceil(time.time() + to_full)),
            }
            if not allowed:
                # Whole seconds until one request is allowed again (RFC 9110 section 10.2.3
                # delay-seconds). INFERRED for Auth0: auth0-python's own retry reads Retry-After
                # before x-ratelimit-reset (core/http_client.py _retry_timeout).
                headers["retry-after"] = str(max(1, math.ceil((1.0 - self.tokens) / self.rate)))
            return allowed, headers


# --------------------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------------------


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def _json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> _Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    merged = {"content-type": "application/json; charset=utf-8", **(headers or {})}
    return _Response(status, body, merged)


_Handler = Callable[["Auth0Emulator", "_Request"], _Response]


@dataclass
class _Request:
    method: str
    path: str
    template: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    raw_body: bytes

    def json(self) -> JsonDict:
        if not self.raw_body.strip():
            return {}
        try:
            data = json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Invalid request payload JSON format", E_INVALID_BODY) from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise _bad_body("the request body must be an object.")
        return data

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def q_bool(self, name: str) -> bool | None:
        value = self.q(name)
        if value is None or value == "":
            return None
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise ApiError(400, f"Query validation error: '{name}' must be a boolean.", E_INVALID_QUERY)

    def q_int(self, name: str, default: int) -> int:
        value = self.q(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, f"Query validation error: '{name}' must be an integer.", E_INVALID_QUERY) from None


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, emulator: Auth0Emulator, port: int, context: ssl.SSLContext) -> None:
        self.emulator = emulator
        super().__init__(("127.0.0.1", port), _RequestHandler)
        # Handshakes happen in the handler threads (do_handshake_on_connect=False), so
        # one slow client cannot stall the accept loop.
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.emulator.config.verbose:
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TLSServer
    timeout = 60
    # TCP_NODELAY: without it Nagle's algorithm and delayed ACKs add ~40 ms to every
    # keep-alive request (headers and body go out as separate TLS records).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        sock = cast(ssl.SSLSocket, self.request)
        sock.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.config.verbose:
            sys.stderr.write(f"auth0-emulator: {format % args}\n")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        headers = {key.lower(): value for key, value in self.headers.items()}
        response = self.server.emulator._handle(self.command, self.path, headers, body)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve


# --------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------


class Auth0Emulator:
    """The emulated tenant behind an HTTPS server on 127.0.0.1.

    ::

        emu = Auth0Emulator(EmulatorConfig(build_seconds=0.0)).start()
        emu.domain          # "127.0.0.1:PORT", for ManagementClient(domain=...)
        emu.ca_file         # trust it: SSL_CERT_FILE=emu.ca_file
        emu.client_id, emu.client_secret, emu.issue_token()
        emu.counts          # Counter of (METHOD, path template), every request received
        emu.status_counts   # Counter of (METHOD, path template, status); 0 = dropped
        emu.tenant          # the data (Tenant), for set-up and assertions
        emu.stop()

    ``state_dir`` (optional) holds ``tenant.json`` and ``tls/``: the tenant is loaded
    from it on construction, saved after every change and on ``stop()``, and the CA
    is reused across restarts.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, state_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.checker = SyntaxChecker(self.config.syntax_check)
        self.tenant = Tenant(self.config, self.checker)
        self.renderer = _Renderer(self.tenant)
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.status_counts: collections.Counter[tuple[str, str, int]] = collections.Counter()
        self._counts_lock = threading.Lock()
        self._fault_lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._bucket = (
            _TokenBucket(
                self.config.rate_limit_per_second,
                self.config.rate_limit_burst or math.ceil(self.config.rate_limit_per_second),
            )
            if self.config.rate_limit_per_second
            else None
        )
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._competitor: threading.Thread | None = None
        self._competitor_stop = threading.Event()
        # The other client's requests by outcome (200 let through, 429 refused); not in ``counts``.
        self.competing_counts: collections.Counter[int] = collections.Counter()
        self._tls: TLSMaterial | None = None
        self._tmp_tls: Path | None = None
        if self.state_dir is not None and (self.state_dir / STATE_FILE).is_file():
            self._load_file(self.state_dir / STATE_FILE)

    # ---- lifecycle --------------------------------------------------------------

    def start(self, port: int | None = None) -> Auth0Emulator:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        if self.state_dir is not None:
            tls_dir = self.state_dir / "tls"
        else:
            self._tmp_tls = Path(tempfile.mkdtemp(prefix="auth0-emu-tls-"))
            tls_dir = self._tmp_tls
        self._tls = ensure_tls_material(tls_dir)
        chosen = self.config.port if port is None else port
        self._server = _TLSServer(self, chosen, self._tls.server_context())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"auth0-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.compete(self.config.competing_requests_per_second)
        return self

    def compete(self, requests_per_second: float) -> None:
        """Start (or change, or with 0 stop) the other client spending the tenant's budget."""
        self._competitor_stop.set()
        if self._competitor is not None:
            self._competitor.join(timeout=5)
            self._competitor = None
        self.config.competing_requests_per_second = requests_per_second
        if self._bucket is not None and requests_per_second > 0:
            self._competitor_stop.clear()
            self._competitor = threading.Thread(target=self._compete, name="auth0-emulator:other-client", daemon=True)
            self._competitor.start()

    def _compete(self) -> None:
        """The other client: takes a request's worth of the budget at its own steady rate."""
        assert self._bucket is not None
        interval = 1.0 / self.config.competing_requests_per_second
        next_at = time.monotonic()
        while not self._competitor_stop.is_set():
            allowed, _ = self._bucket.take()
            with self._counts_lock:
                self.competing_counts[200 if allowed else 429] += 1
            next_at += interval
            self._competitor_stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self.compete(0.0)
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        if self.state_dir is not None:
            self.save(self.state_dir)
        self.checker.close()
        if self._tmp_tls is not None:
            shutil.rmtree(self._tmp_tls, ignore_errors=True)
            self._tmp_tls = None

    def __enter__(self) -> Auth0Emulator:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses and credentials ------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return int(self._server.server_address[1])

    @property
    def domain(self) -> str:
        """``127.0.0.1:PORT``: what ManagementClient takes as ``domain``."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"https://{self.domain}"

    @property
    def audience(self) -> str:
        # The SDK's default audience (auth0/management/token_provider.py).
        return f"https://{self.domain}/api/v2/"

    @property
    def ca_file(self) -> Path:
        if self._tls is None:
            raise RuntimeError("emulator not started")
        return self._tls.ca_file

    @property
    def client_id(self) -> str:
        return self.tenant.client_id

    @property
    def client_secret(self) -> str:
        return self.tenant.client_secret

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client ``SSLContext`` trusting the sandbox CA (e.g. ``httpx.Client(verify=...)``)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def issue_token(self, ttl: float | None = None) -> str:
        """A bearer token for ``ManagementClient(domain=..., token=...)``."""
        token = self.tenant.issue_token(ttl, audience=self.audience if self._server else "")
        self._autosave()
        return token

    # ---- counters and faults -------------------------------------------------------

    def reset_counts(self) -> None:
        with self._counts_lock:
            self.counts.clear()
            self.status_counts.clear()

    def add_fault(self, rule: FaultRule) -> FaultRule:
        with self._fault_lock:
            self.config.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        with self._fault_lock:
            self.config.faults.clear()

    # ---- persistence --------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the tenant to ``directory/tenant.json`` (atomically)."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / STATE_FILE
        tmp = folder / f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        data = json.dumps(self.tenant.to_json(), indent=1, sort_keys=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.replace(tmp, target)
        return target

    @classmethod
    def load(cls, directory: str | os.PathLike[str], config: EmulatorConfig | None = None) -> Auth0Emulator:
        """A new (not started) emulator whose tenant is read from ``directory``.

        Unlike ``state_dir=``, later changes are not written back.
        """
        emulator = cls(config)
        emulator._load_file(Path(directory) / STATE_FILE)
        return emulator

    def _load_file(self, path: Path) -> None:
        self.tenant.load_json(json.loads(path.read_text(encoding="utf-8")))

    def _autosave(self) -> None:
        if self.state_dir is not None:
            self.save(self.state_dir)

    # ---- request handling ---------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> _Response:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        route = _match_route(method, path)
        template = route[0] if route else path
        with self._counts_lock:
            self.counts[(method, template)] += 1
        response = self._handle_counted(method, path, template, route, query, headers, body)
        with self._counts_lock:
            self.status_counts[(method, template, 0 if response.drop else response.status)] += 1
        return response

    def _handle_counted(
        self,
        method: str,
        path: str,
        template: str,
        route: tuple[str, dict[str, str], _Handler] | None,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> _Response:
        if self.config.latency_seconds > 0:
            time.sleep(self.config.latency_seconds)
        fault = self._pick_fault(method, template, path)
        if fault is not None:
            if fault.kind == "drop":
                return _Response(0, drop=True)
            if fault.kind == "delay":
                time.sleep(fault.delay_seconds)
            else:
                return _json_response(
                    fault.status,
                    ApiError(fault.status, "Injected fault (sandbox)", "internal_error").body(),
                )
        is_api = path.startswith("/api/v2")
        limit_headers: dict[str, str] = {}
        if is_api and self._bucket is not None:
            allowed, limit_headers = self._bucket.take()
            if not allowed:
                # Body verbatim from TestAccAction.yaml id 5 (a real 429).
                return _json_response(
                    429, ApiError(429, "Global limit has been reached", E_TOO_MANY).body(), limit_headers
                )
        if route is None:
            response = _json_response(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})
        else:
            _, params, handler = route
            request = _Request(method, path, template, params, query, headers, body)
            try:
                if is_api:
                    self._authenticate(headers)
                response = handler(self, request)
            except ApiError as err:
                response = _json_response(err.status, err.body())
            if method != "GET" and 200 <= response.status < 300:
                self._autosave()
        response.headers.update(limit_headers)
        return response

    def _pick_fault(self, method: str, template: str, path: str) -> FaultRule | None:
        with self._fault_lock:
            for rule in self.config.faults:
                if not rule.matches(method, template, path):
                    continue
                rule.matched += 1
                if rule.max_injections is not None and rule.injected >= rule.max_injections:
                    continue
                if rule.first_n is not None and rule.matched > rule.first_n:
                    continue
                if rule.every_nth is not None and rule.matched % rule.every_nth != 0:
                    continue
                if rule.probability is not None and self._rng.random() >= rule.probability:
                    continue
                rule.injected += 1
                return rule
        return None

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        auth = headers.get("authorization") or ""
        scheme, _, token = auth.partition(" ")
        # Messages INFERRED; 401 itself is in the SDK (UnauthorizedError).
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Missing authentication", "missing_authentication")
        state = self.tenant.token_state(token.strip())
        if state == "expired":
            raise ApiError(401, "Expired token received for JSON Web Token validation", "token_expired")
        if state != "valid":
            raise ApiError(401, "Invalid token", "invalid_token")

    # ---- endpoint handlers ------------------------------------------------------------

    def _token(self, req: _Request) -> _Response:
        content_type = (req.headers.get("content-type") or "").lower()
        if "application/json" in content_type:
            try:
                raw = json.loads(req.raw_body or b"{}")
            except ValueError:
                raw = None
            fields = raw if isinstance(raw, dict) else {}
        else:
            parsed = parse_qs(req.raw_body.decode("utf-8", "replace"), keep_blank_values=True)
            fields = {k: v[-1] for k, v in parsed.items()}
        # Authentication API errors use the OAuth2 shape {error, error_description}
        # (RFC 6749 section 5.2; Auth0 answers bad client credentials with 401
        # access_denied "Unauthorized").
        if fields.get("grant_type") != "client_credentials":
            return _json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"Unsupported grant type: {fields.get('grant_type')}",
                },
            )
        client_ok = hmac.compare_digest(str(fields.get("client_id", "")), self.tenant.client_id)
        secret_ok = hmac.compare_digest(str(fields.get("client_secret", "")), self.tenant.client_secret)
        if not (client_ok and secret_ok):
            return _json_response(401, {"error": "access_denied", "error_description": "Unauthorized"})
        audience = str(fields.get("audience") or self.audience)
        if audience.rstrip("/") != self.audience.rstrip("/"):
            return _json_response(
                403,
                {
                    "error": "access_denied",
                    "error_description": f"Service not enabled within domain: {audience}",
                },
            )
        scope = "read:actions create:actions update:actions delete:actions"
        token = self.tenant.issue_token(audience=audience, scope=scope)
        return _json_response(
            200,
            {
                "access_token": token,
                "scope": scope,
                "expires_in": self.config.token_ttl_seconds,
                "token_type": "Bearer",
            },
        )

    def _page(self, req: _Request) -> tuple[int, int]:
        # Defaults: the docs' example answers per_page 20 when none is sent (SDK
        # docstring "20 by default"; the SDK itself always sends 50). INFERRED: max 100.
        page = req.q_int("page", 0)
        per_page = req.q_int("per_page", 20)
        if page < 0:
            raise ApiError(400, "Query validation error: 'page' must be >= 0.", E_INVALID_QUERY)
        if not 1 <= per_page <= self.config.max_per_page:
            raise ApiError(
                400,
                f"Query validation error: 'per_page' must be between 1 and {self.config.max_per_page}.",
                E_INVALID_QUERY,
            )
        return page, per_page

    def _list_triggers(self, req: _Request) -> _Response:
        with self.tenant.lock:
            return _json_response(200, {"triggers": [t.to_json() for t in self.tenant.triggers]})

    def _list_actions(self, req: _Request) -> _Response:
        page, per_page = self._page(req)
        with self.tenant.lock:
            # The SDK sends camelCase "triggerId"/"actionName" (actions/raw_client.py);
            # snake_case is accepted too.
            actions = self.tenant.list_actions(
                trigger_id=req.q("triggerId") or req.q("trigger_id"),
                action_name=req.q("actionName") or req.q("action_name"),
                deployed=req.q_bool("deployed"),
                installed=req.q_bool("installed"),
            )
            items = [self.renderer.action(a) for a in actions]
        return _json_response(200, _paginate(items, "actions", page, per_page))

    def _precheck(self, body: Mapping[str, Any]) -> None:
        # Parse-check new code before taking the tenant lock (node --check takes tens of
        # milliseconds); the result is cached, so the build under the lock is a lookup.
        if isinstance(body.get("code"), str):
            self.checker.check(body["code"])

    def _create_action(self, req: _Request) -> _Response:
        body = req.json()
        self._precheck(body)
        with self.tenant.lock:
            action = self.tenant.create_action(body)
            # 201 and "pending" (TestAccAction_FailedBuild.yaml id 0).
            return _json_response(201, self.renderer.action(action, fresh=True))

    def _get_action(self, req: _Request) -> _Response:
        with self.tenant.lock:
            return _json_response(200, self.renderer.action(self.tenant.get_action(req.params["id"])))

    def _update_action(self, req: _Request) -> _Response:
        body = req.json()
        self._precheck(body)
        with self.tenant.lock:
            action = self.tenant.update_action(req.params["id"], body)
            return _json_response(200, self.renderer.action(action, fresh=True))

    def _delete_action(self, req: _Request) -> _Response:
        self.tenant.delete_action(req.params["id"], force=bool(req.q_bool("force")))
        # 204 with an empty body (TestAccAction_FailedBuild.yaml id 6).
        return _Response(204, b"", {"content-type": "application/json; charset=utf-8"})

    def _deploy_action(self, req: _Request) -> _Response:
        with self.tenant.lock:
            version = self.tenant.deploy_action(req.params["id"])
            action = self.tenant.get_action(req.params["id"])
            # The deploy answer says "deployed": false; the version becomes the
            # deployed_version shortly after (TestAccAction.yaml ids 13 -> 14).
            payload = self.renderer.version(version, action, deployed=False, embed_action=True)
        return _json_response(200, payload)

    def _list_versions(self, req: _Request) -> _Response:
        page, per_page = self._page(req)
        with self.tenant.lock:
            action = self.tenant.get_action(req.params["action_id"])
            # No action_id in listed versions (go-auth0 TestActionManager_Versions.yaml id 5).
            items = [self.renderer.version(v, action, embed_action=True) for v in self.tenant.list_versions(action.id)]
        return _json_response(200, _paginate(items, "versions", page, per_page))

    def _get_version(self, req: _Request) -> _Response:
        with self.tenant.lock:
            action = self.tenant.get_action(req.params["action_id"])
            version = self.tenant.get_version(action.id, req.params["id"])
            payload = self.renderer.version(version, action, with_action_id=True, embed_action=True)
        return _json_response(200, payload)

    def _rollback(self, req: _Request) -> _Response:
        body = req.json()
        with self.tenant.lock:
            version = self.tenant.rollback(
                req.params["action_id"], req.params["id"], update_draft=body.get("update_draft") is True
            )
            action = self.tenant.get_action(req.params["action_id"])
            payload = self.renderer.version(version, action, deployed=False, embed_action=True)
        return _json_response(200, payload)

    def _list_bindings(self, req: _Request) -> _Response:
        page, per_page = self._page(req)
        with self.tenant.lock:
            items = [self.renderer.binding(b) for b in self.tenant.list_bindings(req.params["trigger_id"])]
        return _json_response(200, _paginate(items, "bindings", page, per_page))

    def _update_bindings(self, req: _Request) -> _Response:
        body = req.json()
        with self.tenant.lock:
            bindings = self.tenant.set_bindings(req.params["trigger_id"], body)
            # The PATCH answer is {"bindings": [...]} with no paging fields
            # (TestAccActionDeleteWithUnbind.yaml ids 10, 32).
            return _json_response(200, {"bindings": [self.renderer.binding(b) for b in bindings]})


# Route table: (method, regex, template, handler). Templates use the SDK's parameter names.
_SEG = r"([^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str, tuple[str, ...], _Handler]] = []


def _route(method: str, template: str, handler: _Handler) -> None:
    names = tuple(re.findall(r"\{(\w+)\}", template))
    pattern = re.compile("^" + re.sub(r"\\\{\w+\\\}", _SEG, re.escape(template)) + "$")
    _ROUTES.append((method, pattern, template, names, handler))


_route("POST", "/oauth/token", Auth0Emulator._token)
_route("GET", "/api/v2/actions/triggers", Auth0Emulator._list_triggers)
_route("GET", "/api/v2/actions/triggers/{trigger_id}/bindings", Auth0Emulator._list_bindings)
_route("PATCH", "/api/v2/actions/triggers/{trigger_id}/bindings", Auth0Emulator._update_bindings)
_route("GET", "/api/v2/actions/actions", Auth0Emulator._list_actions)
_route("POST", "/api/v2/actions/actions", Auth0Emulator._create_action)
_route("GET", "/api/v2/actions/actions/{id}", Auth0Emulator._get_action)
_route("PATCH", "/api/v2/actions/actions/{id}", Auth0Emulator._update_action)
_route("DELETE", "/api/v2/actions/actions/{id}", Auth0Emulator._delete_action)
_route("POST", "/api/v2/actions/actions/{id}/deploy", Auth0Emulator._deploy_action)
_route("GET", "/api/v2/actions/actions/{action_id}/versions", Auth0Emulator._list_versions)
_route("GET", "/api/v2/actions/actions/{action_id}/versions/{id}", Auth0Emulator._get_version)
_route("POST", "/api/v2/actions/actions/{action_id}/versions/{id}/deploy", Auth0Emulator._rollback)


def _match_route(method: str, path: str) -> tuple[str, dict[str, str], _Handler] | None:
    for route_method, pattern, template, names, handler in _ROUTES:
        if route_method != method:
            continue
        match = pattern.match(path)
        if match:
            return template, {n: unquote(v) for n, v in zip(names, match.groups(), strict=True)}, handler
    return None


def iter_routes() -> Iterator[tuple[str, str]]:
    """(method, template) of every emulated endpoint."""
    for method, _, template, _, _ in _ROUTES:
        yield method, template


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m provisioner.sandbox.auth0.server",
        description="Serve an emulated Auth0 Management API (Actions) on https://127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    parser.add_argument("--state-dir", help="keep the tenant, credentials and CA here across restarts")
    parser.add_argument("--rate-limit", type=float, help="requests per second over all /api/v2 calls")
    parser.add_argument("--burst", type=int, help="rate-limit bucket size (default: the rate)")
    parser.add_argument("--latency", type=float, default=0.0, help="added latency per request, in ms")
    parser.add_argument("--build-seconds", type=float, default=2.0, help="draft build time (default 2)")
    parser.add_argument("--deploy-settle", type=float, default=0.5, help="deploy settle window, s")
    parser.add_argument(
        "--competing-rate", type=float, default=0.0, help="requests/s another client spends of the rate limit"
    )
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", help="default: random (persisted with --state-dir)")
    parser.add_argument(
        "--keep-secret-stamps",
        action="store_true",
        help="a PATCH without secrets keeps their updated_at (default: re-stamps them; undocumented either way)",
    )
    parser.add_argument(
        "--syntax-check",
        choices=("off", "auto", "node", "brackets"),
        default="off",
        help="fail builds of code that does not parse (default off: Auth0's build does not parse the code)",
    )
    parser.add_argument(
        "--promote",
        action="append",
        default=[],
        metavar="TRIGGER=VERSION",
        help="add a new CURRENT version of a trigger at start, e.g. post-login=v4 (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    config = EmulatorConfig(
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        rate_limit_per_second=args.rate_limit,
        rate_limit_burst=args.burst,
        latency_seconds=args.latency / 1000.0,
        build_seconds=args.build_seconds,
        deploy_settle_seconds=args.deploy_settle,
        restamp_secrets_on_patch=not args.keep_secret_stamps,
        syntax_check=args.syntax_check,
        competing_requests_per_second=args.competing_rate,
        verbose=args.verbose,
    )
    emulator = Auth0Emulator(config, state_dir=args.state_dir)
    for promotion in args.promote:
        trigger_id, _, version = promotion.partition("=")
        if not any(t.id == trigger_id and t.version == version for t in emulator.tenant.triggers):
            emulator.tenant.promote_trigger(trigger_id, version)
    emulator.start()
    token = emulator.issue_token()
    print(f"domain:        {emulator.domain}")
    print(f"ca file:       {emulator.ca_file}")
    print(f"client id:     {emulator.client_id}")
    print(f"client secret: {emulator.client_secret}")
    print(f"token:         {token}")
    print()
    print("Point clients at it with, for example:")
    print(f"  export SSL_CERT_FILE={emulator.ca_file}")
    print(f"  export AUTH0_DOMAIN={emulator.domain}")
    print(f"  export AUTH0_CLIENT_ID={emulator.client_id}")
    print(f"  export AUTH0_CLIENT_SECRET={emulator.client_secret}")
    print("Ctrl-C stops it.", flush=True)

    stopped = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0
