"""Adopting an imported stack: the one-time writes that make its live resources hookctl's.
Adopt: hookctl adopt, planning the adoption, checking it does nothing else, and applying it.

Why adoption writes at all. hookctl proves ownership in the live systems, so
that a runner with no state never touches what it did not create: an action
it owns starts with ``marker(stack, environment)``, a function it owns carries
the ``hookctl:*`` tags and a ``[hookctl <digest>]`` build marker in its
description, and its CodeSha256 is hookctl's deterministic build. None of that
is true of an existing setup, so the first plan after an import cannot be
empty without one write per resource. ``adopt`` makes exactly those writes
and nothing else, after showing them and asking (``--auto-approve`` in CI):

- Auth0: each action's code gains the marker line and is redeployed (the rest
  of the code is byte-for-byte what ran before); its secrets are written from
  the environment variables the stack names (Auth0 never returns a secret's
  value, so the only honest way to know the value is to set it — from then on
  the state holds its salted hash and ``updated_at``, never the value).
  Bindings are not touched: the stack lists the imported actions in their live
  order and unmanaged bindings keep their slots.
- Cognito: each function is tagged, hookctl's build of the very same handler
  text is uploaded (only the zip's bytes differ) and the build marker is added
  to the description. A Lambda secret's live value *can* be read, so the plan
  compares it with the exported one and adoption refuses a different value
  instead of writing it. A missing Cognito invoke grant for a pool that already
  calls the function is added.

Anything else the plan would do (create, delete, rebind, change code or
configuration) means the import could not express the live setup, and
``adopt`` refuses, naming the resource and field, instead of changing
behaviour. After applying it re-plans and reports whether the plan is empty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..engine.errors import HookctlError
from ..engine.load import load_stack
from ..engine.model import Stack
from ..engine.plan import CREATE, UPDATE, Plan, ResourceChange
from ..engine.state import Backend, LockInfo, State
from ..providers.auth0.plan import MARKER_RE, SECRET_UNKNOWN, marker
from ..providers.base import Provider
from ..providers.cognito.plan import TAG_MANAGED, TAG_STACK, Names
from .importing import download_function
from .stackfile import _Refused, handler_source

if TYPE_CHECKING:
    from ..engine.pipeline import Options, Planned
    from ..providers.cognito.client import LambdaCognitoClient

ProviderFactory = Callable[[Stack], list[Provider]]
NEVER_DEPLOYED = "the action was never deployed"


class NotAdoptable(HookctlError):
    """The plan for the stack would do more than make the live resources owned; nothing was written."""

    def __init__(self, reasons: Sequence[str], *, hint: str | None = None) -> None:
        self.reasons = tuple(reasons)
        lines = "\n".join(f"  {r}" for r in self.reasons)
        super().__init__(
            f"adopting would change more than ownership, so nothing was written:\n{lines}",
            hint=hint
            or "Adoption only marks live resources as hookctl's. Make the stack match the live setup "
            "(or re-import it), or use `hookctl apply` for real changes.",
        )


# =============================================================================================
# Adoption


@dataclass(frozen=True)
class TagWrite:
    """Ownership tags a function gets before the plan runs (TagResource keeps its other tags)."""

    address: str
    name: str
    arn: str
    tags: Mapping[str, str]


@dataclass
class Adoption:
    planned: Planned
    tags: list[TagWrite]
    notes: list[str]

    @property
    def empty(self) -> bool:
        return not self.tags and self.planned.plan.empty


class _Prerecorded(Backend):
    """The real backend, whose state already records the functions being adopted.

    Planning then treats them as hookctl's (their tags are written only once the user
    said yes); the records reach the real state only through apply's own writes.
    """

    def __init__(self, inner: Backend, records: Mapping[str, dict[str, Any]]) -> None:
        self.inner = inner
        self.records = dict(records)

    def read(self) -> State:
        state = self.inner.read()
        for address, record in self.records.items():
            if address not in state.resources:
                state.patch(address, dict(record))
        return state

    def write(self, state: State) -> None:
        self.inner.write(state)

    def acquire(self, operation: str) -> LockInfo:
        return self.inner.acquire(operation)

    def release(self, lock: LockInfo) -> None:
        self.inner.release(lock)

    def unlock(self, lock_id: str) -> None:
        self.inner.unlock(lock_id)


def plan_adoption(stack_path: str, environment: str | None, factory: ProviderFactory, options: Options) -> Adoption:
    """The plan that makes the stack's live resources hookctl's, checked to do nothing else.
    Read-only. The caller holds the state lock and passes its backend in ``options``."""
    from ..engine.pipeline import backend_for, compute_plan

    stack = load_stack(stack_path, environment)
    backend = backend_for(stack, options)
    providers = factory(stack)
    tags, records, reasons = _function_ownership(stack, providers, backend.read())
    if reasons:
        raise NotAdoptable(reasons)
    # Adopting is the explicit act that makes nobody's same-named actions this stack's, and writes
    # their secrets (nothing records their values yet).
    planning = dataclasses.replace(
        options,
        backend=lambda _stack: _Prerecorded(backend, records),
        extra={**options.extra, "adopting": True, "unknown_secrets": "send"},
    )
    planned = compute_plan(stack_path, environment, lambda _stack: providers, planning)
    reasons = check_adoption(planned.plan, stack)
    if not reasons:
        changes, reasons = _with_live_code(planned.plan, stack, providers)
        planned.plan = dataclasses.replace(planned.plan, changes=changes)
    if reasons:
        raise NotAdoptable(reasons)
    return Adoption(planned, tags, adoption_notes(planned.plan, tags))


def _with_live_code(
    plan: Plan, stack: Stack, providers: Sequence[Provider]
) -> tuple[tuple[ResourceChange, ...], list[str]]:
    """A function hookctl did not build has no live code the plan can show (hookctl reads its own
    builds back from its cache), so adoption reads the package and proves the handler text is the
    template's — it may have been redeployed since the import. The change then shows no code diff."""
    cognito = next((p for p in providers if p.name == "cognito"), None)
    by_address = {fn.address: fn for fn in stack.functions}
    changes: list[ResourceChange] = []
    reasons: list[str] = []
    for change in plan.changes:
        fn = by_address.get(change.address)
        if cognito is None or fn is None or not any(f.path == "code" for f in change.fields):
            changes.append(change)
            continue
        client = cast("LambdaCognitoClient", cognito.client())
        name = Names.of(stack).function(fn.name)
        resource = f"{fn.address} ({name})"
        try:
            live, _ = handler_source(download_function(client, name, resource), fn.handler, fn.runtime)
        except _Refused as exc:
            reasons.append(f"{change.address}: {exc}")
            continue
        if live != change.code_after:
            reasons.append(f"{change.address}: its live code differs from the template (redeployed since the import?)")
            continue
        changes.append(dataclasses.replace(change, code_before=live))
    return tuple(changes), reasons


