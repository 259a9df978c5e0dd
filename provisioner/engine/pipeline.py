"""The whole pipeline on one screen.
Engine: runs the stages load → render → secrets → package → read → diff → plan → apply.

    load      stack file + environment      → Stack            (stack file only)
    render    Stack entries                 → handler source   (templates)
    secrets   secret references             → masked values    (env, files, AWS)
    package   source + dependencies         → artifacts        (local build cache)
    read      providers                     → Live             (provider APIs, read-only)
    diff      desired vs live               → changes          (none)
    plan      changes                       → Plan             (none)
    apply     Plan                          → live + state     (provider APIs, state)

``plan`` and ``apply`` run the same stages; ``plan`` stops before executing.
A saved plan is applied only if the stack file and the live systems still
match what it was computed from.
"""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..providers.base import Context, Live, Provider, SecretDigest
from ..providers.cognito.plan import ENVIRONMENT_HINT, environment_problem, json_size
from . import plan as planlib
from .check import check_rendered
from .diff import Resource, diff
from .errors import HookctlError, InputError, LimitError, OwnershipError, Problem, StaleError
from .execute import DEFAULT_PARALLELISM, Executor
from .load import load_stack
from .model import Action, Function, SecretRef, Stack
from .package import package_action, package_function
from .plan import Operation, Plan, ResourceChange
from .progress import Reporter
from .render import Rendered, Renderer
from .secrets import Secret, SecretResolver, key_id, migrate_legacy_digests, secret_hash
from .state import Backend, LocalBackend, State

Progress = Callable[[str], None]
ProviderFactory = Callable[[Stack], list[Provider]]


@dataclass
class Options:
    state_dir: str = ".hookctl/state"
    state_url: str | None = None  # --state / $HOOKCTL_STATE: s3://BUCKET/PREFIX or a directory; wins over state_dir
    build_dir: str = ".hookctl/build"
    targets: tuple[str, ...] = ()
    destroy: bool = False  # plan the removal of everything the stack owns
    progress: Progress = lambda _m: None
    resolver: SecretResolver | None = None
    backend: Callable[[Stack], Backend] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    parallelism: int = DEFAULT_PARALLELISM  # operations applied at once (--parallelism)
    reporter: Reporter | None = None  # how apply shows running operations; None: lines through progress


@dataclass
class Planned:
    """A plan plus what apply needs that must never be written down (secret values)."""

    stack: Stack
    plan: Plan
    state: State
    backend: Backend
    providers: list[Provider]
    secrets: dict[tuple[str, str], Secret]
    rendered: dict[str, Rendered]


HANDLER_HINT = "The rendered handler is what would be deployed: `hookctl render` shows it."


def backend_for(stack: Stack, options: Options) -> Backend:
    if options.backend is not None:
        return options.backend(stack)
    if options.state_url:
        from .state_s3 import backend_from_url  # deferred: boto3 only when the state is remote

        return backend_from_url(options.state_url, stack.name, stack.environment.name)
    return LocalBackend(options.state_dir, stack.name, stack.environment.name)


def secret_refs(stack: Stack) -> list[tuple[str, SecretRef]]:
    entries: list[Action | Function] = [*stack.actions, *stack.functions]
    return [(entry.address, ref) for entry in entries for ref in entry.secrets]


def resolve_secrets(stack: Stack, resolver: SecretResolver) -> dict[tuple[str, str], Secret]:
    """Values hookctl must send: every Auth0 secret, and a Lambda function's env/file secrets.

    A function's Secrets Manager / SSM secrets are wired by reference and read by the function
    at cold start, so the planner never needs (or reads) their values.
    """
    refs = [
        (address, ref)
        for address, ref in secret_refs(stack)
        if not (address.startswith("cognito.") and ref.source in ("secretsmanager", "ssm"))
    ]
    values = resolver.resolve_all(ref for _, ref in refs)
    return {(address, ref.name): values[(ref.origin.field, ref.name)] for address, ref in refs}


def package_all(stack: Stack, rendered: Mapping[str, Rendered], options: Options) -> dict[str, Any]:
    artifacts: dict[str, Any] = {}
    for action in stack.actions:
        artifacts[action.address] = package_action(action, rendered[action.address])
    for fn in stack.functions:
        artifacts[fn.address] = package_function(fn, rendered[fn.address], options.build_dir, progress=options.progress)
    return artifacts


