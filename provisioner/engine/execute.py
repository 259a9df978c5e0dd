"""Apply stage: run a ``Plan``'s operations against provider clients, as a dependency graph.
Engine: stage 8 of the pipeline (apply).

Runs up to ``parallelism`` operations at once, each as soon as its dependencies have finished
(one that only waits gives its place to the next meanwhile);
resolves ``Ref``s from earlier results and ``SecretValue`` placeholders from
freshly resolved secrets (refusing any whose keyed digest no longer matches the plan),
calls only methods a client lists in ``OPERATIONS``, records state after every
operation (so a crash loses nothing), and reports progress. I/O: provider
clients and the state backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..providers.base import Client
from . import progress as progresslib
from .errors import ApplyError, HookctlError, StaleError
from .plan import Operation, Plan, Ref, SecretValue
from .secrets import Secret, secret_hash
from .state import State

Progress = Callable[[str], None]
DEFAULT_PARALLELISM = 10
TICK_SECONDS = 1.0  # how often the reporter may redraw or beat while operations run


class Executor:
    """Runs a plan as a dependency graph, at most ``parallelism`` operations at a time.

    An operation starts as soon as every operation it depends on has finished. Only the
    calling thread touches results and state: it resolves an operation's ``Ref``s before
    handing it to a worker, and records and saves state as each one finishes, before
    reporting it done, so a kill at any moment loses at most what was running.
    After the first failure no new operation starts; those running finish and are recorded,
    and every failure is reported together.
    """

    def __init__(
        self,
        clients: Mapping[str, Client],
        state: State,
        secrets: Mapping[tuple[str, str], Secret],
        *,
        save: Callable[[State], None],
        progress: Progress = lambda _m: None,
        clock: Callable[[], float] = time.monotonic,
        parallelism: int = DEFAULT_PARALLELISM,
        reporter: progresslib.Reporter | None = None,
    ) -> None:
        self.clients = clients
        self.state = state
        self.secrets = secrets
        self.save = save
        self.progress = progress
        self.clock = clock
        self.parallelism = max(1, parallelism)
        self.reporter = reporter or progresslib.LineReporter(progress, clock=clock)
        self.results: dict[str, Any] = {}

    def run(self, plan: Plan) -> list[str]:
        self.key = self.state.digest_key
        # Every secret is checked against the plan before the first call, so a value changed
        # since the plan stops the apply before anything is written, not halfway through.
        for op in plan.operations:
            for placeholder in _placeholders(op.params):
                self._secret(placeholder, op)
        operations = list(plan.operations)
        total = len(operations)
        index = {op.id: i for i, op in enumerate(operations)}
        # Dependencies outside the plan (a --target cut) count as met, as they did in sequence.
        # An operation also waits for every operation whose result its parameters refer to.
        waiting_on = {
            op.id: {d for d in (*op.depends_on, *_refs(op.params), *_refs(op.record)) if d in index and d != op.id}
            for op in operations
        }
        pending = list(operations)  # not started, in plan order
        finished: set[str] = set()
        done: list[tuple[int, str]] = []
        failures: list[tuple[int, str, Exception]] = []
        running: dict[Future[Any], tuple[Operation, progresslib.Slot]] = {}
        wake = threading.Event()
        gate = Gate(self.parallelism, wake.set)
        stop = False
        # One thread per operation at most: an operation that waits holds a thread but no place
        # in the gate, and one that wants its place back must never wait for a thread.
        with ThreadPoolExecutor(max_workers=max(1, total), thread_name_prefix="apply") as pool:
            try:
                while True:
                    if not stop:
                        for op in [o for o in pending if not waiting_on[o.id] - finished]:
                            if not gate.enter():
                                break
                            pending.remove(op)
                            slot = self.reporter.start(index[op.id] + 1, total, op.description)
                            try:
                                client = self._client(op)
                                params = self._resolve(op.params, op)
                            except HookctlError as exc:
                                gate.leave()
                                self.reporter.finish(slot, exc)
                                failures.append((index[op.id], op.description, exc))
                                stop = True
                                break
                            future = pool.submit(_call, client, op, params, slot, gate)
                            future.add_done_callback(lambda _f: wake.set())
                            running[future] = (op, slot)
                    if not running:
                        break
                    # Woken by an operation finishing or giving its place up while it waits; at
                    # least every tick, for the reporter's live lines and heartbeats.
                    wake.wait(TICK_SECONDS)
                    wake.clear()
                    self.reporter.tick()
                    ready = [f for f in running if f.done()]
                    for future in sorted(ready, key=lambda f: index[running[f][0].id]):
                        op, slot = running.pop(future)
                        try:
                            result = future.result()
                        except StaleError:
                            raise
                        except HookctlError as exc:
                            failures.append((index[op.id], op.description, exc))
                            self.reporter.finish(slot, exc)
                            stop = True
                            continue
                        except Exception as exc:  # an SDK error the client did not translate
                            failures.append((index[op.id], op.description, _scrub(exc)))
                            self.reporter.finish(slot, exc)
                            stop = True
                            continue
                        finished.add(op.id)
                        done.append((index[op.id], op.description))
                        self._record(op, result, [d for _, d in sorted(done)], op.description)
                        self.reporter.finish(slot)
                    if not pending and not running:
                        break
            finally:
                self.reporter.close()
        done_in_order = [description for _, description in sorted(done)]
        if failures:
            failures.sort(key=lambda f: f[0])
            _, first, cause = failures[0]
            raise ApplyError(first, cause, done_in_order, others=[(d, c) for _, d, c in failures[1:]])
        return done_in_order

    def _record(self, op: Operation, result: Any, done: list[str], last: str) -> None:
        self.results[op.id] = result if result is not None else {}
        if op.record:
            for address, values in op.record.items():
                self.state.patch(address, self._resolve(values, op) if values is not None else None)
            self._save([*(d for d in done if d != last), last])

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


class Gate:
    """At most ``limit`` operations at work at once; one that only waits gives its place up.

    The executor takes a place (``enter``) before it starts an operation, and the operation
    gives it back when it ends. An operation waiting for something outside hookctl's hands
    (IAM propagation, a Lambda function leaving Pending, an Auth0 build) leaves its place
    meanwhile (``progress.waiting``) and ``resume``s before calling again; one resuming goes
    before any new start, so work under way finishes first. ``--parallelism`` so bounds the
    calls in flight, not the waits: 50 functions' activation waits overlap at the default 10.
    """

    def __init__(self, limit: int, changed: Callable[[], None] = lambda: None) -> None:
        self.limit = limit
        self.active = 0
        self.resuming = 0
        self.changed = changed  # wakes the executor when a place frees up
        self._cond = threading.Condition()

    def enter(self) -> bool:
        """Take a place for a new operation if one is free and no waiting operation wants it back."""
        with self._cond:
            if self.active >= self.limit or self.resuming:
                return False
            self.active += 1
            return True

    def leave(self) -> None:
        with self._cond:
            self.active -= 1
            self._cond.notify_all()
        self.changed()

    def resume(self) -> None:
        with self._cond:
            self.resuming += 1
            while self.active >= self.limit:
                self._cond.wait()
            self.resuming -= 1
            self.active += 1


def _call(client: Client, op: Operation, params: Mapping[str, Any], slot: progresslib.Slot, gate: Gate) -> Any:
    """One operation on a worker thread; what it waits for is shown against its slot."""
    progresslib.bind(slot, gate)
    try:
        return getattr(client, op.method)(**params)
    finally:
        progresslib.bind(None)
        gate.leave()


def _refs(value: Any) -> list[str]:
    if isinstance(value, Ref):
        return [value.op]
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list | tuple):
        return [r for v in value for r in _refs(v)]
    return []


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