def _function_ownership(
    stack: Stack, providers: Sequence[Provider], state: State
) -> tuple[list[TagWrite], dict[str, dict[str, Any]], list[str]]:
    """Declared functions that exist: the tags each still needs, the state records that let the
    plan treat them as owned meanwhile, and functions another stack owns."""
    cognito = next((p for p in providers if p.name == "cognito"), None)
    if cognito is None or not stack.functions:
        return [], {}, []
    client = cast("LambdaCognitoClient", cognito.client())
    names = Names.of(stack)
    listed = {str(cfg["FunctionName"]): cfg for cfg in client.list_functions()}
    tags: list[TagWrite] = []
    records: dict[str, dict[str, Any]] = {}
    reasons: list[str] = []
    for fn in stack.functions:
        physical = names.function(fn.name)
        cfg = listed.get(physical)
        if cfg is None:
            continue  # the plan creates it, and check_adoption refuses that
        arn = str(cfg["FunctionArn"])
        live_tags = client.list_tags(arn, f"{fn.address} ({physical})")
        if live_tags.get(TAG_MANAGED) == "true" and not names.owns(live_tags):
            reasons.append(
                f"{fn.address}: function {physical} is managed by hookctl stack {live_tags.get(TAG_STACK)!r} "
                f"environment {live_tags.get('hookctl:environment')!r}"
            )
            continue
        wanted = names.tags(fn.name)
        if any(live_tags.get(k) != v for k, v in wanted.items()):
            tags.append(TagWrite(fn.address, physical, arn, wanted))
        recorded = state.resources.get(fn.address)
        if not (isinstance(recorded, Mapping) and recorded.get("arn") == arn):
            records[fn.address] = {
                "kind": "function",
                "function": fn.name,
                "name": physical,
                "arn": arn,
                "environment": sorted(fn.environment),
            }
    return tags, records, reasons


