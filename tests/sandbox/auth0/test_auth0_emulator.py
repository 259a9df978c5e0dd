"""The Auth0 Management API emulator, driven by the real auth0-python client over HTTPS.

No mocks: each test starts an emulator on 127.0.0.1 and talks to it with
``auth0.management.ManagementClient`` (or plain httpx where the raw wire format
is the point). Calls that the SDK would retry (409, 429, 5xx) pass
``request_options={"max_retries": 0}`` unless the retry is what is being tested,
so the suite stays fast.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import auth0.management.core.http_client as sdk_http
import httpx
import pytest
from auth0.management import ActionSecretRequest, ActionTrigger, ActionVersionDependency, ManagementClient
from auth0.management.core.api_error import ApiError as SdkApiError
from auth0.management.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)

from provisioner.sandbox.auth0 import server as emulator_module
from provisioner.sandbox.auth0.config import FaultRule
from provisioner.sandbox.auth0.server import Auth0Emulator
from provisioner.sandbox.auth0.syntax import SyntaxChecker

NO_RETRY: Any = {"max_retries": 0}
LOGIN_V3 = [ActionTrigger(id="post-login", version="v3")]
OK_CODE = "exports.onExecutePostLogin = async (event, api) => {};"
# The failing code from terraform-provider-auth0's TestAccAction_FailedBuild recording.
BROKEN_CODE = 'exports.onContinuePostLogin = async (event, api) => {\n\tconsole.log(event)\n};"\n'
LIST = ("GET", "/api/v2/actions/actions")
ACTION = ("GET", "/api/v2/actions/actions/{id}")
TRIGGERS = ("GET", "/api/v2/actions/triggers")
BINDINGS_PATCH = ("PATCH", "/api/v2/actions/triggers/{trigger_id}/bindings")

ClientFor = Callable[[Auth0Emulator], ManagementClient]
MakeEmulator = Callable[..., Auth0Emulator]


class FakeClock:
    """A settable clock for ``EmulatorConfig.clock`` (drives builds and deploy windows)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _record_sleeps(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[float]:
    """Record every ``time.sleep`` that ``module`` makes (still sleeping for real); return the list."""
    waits: list[float] = []

    class RecordingTime:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def sleep(self, seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

    monkeypatch.setattr(module, "time", RecordingTime())
    return waits


def _secrets(count: int) -> list[ActionSecretRequest]:
    return [ActionSecretRequest(name=f"S{i}", value="v") for i in range(count)]


def _raw(emulator: Auth0Emulator, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=emulator.base_url, verify=emulator.client_ssl_context(), headers=headers)


# ---------------------------------------------------------------------------------------
# Tokens and TLS trust
# ---------------------------------------------------------------------------------------


def test_client_credentials_token_and_bearer_checks(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    triggers = mgmt.actions.triggers.list().triggers or []
    assert triggers and emulator.counts[("POST", "/oauth/token")] == 1

    with _raw(emulator) as http:
        form = http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
                "audience": emulator.audience,
            },
        )
        assert form.status_code == 200
        body = form.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["scope"]
        as_json = http.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
            },
        )
        assert as_json.status_code == 200
        bad = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": emulator.client_id, "client_secret": "wrong"},
        )
        assert bad.status_code == 401
        assert bad.json() == {"error": "access_denied", "error_description": "Unauthorized"}
        missing = http.get("/api/v2/actions/triggers")
        assert missing.status_code == 401
        assert set(missing.json()) == {"statusCode", "error", "message", "errorCode"}
        ok = http.get("/api/v2/actions/triggers", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert ok.status_code == 200

    bad_client = ManagementClient(domain=emulator.domain, client_id=emulator.client_id, client_secret="nope")
    with pytest.raises(httpx.HTTPStatusError) as info:
        bad_client.actions.triggers.list()
    assert info.value.response.status_code == 401

    forged = ManagementClient(domain=emulator.domain, token="not-a-token")
    with pytest.raises(UnauthorizedError) as unauthorized:
        forged.actions.triggers.list()
    assert unauthorized.value.body["statusCode"] == 401


def test_trust_without_ssl_cert_file(emulator: Auth0Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SSL_CERT_FILE: a token plus httpx_client(verify=ctx) works; the
    client-credentials flow does not, because the SDK's TokenProvider builds its own
    httpx.Client() and never uses ``httpx_client``."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    verified = httpx.Client(verify=emulator.client_ssl_context())
    with_token = ManagementClient(domain=emulator.domain, token=emulator.issue_token(), httpx_client=verified)
    assert with_token.actions.triggers.list().triggers

    untrusted = ManagementClient(domain=emulator.domain, token=emulator.issue_token())
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.actions.triggers.list(request_options=NO_RETRY)

    credentials = ManagementClient(
        domain=emulator.domain,
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
        httpx_client=verified,
    )
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        credentials.actions.triggers.list(request_options=NO_RETRY)


def test_expired_token_is_rejected(emulator: Auth0Emulator, client_for: ClientFor) -> None:
    client_for(emulator)  # trust the CA
    client = ManagementClient(domain=emulator.domain, token=emulator.issue_token(ttl=-1))
    with pytest.raises(UnauthorizedError):
        client.actions.triggers.list()


# ---------------------------------------------------------------------------------------
# Triggers
# ---------------------------------------------------------------------------------------


def test_triggers_list_versions_and_binding_policy(mgmt: ManagementClient) -> None:
    triggers = mgmt.actions.triggers.list().triggers or []
    by_key = {(t.id, t.version): t for t in triggers}
    assert by_key[("post-login", "v3")].status == "CURRENT"
    assert by_key[("post-login", "v2")].status == "DEPRECATED"
    assert by_key[("post-login", "v3")].default_runtime == "node22"
    assert "node18-actions" in (by_key[("post-login", "v3")].runtimes or [])
    for trigger_id in ("credentials-exchange", "pre-user-registration", "post-user-registration"):
        assert by_key[(trigger_id, "v2")].binding_policy == "trigger-bound"
    assert by_key[("custom-token-exchange", "v1")].binding_policy == "entity-bound"
    # Listing an entity-bound trigger's bindings answers an empty list (auth0-deploy-cli 2026
    # recordings); binding to it is refused.
    assert list(mgmt.actions.triggers.bindings.list("custom-token-exchange")) == []
    with pytest.raises(BadRequestError) as info:
        mgmt.actions.triggers.bindings.update_many("custom-token-exchange", bindings=[])
    assert info.value.body["message"] == "cannot update action bindings for an entity-bound trigger"


# ---------------------------------------------------------------------------------------
# Actions: create, list, secrets, names
# ---------------------------------------------------------------------------------------


def test_create_and_paginated_list(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    for i in range(60):
        trigger = LOGIN_V3 if i % 2 == 0 else [ActionTrigger(id="pre-user-registration", version="v2")]
        created = mgmt.actions.create(name=f"action-{i:02d}", supported_triggers=trigger, code=OK_CODE)
        assert created.status == "pending" and created.runtime == "node22"
    emulator.reset_counts()

    first = mgmt.actions.list(per_page=25)
    assert first.response.total == 60 and first.response.per_page == 25
    pages = [len(page.items or []) for page in first.iter_pages()]
    assert pages == [25, 25, 10]
    assert emulator.counts[LIST] == 4  # three pages plus the empty page that ends the SDK's pager
    names = [a.name for a in mgmt.actions.list(per_page=25)]
    assert names == [f"action-{i:02d}" for i in range(60)]
    assert all(a.code == OK_CODE for a in mgmt.actions.list(per_page=100))  # full actions, code included

    only_login = list(mgmt.actions.list(trigger_id="post-login", per_page=100))
    assert len(only_login) == 30
    by_name = list(mgmt.actions.list(action_name="action-07"))
    assert [a.name for a in by_name] == ["action-07"]
    assert list(mgmt.actions.list(deployed=True)) == []
    with pytest.raises(BadRequestError):
        mgmt.actions.list(per_page=101)


def test_secrets_are_write_only_and_replaced_whole(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    created = mgmt.actions.create(
        name="with-secrets",
        supported_triggers=LOGIN_V3,
        code=OK_CODE,
        secrets=[ActionSecretRequest(name="API_KEY", value="s3cr3t"), ActionSecretRequest(name="OTHER", value="x")],
    )
    assert created.id
    assert [s.name for s in created.secrets or []] == ["API_KEY", "OTHER"]
    with _raw(emulator, emulator.issue_token()) as http:
        raw = http.get(f"/api/v2/actions/actions/{created.id}").json()
    assert all(set(s) == {"name", "updated_at"} for s in raw["secrets"])
    assert "s3cr3t" not in json.dumps(raw)
    assert emulator.tenant.secret_value(created.id, "API_KEY") == "s3cr3t"

    # PATCH without secrets keeps them; PATCH with secrets replaces the whole list.
    mgmt.actions.update(created.id, code=OK_CODE + "\n")
    assert [s.name for s in mgmt.actions.get(created.id).secrets or []] == ["API_KEY", "OTHER"]
    replaced = mgmt.actions.update(created.id, secrets=[ActionSecretRequest(name="API_KEY", value="rotated")])
    assert [s.name for s in replaced.secrets or []] == ["API_KEY"]
    assert emulator.tenant.secret_value(created.id, "API_KEY") == "rotated"

    # A rotation done "in the dashboard" shows only as a new updated_at.
    before = mgmt.actions.get(created.id).secrets or []
    emulator.tenant.rotate_secret(created.id, "API_KEY", "from-dashboard")
    after = mgmt.actions.get(created.id).secrets or []
    assert after[0].updated_at and before[0].updated_at and after[0].updated_at > before[0].updated_at


def test_duplicate_name_conflicts(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    mgmt.actions.create(name="same", supported_triggers=LOGIN_V3, code=OK_CODE)
    with pytest.raises(SdkApiError) as info:
        mgmt.actions.create(name="same", supported_triggers=LOGIN_V3, code=OK_CODE, request_options=NO_RETRY)
    assert info.value.status_code == 409
    assert info.value.body["statusCode"] == 409 and info.value.body["error"] == "Conflict"
    assert emulator.counts[("POST", "/api/v2/actions/actions")] == 2


def test_validation_errors(mgmt: ManagementClient) -> None:
    with pytest.raises(BadRequestError) as info:
        mgmt.actions.create(name="bad-rt", supported_triggers=LOGIN_V3, code=OK_CODE, runtime="node99")
    assert info.value.body["errorCode"] == "invalid_body"
    with pytest.raises(BadRequestError):
        mgmt.actions.create(name="two", supported_triggers=[*LOGIN_V3, ActionTrigger(id="post-login", version="v2")])
    with pytest.raises(BadRequestError):
        mgmt.actions.create(name="bad-trigger", supported_triggers=[ActionTrigger(id="post-login", version="v9")])
    node18 = mgmt.actions.create(name="n18", supported_triggers=LOGIN_V3, code=OK_CODE, runtime="node18-actions")
    assert node18.runtime == "node18-actions"
    with pytest.raises(NotFoundError) as missing:
        mgmt.actions.get("00000000-0000-0000-0000-000000000000")
    assert missing.value.body["statusCode"] == 404


# ---------------------------------------------------------------------------------------
# Builds, deploys, versions
# ---------------------------------------------------------------------------------------


def test_build_moves_pending_building_built(make_emulator: MakeEmulator, client_for: ClientFor) -> None:
    clock = FakeClock()
    emulator = make_emulator(build_seconds=3.0, clock=clock)
    mgmt = client_for(emulator)
    created = mgmt.actions.create(name="slow", supported_triggers=LOGIN_V3, code=OK_CODE)
    assert created.id and created.status == "pending"
    assert mgmt.actions.get(created.id).status == "pending"
    with pytest.raises(BadRequestError) as info:
        mgmt.actions.deploy(created.id)
    assert info.value.body["message"] == "A draft must be in the 'built' state before it can be deployed."
    clock.advance(1.5)
    assert mgmt.actions.get(created.id).status == "building"
    clock.advance(1.5)
    assert mgmt.actions.get(created.id).status == "built"
    assert mgmt.actions.deploy(created.id).number == 1

    # An edit starts a new build; the deployed version stays live meanwhile.
    mgmt.actions.update(created.id, code=OK_CODE + "// v2")
    draft = mgmt.actions.get(created.id)
    assert draft.status == "pending" and draft.all_changes_deployed is False
    assert draft.deployed_version and draft.deployed_version.code == OK_CODE


@pytest.mark.parametrize("checker", ["auto", "brackets"])
def test_broken_code_fails_to_build(make_emulator: MakeEmulator, client_for: ClientFor, checker: str) -> None:
    emulator = make_emulator(syntax_check=checker)
    mgmt = client_for(emulator)
    created = mgmt.actions.create(name="broken", supported_triggers=LOGIN_V3, code=BROKEN_CODE)
    assert created.id and created.status == "pending"
    assert mgmt.actions.get(created.id).status == "failed"
    assert "SyntaxError" in emulator.tenant.actions[created.id].build_errors[0]["msg"]
    with pytest.raises(BadRequestError):
        mgmt.actions.deploy(created.id)

    # create(deploy=True) makes a version that follows the build: a failed one carries errors.
    deployed = mgmt.actions.create(name="broken-deployed", supported_triggers=LOGIN_V3, code=BROKEN_CODE, deploy=True)
    assert deployed.id
    version = mgmt.actions.get(deployed.id).deployed_version
    assert version and version.status == "failed"
    assert version.errors and "SyntaxError" in (version.errors[0].msg or "")


def test_deploy_versions_and_rollback(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    action = mgmt.actions.create(name="versioned", supported_triggers=LOGIN_V3, code="// one\n" + OK_CODE)
    assert action.id
    first = mgmt.actions.deploy(action.id)
    assert first.number == 1 and first.deployed is False  # the deploy answer is not yet live
    live = mgmt.actions.get(action.id)
    assert live.deployed_version and live.deployed_version.id == first.id and live.all_changes_deployed

    mgmt.actions.update(action.id, code="// two\n" + OK_CODE)
    second = mgmt.actions.deploy(action.id)
    assert second.number == 2

    versions = list(mgmt.actions.versions.list(action.id))
    assert [(v.number, v.deployed) for v in versions] == [(2, True), (1, False)]
    assert mgmt.actions.versions.get(action.id, first.id or "").code == "// one\n" + OK_CODE

    rolled = mgmt.actions.versions.deploy(action.id, first.id or "")
    assert rolled.number == 3 and rolled.code == "// one\n" + OK_CODE
    after = mgmt.actions.get(action.id)
    assert after.deployed_version and after.deployed_version.number == 3
    assert after.code == "// two\n" + OK_CODE and after.all_changes_deployed is False

    again = mgmt.actions.versions.deploy(action.id, first.id or "", request={"update_draft": True})
    assert again.number == 4
    assert mgmt.actions.get(action.id).code == "// one\n" + OK_CODE


def test_version_limit_prunes_or_rejects(make_emulator: MakeEmulator, client_for: ClientFor) -> None:
    emulator = make_emulator(max_versions_per_action=3)
    mgmt = client_for(emulator)
    action = mgmt.actions.create(name="many", supported_triggers=LOGIN_V3, code=OK_CODE)
    assert action.id
    for _ in range(5):
        mgmt.actions.deploy(action.id)
    assert [v.number for v in mgmt.actions.versions.list(action.id)] == [5, 4, 3]

    strict = make_emulator(max_versions_per_action=2, version_overflow="reject")
    mgmt = client_for(strict)
    action = mgmt.actions.create(name="few", supported_triggers=LOGIN_V3, code=OK_CODE)
    assert action.id
    mgmt.actions.deploy(action.id)
    mgmt.actions.deploy(action.id)
    with pytest.raises(BadRequestError):
        mgmt.actions.deploy(action.id)


# ---------------------------------------------------------------------------------------
# Bindings
# ---------------------------------------------------------------------------------------


def test_bindings_replace_the_whole_ordered_list(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    ids = {}
    for name in ("a", "b", "c"):
        action = mgmt.actions.create(name=name, supported_triggers=LOGIN_V3, code=OK_CODE)
        assert action.id
        mgmt.actions.deploy(action.id)
        ids[name] = action.id
    unmanaged_action = emulator.tenant.seed_action("unmanaged")
    unmanaged = emulator.tenant.add_binding("post-login", unmanaged_action.id)

    result = mgmt.actions.triggers.bindings.update_many(
        "post-login",
        bindings=[
            {"ref": {"type": "action_id", "value": ids["b"]}, "display_name": "B"},
            {"ref": {"type": "binding_id", "value": unmanaged.id}},
            {"ref": {"type": "action_name", "value": "a"}},
        ],
    )
    got = [(b.display_name, b.action.name if b.action else None) for b in result.bindings or []]
    assert got == [("B", "b"), ("unmanaged", "unmanaged"), ("a", "a")]
    assert (result.bindings or [])[1].id == unmanaged.id  # a binding_id ref keeps the binding

    listed = list(mgmt.actions.triggers.bindings.list("post-login"))
    assert [b.id for b in listed] == [b.id for b in result.bindings or []]

    # Replaced whole: whatever is not re-sent is unbound; re-sending by action_id makes a new binding.
    replaced = mgmt.actions.triggers.bindings.update_many(
        "post-login", bindings=[{"ref": {"type": "action_id", "value": ids["c"]}}]
    )
    assert [b.action.name for b in replaced.bindings or [] if b.action] == ["c"]
    assert emulator.tenant.bound_triggers(unmanaged_action.id) == []


def test_binding_errors_and_deploy_window(make_emulator: MakeEmulator, client_for: ClientFor) -> None:
    clock = FakeClock()
    emulator = make_emulator(clock=clock, deploy_settle_seconds=2.0)
    mgmt = client_for(emulator)
    action = mgmt.actions.create(name="late", supported_triggers=LOGIN_V3, code=OK_CODE)
    assert action.id
    ref = [{"ref": {"type": "action_id", "value": action.id}}]
    with pytest.raises(BadRequestError) as never_deployed:
        mgmt.actions.triggers.bindings.update_many("post-login", bindings=ref)
    assert "has not been deployed yet" in never_deployed.value.body["message"]

    mgmt.actions.deploy(action.id)
    assert mgmt.actions.get(action.id).deployed_version is None  # inside the settle window
    with pytest.raises(BadRequestError):
        mgmt.actions.triggers.bindings.update_many("post-login", bindings=ref)
    clock.advance(2.0)
    assert mgmt.actions.triggers.bindings.update_many("post-login", bindings=ref).bindings

    with pytest.raises(BadRequestError) as incompatible:
        mgmt.actions.triggers.bindings.update_many("pre-user-registration", bindings=ref)
    assert "incompatible" in incompatible.value.body["message"]
    with pytest.raises(BadRequestError) as malformed:
        mgmt.actions.triggers.bindings.update_many("post-login", bindings=[{"ref": {"type": "nope", "value": "x"}}])
    assert malformed.value.body["errorCode"] == "invalid_body"


def test_deleting_a_bound_action(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    action = emulator.tenant.seed_action("bound")
    emulator.tenant.add_binding("post-login", action.id)
    with pytest.raises(SdkApiError) as info:
        mgmt.actions.delete(action.id, request_options=NO_RETRY)
    assert info.value.status_code == 409
    assert info.value.body["message"] == "Unable to delete an action bound to a trigger."
    assert action.id in emulator.tenant.actions

    mgmt.actions.delete(action.id, force=True)
    assert action.id not in emulator.tenant.actions
    assert list(mgmt.actions.triggers.bindings.list("post-login")) == []
    with pytest.raises(NotFoundError):
        mgmt.actions.get(action.id)


# ---------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------


def test_tenant_and_payload_limits(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    tenant = emulator.tenant
    seeded = [tenant.seed_action(f"seed-{i:03d}", deploy=i < 21) for i in range(99)]
    last = mgmt.actions.create(name="the-100th", supported_triggers=LOGIN_V3, code=OK_CODE)
    assert last.id
    with pytest.raises(ForbiddenError):
        mgmt.actions.create(name="the-101st", supported_triggers=LOGIN_V3, code=OK_CODE)

    refs = [{"ref": {"type": "action_id", "value": a.id}} for a in seeded[:21]]
    with pytest.raises(BadRequestError):
        mgmt.actions.triggers.bindings.update_many("post-login", bindings=refs)
    assert len(mgmt.actions.triggers.bindings.update_many("post-login", bindings=refs[:20]).bindings or []) == 20

    with pytest.raises(BadRequestError):
        mgmt.actions.update(last.id, secrets=_secrets(31))
    with pytest.raises(BadRequestError):
        mgmt.actions.update(
            last.id, dependencies=[ActionVersionDependency(name=f"dep{i}", version="1.0.0") for i in range(11)]
        )
    with pytest.raises(BadRequestError):
        mgmt.actions.update(last.id, code="//" + "x" * (100 * 1024))
    assert mgmt.actions.update(last.id, secrets=_secrets(30)).secrets


# ---------------------------------------------------------------------------------------
# Rate limits, faults, counting
# ---------------------------------------------------------------------------------------


def test_rate_limit_headers_429_and_sdk_retry(
    make_emulator: MakeEmulator, client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = make_emulator(rate_limit_per_second=4, rate_limit_burst=2)
    mgmt = client_for(emulator)
    mgmt.actions.triggers.list()  # fetches the token; /oauth/token is not rate limited
    with _raw(emulator, emulator.issue_token()) as http:
        responses = [http.get("/api/v2/actions/triggers") for _ in range(6)]
    ok, limited = responses[0], responses[-1]
    assert ok.headers["x-ratelimit-limit"] == "2"
    assert int(ok.headers["x-ratelimit-reset"]) >= int(time.time())
    assert limited.status_code == 429
    assert limited.json() == {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Global limit has been reached",
        "errorCode": "too_many_requests",
    }
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) > time.time()

    # The bucket is empty: the SDK gets a 429, sleeps until x-ratelimit-reset, retries. Its sleeps
    # are recorded (and really taken, so the bucket refills); how long the wait lasts on a real
    # clock is a figure for bench/bench_delays.py, not an assertion here.
    waits = _record_sleeps(monkeypatch, sdk_http)
    emulator.reset_counts()
    assert mgmt.actions.triggers.list().triggers
    limited_answers = emulator.status_counts[(*TRIGGERS, 429)]
    assert limited_answers >= 1
    assert emulator.status_counts[(*TRIGGERS, 200)] == 1
    assert emulator.counts[TRIGGERS] == 1 + limited_answers
    assert len(waits) == limited_answers  # one wait before every retry, none after the success
    assert all(wait > 0 for wait in waits), waits


def test_fault_injection_is_deterministic(make_emulator: MakeEmulator, client_for: ClientFor) -> None:
    emulator = make_emulator()
    mgmt = client_for(emulator)
    emulator.add_fault(FaultRule(method="GET", path="/api/v2/actions/triggers", status=503, first_n=1))
    with pytest.raises(SdkApiError) as info:
        mgmt.actions.triggers.list(request_options=NO_RETRY)
    assert info.value.status_code == 503
    assert mgmt.actions.triggers.list(request_options=NO_RETRY).triggers

    emulator.add_fault(FaultRule(kind="drop", method="POST", path=r".*/deploy", every_nth=2))
    action = emulator.tenant.seed_action("dropper", deploy=False)
    mgmt.actions.deploy(action.id, request_options=NO_RETRY)
    with pytest.raises(httpx.TransportError):
        mgmt.actions.deploy(action.id, request_options=NO_RETRY)

    def pattern(seed: int) -> list[int]:
        emu = make_emulator(seed=seed)
        emu.add_fault(FaultRule(path=r"/api/v2/actions/triggers", status=500, probability=0.5))
        with _raw(emu, emu.issue_token()) as http:
            return [http.get("/api/v2/actions/triggers").status_code for _ in range(12)]

    assert pattern(7) == pattern(7)
    assert {500, 200} <= set(pattern(7))


def test_sdk_retries_a_transient_503(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    emulator.add_fault(FaultRule(path=r".*/actions/triggers", status=503, first_n=1))
    assert mgmt.actions.triggers.list().triggers
    assert emulator.status_counts[(*TRIGGERS, 503)] == 1
    assert emulator.status_counts[(*TRIGGERS, 200)] == 1


def test_request_counting(emulator: Auth0Emulator, mgmt: ManagementClient) -> None:
    action = mgmt.actions.create(name="counted", supported_triggers=LOGIN_V3, code=OK_CODE)
    assert action.id
    mgmt.actions.get(action.id)
    mgmt.actions.get(action.id)
    mgmt.actions.triggers.bindings.update_many("post-login", bindings=[])
    assert emulator.counts[ACTION] == 2
    assert emulator.counts[("POST", "/api/v2/actions/actions")] == 1
    assert emulator.counts[BINDINGS_PATCH] == 1
    emulator.reset_counts()
    assert sum(emulator.counts.values()) == 0
    mgmt.actions.get(action.id)
    assert dict(emulator.counts) == {ACTION: 1}


def test_latency_and_concurrent_clients(
    make_emulator: MakeEmulator, client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = make_emulator(latency_seconds=0.05)
    waits = _record_sleeps(monkeypatch, emulator_module)
    mgmt = client_for(emulator)
    mgmt.actions.triggers.list()
    mgmt.actions.triggers.list()
    # Every request (the token's included) waited the configured latency before its answer.
    assert sum(emulator.counts.values()) == 3
    assert waits == [0.05] * 3

    errors: list[BaseException] = []

    def create(worker: int) -> None:
        try:
            client = ManagementClient(domain=emulator.domain, token=emulator.issue_token())
            for i in range(5):
                client.actions.create(name=f"w{worker}-{i}", supported_triggers=LOGIN_V3, code=OK_CODE)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(emulator.tenant.actions) == 20
    assert emulator.counts[("POST", "/api/v2/actions/actions")] == 20


# ---------------------------------------------------------------------------------------
# Persistence and the command line
# ---------------------------------------------------------------------------------------


def test_save_and_load_round_trip(make_emulator: MakeEmulator, client_for: ClientFor, tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = make_emulator(state_dir=state)
    mgmt = client_for(first)
    action = mgmt.actions.create(
        name="kept", supported_triggers=LOGIN_V3, code=OK_CODE, secrets=[ActionSecretRequest(name="K", value="v1")]
    )
    assert action.id
    mgmt.actions.deploy(action.id)
    binding = mgmt.actions.triggers.bindings.update_many(
        "post-login", bindings=[{"ref": {"type": "action_id", "value": action.id}}]
    ).bindings
    token = first.issue_token()
    secret, ca_pem = first.client_secret, first.ca_file.read_bytes()
    first.save(tmp_path / "snapshot")
    first.stop()

    second = make_emulator(state_dir=state)  # a stopped sandbox comes back as it was
    assert second.client_secret == secret and second.ca_file.read_bytes() == ca_pem
    mgmt = client_for(second)
    again = mgmt.actions.get(action.id)
    assert again.deployed_version and again.deployed_version.number == 1
    assert [s.name for s in again.secrets or []] == ["K"]
    assert second.tenant.secret_value(action.id, "K") == "v1"
    assert [b.id for b in mgmt.actions.triggers.bindings.list("post-login")] == [b.id for b in binding or []]
    with _raw(second, token) as http:
        assert http.get("/api/v2/actions/triggers").status_code == 200  # issued tokens survive

    loaded = Auth0Emulator.load(tmp_path / "snapshot").start()
    try:
        mgmt = client_for(loaded)
        assert [a.name for a in mgmt.actions.list()] == ["kept"]
    finally:
        loaded.stop()


def test_command_line_serves_until_interrupted(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.Popen(
        [sys.executable, "-m", "provisioner.sandbox.auth0", "--state-dir", str(tmp_path), "--build-seconds", "0"],
        cwd=repo,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    try:
        assert proc.stdout is not None
        info: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("Ctrl-C"):
                break
            key, sep, value = line.partition(":")
            if sep and value.strip():
                info[key.strip()] = value.strip()
        client = httpx.Client(verify=_context(info["ca file"]))
        response = client.get(
            f"https://{info['domain']}/api/v2/actions/triggers",
            headers={"Authorization": f"Bearer {info['token']}"},
        )
        assert response.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    assert (tmp_path / "tenant.json").is_file()


def _context(ca_file: str) -> Any:
    import ssl

    return ssl.create_default_context(cafile=ca_file)


@pytest.mark.skipif(shutil.which("node") is None, reason="node --check needs node")
def test_syntax_checker__same_code_checked_concurrently__every_check_passes() -> None:
    """A create retried while its first attempt is still handled sends the same code twice at once."""
    checker = SyntaxChecker("node")
    code = "exports.onExecutePostUserRegistration = async (event, api) => {};\n"
    barrier = threading.Barrier(8)

    def check(_: int) -> list[str]:
        barrier.wait()
        return checker.check(code)

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(check, range(8)))
    finally:
        checker.close()
    assert results == [[]] * 8
