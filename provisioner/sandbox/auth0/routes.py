"""The emulated endpoints: request -> tenant -> response, and the table that routes to them.
Sandbox: the Auth0 emulator's Management API routes (and its client-credentials token).

Each handler takes the ``Auth0Emulator`` and a parsed ``_Request``; the server has
already applied latency, faults, the rate limit and the bearer-token check. The
status codes and bodies cite the recorded responses they reproduce. Names with a
leading underscore are internal to this package.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from .model import E_INVALID_BODY, E_INVALID_QUERY, ApiError, JsonDict, _bad_body
from .render import _paginate

if TYPE_CHECKING:
    from .server import Auth0Emulator

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


# --------------------------------------------------------------------------------------
# Endpoint handlers
# --------------------------------------------------------------------------------------


def _token(emu: Auth0Emulator, req: _Request) -> _Response:
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
    client_ok = hmac.compare_digest(str(fields.get("client_id", "")), emu.tenant.client_id)
    secret_ok = hmac.compare_digest(str(fields.get("client_secret", "")), emu.tenant.client_secret)
    if not (client_ok and secret_ok):
        return _json_response(401, {"error": "access_denied", "error_description": "Unauthorized"})
    audience = str(fields.get("audience") or emu.audience)
    if audience.rstrip("/") != emu.audience.rstrip("/"):
        return _json_response(
            403,
            {
                "error": "access_denied",
                "error_description": f"Service not enabled within domain: {audience}",
            },
        )
    scope = "read:actions create:actions update:actions delete:actions"
    token = emu.tenant.issue_token(audience=audience, scope=scope)
    return _json_response(
        200,
        {
            "access_token": token,
            "scope": scope,
            "expires_in": emu.config.token_ttl_seconds,
            "token_type": "Bearer",
        },
    )


def _page(emu: Auth0Emulator, req: _Request) -> tuple[int, int]:
    # Defaults: the docs' example answers per_page 20 when none is sent (SDK
    # docstring "20 by default"; the SDK itself always sends 50). INFERRED: max 100.
    page = req.q_int("page", 0)
    per_page = req.q_int("per_page", 20)
    if page < 0:
        raise ApiError(400, "Query validation error: 'page' must be >= 0.", E_INVALID_QUERY)
    if not 1 <= per_page <= emu.config.max_per_page:
        raise ApiError(
            400,
            f"Query validation error: 'per_page' must be between 1 and {emu.config.max_per_page}.",
            E_INVALID_QUERY,
        )
    return page, per_page


def _list_triggers(emu: Auth0Emulator, req: _Request) -> _Response:
    with emu.tenant.lock:
        return _json_response(200, {"triggers": [t.to_json() for t in emu.tenant.triggers]})


def _list_actions(emu: Auth0Emulator, req: _Request) -> _Response:
    page, per_page = _page(emu, req)
    with emu.tenant.lock:
        # The SDK sends camelCase "triggerId"/"actionName" (actions/raw_client.py);
        # snake_case is accepted too.
        actions = emu.tenant.list_actions(
            trigger_id=req.q("triggerId") or req.q("trigger_id"),
            action_name=req.q("actionName") or req.q("action_name"),
            deployed=req.q_bool("deployed"),
            installed=req.q_bool("installed"),
        )
        items = [emu.renderer.action(a) for a in actions]
    return _json_response(200, _paginate(items, "actions", page, per_page))


def _precheck(emu: Auth0Emulator, body: Mapping[str, Any]) -> None:
    # Parse-check new code before taking the tenant lock (node --check takes tens of
    # milliseconds); the result is cached, so the build under the lock is a lookup.
    if isinstance(body.get("code"), str):
        emu.checker.check(body["code"])


def _create_action(emu: Auth0Emulator, req: _Request) -> _Response:
    body = req.json()
    _precheck(emu, body)
    with emu.tenant.lock:
        action = emu.tenant.create_action(body)
        # 201 and "pending" (TestAccAction_FailedBuild.yaml id 0).
        return _json_response(201, emu.renderer.action(action, fresh=True))


def _get_action(emu: Auth0Emulator, req: _Request) -> _Response:
    with emu.tenant.lock:
        return _json_response(200, emu.renderer.action(emu.tenant.get_action(req.params["id"])))


def _update_action(emu: Auth0Emulator, req: _Request) -> _Response:
    body = req.json()
    _precheck(emu, body)
    with emu.tenant.lock:
        action = emu.tenant.update_action(req.params["id"], body)
        return _json_response(200, emu.renderer.action(action, fresh=True))


def _delete_action(emu: Auth0Emulator, req: _Request) -> _Response:
    emu.tenant.delete_action(req.params["id"], force=bool(req.q_bool("force")))
    # 204 with an empty body (TestAccAction_FailedBuild.yaml id 6).
    return _Response(204, b"", {"content-type": "application/json; charset=utf-8"})


def _deploy_action(emu: Auth0Emulator, req: _Request) -> _Response:
    with emu.tenant.lock:
        version = emu.tenant.deploy_action(req.params["id"])
        action = emu.tenant.get_action(req.params["id"])
        # The deploy answer says "deployed": false; the version becomes the
        # deployed_version shortly after (TestAccAction.yaml ids 13 -> 14).
        payload = emu.renderer.version(version, action, deployed=False, embed_action=True)
    return _json_response(200, payload)


def _list_versions(emu: Auth0Emulator, req: _Request) -> _Response:
    page, per_page = _page(emu, req)
    with emu.tenant.lock:
        action = emu.tenant.get_action(req.params["action_id"])
        # No action_id in listed versions (go-auth0 TestActionManager_Versions.yaml id 5).
        items = [emu.renderer.version(v, action, embed_action=True) for v in emu.tenant.list_versions(action.id)]
    return _json_response(200, _paginate(items, "versions", page, per_page))


def _get_version(emu: Auth0Emulator, req: _Request) -> _Response:
    with emu.tenant.lock:
        action = emu.tenant.get_action(req.params["action_id"])
        version = emu.tenant.get_version(action.id, req.params["id"])
        payload = emu.renderer.version(version, action, with_action_id=True, embed_action=True)
    return _json_response(200, payload)


def _rollback(emu: Auth0Emulator, req: _Request) -> _Response:
    body = req.json()
    with emu.tenant.lock:
        version = emu.tenant.rollback(
            req.params["action_id"], req.params["id"], update_draft=body.get("update_draft") is True
        )
        action = emu.tenant.get_action(req.params["action_id"])
        payload = emu.renderer.version(version, action, deployed=False, embed_action=True)
    return _json_response(200, payload)


def _list_bindings(emu: Auth0Emulator, req: _Request) -> _Response:
    page, per_page = _page(emu, req)
    with emu.tenant.lock:
        items = [emu.renderer.binding(b) for b in emu.tenant.list_bindings(req.params["trigger_id"])]
    return _json_response(200, _paginate(items, "bindings", page, per_page))


def _update_bindings(emu: Auth0Emulator, req: _Request) -> _Response:
    body = req.json()
    with emu.tenant.lock:
        bindings = emu.tenant.set_bindings(req.params["trigger_id"], body)
        # The PATCH answer is {"bindings": [...]} with no paging fields
        # (TestAccActionDeleteWithUnbind.yaml ids 10, 32).
        return _json_response(200, {"bindings": [emu.renderer.binding(b) for b in bindings]})


# Route table: (method, regex, template, handler). Templates use the SDK's parameter names.
_SEG = r"([^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str, tuple[str, ...], _Handler]] = []


def _route(method: str, template: str, handler: _Handler) -> None:
    names = tuple(re.findall(r"\{(\w+)\}", template))
    pattern = re.compile("^" + re.sub(r"\\\{\w+\\\}", _SEG, re.escape(template)) + "$")
    _ROUTES.append((method, pattern, template, names, handler))


_route("POST", "/oauth/token", _token)
_route("GET", "/api/v2/actions/triggers", _list_triggers)
_route("GET", "/api/v2/actions/triggers/{trigger_id}/bindings", _list_bindings)
_route("PATCH", "/api/v2/actions/triggers/{trigger_id}/bindings", _update_bindings)
_route("GET", "/api/v2/actions/actions", _list_actions)
_route("POST", "/api/v2/actions/actions", _create_action)
_route("GET", "/api/v2/actions/actions/{id}", _get_action)
_route("PATCH", "/api/v2/actions/actions/{id}", _update_action)
_route("DELETE", "/api/v2/actions/actions/{id}", _delete_action)
_route("POST", "/api/v2/actions/actions/{id}/deploy", _deploy_action)
_route("GET", "/api/v2/actions/actions/{action_id}/versions", _list_versions)
_route("GET", "/api/v2/actions/actions/{action_id}/versions/{id}", _get_version)
_route("POST", "/api/v2/actions/actions/{action_id}/versions/{id}/deploy", _rollback)


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