# What adoption may change, per resource kind; anything else is refused.
ADOPTION_METHODS = frozenset(
    {"update_action", "deploy_action", "update_function_code", "update_function_configuration", "add_permission"}
)


def check_adoption(plan: Plan, stack: Stack) -> list[str]:
    """Why ``plan`` does more than adopt (pure): one line per offending resource or operation."""
    own = marker(stack.name, stack.environment.name)
    reasons: list[str] = []
    for change in plan.changes:
        why = _adoption_problem(change, own)
        if why:
            reasons.append(f"{change.address}: {why}")
    if not reasons:
        for op in plan.operations:
            if op.method not in ADOPTION_METHODS:
                reasons.append(f"{op.address}: the plan would {op.description[:1].lower()}{op.description[1:]}")
    return reasons


def _adoption_problem(change: ResourceChange, own: str) -> str:
    address = change.address
    if address.startswith("cognito.permission.") and change.kind in (CREATE, UPDATE):
        return ""  # a Cognito invoke grant for a pool already configured to call the function
    if change.kind != UPDATE:
        what = {"create": "create it (it is not live)", "delete": "delete it", "replace": "replace it"}
        return f"the plan would {what.get(change.kind, change.kind)}"
    paths = [f.path for f in change.fields]
    if address.startswith("auth0.action."):
        if change.reason and change.reason != NEVER_DEPLOYED:
            return f"drift: {change.reason}"
        before = change.code_before or ""
        found = MARKER_RE.match(before)
        if found and found.group(0) != own:
            return (
                f"it is managed by hookctl stack {found.group('stack')!r} environment {found.group('env')!r}, "
                "not this one"
            )
        if "code" in paths and change.code_after != own + before:
            return "its code differs from the template beyond hookctl's marker line"
        for f in change.fields:
            if f.path == "code":
                continue
            if not f.path.startswith("secrets."):
                return f"{f.path} would change"
            if f.after is None:
                return f"{f.path} is live but not declared"
            if f.before is None:
                return f"{f.path} is declared but not live"
            if f.before != SECRET_UNKNOWN:
                return f"{f.path}: the exported value differs from the one hookctl recorded"
        return ""
    if address.startswith("cognito.function."):
        if change.reason:
            return f"drift: {change.reason}"
        for path in paths:
            if path.startswith("secrets."):
                name = path.split(".", 1)[1]
                return f"the value exported for secret {name} differs from the function's live value"
        extra = sorted(set(paths) - {"code", "code_digest"})
        if extra:
            return f"{', '.join(extra)} would change"
        return ""
    return f"{', '.join(paths) or 'it'} would change"