def validate_stack(
    stack_path: str, environment: str | None, *, check_secrets: bool = False, progress: Progress = lambda _m: None
) -> Stack:
    """Load, render and syntax-check every handler: everything short of reading a provider. Needs no
    secret and no credential, like ``terraform validate``; ``check_secrets`` also checks that local
    secret sources (env, file) are present, reported together with every other problem."""
    stack = load_stack(
        stack_path,
        environment,
        check_secret=_local_secret_check if check_secrets else None,
        check_entries=lambda valid: handler_problems(valid, progress),
    )
    render_checked(stack, progress)
    # Lambda's 4 KB environment: what is known locally (plain variables, and env and file secrets
    # that are present) must already fit; plan adds the secret references' size once their ARNs
    # are known, and the secrets validate could not read.
    resolver = SecretResolver(base_dir=stack.stack_dir)
    problems = []
    for fn in stack.functions:
        local = [r for r in fn.secrets if r.source in ("env", "file") and resolver.check_local(r) is None]
        sizes = {ref.name: json_size(resolver.resolve(ref).reveal()) for ref in local}
        problem = environment_problem(fn, {}, sizes)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise InputError(problems, hint=ENVIRONMENT_HINT)
    return stack


def render_checked(stack: Stack, progress: Progress) -> list[Rendered]:
    """Render every entry and syntax-check each handler that rendered, reporting the template errors
    of some entries together with the syntax errors of the others."""
    renderer = Renderer(stack)
    rendered: list[Rendered] = []
    problems: list[Problem] = []
    entries: list[Action | Function] = [*stack.actions, *stack.functions]
    for entry in entries:
        try:
            rendered.append(renderer.render(entry))
        except InputError as exc:
            problems.extend(exc.problems)
    checked = check_rendered(stack, rendered, progress)
    if problems or checked:
        raise InputError([*problems, *checked], hint=HANDLER_HINT if checked else None)
    return rendered


def handler_problems(stack: Stack, progress: Progress) -> list[Problem]:
    """What render_checked would report for ``stack``, as problems to report with others."""
    try:
        render_checked(stack, progress)
    except InputError as exc:
        return list(exc.problems)
    return []


def _local_secret_check(ref: SecretRef, base_dir: str) -> Problem | None:
    return SecretResolver(base_dir=base_dir).check_local(ref)


