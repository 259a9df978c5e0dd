"""Tenant records as the Management API answers them, and the page envelope of lists.
Sandbox: the Auth0 emulator's response shapes.

Shapes follow the SDK's types (``auth0/management/types``) and, where the SDK is
silent, responses recorded by terraform-provider-auth0 and go-auth0; the comment
beside each field names its recording.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from .model import ActionRecord, BindingRecord, JsonDict, VersionRecord, _ts
from .store import Tenant


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