def adoption_notes(plan: Plan, tags: Sequence[TagWrite]) -> list[str]:
    """Plain words for what adopting writes, one line per resource."""
    notes: list[str] = []
    for change in plan.changes:
        paths = {f.path.split(".", 1)[0] for f in change.fields}
        if change.address.startswith("auth0.action."):
            parts = []
            if "code" in paths:
                parts.append("its code gains hookctl's ownership marker line (nothing else in it changes)")
            secrets = sorted(f.path.split(".", 1)[1] for f in change.fields if f.path.startswith("secrets."))
            if secrets:
                parts.append(
                    f"secret{'s' if len(secrets) > 1 else ''} {', '.join(secrets)} "
                    "written from the environment (Auth0 never returns a secret's value)"
                )
            if change.reason == NEVER_DEPLOYED:
                parts.append("deployed for the first time")
            notes.append(f"{change.address}: {'; '.join(parts)}; then redeployed")
        elif change.address.startswith("cognito.function."):
            notes.append(
                f"{change.address}: hookctl's build of the same handler uploaded (only the zip's bytes differ) "
                "and its build marker added to the description"
            )
        elif change.address.startswith("cognito.permission."):
            notes.append(f"{change.address}: Cognito invoke grant added with hookctl's statement id")
    for t in tags:
        pairs = ", ".join(f"{k}={v}" for k, v in sorted(t.tags.items()))
        notes.append(f"{t.address}: function {t.name} tagged {pairs}")
    return notes


def adoption_text(adoption: Adoption, *, colour: bool = False) -> str:
    from ..engine import output

    text = output.text(adoption.planned.plan, colour=colour) if not adoption.planned.plan.empty else ""
    if adoption.tags:
        text += "\nBefore the plan, ownership tags (existing tags are kept):\n"
        text += "".join(f"  + {t.address}: tag {t.name}\n" for t in adoption.tags)
    if adoption.notes:
        text += "\nAdopting writes, once:\n" + "".join(f"  {n}\n" for n in adoption.notes)
    return text


def apply_adoption(adoption: Adoption, options: Options) -> list[str]:
    """Tag, then run the plan. The caller holds the state lock."""
    from ..engine.pipeline import apply_plan

    done: list[str] = []
    if adoption.tags:
        cognito = next(p for p in adoption.planned.providers if p.name == "cognito")
        client = cast("LambdaCognitoClient", cognito.client())
        for t in adoption.tags:
            options.progress(f"Tagging function {t.name} …")
            client.tag_function(t.arn, t.tags, f"{t.address} ({t.name})")
            done.append(f"Tag function {t.name}")
    done.extend(apply_plan(adoption.planned, None, options))
    return done


@dataclass(frozen=True)
class AdoptResult:
    done: tuple[str, ...]
    remaining: tuple[ResourceChange, ...]  # what a plan right after adopting still shows (should be none)


def adopt(
    stack_path: str,
    environment: str | None,
    factory: ProviderFactory,
    options: Options,
    *,
    confirm: Callable[[Adoption], bool],
) -> AdoptResult:
    """Lock, plan the adoption, let ``confirm`` see it, write it, and plan again."""
    from ..engine.errors import AbortedError
    from ..engine.pipeline import backend_for, compute_plan

    stack = load_stack(stack_path, environment)
    backend = backend_for(stack, options)
    locked = dataclasses.replace(options, backend=lambda _stack: backend)
    with backend.locked("adopt"):
        adoption = plan_adoption(stack_path, environment, factory, locked)
        if adoption.empty:
            return AdoptResult((), ())
        if not confirm(adoption):
            raise AbortedError("adoption cancelled; nothing was changed")
        done = apply_adoption(adoption, locked)
        after = compute_plan(stack_path, environment, factory, locked)
    return AdoptResult(tuple(done), after.plan.changes)


__all__ = [
    "AdoptResult",
    "Adoption",
    "NotAdoptable",
    "TagWrite",
    "adopt",
    "adoption_notes",
    "adoption_text",
    "apply_adoption",
    "check_adoption",
    "plan_adoption",
]