def compute_plan(stack_path: str, environment: str | None, factory: ProviderFactory, options: Options) -> Planned:
    # Local secret sources are checked with the stack file, so a missing one is reported together with
    # every other problem; a destroy plan sends no secret and needs none.
    def check_secret(ref: SecretRef, base_dir: str) -> Problem | None:
        return (options.resolver or SecretResolver(base_dir=base_dir)).check_local(ref)

    stack = original = load_stack(
        stack_path,
        environment,
        check_secret=None if options.destroy else check_secret,
        check_entries=None if options.destroy else lambda valid: handler_problems(valid, options.progress),
    )
    if options.destroy:
        # Destroy is a plan for an empty stack that prunes: providers remove exactly what this
        # stack and environment own (unbinding and detaching first) and nothing else.
        stack = dataclasses.replace(stack, actions=(), bindings=(), functions=(), prune=True)
    handlers = render_checked(stack, options.progress)
    rendered = {r.address: r for r in handlers}
    region = stack.environment.cognito.region if stack.environment.cognito else None
    resolver = options.resolver or SecretResolver(base_dir=stack.stack_dir, region=region)
    secrets = resolve_secrets(stack, resolver)
    backend = backend_for(stack, options)
    state = _with_digest_key(backend, backend.read())
    migrate_legacy_digests(state.resources, secrets, state.salt, state.digest_key)
    digests: dict[str, dict[str, SecretDigest]] = {}
    for (address, name), secret in secrets.items():
        value = secret.reveal()
        digest = secret_hash(value, state.digest_key)
        digests.setdefault(address, {})[name] = SecretDigest(address, name, digest, size=json_size(value))
    artifacts = package_all(stack, rendered, options)
    providers = factory(stack)
    changes: list[ResourceChange] = []
    operations: list[Operation] = []
    live_docs: dict[str, Any] = {}
    read: list[tuple[Provider, Context, list[ResourceChange], dict[str, Resource], Live]] = []
    known = set(declared_addresses(original))
    conflicts: list[str] = []
    over: list[str] = []
    for provider in providers:
        key = state.digest_key
        ctx = Context(stack, state.resources, artifacts, digests, options.progress, options.extra, salt=key)
        options.progress(f"Reading {provider.name} …")
        live = provider.read(ctx)
        desired = provider.desired(ctx, live)
        found = _with_notes(diff(desired, live.resources, sorted(live.owned) if stack.prune else ()), live.notes)
        read.append((provider, ctx, found, desired, live))
        known |= set(desired) | set(live.resources)
        conflicts.extend(live.conflicts)
    if conflicts:
        raise OwnershipError(conflicts, f"{stack.name}/{stack.environment.name}")
    if options.targets:
        check_targets(options.targets, known, f"{stack.name}/{stack.environment.name}")
    for provider, ctx, found, desired, live in read:
        ops = provider.operations(ctx, found, desired, live)
        if options.targets:
            # Keep the targeted resources and everything their operations depend on; then plan the
            # operations again from those changes alone, so a shared write (one trigger's binding
            # list, one pool) carries only what the targets need and nothing else the stack changes.
            wanted = {c.address for c in found if _matches(c.address, options.targets)}
            kept = {a for op in _with_dependencies(ops, wanted) for a in _touches(op)} | wanted
            found = [c for c in found if c.address in kept]
            ops = _with_dependencies(provider.operations(ctx, found, desired, live), wanted)
            kept = {address for op in ops for address in _touches(op)}
            found = [c for c in found if c.address in kept or _matches(c.address, options.targets)]
        changes.extend(found)
        operations.extend(ops)
        live_docs[provider.name] = _fingerprint_view(live)
        over.extend(provider.limits(ctx, found, desired, live))
    if over:
        raise LimitError(over, f"{stack.name}/{stack.environment.name}")
    plan = Plan(
        stack=stack.name,
        environment=stack.environment.name,
        stack_revision=stack.revision,
        fingerprint=planlib.fingerprint(live_docs),
        changes=tuple(changes),
        operations=planlib.order(operations),
        created_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        commit=git_commit(stack.stack_dir),
        targets=options.targets,
        key_id=key_id(state.digest_key),
        stack_path=os.path.relpath(stack_path),
        destroy=options.destroy,
        systems={provider.name: live.target for provider, _ctx, _found, _desired, live in read},
        secret_digests={a: {n: d.hash for n, d in sorted(named.items())} for a, named in sorted(digests.items())},
        unknown_secrets=str(options.extra.get("unknown_secrets") or "keep"),
    )
    return Planned(stack, plan, state, backend, providers, secrets, rendered)


def plan_environments(
    stack_path: str,
    environments: list[str],
    factory: ProviderFactory,
    options_for: Callable[[], Options],
    parallelism: int = 4,
) -> list[tuple[str, Planned | HookctlError]]:
    """Plan several environments concurrently (bounded), in the order given; errors are returned per environment."""
    from concurrent.futures import ThreadPoolExecutor

    def one(env: str) -> Planned | HookctlError:
        try:
            return compute_plan(stack_path, env, factory, options_for())
        except HookctlError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="plan") as pool:
        return list(zip(environments, pool.map(one, environments), strict=True))


def apply_plan(planned: Planned, plan: Plan | None, options: Options) -> list[str]:
    """Execute ``planned.plan``. With a saved ``plan``, it is first checked to be what was just
    recomputed (same targets, stack, secrets, live systems, changes and operations), so a saved
    plan is a checked claim and never a list of instructions. The caller holds the state lock."""
    if plan is not None:
        check_digest_key(plan, planned.state)
        check_fresh(plan, planned)
        check_same(plan, planned.plan)
    chosen = planned.plan
    state = planned.state
    clients = {p.name: p.client() for p in planned.providers}
    executor = Executor(
        clients,
        state,
        planned.secrets,
        save=planned.backend.write,
        progress=options.progress,
        parallelism=options.parallelism,
        reporter=options.reporter,
    )
    done = executor.run(chosen)
    if not chosen.operations:
        return done
    planned.backend.write(state)
    return done


