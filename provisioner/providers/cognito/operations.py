"""The Cognito provider's operations: resource changes to ordered, wired calls of ``LambdaCognitoClient``.
Provider cognito: the pure planning half, operations (no I/O, no SDK).

The differ's changes to roles, functions, permissions and pool trigger entries
become operations with their dependencies and apply-time references (a new
role's ARN, a new function's ARN). Documents and names come from ``plan.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...engine.diff import Resource
from ...engine.model import Stack
from ...engine.plan import CREATE, DELETE, Operation, Ref, ResourceChange
from .plan import (
    CODE_FIELDS,
    CONFIG_FIELDS,
    ENVIRONMENT_FIELDS,
    PROVIDER,
    PoolView,
    function_environment,
    secrets_policy,
    statement_id,
    with_marker,
)


@dataclass
class _Ids:
    """Operation ids by what they act on, to wire dependencies once every operation exists."""

    role: dict[str, str] = field(default_factory=dict)
    role_delete: dict[str, str] = field(default_factory=dict)
    function: dict[str, list[str]] = field(default_factory=dict)
    function_create: dict[str, str] = field(default_factory=dict)
    function_delete: dict[str, str] = field(default_factory=dict)
    permission_add: dict[tuple[str, str], str] = field(default_factory=dict)
    pool: dict[str, str] = field(default_factory=dict)


@dataclass
class OperationPlanner:
    """Turns resource changes into client operations with dependencies and apply-time refs."""

    stack: Stack
    desired: Mapping[str, Resource]
    live: Mapping[str, Resource]
    artifacts: Mapping[str, Any]
    pools: Mapping[str, PoolView]
    # Each build's path as the saved plan records it (by function address): see provider.portable_path.
    zip_paths: Mapping[str, str]
    ids: _Ids = field(default_factory=_Ids)

    def plan(self, changes: list[ResourceChange]) -> list[Operation]:
        kinds = {"role": [], "function": [], "permission": [], "entry": []}  # type: dict[str, list[ResourceChange]]
        for change in changes:
            kind = self._resource(change).extra.get("kind", "")
            kinds.setdefault(kind, []).append(change)
        creates: list[Operation] = []
        deletes: list[Operation] = []
        for change in kinds["role"]:
            (deletes if change.kind == DELETE else creates).extend(self._role(change))
        for change in kinds["function"]:
            (deletes if change.kind == DELETE else creates).extend(self._function(change))
        for change in kinds["permission"]:
            (deletes if change.kind == DELETE else creates).extend(self._permission(change))
        pools = self._pools(kinds["entry"])
        ops = [*creates, *pools, *deletes]
        return [self._wire(op) for op in ops if op is not None]

    def _resource(self, change: ResourceChange) -> Resource:
        return self.desired.get(change.address) or self.live[change.address]

    def _delete(self, change: ResourceChange, noun: str, name: str, logical: str, ids: dict[str, str]) -> Operation:
        """Delete a role or function; remembers the operation so later steps can depend on it."""
        op_id = f"delete-{noun}:{change.address}"
        ids[logical] = op_id
        return Operation(
            op_id,
            PROVIDER,
            f"delete_{noun}",
            {"address": change.address, "name": name},
            f"Delete {noun} {name}",
            change.address,
            record={change.address: None},
        )

    # roles ------------------------------------------------------------------------------
    def _role(self, change: ResourceChange) -> list[Operation]:
        resource = self._resource(change)
        logical = resource.extra["function"]
        name = resource.extra["name"]
        if change.kind == DELETE:
            return [self._delete(change, "role", name, logical, self.ids.role_delete)]
        doc = resource.doc
        policy = secrets_policy(doc["secret_access"])
        record = {"kind": "role", "function": logical, "name": name}
        if change.kind == CREATE:
            op_id = f"create-role:{change.address}"
            self.ids.role[logical] = op_id
            return [
                Operation(
                    op_id,
                    PROVIDER,
                    "create_role",
                    {
                        "address": change.address,
                        "name": name,
                        "path": resource.extra["path"],
                        "description": resource.extra["description"],
                        "trust": list(doc["trust"]),
                        "managed_policies": list(doc["managed_policies"]),
                        "secrets_policy": policy,
                        "tags": dict(resource.extra["tags"]),
                    },
                    f"Create role {name}",
                    change.address,
                    record={change.address: {**record, "arn": Ref(op_id, ("Arn",))}},
                )
            ]
        live = self.live[change.address].doc
        op_id = f"update-role:{change.address}"
        self.ids.role[logical] = op_id
        return [
            Operation(
                op_id,
                PROVIDER,
                "update_role",
                {
                    "address": change.address,
                    "name": name,
                    "trust": list(doc["trust"]) if doc["trust"] != live["trust"] else None,
                    "attach": sorted(set(doc["managed_policies"]) - set(live["managed_policies"])),
                    "detach": sorted(set(live["managed_policies"]) - set(doc["managed_policies"])),
                    "secrets_policy": policy,
                    "secrets_policy_changed": doc["secret_access"] != live["secret_access"],
                },
                f"Update role {name}",
                change.address,
                record={change.address: {**record, "arn": resource.extra["arn"]}},
            )
        ]

    # functions --------------------------------------------------------------------------
    def _function(self, change: ResourceChange) -> list[Operation]:
        resource = self._resource(change)
        logical = resource.extra["function"]
        name = resource.extra["name"]
        if change.kind == DELETE:
            return [self._delete(change, "function", name, logical, self.ids.function_delete)]
        fn = resource.extra["fn"]
        doc = resource.doc
        artifact = self.artifacts[change.address]
        role: Any = doc["role"]
        if fn.role is None and logical in self.ids.role and self.ids.role[logical].startswith("create-role:"):
            role = Ref(self.ids.role[logical], ("Arn",))
        record = {"kind": "function", "function": logical, "name": name, "environment": sorted(doc["environment"])}
        if change.kind == CREATE:
            op_id = f"create-function:{change.address}"
            self.ids.function_create[logical] = op_id
            self.ids.function[logical] = [op_id]
            return [
                Operation(
                    op_id,
                    PROVIDER,
                    "create_function",
                    {
                        "address": change.address,
                        "name": name,
                        "zip_path": self.zip_paths[change.address],
                        "code_sha256": artifact.code_sha256,
                        "runtime": doc["runtime"],
                        "handler": doc["handler"],
                        "role": role,
                        "timeout": doc["timeout"],
                        "memory": doc["memory"],
                        "description": with_marker(doc["description"], artifact.digest),
                        "architecture": doc["architecture"],
                        "environment": function_environment(fn, doc),
                        "tags": dict(resource.extra["tags"]),
                    },
                    f"Create function {name} ({doc['runtime']}, {artifact.size} bytes)",
                    change.address,
                    record={change.address: {**record, "arn": Ref(op_id, ("FunctionArn",))}},
                )
            ]
        live = self.live[change.address]
        changed = {f.path.split(".", 1)[0] for f in change.fields}
        ops: list[Operation] = []
        code_needed = live.extra.get("code_sha256") != artifact.code_sha256 or bool(changed & CODE_FIELDS)
        if code_needed:
            ops.append(
                Operation(
                    f"update-code:{change.address}",
                    PROVIDER,
                    "update_function_code",
                    {
                        "address": change.address,
                        "name": name,
                        "zip_path": self.zip_paths[change.address],
                        "code_sha256": artifact.code_sha256,
                        "architecture": doc["architecture"],
                    },
                    f"Upload code of function {name} ({artifact.size} bytes)",
                    change.address,
                    record={change.address: {**record, "arn": live.extra["arn"]}},
                )
            )
        config = changed & CONFIG_FIELDS
        if config:
            params: dict[str, Any] = {"address": change.address, "name": name}
            for key in ("runtime", "handler", "timeout", "memory"):
                if key in config:
                    params[key] = doc[key]
            if "role" in config:
                params["role"] = role
            if config & {"description", "code_digest"}:
                params["description"] = with_marker(doc["description"], artifact.digest)
            if config & ENVIRONMENT_FIELDS:
                params["environment"] = function_environment(fn, doc)
            ops.append(
                Operation(
                    f"update-config:{change.address}",
                    PROVIDER,
                    "update_function_configuration",
                    params,
                    f"Update configuration of function {name} ({', '.join(sorted(config))})",
                    change.address,
                    depends_on=tuple(op.id for op in ops),
                    record={change.address: {**record, "arn": live.extra["arn"]}},
                )
            )
        self.ids.function[logical] = [op.id for op in ops]
        return ops

    # permissions ------------------------------------------------------------------------
    def _permission(self, change: ResourceChange) -> list[Operation]:
        resource = self._resource(change)
        logical, pool, name = resource.extra["function"], resource.extra["pool"], resource.extra["name"]
        if change.kind == DELETE:
            sid = resource.extra["sid"]
            return [
                Operation(
                    f"remove-permission:{change.address}",
                    PROVIDER,
                    "remove_permission",
                    {"address": change.address, "function_name": name, "statement_id": sid},
                    f"Remove permission {sid} from function {name}",
                    change.address,
                    record={change.address: None},
                )
            ]
        view = self.pools[pool]
        sid = statement_id(view.user_pool_id)
        # A grant under hookctl's own statement id that differs is replaced, not added twice.
        have = self.live.get(change.address)
        replace = have is not None and have.extra.get("sid") == sid
        op_id = f"add-permission:{change.address}"
        self.ids.permission_add[(logical, pool)] = op_id
        return [
            Operation(
                op_id,
                PROVIDER,
                "add_permission",
                {
                    "address": change.address,
                    "function_name": name,
                    "statement_id": sid,
                    "source_arn": resource.doc["source_arn"],
                    "source_account": resource.doc["source_account"],
                    "replace": replace,
                },
                f"Allow pool {pool} to invoke function {name}",
                change.address,
                record={
                    change.address: {
                        "kind": "permission",
                        "function": logical,
                        "pool": pool,
                        "name": name,
                        "statement_id": sid,
                        "source_arn": resource.doc["source_arn"],
                    }
                },
            )
        ]

    # pools ------------------------------------------------------------------------------
    def _pools(self, changes: list[ResourceChange]) -> list[Operation]:
        by_pool: dict[str, list[ResourceChange]] = {}
        for change in changes:
            by_pool.setdefault(self._resource(change).extra["pool"], []).append(change)
        ops: list[Operation] = []
        for pool, entries in by_pool.items():
            view = self.pools[pool]
            set_entries: dict[str, Any] = {}
            remove: list[str] = []
            record: dict[str, Any] = {}
            words: list[str] = []
            for change in sorted(entries, key=lambda c: c.address):
                resource = self._resource(change)
                trigger = resource.extra["trigger"]
                if change.kind == DELETE:
                    remove.append(trigger)
                    record[change.address] = None
                    words.append(f"detach {trigger}")
                    continue
                logical = resource.extra["function"]
                arn: Any = resource.doc["lambda_arn"]
                if logical in self.ids.function_create:
                    arn = Ref(self.ids.function_create[logical], ("FunctionArn",))
                entry: dict[str, Any] = {"LambdaArn": arn}
                if "lambda_version" in resource.doc:
                    entry["LambdaVersion"] = resource.doc["lambda_version"]
                if resource.doc.get("kms_key_id"):
                    entry["KMSKeyID"] = resource.doc["kms_key_id"]
                set_entries[trigger] = entry
                record[change.address] = {
                    "kind": "pool-trigger",
                    "pool": pool,
                    "trigger": trigger,
                    "user_pool_id": view.user_pool_id,
                    "function": logical,
                    "lambda_arn": arn,
                }
                words.append(f"{trigger} → {resource.extra['name']}")
            op_id = f"update-pool:{pool}"
            self.ids.pool[pool] = op_id
            ops.append(
                Operation(
                    op_id,
                    PROVIDER,
                    "update_pool_triggers",
                    {
                        "address": f"cognito.pool.{pool}",
                        "pool": pool,
                        "user_pool_id": view.user_pool_id,
                        "expected_last_modified": view.last_modified,
                        "expected_digest": view.digest,
                        "entries": set_entries,
                        "remove": remove,
                    },
                    f"Update triggers of pool {pool} ({view.user_pool_id}): {'; '.join(words)}",
                    min(c.address for c in entries),
                    record=record,
                )
            )
        return ops

    # dependencies -----------------------------------------------------------------------
    def _wire(self, op: Operation) -> Operation:
        deps = list(op.depends_on)
        params = op.params
        if op.method in ("create_function", "update_function_configuration", "update_function_code"):
            logical = self._resource_at(op.address).extra["function"]
            if logical in self.ids.role:
                deps.append(self.ids.role[logical])
        elif op.method in ("add_permission", "remove_permission"):
            # After the function's own writes: Lambda refuses a permission change while an update
            # is in progress (ResourceConflictException), so they must not overlap when run in parallel.
            logical = self._resource_at(op.address).extra["function"]
            deps.extend(self.ids.function.get(logical, ()))
            if op.method == "remove_permission":
                pool = self._resource_at(op.address).extra["pool"]
                if pool in self.ids.pool:
                    deps.append(self.ids.pool[pool])
        elif op.method == "update_pool_triggers":
            pool = params["pool"]
            for change_address in op.record or {}:
                resource = self.desired.get(change_address)
                if resource is None:
                    continue
                logical = resource.extra["function"]
                deps.extend(self.ids.function.get(logical, ()))
                if (logical, pool) in self.ids.permission_add:
                    deps.append(self.ids.permission_add[(logical, pool)])
        elif op.method == "delete_function":
            deps.extend(self.ids.pool.values())
        elif op.method == "delete_role":
            logical = self._resource_at(op.address).extra["function"]
            if logical in self.ids.function_delete:
                deps.append(self.ids.function_delete[logical])
            # A function moving to a role of its own stops using this one only once it is updated.
            deps.extend(self.ids.function.get(logical, ()))
        unique = tuple(dict.fromkeys(d for d in deps if d != op.id))
        if unique == op.depends_on:
            return op
        return Operation(
            op.id, op.provider, op.method, op.params, op.description, op.address, unique, op.record, op.write
        )

    def _resource_at(self, address: str) -> Resource:
        return self.desired.get(address) or self.live[address]


def skip_covered_deletes(changes: list[ResourceChange], live: Mapping[str, Resource]) -> list[ResourceChange]:
    """Permission deletions that deleting their function already covers need no call of their own."""
    deleted = {
        live[c.address].extra.get("function")
        for c in changes
        if c.kind == DELETE and live[c.address].extra.get("kind") == "function"
    }
    return [
        c
        for c in changes
        if not (
            c.kind == DELETE
            and live[c.address].extra.get("kind") == "permission"
            and live[c.address].extra.get("function") in deleted
        )
    ]
