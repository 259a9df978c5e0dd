"""Apply stage: run a ``Plan``'s operations against provider clients, in order.

Resolves ``Ref``s from earlier results and ``SecretValue`` placeholders from
freshly resolved secrets (refusing any whose keyed digest no longer matches the plan),
calls only methods a client lists in ``OPERATIONS``, records state after every
operation (so a crash loses nothing), and reports progress. I/O: provider
clients and the state backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ApplyError, HookctlError, StaleError
from .plan import Operation, Plan, Ref, SecretValue
from .providers.base import Client
from .secrets import Secret, secret_hash
from .state import State

Progress = Callable[[str], None]


class Executor:
    def __init__(
        self,
        clients: Mapping[str, Client],
        state: State,
        secrets: Mapping[tuple[str, str], Secret],
        *,
        save: Callable[[State], None],
        progress: Progress = lambda _m: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = clients
        self.state = state
        self.secrets = secrets
        self.save = save
        self.progress = progress
        self.clock = clock
        self.results: dict[str, Any] = {}

    def run(self, plan: Plan) -> list[str]:
        self.key = self.state.digest_key
        # Every secret is checked against the plan before the first call, so a value changed
        # since the plan stops the apply before anything is written, not halfway through.
        for op in plan.operations:
            for placeholder in _placeholders(op.params):
                self._secret(placeholder, op)
        done: list[str] = []
        total = len(plan.operations)
        for index, op in enumerate(plan.operations, 1):
            started = self.clock()
            self.progress(f"[{index}/{total}] {op.description} …")
            try:
                client = self._client(op)
                params = self._resolve(op.params, op)
                result = getattr(client, op.method)(**params)
            except StaleError:
                raise
            except HookctlError as exc:
                raise ApplyError(op.description, exc, done) from exc
            except Exception as exc:  # an SDK error the client did not translate
                raise ApplyError(op.description, _scrub(exc), done) from None
            self.results[op.id] = result if result is not None else {}
            done.append(op.description)
            if op.record:
                for address, values in op.record.items():
                    self.state.patch(address, self._resolve(values, op) if values is not None else None)
                self._save(done)
            self.progress(f"[{index}/{total}] {op.description}: done ({self.clock() - started:.1f}s)")
        return done

    def _save(self, done: list[str]) -> None:
        try:
            self.save(self.state)
        except HookctlError as exc:
            raise HookctlError(
                f"{exc.message}. Applied but not recorded in the state: {done[-1]}"
                + (f" (recorded before it: {'; '.join(done[:-1])})" if done[:-1] else ""),
                hint="Free space (or fix access to the state), then run plan: hookctl finds what it owns by "
                "its live markers and tags, and shows anything the state lacks before applying again.",
            ) from None

    def _client(self, op: Operation) -> Client:
        client = self.clients.get(op.provider)
        if client is None:
            raise HookctlError(f"no provider {op.provider!r} is configured for this environment")
        if op.method not in type(client).OPERATIONS:
            raise HookctlError(f"plan asks {op.provider} for {op.method!r}, which is not an operation it offers")
        return client

    def _resolve(self, value: Any, op: Operation) -> Any:
        if isinstance(value, Ref):
            current: Any = self.results.get(value.op)
            if value.op not in self.results:
                raise HookctlError(f"{op.description}: needs the result of {value.op}, which has not run")
            for key in value.path:
                current = current[key] if isinstance(current, Mapping) else getattr(current, key)
            return current
        if isinstance(value, SecretValue):
            return self._secret(value, op).reveal()
        if isinstance(value, Mapping):
            return {k: self._resolve(v, op) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._resolve(v, op) for v in value]
        return value

    def _secret(self, value: SecretValue, op: Operation) -> Secret:
        secret = self.secrets.get((value.address, value.name))
        if secret is None:
            raise StaleError(f"{op.description}: secret {value.name} of {value.address} is no longer declared")
        if secret_hash(secret.reveal(), self.key) != value.hash:
            raise StaleError(
                f"secret {value.name} of {value.address} changed since the plan was made; nothing was applied",
                hint="Run plan again to review the new value's effect.",
            )
        return secret


def _placeholders(value: Any) -> list[SecretValue]:
    if isinstance(value, SecretValue):
        return [value]
    if isinstance(value, Mapping):
        return [p for v in value.values() for p in _placeholders(v)]
    if isinstance(value, list | tuple):
        return [p for v in value for p in _placeholders(v)]
    return []


class _Scrubbed(Exception):
    pass


def _scrub(exc: Exception) -> Exception:
    """An unexpected SDK error, reduced to its class and status (bodies may echo request data)."""
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return _Scrubbed(f"{type(exc).__name__}{f' (HTTP {status})' if status else ''}")
