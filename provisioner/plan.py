"""Plan stage: resource changes → an ordered ``Plan`` of frozen operations.

No I/O. A plan is data: each ``Operation`` names a method on a provider
client, its parameters, a human description and what it depends on. Values
that only exist at apply time (a new action id, a function ARN) are ``Ref``s
the executor resolves; secret values are ``SecretValue`` placeholders the
executor fills in from freshly resolved secrets. So a plan can be saved to a
file, shown, and applied later without ever holding a secret.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLAN_FORMAT = "hookctl-plan"
PLAN_VERSION = 1

CREATE, UPDATE, DELETE, REPLACE, NOOP = "create", "update", "delete", "replace", "no-op"


@dataclass(frozen=True)
class Ref:
    """A value produced by an earlier operation: ``result[op][path...]``."""

    op: str
    path: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"$ref": self.op, "path": list(self.path)}


@dataclass(frozen=True)
class SecretValue:
    """Placeholder for a secret's value, filled in by the executor at apply time."""

    address: str
    name: str
    hash: str  # salted slow hash of the value the plan was made with

    def to_json(self) -> dict[str, Any]:
        return {"$secret": self.address, "name": self.name, "hash": self.hash}


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any
    sensitive: bool = False


@dataclass(frozen=True)
class ResourceChange:
    """What differs for one resource between the stack and the live system."""

    address: str
    kind: str  # create | update | delete | replace | no-op
    fields: tuple[FieldChange, ...] = ()
    code_before: str | None = None
    code_after: str | None = None
    reason: str = ""  # e.g. "drift: the deployed version differs from the draft"


@dataclass(frozen=True)
class Operation:
    """One provider call. ``params`` may hold ``Ref`` and ``SecretValue`` anywhere."""

    id: str
    provider: str
    method: str
    params: Mapping[str, Any]
    description: str
    address: str
    depends_on: tuple[str, ...] = ()
    # State to record after success: {address: {key: value-or-Ref}}; a None value deletes.
    record: Mapping[str, Any] | None = None
    write: bool = True  # reads done during apply (waiting for a build) are not writes


@dataclass(frozen=True)
class Plan:
    stack: str
    environment: str
    stack_revision: str
    fingerprint: str
    changes: tuple[ResourceChange, ...]
    operations: tuple[Operation, ...]
    created_at: str = ""
    commit: str | None = None
    targets: tuple[str, ...] = ()
    salt: str = ""  # the state salt the secret hashes were made with (not secret)
    stack_path: str = ""
    destroy: bool = False

    @property
    def empty(self) -> bool:
        return not self.operations

    def counts(self) -> dict[str, int]:
        out = {CREATE: 0, UPDATE: 0, DELETE: 0, REPLACE: 0}
        for change in self.changes:
            if change.kind in out:
                out[change.kind] += 1
        return out

    def summary(self) -> str:
        c = self.counts()
        create = c[CREATE] + c[REPLACE]
        delete = c[DELETE] + c[REPLACE]
        return f"Plan: {create} to create, {c[UPDATE]} to update, {delete} to delete."


# -- serialisation -------------------------------------------------------------------


def encode(value: Any) -> Any:
    if isinstance(value, Ref | SecretValue):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a plan")


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$ref" in value:
            return Ref(str(value["$ref"]), tuple(value.get("path", ())))
        if "$secret" in value:
            return SecretValue(str(value["$secret"]), str(value["name"]), str(value["hash"]))
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "format_version": PLAN_VERSION,
        "stack": plan.stack,
        "environment": plan.environment,
        "stack_revision": plan.stack_revision,
        "commit": plan.commit,
        "fingerprint": plan.fingerprint,
        "created_at": plan.created_at,
        "targets": list(plan.targets),
        "salt": plan.salt,
        "stack_path": plan.stack_path,
        "destroy": plan.destroy,
        "summary": plan.counts(),
        "changes": [
            {
                "address": c.address,
                "action": c.kind,
                "reason": c.reason,
                "fields": [
                    {
                        "path": f.path,
                        "before": "(sensitive)" if f.sensitive else encode(f.before),
                        "after": "(sensitive)" if f.sensitive else encode(f.after),
                        "sensitive": f.sensitive,
                    }
                    for f in c.fields
                ],
                "code_before": c.code_before,
                "code_after": c.code_after,
            }
            for c in plan.changes
        ],
        "operations": [
            {
                "id": op.id,
                "provider": op.provider,
                "method": op.method,
                "address": op.address,
                "description": op.description,
                "depends_on": list(op.depends_on),
                "params": encode(op.params),
                "record": encode(op.record) if op.record is not None else None,
                "write": op.write,
            }
            for op in plan.operations
        ],
    }


def plan_from_json(data: Any) -> Plan:
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise ValueError("not a hookctl plan file")
    if data.get("format_version") != PLAN_VERSION:
        raise ValueError(f"plan format version {data.get('format_version')!r}; this hookctl reads {PLAN_VERSION}")
    changes = tuple(
        ResourceChange(
            address=c["address"],
            kind=c["action"],
            reason=c.get("reason", ""),
            fields=tuple(FieldChange(f["path"], f["before"], f["after"], bool(f["sensitive"])) for f in c["fields"]),
            code_before=c.get("code_before"),
            code_after=c.get("code_after"),
        )
        for c in data["changes"]
    )
    operations = tuple(
        Operation(
            id=o["id"],
            provider=o["provider"],
            method=o["method"],
            params=decode(o["params"]),
            description=o["description"],
            address=o["address"],
            depends_on=tuple(o.get("depends_on", ())),
            record=decode(o["record"]) if o.get("record") is not None else None,
            write=bool(o.get("write", True)),
        )
        for o in data["operations"]
    )
    return Plan(
        stack=data["stack"],
        environment=data["environment"],
        stack_revision=data["stack_revision"],
        fingerprint=data["fingerprint"],
        changes=changes,
        operations=operations,
        created_at=data.get("created_at", ""),
        commit=data.get("commit"),
        targets=tuple(data.get("targets", ())),
        salt=str(data.get("salt", "")),
        stack_path=str(data.get("stack_path", "")),
        destroy=bool(data.get("destroy", False)),
    )


def fingerprint(documents: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON of the normalised live documents."""
    text = json.dumps(encode(documents), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def order(operations: list[Operation]) -> tuple[Operation, ...]:
    """Stable topological order: keeps the planner's order where dependencies allow."""
    by_id = {op.id: op for op in operations}
    done: set[str] = set()
    result: list[Operation] = []
    visiting: set[str] = set()

    def visit(op: Operation) -> None:
        if op.id in done:
            return
        if op.id in visiting:
            raise ValueError(f"dependency cycle at {op.id}")
        visiting.add(op.id)
        for dep in op.depends_on:
            if dep in by_id:
                visit(by_id[dep])
        visiting.discard(op.id)
        done.add(op.id)
        result.append(op)

    for op in operations:
        visit(op)
    return tuple(result)
