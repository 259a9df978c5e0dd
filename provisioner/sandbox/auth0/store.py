"""The emulated tenant: actions, versions, triggers, bindings, secrets and tokens.
Sandbox: the Auth0 emulator's tenant store.

``Tenant`` holds all state and every business rule, independent of HTTP: the routes
call its methods under ``tenant.lock``, and tests call the same methods to set up
or inspect state. ``save_tenant`` / ``load_tenant`` persist it as ``tenant.json``
in a state directory.

The module is about 800 lines because ``Tenant`` is one class on purpose: every
rule (limits, builds, deploy windows, bindings, secret stamps) reads and writes
the same records under one lock, and the test hooks (``seed_action``,
``edit_action``, ``rotate_secret``...) must keep the same invariants.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import secrets as secrets_module
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal

from .config import EmulatorConfig
from .model import (
    E_INVALID_BODY,
    ActionRecord,
    ApiError,
    BindingRecord,
    JsonDict,
    SecretRecord,
    TriggerSpec,
    VersionRecord,
    _bad_body,
)
from .syntax import SyntaxChecker

STATE_FILE = "tenant.json"
_STATE_FORMAT = 1


def _build_status(started: float, ready: float, outcome: str, now: float) -> str:
    """pending for the first third of the build, building until ready, then outcome."""
    if now >= ready:
        return outcome
    if now < started + (ready - started) / 3:
        return "pending"
    return "building"


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
                # tests/sandbox/contract/recordings/deploy-cli-create-deploy-triggers.json). Earlier tenants
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
# Persistence
# --------------------------------------------------------------------------------------


def save_tenant(tenant: Tenant, directory: str | os.PathLike[str]) -> Path:
    """Write the tenant to ``directory/tenant.json`` (atomically)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / STATE_FILE
    tmp = folder / f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    data = json.dumps(tenant.to_json(), indent=1, sort_keys=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data)
    os.replace(tmp, target)
    return target


def load_tenant(tenant: Tenant, path: Path) -> None:
    """Replace the tenant's data with the ``tenant.json`` at ``path``."""
    tenant.load_json(json.loads(path.read_text(encoding="utf-8")))
