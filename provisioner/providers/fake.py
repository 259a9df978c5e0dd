"""An in-memory (optionally file-backed) fake provider for engine tests and dry demos.
Providers: a test double for the engine's tests.

It speaks the same ``Provider`` interface as the Auth0 and Cognito providers,
with a deliberately simple model: one document per address, written whole.
Secret values handed to it are checked and dropped; only their hashes are kept.
Its store can persist to a JSON file so separate CLI runs see the same "live"
system (``HOOKCTL_FAKE_STORE``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from ..engine.diff import Resource
from ..engine.model import Action, Function
from ..engine.plan import CREATE, DELETE, REPLACE, UPDATE, Operation, ResourceChange, SecretValue
from .base import Client, Context, Live, Provider


class FakeClient(Client):
    OPERATIONS: ClassVar[frozenset[str]] = frozenset({"put", "delete"})
    SECRET_PARAMS: ClassVar[Mapping[str, str]] = {"put": "secrets"}

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.calls: list[tuple[str, str]] = []
        self.store: dict[str, dict[str, Any]] = {}
        # apply runs operations on several threads: one write of the store file at a time.
        self._lock = threading.Lock()
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                self.store = json.load(fh)

    def _save(self) -> None:
        if self.path:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            tmp = f"{self.path}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self.store, fh, indent=2, sort_keys=True)
            os.replace(tmp, self.path)

    def put(
        self, address: str, doc: Mapping[str, Any], code: str | None = None, secrets: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        with self._lock:
            return self._put(address, doc, code, secrets)

    def _put(
        self, address: str, doc: Mapping[str, Any], code: str | None, secrets: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        self.calls.append(("put", address))
        stored = dict(doc)
        if secrets:
            # Keep the hash the plan computed; the value itself is dropped here.
            stored["secrets"] = {name: _hash_of(value, doc, name) for name, value in secrets.items()}
        serial = int(self.store.get(address, {}).get("serial", 0)) + 1
        self.store[address] = {"doc": stored, "code": code, "serial": serial, "id": f"fake-{address}"}
        self._save()
        return {"id": f"fake-{address}", "serial": serial}

    def delete(self, address: str) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("delete", address))
            self.store.pop(address, None)
            self._save()
        return {}


def _hash_of(value: Any, doc: Mapping[str, Any], name: str) -> str:
    # The executor passes the resolved value; the doc carries the hash the plan used.
    return str(doc.get("secrets", {}).get(name, ""))


class FakeProvider(Provider):
    name: ClassVar[str] = "fake"

    def __init__(self, store_path: str | None = None) -> None:
        self._client = FakeClient(store_path)

    def client(self) -> FakeClient:
        return self._client

    def read(self, ctx: Context) -> Live:
        live = Live()
        prefix = f"{ctx.stack.name}/{ctx.stack.environment.name}/"
        for key, item in self._client.store.items():
            if not key.startswith(prefix):
                continue
            address = key[len(prefix) :]
            live.resources[address] = Resource(address, item["doc"], item.get("code"), sensitive=frozenset({"secrets"}))
            live.owned.add(address)
        return live

    def desired(self, ctx: Context, live: Live) -> dict[str, Resource]:
        out: dict[str, Resource] = {}
        stack = ctx.stack
        for action in stack.actions:
            out[action.address] = self._action(ctx, action)
        for tb in stack.bindings:
            out[tb.address] = Resource(tb.address, {"actions": list(tb.actions), "exclusive": tb.exclusive})
        for fn in stack.functions:
            out[fn.address] = self._function(ctx, fn)
            for pt in fn.triggers:
                doc: dict[str, Any] = {"function": fn.name}
                if pt.lambda_version:
                    doc["lambda_version"] = pt.lambda_version
                out[pt.address] = Resource(pt.address, doc)
        return out

    def _action(self, ctx: Context, action: Action) -> Resource:
        art = ctx.artifacts.get(action.address)
        doc = {
            "trigger": action.trigger,
            "runtime": action.runtime,
            "dependencies": dict(sorted(action.dependencies.items())),
            "secrets": {n: d.hash for n, d in sorted(ctx.secrets.get(action.address, {}).items())},
        }
        return Resource(
            action.address,
            doc,
            getattr(art, "code", None),
            sensitive=frozenset({"secrets"}),
            replace_on=frozenset({"trigger"}),
        )

    def _function(self, ctx: Context, fn: Function) -> Resource:
        art = ctx.artifacts.get(fn.address)
        doc = {
            "runtime": fn.runtime,
            "handler": fn.handler,
            "timeout": fn.timeout,
            "memory": fn.memory,
            "environment": dict(sorted(fn.environment.items())),
            "secrets": {n: d.hash for n, d in sorted(ctx.secrets.get(fn.address, {}).items())},
            "digest": getattr(art, "digest", None),
        }
        code = getattr(art, "code", None) or getattr(art, "source", None)
        return Resource(fn.address, doc, code, sensitive=frozenset({"secrets"}))

    def operations(
        self, ctx: Context, changes: list[ResourceChange], desired: Mapping[str, Resource], live: Live
    ) -> list[Operation]:
        prefix = f"{ctx.stack.name}/{ctx.stack.environment.name}/"
        ops: list[Operation] = []
        for change in changes:
            key = prefix + change.address
            if change.kind in (CREATE, UPDATE, REPLACE):
                want = desired[change.address]
                secrets: dict[str, Any] = {
                    name: SecretValue(change.address, name, h) for name, h in want.doc.get("secrets", {}).items()
                }
                ops.append(
                    Operation(
                        id=f"put:{change.address}",
                        provider=self.name,
                        method="put",
                        params={"address": key, "doc": dict(want.doc), "code": want.code, "secrets": secrets},
                        description=f"{'Create' if change.kind == CREATE else 'Update'} {change.address}",
                        address=change.address,
                        record={change.address: {"id": _ref(f"put:{change.address}", "id")}},
                    )
                )
            elif change.kind == DELETE:
                ops.append(
                    Operation(
                        id=f"delete:{change.address}",
                        provider=self.name,
                        method="delete",
                        params={"address": key},
                        description=f"Delete {change.address}",
                        address=change.address,
                        record={change.address: None},
                    )
                )
        return ops


def _ref(op: str, *path: str) -> Any:
    from ..engine.plan import Ref

    return Ref(op, tuple(path))