def check_invocation(
    saved: Plan,
    stack_path: str | None,
    environment: str | None,
    targets: tuple[str, ...],
    planfile: str = "PLANFILE",
    unknown_secrets: str | None = None,
) -> None:
    """``-s``/``-e``/``--target`` given with a plan file must be the plan's own, checked before anything is read."""
    mismatches: list[str] = []
    if environment and environment != saved.environment:
        mismatches.append(f"-e {environment} (the plan is for environment {saved.environment})")
    if stack_path and saved.stack_path and os.path.realpath(stack_path) != os.path.realpath(saved.stack_path):
        mismatches.append(f"-s {stack_path} (the plan was made from {saved.stack_path})")
    if targets and tuple(targets) != tuple(saved.targets):
        shown = ", ".join(saved.targets) or "no --target"
        mismatches.append(f"--target {', '.join(targets)} (the plan was made with {shown})")
    if unknown_secrets and unknown_secrets != saved.unknown_secrets:
        mismatches.append(
            f"--unknown-secrets {unknown_secrets} (the plan was made with --unknown-secrets {saved.unknown_secrets})"
        )
    if mismatches:
        raise InputError(
            [Problem(planfile, None, "options", f"{m} does not match the plan") for m in mismatches],
            hint=f"The plan is for {saved.stack}/{saved.environment}: apply it without -s/-e/--target, "
            "or plan again for the stack and environment you mean.",
        )


def check_digest_key(saved: Plan, state: State) -> None:
    """A saved plan's secret digests can be checked only with the key they were made with."""
    if saved.key_id == key_id(state.digest_key):
        return
    if saved.secret_digests or any(_secret_placeholders(op.params) for op in saved.operations):
        raise StaleError(
            "the plan's secret digests were made with a digest key this state does not hold "
            "(the state had no key yet and the plan could not record one, or the state was replaced)",
            hint="Plan again (the state now holds its key, or plan with credentials that can write it) "
            "and apply that plan.",
        )


def _with_digest_key(backend: Backend, state: State) -> State:
    """The state, with its digest key recorded if it had none (a new or older state).

    Secret digests in a saved plan are keyed with the state's key, so the key must outlive this
    run. Recording it takes the lock; when that is impossible (read-only credentials, or apply
    holding the lock already, which then writes the key itself), the run keeps its own key."""
    if state.key_recorded:
        return state
    try:
        with backend.locked("record the digest key"):
            current = backend.read()
            if not current.key_recorded:
                current.digest_key = state.digest_key
                backend.write(current)
                current.key_recorded = True
            return current
    except Exception:  # best effort: the plan itself is still right
        return state


