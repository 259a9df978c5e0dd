"""What to run: a stack entry and an event → a fully resolved ``Invocation``.
Local runs: preparing one handler run (rendered code, event, secrets, limits).

Input: a loaded ``Stack``, one of its actions or functions and the event
(given whole, or overrides merged onto the sample from ``events``), plus the
test values for secrets, environment and vars. Output: an ``Invocation`` the
``run.Runner`` executes. I/O: renders the handler like ``render`` does and
reads a lock file kept beside the stack; it starts no process. No secret
sources are read: secrets come from the test values only.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engine import catalog, events
from ..engine.errors import HookctlError, InputError, Problem
from ..engine.model import Action, Function, PoolTrigger, Stack, freeze, thaw
from ..engine.package import BuildError, check_lock, handler_file
from ..engine.render import Rendered, Renderer

COGNITO_SYNC_LIMIT_MS = 5_000  # Cognito gives up on a synchronous trigger after 5 seconds
COGNITO_ASYNC_TRIGGERS = frozenset({"CustomEmailSender", "CustomSMSSender"})


class RunError(HookctlError):
    """The handler could not be started at all: a bad lock file here; no usable node in ``run``."""


@dataclass(frozen=True)
class Invocation:
    """One handler run, fully resolved: code, event, secrets, environment, limit."""

    kind: str  # "auth0" | "cognito"
    address: str
    name: str
    trigger: str
    trigger_source: str | None
    runtime: str
    language: str  # "js" | "py"
    filename: str  # handler file name in the work directory: action.js, index.mjs, lambda_function.py
    export: str  # the function to call
    source: str
    event: Mapping[str, Any]
    timeout_ms: int
    secrets: Mapping[str, str] = field(default_factory=dict)  # Auth0: event.secrets
    environment: Mapping[str, str] = field(default_factory=dict)  # Cognito: the function's environment
    dependencies: tuple[tuple[str, str], ...] = ()
    lock_file: str | None = None
    memory_mb: int = 128
    region: str = events.DEFAULT_REGION
    cache_seed: Mapping[str, str] = field(default_factory=dict)  # Auth0: api.cache contents
    warnings: tuple[str, ...] = ()


def find_entry(stack: Stack, name: str) -> Action | Function:
    """The action or function called ``name`` (an address such as ``auth0.action.x`` works too)."""
    short = name.rsplit(".", 1)[-1] if name.startswith(("auth0.action.", "cognito.function.")) else name
    entries: list[Action | Function] = [*stack.actions, *stack.functions]
    for entry in entries:
        if entry.name == short:
            return entry
    names = [e.name for e in entries]
    from ..engine.load import suggest

    raise InputError(
        [
            Problem(
                stack.path,
                None,
                "name",
                f"no action or function named {name!r} in this stack{suggest(short, tuple(names))}",
            )
        ],
        hint=f"This stack has: {', '.join(names) or 'nothing'}.",
    )


def with_vars(entry: Action | Function, variables: Mapping[str, Any]) -> Action | Function:
    """The entry with ``variables`` set on top of its own vars (an entry's vars win over the stack's)."""
    if not variables:
        return entry
    merged = {**thaw(entry.vars), **dict(variables)}
    return dataclasses.replace(entry, vars=freeze(merged))


def prepare(
    stack: Stack,
    entry: Action | Function,
    *,
    event: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    unset: Iterable[str] = (),
    trigger_source: str | None = None,
    pool: str | None = None,
    secrets: Mapping[str, str] | None = None,
    environment: Mapping[str, str] | None = None,
    variables: Mapping[str, Any] | None = None,
    timeout_ms: int | None = None,
    cache_seed: Mapping[str, str] | None = None,
    renderer: Renderer | None = None,
) -> Invocation:
    """Render ``entry`` and resolve everything one run needs.

    ``event`` is used as given (the runner only adds ``event.secrets`` for
    actions); without it a sample event for the trigger is generated and
    ``overrides`` merged onto it. ``unset`` removes dotted paths afterwards.
    """
    entry = with_vars(entry, variables or {})
    rendered = (renderer or Renderer(stack)).render(entry)
    secrets = dict(secrets or {})
    declared = {s.name for s in entry.secrets}
    unknown = sorted(set(secrets) - declared)
    if unknown:
        raise InputError(
            [
                Problem(
                    stack.path,
                    entry.origin.line,
                    f"{entry.origin.field}.secrets",
                    f"test values given for undeclared secrets: {', '.join(unknown)}",
                )
            ]
        )
    warnings = [
        f"secret {name} has no test value"
        + (" (event.secrets." + name + " is undefined)" if isinstance(entry, Action) else "")
        for name in sorted(declared - set(secrets))
    ]
    if isinstance(entry, Action):
        return _prepare_action(
            stack, entry, rendered, event, overrides, unset, secrets, timeout_ms, cache_seed, warnings
        )
    return _prepare_function(
        stack,
        entry,
        rendered,
        event,
        overrides,
        unset,
        trigger_source,
        pool,
        secrets,
        environment,
        timeout_ms,
        warnings,
    )


def _prepare_action(
    stack: Stack,
    action: Action,
    rendered: Rendered,
    event: Mapping[str, Any] | None,
    overrides: Mapping[str, Any] | None,
    unset: Iterable[str],
    secrets: dict[str, str],
    timeout_ms: int | None,
    cache_seed: Mapping[str, str] | None,
    warnings: list[str],
) -> Invocation:
    if rendered.language != "js":
        raise InputError(
            [
                Problem(
                    stack.path,
                    action.origin.line,
                    f"{action.origin.field}.template",
                    f"Auth0 actions run JavaScript, got a {rendered.suffix} template",
                )
            ]
        )
    tenant = None
    if stack.environment.auth0 and stack.environment.auth0.domain:
        tenant = stack.environment.auth0.domain.split(".", 1)[0]
    body = (
        copy.deepcopy(dict(event))
        if event is not None
        else events.merge(events.auth0_event(action.trigger, tenant=tenant), overrides or {})
    )
    events.unset(body, unset)
    if action.trigger not in events.AUTH0_MODELLED_TRIGGERS:
        warnings.append(f"hookctl models the event and api of the {action.trigger} trigger only roughly")
    return Invocation(
        kind="auth0",
        address=action.address,
        name=action.name,
        trigger=action.trigger,
        trigger_source=None,
        runtime=action.runtime,
        language="js",
        # Auth0 runs an action as a CommonJS module whatever its template's suffix.
        filename="action.js",
        export=events.AUTH0_HANDLERS.get(action.trigger, "onExecute"),
        source=rendered.source,
        event=body,
        timeout_ms=timeout_ms or events.AUTH0_TIME_LIMIT_MS,
        secrets=secrets,
        dependencies=tuple(sorted(action.dependencies.items())),
        lock_file=_lock_file(stack, action.name, "package-lock.json"),
        cache_seed=dict(cache_seed or {}),
        warnings=tuple(warnings),
    )


def _prepare_function(
    stack: Stack,
    fn: Function,
    rendered: Rendered,
    event: Mapping[str, Any] | None,
    overrides: Mapping[str, Any] | None,
    unset: Iterable[str],
    trigger_source: str | None,
    pool: str | None,
    secrets: dict[str, str],
    environment: Mapping[str, str] | None,
    timeout_ms: int | None,
    warnings: list[str],
) -> Invocation:
    if trigger_source is None and event is not None:
        given = event.get("triggerSource")
        trigger_source = given if isinstance(given, str) and given in events.TRIGGER_BY_SOURCE else None
    pool_trigger = _pick_trigger(stack, fn, trigger_source, pool)
    trigger = (
        pool_trigger.trigger
        if pool_trigger
        else (events.TRIGGER_BY_SOURCE[trigger_source] if trigger_source else "PreSignUp")
    )
    source = trigger_source or events.cognito_trigger_sources(trigger)[0]
    region = (stack.environment.cognito.region if stack.environment.cognito else None) or events.DEFAULT_REGION
    pool_id = None
    if pool_trigger and stack.environment.cognito and pool_trigger.pool in stack.environment.cognito.pools:
        pool_id = stack.environment.cognito.pools[pool_trigger.pool].user_pool_id
    if event is not None:
        body = copy.deepcopy(dict(event))
    else:
        sample = events.cognito_event(
            source,
            lambda_version=pool_trigger.lambda_version if pool_trigger else None,
            region=region,
            user_pool_id=pool_id,
        )
        body = events.merge(sample, overrides or {})
    events.unset(body, unset)
    try:
        filename = handler_file(fn, rendered)
    except BuildError as exc:
        raise InputError([Problem(stack.path, fn.origin.line, f"{fn.origin.field}.handler", exc.detail)]) from None
    limit = fn.timeout * 1000
    if trigger not in COGNITO_ASYNC_TRIGGERS:
        limit = min(limit, COGNITO_SYNC_LIMIT_MS)
    env = {**dict(fn.environment), **secrets, **dict(environment or {})}
    language = catalog.lambda_language(fn.runtime)
    lock = _lock_file(stack, fn.name, "requirements.txt" if language == "python" else "package-lock.json")
    return Invocation(
        kind="cognito",
        address=fn.address,
        name=fn.name,
        trigger=trigger,
        trigger_source=str(body.get("triggerSource") or source),
        runtime=fn.runtime,
        language="py" if language == "python" else "js",
        filename=filename,
        export=fn.handler.rpartition(".")[2],
        source=rendered.source,
        event=body,
        timeout_ms=timeout_ms or limit,
        environment=env,
        dependencies=tuple(sorted(fn.dependencies.items())),
        lock_file=lock,
        memory_mb=fn.memory,
        region=str(body.get("region") or region),
        warnings=tuple(warnings),
    )


def _pick_trigger(stack: Stack, fn: Function, trigger_source: str | None, pool: str | None) -> PoolTrigger | None:
    candidates = [t for t in fn.triggers if pool is None or t.pool == pool]
    if pool is not None and not candidates:
        pools = sorted({t.pool for t in fn.triggers})
        raise InputError(
            [
                Problem(
                    stack.path,
                    fn.origin.line,
                    fn.origin.field,
                    f"function {fn.name} serves no trigger on pool {pool!r} (it serves {', '.join(pools)})",
                )
            ]
        )
    if trigger_source is None:
        return candidates[0] if candidates else None
    if trigger_source not in events.TRIGGER_BY_SOURCE:
        raise InputError(
            [Problem(stack.path, fn.origin.line, fn.origin.field, f"unknown Cognito triggerSource {trigger_source!r}")],
            hint="`hookctl event cognito --list` lists them.",
        )
    wanted = events.TRIGGER_BY_SOURCE[trigger_source]
    for pt in candidates:
        if pt.trigger == wanted:
            return pt
    served = sorted({t.trigger for t in fn.triggers})
    raise InputError(
        [
            Problem(
                stack.path,
                fn.origin.line,
                fn.origin.field,
                f"{trigger_source} goes to the {wanted} trigger; function {fn.name} serves "
                f"{', '.join(served) or 'no trigger'}",
            )
        ]
    )


def _lock_file(stack: Stack, name: str, filename: str) -> str | None:
    path = os.path.join(stack.stack_dir, "locks", name, filename)
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as fh:
        problem = check_lock(filename, path, fh.read())
    if problem is not None:
        raise RunError(f"lock file {os.path.relpath(path)}: {problem}")
    return path
