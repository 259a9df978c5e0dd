"""Plan stage: resource changes → an ordered ``Plan`` of frozen operations.
Engine: stage 7 of the pipeline (plan).

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
from dataclasses import dataclass, field
from typing import Any

PLAN_FORMAT = "hookctl-plan"
SENSITIVE = "(sensitive)"  # stands for a sensitive field's value in every output
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
    hash: str  # digest of the value the plan was made with, keyed with the state's digest key

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
    key_id: str = ""  # names the state's digest key the secret digests were made with (never the key)
    stack_path: str = ""
    destroy: bool = False
    # The systems the plan was computed against, per provider (Auth0 domain and tenant; AWS account,
    # region and pool ids): apply refuses a plan made for other ones.
    systems: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The digest of every declared secret the plan resolved ({address: {name: hash}}), changed or
    # not: apply refuses if any value differs from the one the plan was made with.
    secret_digests: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # What apply does with a secret it cannot compare (no digest in state, nothing live to hash):
    # "keep" the live value, or "send" the stack's value (--unknown-secrets).
    unknown_secrets: str = "keep"

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
        return f"Plan: {create} to create, {c[UPDATE]} to update, {delete} to delete.{self.partial_note()}"

    def partial_note(self) -> str:
        """Said wherever a targeted plan is summed up: other changes may be pending."""
        if not self.targets:
            return ""
        return f" Partial plan: only {', '.join(self.targets)} and what it needs; other changes are not included."

    def done(self) -> str:
        """The summary once applied, in the past tense: ``3 created, 1 updated, 0 deleted.``"""
        c = self.counts()
        done = f"{c[CREATE] + c[REPLACE]} created, {c[UPDATE]} updated, {c[DELETE] + c[REPLACE]} deleted."
        return done + self.partial_note()


# -- serialisation -------------------------------------------------------------------


DIGEST_PREFIXES = ("hmac-sha256$", "scrypt$")


def encode(value: Any, *, digests: bool = True) -> Any:
    """JSON for a plan value; ``digests=False`` (``--json``) leaves out every secret digest."""
    if isinstance(value, SecretValue) and not digests:
        return {"$secret": value.address, "name": value.name}
    if isinstance(value, Ref | SecretValue):
        return value.to_json()
    if isinstance(value, Mapping):
        return {str(k): encode(v, digests=digests) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v, digests=digests) for v in value]
    if isinstance(value, str) and not digests and value.startswith(DIGEST_PREFIXES):
        return "(sensitive)"
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a plan")


def decode(value: Any, where: str = "params") -> Any:
    """Inverse of ``encode``; raises ``ValueError`` naming the JSON path of a malformed value."""
    if isinstance(value, dict):
        if "$ref" in value:
            path = _get(value, "path", list, where, [])
            return Ref(_get(value, "$ref", str, where), tuple(_strings(path, f"{where}.path")))
        if "$secret" in value:
            return SecretValue(
                _get(value, "$secret", str, where), _get(value, "name", str, where), _get(value, "hash", str, where)
            )
        return {k: decode(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


_REQUIRED: Any = object()
_JSON_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "a number"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in _JSON_KINDS.items():
        if isinstance(value, kind):
            return name
    return "a number"


def _get(obj: Any, key: str, kind: type | tuple[type, ...], where: str, default: Any = _REQUIRED) -> Any:
    """``obj[key]``, checked to be of ``kind``; ``ValueError`` says which field is wrong."""
    path = f"{where}.{key}" if where else key
    if not isinstance(obj, dict):
        raise ValueError(f"{where or 'the plan'}: expected an object, got {_kind(obj)}")
    if key not in obj:
        if default is _REQUIRED:
            raise ValueError(f"{path}: missing")
        return default
    value = obj[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        expected = " or ".join("null" if k is type(None) else _JSON_KINDS.get(k, k.__name__) for k in kinds)
        raise ValueError(f"{path}: expected {expected}, got {_kind(value)}")
    return value


def _strings(values: list[Any], where: str) -> list[str]:
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise ValueError(f"{where}[{i}]: expected a string, got {_kind(value)}")
    return values


def _objects(values: list[Any], where: str) -> list[dict[str, Any]]:
    for i, value in enumerate(values):
        if not isinstance(value, dict):
            raise ValueError(f"{where}[{i}]: expected an object, got {_kind(value)}")
    return values


def plan_to_json(plan: Plan, *, digests: bool = True) -> dict[str, Any]:
    """The plan document. A plan file (``digests=True``) carries keyed digests of the secrets it
    sends, so apply can refuse a changed value; ``--json`` output carries none at all."""
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
        "digest_key_id": plan.key_id,
        "stack_path": plan.stack_path,
        "destroy": plan.destroy,
        "systems": encode(plan.systems),
        "secret_digests": encode(plan.secret_digests, digests=digests),
        "unknown_secrets": plan.unknown_secrets,
        "summary": plan.counts(),
        "changes": [
            {
                "address": c.address,
                "action": c.kind,
                "reason": c.reason,
                "fields": [
                    {
                        "path": f.path,
                        # Sensitive: null where there is no value (before a create, after a removal),
                        # so a removed secret reads differently from a changed one (docs/plan-json.md).
                        "before": _masked(f.before) if f.sensitive else encode(f.before),
                        "after": _masked(f.after) if f.sensitive else encode(f.after),
                        "sensitive": f.sensitive,
                    }
                    for f in c.fields
                ],
                "code_before": c.code_before,
                "code_after": c.code_after,
            }
            for c in plan.changes
        ],
        "drift": [{"address": c.address, "action": c.kind, "reason": c.reason} for c in plan.changes if c.reason],
        "operations": [
            {
                "id": op.id,
                "provider": op.provider,
                "method": op.method,
                "address": op.address,
                "description": op.description,
                "depends_on": list(op.depends_on),
                "params": encode(op.params, digests=digests),
                "record": encode(op.record, digests=digests) if op.record is not None else None,
                "write": op.write,
            }
            for op in plan.operations
        ],
    }


def _masked(value: Any) -> str | None:
    return None if value is None else SENSITIVE


def plan_from_json(data: Any) -> Plan:
    """A ``Plan`` from its JSON document; ``ValueError`` names the first malformed field."""
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise ValueError("not a hookctl plan file")
    if data.get("format_version") != PLAN_VERSION:
        raise ValueError(f"plan format version {data.get('format_version')!r}; this hookctl reads {PLAN_VERSION}")
    opt_str = (str, type(None))
    changes: list[ResourceChange] = []
    for i, c in enumerate(_objects(_get(data, "changes", list, ""), "changes")):
        where = f"changes[{i}]"
        fields = _objects(_get(c, "fields", list, where), f"{where}.fields")
        changes.append(
            ResourceChange(
                address=_get(c, "address", str, where),
                kind=_get(c, "action", str, where),
                reason=_get(c, "reason", str, where, ""),
                fields=tuple(
                    FieldChange(
                        _get(f, "path", str, f"{where}.fields[{j}]"),
                        f.get("before"),
                        f.get("after"),
                        _get(f, "sensitive", bool, f"{where}.fields[{j}]"),
                    )
                    for j, f in enumerate(fields)
                ),
                code_before=_get(c, "code_before", opt_str, where, None),
                code_after=_get(c, "code_after", opt_str, where, None),
            )
        )
    operations: list[Operation] = []
    for i, o in enumerate(_objects(_get(data, "operations", list, ""), "operations")):
        where = f"operations[{i}]"
        record = _get(o, "record", (dict, type(None)), where, None)
        operations.append(
            Operation(
                id=_get(o, "id", str, where),
                provider=_get(o, "provider", str, where),
                method=_get(o, "method", str, where),
                params=decode(_get(o, "params", dict, where), f"{where}.params"),
                description=_get(o, "description", str, where),
                address=_get(o, "address", str, where),
                depends_on=tuple(_strings(_get(o, "depends_on", list, where, []), f"{where}.depends_on")),
                record=decode(record, f"{where}.record") if record is not None else None,
                write=_get(o, "write", bool, where, True),
            )
        )
    return Plan(
        stack=_get(data, "stack", str, ""),
        environment=_get(data, "environment", str, ""),
        stack_revision=_get(data, "stack_revision", str, ""),
        fingerprint=_get(data, "fingerprint", str, ""),
        changes=tuple(changes),
        operations=tuple(operations),
        created_at=_get(data, "created_at", str, "", ""),
        commit=_get(data, "commit", opt_str, "", None),
        targets=tuple(_strings(_get(data, "targets", list, "", []), "targets")),
        key_id=_get(data, "digest_key_id", str, "", ""),
        stack_path=_get(data, "stack_path", str, "", ""),
        destroy=_get(data, "destroy", bool, "", False),
        systems=_nested(_get(data, "systems", dict, "", {}), "systems"),
        secret_digests=_nested(_get(data, "secret_digests", dict, "", {}), "secret_digests"),
        unknown_secrets=_get(data, "unknown_secrets", str, "", "keep"),
    )


def _nested(value: dict[str, Any], where: str) -> dict[str, Any]:
    """An object of objects (``systems``, ``secret_digests``), checked one level down."""
    for key, inner in value.items():
        if not isinstance(inner, dict):
            raise ValueError(f"{where}.{key}: expected an object, got {_kind(inner)}")
    return value


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