def _secret_placeholders(value: Any) -> bool:
    if isinstance(value, planlib.SecretValue):
        return True
    if isinstance(value, Mapping):
        return any(_secret_placeholders(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_secret_placeholders(v) for v in value)
    return False


def check_fresh(saved: Plan, current: Planned) -> None:
    now = current.plan
    if saved.destroy != now.destroy:
        raise StaleError("the plan is a destroy plan" if saved.destroy else "the plan is not a destroy plan")
    if (saved.stack, saved.environment) != (now.stack, now.environment):
        raise StaleError(f"the plan is for {saved.stack}/{saved.environment}, not {now.stack}/{now.environment}")
    for provider in sorted(set(saved.systems) | set(now.systems)):
        was, is_now = saved.systems.get(provider), now.systems.get(provider)
        if was != is_now:
            raise StaleError(
                f"the plan was made against {provider} {_system(was)}, but this run reaches {provider} "
                f"{_system(is_now)}; refusing to apply it there",
                hint="Apply the plan with the credentials and endpoints it was made with, or plan again here.",
            )
    if saved.stack_revision != now.stack_revision:
        raise StaleError(
            "the stack file changed since the plan was made"
            + (f" (plan from commit {saved.commit[:12]})" if saved.commit else ""),
            hint="Plan again from the current stack and review the new plan.",
        )
    if saved.fingerprint != now.fingerprint:
        raise StaleError(
            "the live systems changed since the plan was made; refusing a stale plan",
            hint="Plan again and review the new plan.",
        )
    if saved.key_id and saved.key_id != now.key_id:
        raise StaleError("the state was replaced since the plan was made", hint="Plan again and review the new plan.")
    changed = [
        f"secret {name} of {address}"
        for address in sorted(set(saved.secret_digests) | set(now.secret_digests))
        for name in sorted(set(saved.secret_digests.get(address, {})) | set(now.secret_digests.get(address, {})))
        if saved.secret_digests.get(address, {}).get(name) != now.secret_digests.get(address, {}).get(name)
    ]
    if changed:
        raise StaleError(
            f"{changed[0]} changed since the plan was made"
            + (f" (so did {', '.join(changed[1:])})" if changed[1:] else "")
            + "; nothing was applied",
            hint="Run plan again to review the new value's effect.",
        )


def check_operations(path: str, saved: Plan, planned: Planned) -> None:
    """Refuse a saved plan that names a provider, method or parameter its client does not offer, or
    that puts a secret anywhere but the one parameter its operation sends secrets in, for the resource
    the operation writes, before the first operation runs. (Whether a secret's value changed since
    the plan is the executor's check, made for every secret before anything is written.)"""
    hint = "Plan again; a saved plan is applied only as it was made."
    by_name = {p.name: p for p in planned.providers}
    for i, op in enumerate(saved.operations):
        where = f"operations[{i}]"
        provider = by_name.get(op.provider)
        if provider is None:
            problem = Problem(path, None, f"{where}.provider", f"no provider {op.provider!r} in this environment")
            raise InputError([problem], hint=hint)
        client = provider.client()
        if op.method not in type(client).OPERATIONS:
            problem = Problem(path, None, f"{where}.method", f"{op.provider} offers no operation {op.method!r}")
            raise InputError([problem], hint=hint)
        allowed = type(client).SECRET_PARAMS.get(op.method)
        for place, address, name in _secret_places(op):
            if allowed is None or not place.startswith(f"params.{allowed}") or address != op.address:
                problem = Problem(path, None, f"{where}.{place}", f"secret {name} of {address} does not go here")
                raise InputError([problem], hint=hint)
        try:
            inspect.signature(getattr(client, op.method)).bind(**op.params)
        except TypeError as exc:
            problem = Problem(path, None, f"{where}.params", f"do not fit {op.provider} {op.method}: {exc}")
            raise InputError([problem], hint=hint) from None


def _secret_places(op: Operation) -> list[tuple[str, str, str]]:
    """Every secret placeholder of an operation: (path, secret's address, name)."""
    found: list[tuple[str, str, str]] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, planlib.SecretValue):
            found.append((where, value.address, value.name))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")

    walk(op.params, "params")
    walk(op.record, "record")
    return found


def check_same(saved: Plan, now: Plan) -> None:
    """The saved plan's changes and operations must be exactly those recomputed now.

    Everything else agreeing (stack, secrets, live systems), a difference means the file was
    edited: an operation added by hand would run while the summary still counts 0 deletions.
    A build's path is left out (the build is content-addressed and its CodeSha256 is compared).
    """
    for key, label in (("changes", "changes"), ("operations", "operations")):
        was, is_now = _comparable(saved)[key], _comparable(now)[key]
        if was == is_now:
            continue
        index = next(
            (i for i, (a, b) in enumerate(zip(was, is_now, strict=False)) if a != b), min(len(was), len(is_now))
        )
        what = (
            was[index].get("description") or was[index].get("address")
            if index < len(was)
            else f"{len(is_now) - len(was)} missing"
        )
        raise StaleError(
            f"the plan file's {label} are not what this plan computes now ({label}[{index}]: {what}); "
            "a saved plan is applied only as hookctl made it",
            hint="Plan again and review the new plan; do not edit plan files.",
        )


def _comparable(plan: Plan) -> dict[str, Any]:
    doc = planlib.plan_to_json(plan)
    for op in doc["operations"]:
        if isinstance(op["params"], dict):
            op["params"].pop("zip_path", None)
    return {"changes": doc["changes"], "operations": doc["operations"]}


def _system(target: Mapping[str, Any] | None) -> str:
    if not target:
        return "(none)"

    def show(value: Any) -> str:
        if isinstance(value, Mapping):
            return " ".join(f"{k}={v}" for k, v in sorted(value.items())) or "(none)"
        return str(value)

    return ", ".join(f"{k} {show(v)}" for k, v in sorted(target.items()))


def git_commit(directory: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", directory, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _fingerprint_view(live: Live) -> dict[str, Any]:
    return {
        "resources": {a: _doc_view(r) for a, r in sorted(live.resources.items())},
        "facts": live.facts,
    }


def _doc_view(resource: Resource) -> dict[str, Any]:
    import hashlib

    code = hashlib.sha256(resource.code.encode()).hexdigest() if resource.code is not None else None
    return {"doc": resource.doc, "code": code, "drift": resource.drift}


def _with_notes(changes: list[ResourceChange], notes: Mapping[str, str]) -> list[ResourceChange]:
    """A provider's notes join the reason of the resource's change, or stand alone as a no-op."""
    out: list[ResourceChange] = []
    for change in changes:
        note = notes.get(change.address)
        out.append(
            dataclasses.replace(change, reason="; ".join(r for r in (change.reason, note) if r)) if note else change
        )
    changed = {c.address for c in changes}
    out.extend(ResourceChange(a, planlib.NOOP, reason=n) for a, n in notes.items() if a not in changed)
    return out


def declared_addresses(stack: Stack) -> list[str]:
    """Every address the stack declares (a destroy plan reads them live; a target may name them)."""
    found: list[str] = [a.address for a in stack.actions] + [b.address for b in stack.bindings]
    for fn in stack.functions:
        found.append(fn.address)
        if fn.role is None:
            found.append(f"iam.role.{fn.name}")
        for pt in fn.triggers:
            found.extend((f"cognito.permission.{fn.name}.{pt.pool}", pt.address))
    return found


def check_targets(targets: tuple[str, ...], known: set[str], where: str) -> None:
    """Every --target must name (or be a dotted prefix of) an address the stack or the live systems have.

    A typo must not pass as "No changes": a drift check with a mistyped target would report no drift.
    """
    lines: list[str] = []
    for target in targets:
        if any(_matches(address, (target,)) for address in known):
            continue
        well_formed = _ADDRESS_RE.match(target) is not None
        what = "matches nothing in" if well_formed else "is not a resource address of"
        near = nearest_addresses(target, known)
        lines.append(f"--target {target} {what} {where}" + (f"; did you mean {' or '.join(near)}?" if near else ""))
    if lines:
        raise HookctlError(
            "\n".join(lines),
            hint="Addresses look like auth0.action.NAME, auth0.trigger.TRIGGER, cognito.function.NAME, "
            "cognito.permission.FUNCTION.POOL, cognito.pool.POOL.TRIGGER; `hookctl plan` lists them.",
        )


def nearest_addresses(target: str, known: set[str], limit: int = 3) -> list[str]:
    import difflib

    ordered = sorted(known)
    # A bare name (slack-new-user) or a tail (main.PreSignUp) names the addresses it ends.
    tails = [a for a in ordered if a.endswith("." + target)]
    close = difflib.get_close_matches(target, ordered, n=limit, cutoff=0.6)
    names = {a.split(".", 2)[-1]: a for a in ordered}
    by_name = [names[n] for n in difflib.get_close_matches(target, list(names), n=limit, cutoff=0.75)]
    found = list(dict.fromkeys([*tails, *close, *by_name]))
    return found[:limit]


_ADDRESS_RE = re.compile(r"^(auth0\.(action|trigger)|cognito\.(function|permission|pool)|iam\.role)(\.[^.\s]+)+$")


def _matches(address: str, targets: tuple[str, ...]) -> bool:
    return any(address == t or address.startswith(t + ".") for t in targets)


def _touches(op: Operation) -> set[str]:
    """Addresses an operation changes: its own and those it records (one pool write serves several)."""
    return {op.address, *(op.record or {})}


def _with_dependencies(operations: list[Operation], addresses: set[str]) -> list[Operation]:
    by_id = {op.id: op for op in operations}
    keep: set[str] = set()
    stack = [op.id for op in operations if _touches(op) & addresses]
    while stack:
        current = stack.pop()
        if current in keep or current not in by_id:
            continue
        keep.add(current)
        stack.extend(by_id[current].depends_on)
    return [op for op in operations if op.id in keep]


__all__ = [
    "HookctlError",
    "Options",
    "Planned",
    "apply_plan",
    "check_fresh",
    "check_invocation",
    "check_same",
    "compute_plan",
]
