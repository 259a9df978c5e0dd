"""Auth0 Actions, pure half: live data, normalised documents, desired state, limits and operations.
Provider auth0: the planning half (no I/O, no SDK; client.py may import its types, never the reverse).

The stack and the tenant become the same documents, so the differ sees only what matters: code,
runtime, dependencies, trigger and version, secret names and (via state hashes) values, and
deployment drift. ``TenantView`` is what provider.py read through the client; every function here
takes it (or plain values) and returns documents, problems or ``Operation``s for the executor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ...engine import catalog
from ...engine.diff import Resource, compare
from ...engine.errors import HookctlError
from ...engine.model import Action, Stack
from ...engine.plan import CREATE, DELETE, NOOP, REPLACE, Operation, Ref, ResourceChange
from ..base import Context, Live

NAME = "auth0"  # the provider's name, as operations carry it

MARKER_RE = re.compile(r"^// hookctl: stack=(?P<stack>[\w.-]+) environment=(?P<env>[\w.-]+)\b.*\n")
SECRET_UNKNOWN = "(unknown: not recorded in state)"
SECRET_ROTATED = "(rotated outside hookctl)"
# What a plan does with a secret it cannot compare (``--unknown-secrets``): keep the live value
# (the default: unknown is not changed) or send the stack's value again.
UNKNOWN_KEEP, UNKNOWN_SEND = "keep", "send"


def marker(stack: str, environment: str) -> str:
    """First line of every action hookctl manages: ownership survives the loss of state."""
    return f"// hookctl: stack={stack} environment={environment} — managed by hookctl; edits here are overwritten\n"


def version_key(version: str) -> tuple[int, ...]:
    """Order trigger versions as numbers: "v10" after "v9" (as strings, "v10" < "v9")."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", version))
    return numbers or (-1,)


def api_runtime(runtime: str) -> str:
    return catalog.AUTH0_API_RUNTIME.get(runtime, runtime)


def stack_runtime(runtime: str | None) -> str:
    # The API spells node18 "node18-actions" (Management API, Action.runtime).
    if not runtime:
        return catalog.AUTH0_DEFAULT_RUNTIME
    return "node18" if runtime == "node18-actions" else runtime


@dataclass(frozen=True)
class LiveAction:
    id: str
    name: str
    trigger: str
    trigger_version: str
    code: str
    runtime: str
    dependencies: dict[str, str]
    secrets: dict[str, str]  # name -> updated_at
    status: str
    all_changes_deployed: bool
    deployed_code: str | None
    deployed_number: int | None
    errors: tuple[str, ...]


@dataclass(frozen=True)
class LiveBinding:
    id: str
    action_id: str
    action_name: str
    display_name: str


@dataclass(frozen=True)
class TriggerInfo:
    id: str
    version: str
    binding_policy: str


def _errors(raw: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Build errors, ``[{id, msg, url}]`` (auth0-python ``ActionError``)."""
    if not raw:
        return ()
    out = []
    for e in raw.get("errors") or []:
        if isinstance(e, Mapping):
            text = str(e.get("msg") or e.get("message") or e.get("id") or "")
            out.append(f"{text} ({e['url']})" if text and e.get("url") else text)
        elif e:
            out.append(str(e))
    return tuple(t for t in out if t)


def build_failure(action: LiveAction) -> str:
    """What is known about a failed build.

    Build errors arrive on versions (auth0-python ``ActionVersion.errors`` and
    ``ActionDeployedVersion.errors``: "errors that occurred while the version was being built").
    The action itself carries none: neither the SDK's action types nor the recorded failed draft
    (terraform-provider-auth0 TestAccAction_FailedBuild.yaml) have an ``errors`` field, and
    terraform-provider-auth0 itself can only say "check the Auth0 UI for errors". hookctl reads
    both places, and otherwise says where the log is and what usually causes it.
    """
    if action.errors:
        return "; ".join(action.errors)
    deps = ", ".join(f"{n}@{v}" for n, v in sorted(action.dependencies.items()))
    return (
        "Auth0 returns no build log for a draft (the dashboard shows it under Actions > Library > "
        f"{action.name})" + (f"; check that npm has each dependency: {deps}" if deps else "")
    )


def to_live_action(raw: Mapping[str, Any]) -> LiveAction:
    trig = (raw.get("supported_triggers") or [{}])[0]
    deployed = raw.get("deployed_version") or None
    return LiveAction(
        id=str(raw["id"]),
        name=str(raw.get("name", "")),
        trigger=str(trig.get("id", "")),
        trigger_version=str(trig.get("version", "")),
        code=str(raw.get("code") or ""),
        runtime=stack_runtime(raw.get("runtime")),
        dependencies={str(d["name"]): str(d.get("version", "")) for d in raw.get("dependencies") or []},
        secrets={str(s["name"]): str(s.get("updated_at", "")) for s in raw.get("secrets") or []},
        status=str(raw.get("status") or ""),
        all_changes_deployed=bool(raw.get("all_changes_deployed")),
        deployed_code=(deployed or {}).get("code"),
        deployed_number=(deployed or {}).get("number"),
        # An action-level list (none recorded) wins; else the errors of a failed deployed version.
        errors=_errors(raw) or (_errors(deployed) if (deployed or {}).get("status") == "failed" else ()),
    )


_STAMP_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z?$")


def _stamp(value: Any) -> str:
    """An API timestamp as a string that orders correctly: fractions padded to nanoseconds
    (the API writes 2026-05-29T10:46:02.594769258Z; other writers drop trailing digits)."""
    if not value:
        return ""
    found = _STAMP_RE.match(str(value))
    if found is None:
        return str(value)
    return f"{found.group(1)}.{(found.group(2) or '').ljust(9, '0')[:9]}"


@dataclass
class TenantView:
    """What a read found in the tenant, as planning needs it."""

    triggers: dict[str, TriggerInfo] = field(default_factory=dict)
    actions: dict[str, LiveAction] = field(default_factory=dict)  # the managed actions, by name
    bindings: dict[str, list[LiveBinding]] = field(default_factory=dict)  # of the managed triggers
    tenant_actions: int = 0  # every action in the tenant, managed or not


def bare_domain(domain: str) -> str:
    return domain.removeprefix("https://").rstrip("/").lower()


def managed_actions(stack: Stack, all_actions: Iterable[LiveAction], owned: set[str]) -> dict[str, LiveAction]:
    """The live actions this stack manages: those it declares and those it owns."""
    by_name = {a.name: a for a in all_actions}
    managed = {a.name for a in stack.actions} | owned
    return {name: by_name[name] for name in managed if name in by_name}


def managed_triggers(
    stack: Stack, triggers: Mapping[str, TriggerInfo], actions: Mapping[str, LiveAction], owned: set[str]
) -> set[str]:
    """The triggers whose bindings the plan reads; refused if the tenant lacks one or it is entity-bound."""
    found = {a.trigger for a in stack.actions} | {b.trigger for b in stack.bindings}
    if stack.prune:
        found |= {actions[n].trigger for n in owned}
    for trigger in sorted(found):
        info = triggers.get(trigger)
        if info is None:
            raise HookctlError(f"the tenant has no Actions trigger {trigger!r}")
        if info.binding_policy == "entity-bound":
            raise HookctlError(
                f"trigger {trigger!r} is entity-bound: its actions are bound to entities, not to a trigger "
                "binding list, and hookctl manages trigger-bound triggers only",
            )
    return found


def live_documents(
    ctx: Context, view: TenantView, owned: set[str], conflicts: list[str], target: dict[str, Any]
) -> Live:
    """The tenant as documents: one per managed action, one binding list per managed trigger."""
    live = Live(conflicts=conflicts, target=target)
    for name, action in sorted(view.actions.items()):
        address = f"auth0.action.{name}"
        live.resources[address] = live_action_resource(ctx, address, action)
        if name in owned:
            live.owned.add(address)
    for trigger, bindings in view.bindings.items():
        address = f"auth0.trigger.{trigger}"
        live.resources[address] = Resource(address, {"bindings": [binding_label(view, b) for b in bindings]})
    live.facts = {
        "triggers": {t: [i.version, i.binding_policy] for t, i in sorted(view.triggers.items())},
        "bindings": {t: [[b.id, b.action_id] for b in bs] for t, bs in view.bindings.items()},
        "actions": {
            n: [a.id, a.status, a.deployed_number, sorted(a.secrets.items())] for n, a in sorted(view.actions.items())
        },
    }
    return live


def ownership_conflicts(ctx: Context, by_name: Mapping[str, LiveAction], owned: set[str]) -> list[str]:
    """Declared actions that exist live but that this stack and environment do not own.

    Owned: the action carries this stack's marker, or the state records its id (hookctl
    created it; someone may have rewritten its code). An action marked by another stack or
    environment is that stack's; an unmarked one is nobody's until ``hookctl adopt`` (which
    plans with ``adopting`` set, and writes the marker) makes it this stack's.
    """
    stack = ctx.stack
    conflicts: list[str] = []
    for action in stack.actions:
        found = by_name.get(action.name)
        if found is None or action.name in owned:
            continue
        theirs = MARKER_RE.match(found.code)
        if theirs is not None:
            conflicts.append(
                f"{action.address}: action {action.name} is owned by hookctl stack {theirs.group('stack')!r} "
                f"environment {theirs.group('env')!r}"
            )
        elif (ctx.state.get(action.address) or {}).get("id") != found.id and not ctx.options.get("adopting"):
            conflicts.append(
                f"{action.address}: an action named {action.name} exists in the tenant and no hookctl stack "
                "owns it (import and adopt it to manage it)"
            )
    return conflicts


def binding_label(view: TenantView, binding: LiveBinding) -> str:
    """A binding as the plan names it: the managed action's name, else marked unmanaged with its id."""
    if binding.action_name in view.actions:
        return binding.action_name
    return f"(unmanaged) {binding.display_name or binding.action_name} [{binding.id}]"


def live_action_resource(ctx: Context, address: str, action: LiveAction) -> Resource:
    """A live action as a document: secrets compared through the state's hashes, drift spelled out."""
    entry = ctx.state.get(address) or {}
    recorded = entry.get("secrets", {})
    written_at = _stamp(entry.get("written_at"))
    secrets: dict[str, str] = {}
    rotated: list[str] = []
    for name, updated_at in sorted(action.secrets.items()):
        record = recorded.get(name)
        if not record:
            secrets[name] = SECRET_UNKNOWN
        elif (
            updated_at
            and record.get("updated_at")
            and _stamp(updated_at) > max(_stamp(record["updated_at"]), written_at)
        ):
            secrets[name] = SECRET_ROTATED
            rotated.append(name)
        else:
            secrets[name] = str(record.get("hash"))
    drift: list[str] = []
    if action.status == "failed":
        drift.append(f"the last build failed: {build_failure(action)}")
    elif action.deployed_number is None:
        drift.append("the action was never deployed")
    elif not action.all_changes_deployed or action.deployed_code != action.code:
        drift.append("the draft differs from the deployed version")
    if rotated:
        drift.append(f"secret {', '.join(rotated)} rotated outside hookctl")
    doc = {
        "trigger": action.trigger,
        "trigger_version": action.trigger_version,
        "runtime": action.runtime,
        "dependencies": dict(sorted(action.dependencies.items())),
        "secrets": secrets,
    }
    return Resource(
        address,
        doc,
        action.code,
        sensitive=frozenset({"secrets"}),
        replace_on=frozenset({"trigger"}),
        drift="; ".join(drift),
        extra={"id": action.id},
    )


def desired_documents(ctx: Context, view: TenantView, live: Live) -> tuple[dict[str, Resource], set[str]]:
    """The stack as documents (actions and trigger binding lists), and the actions whose failed draft
    is exactly what the stack wants: deploying such a draft again would fail again."""
    stack = ctx.stack
    out: dict[str, Resource] = {}
    own = marker(stack.name, stack.environment.name)
    failed_drafts: set[str] = set()
    for action in stack.actions:
        out[action.address] = want = desired_action(ctx, view, action, own, live)
        have = live.resources.get(action.address)
        found = view.actions.get(action.name)
        if found is not None and found.status == "failed" and have is not None and not compare(want, have):
            failed_drafts.add(action.name)
    # A failed draft that never deployed cannot be bound (the API refuses an undeployed action).
    unbindable = {n for n in failed_drafts if view.actions[n].deployed_number is None}
    managed = set(view.actions) | {a.name for a in stack.actions}
    declared = {a.name for a in stack.actions}
    for tb in stack.bindings:
        current = view.bindings.get(tb.trigger, [])
        out[tb.address] = Resource(
            tb.address,
            {
                "bindings": merge_bindings(
                    [binding_label(view, b) for b in current],
                    managed,
                    [a for a in tb.actions if a not in unbindable],
                    tb.exclusive,
                    keep=set() if stack.prune else (managed - declared),
                )
            },
        )
    if stack.prune:
        # Triggers whose only managed actions are being pruned still need their bindings rewritten.
        for trigger, current in view.bindings.items():
            address = f"auth0.trigger.{trigger}"
            if address not in out:
                labels = [binding_label(view, b) for b in current]
                out[address] = Resource(address, {"bindings": merge_bindings(labels, managed, [], False, set())})
    return out, failed_drafts


def desired_action(ctx: Context, view: TenantView, action: Action, own: str, live: Live) -> Resource:
    artifact = ctx.artifacts[action.address]
    info = view.triggers.get(action.trigger)
    version = info.version if info else "v?"
    secrets = {n: d.hash for n, d in sorted(ctx.secrets.get(action.address, {}).items())}
    have = live.resources.get(action.address)
    unknown = [n for n in secrets if have is not None and have.doc.get("secrets", {}).get(n) == SECRET_UNKNOWN]
    if unknown:
        # Auth0 never returns a secret's value, and the state has no digest of it (a fresh runner):
        # hookctl cannot tell whether it differs. That is unknown, not changed; the user chooses.
        send = ctx.options.get("unknown_secrets") == UNKNOWN_SEND
        if not send:
            for name in unknown:
                secrets[name] = SECRET_UNKNOWN
        if not ctx.options.get("adopting"):  # adoption lists the secrets it writes in its own words
            live.notes[action.address] = (
                f"secret {', '.join(unknown)} unknown: not recorded in state, and Auth0 never returns secret "
                "values, so hookctl cannot compare "
                + ("it" if len(unknown) == 1 else "them")
                + (
                    "; apply sends the stack's value (--unknown-secrets send)"
                    if send
                    else "; apply keeps the live value (--unknown-secrets send would send the stack's value)"
                )
            )
    doc = {
        "trigger": action.trigger,
        "trigger_version": version,
        "runtime": action.runtime,
        "dependencies": dict(sorted(action.dependencies.items())),
        "secrets": secrets,
    }
    return Resource(
        action.address,
        doc,
        own + artifact.code,
        sensitive=frozenset({"secrets"}),
        replace_on=frozenset({"trigger"}),
    )


def replace_note(view: TenantView, stack: Stack, change: ResourceChange, want: Resource) -> str:
    name = change.address.removeprefix("auth0.action.")
    old, new = view.actions[name].trigger, str(want.doc["trigger"])
    bound_old = any(b.action_name == name for b in view.bindings.get(old, []))
    bound_new = any(name in tb.actions for tb in stack.bindings if tb.trigger == new)
    note = (
        f"moving from trigger {old} to {new} needs a new action (a new trigger version would be an "
        "in-place upgrade, a new trigger is not); the version history is lost"
    )
    if bound_old and bound_new:
        return (
            f"{note}. {old} stops running {name} when it is unbound, before the delete, and {new} runs it "
            "only once the new action is built, deployed and bound: no trigger runs it for the length of "
            "a build (seconds; Auth0 allows up to 5 minutes)"
        )
    if bound_old:
        return f"{note}. {old} stops running {name} when it is unbound, before the delete"
    return note


def operations(
    ctx: Context,
    view: TenantView,
    failed_drafts: set[str],
    changes: list[ResourceChange],
    desired: Mapping[str, Resource],
    live: Live,
) -> list[Operation]:
    """The changes as operations on ``Auth0Client``: unbind, delete, write, deploy, bind.

    Rewrites ``changes`` in place where the plan must say more: a failed draft becomes a no-op,
    and a replacement says what it costs the triggers involved."""
    stack = ctx.stack
    by_address = {a.address: a for a in stack.actions}
    ops: list[Operation] = []
    action_ref: dict[str, Any] = {name: a.id for name, a in view.actions.items()}
    deploys: dict[str, str] = {}
    unbinds: list[str] = []
    changed = {c.address: c for c in changes}
    deletes = [c for c in changes if c.kind == DELETE and c.address.startswith("auth0.action.")]
    replaces = [c for c in changes if c.kind == REPLACE and c.address.startswith("auth0.action.")]
    for i, change in enumerate(changes):
        name = change.address.removeprefix("auth0.action.")
        if change.address.startswith("auth0.action.") and name in failed_drafts:
            # Show the failed draft; deploy nothing until the stack's code or dependencies change.
            live_action = view.actions[name]
            runs = (
                f"the trigger still runs version {live_action.deployed_number}"
                if live_action.deployed_number is not None
                else "it stays undeployed and unbound"
            )
            changes[i] = replace(
                change,
                kind=NOOP,
                reason=f"{change.reason}; nothing to deploy until its code or dependencies change ({runs})",
            )
        elif change in replaces:
            # Say in the plan itself what a replacement costs the triggers involved.
            note = replace_note(view, ctx.stack, change, desired[change.address])
            changes[i] = replace(change, reason="; ".join(r for r in (change.reason, note) if r))

    # 1. Unbind what will be deleted (prune or replace) before deleting it: never the 409. Each
    # trigger loses only its own removed actions, and each deletion waits only for its trigger.
    #    A trigger whose list changes beyond losing them (and that loses no action being replaced)
    #    needs no unbind of its own: its one PATCH drops the pruned actions, the deletes wait for it.
    removing = {c.address.removeprefix("auth0.action.") for c in (*deletes, *replaces)}
    replacing = {c.address.removeprefix("auth0.action.") for c in replaces}
    unbind_of: dict[str, str] = {}
    for trigger in sorted({view.actions[n].trigger for n in removing}):
        address = f"auth0.trigger.{trigger}"
        current = view.bindings.get(trigger, [])
        gone = [b.action_name for b in current if b.action_name in removing]
        if not gone:
            continue
        keep = [b for b in current if b.action_name not in removing]
        rebind = changed.get(address)
        kept = [binding_label(view, b) for b in keep]
        if (
            rebind is not None
            and rebind.kind != DELETE
            and list(desired[address].doc["bindings"]) != kept
            and not set(gone) & replacing
        ):
            for name in gone:
                unbind_of[name] = f"bind:{trigger}"
            continue
        op_id = f"unbind:{trigger}"
        ops.append(
            Operation(
                id=op_id,
                provider=NAME,
                method="set_bindings",
                params={"trigger_id": trigger, "bindings": [_by_binding_id(b) for b in keep]},
                description=f"Unbind {', '.join(sorted(set(gone)))} from trigger {trigger}",
                address=address,
            )
        )
        unbinds.append(op_id)
        for name in gone:
            unbind_of[name] = op_id
    for change in (*deletes, *replaces):
        name = change.address.removeprefix("auth0.action.")
        ops.append(
            Operation(
                id=f"delete:{name}",
                provider=NAME,
                method="delete_action",
                params={"action_id": view.actions[name].id, "name": name},
                description=f"Delete action {name}",
                address=change.address,
                depends_on=(unbind_of[name],) if name in unbind_of else (),
                record={change.address: None},
            )
        )

    # 2. Create / update every changed action, then deploy each. Writes come first in the plan so
    #    that, run in parallel, every build starts before any deploy waits for one.
    deploy_ops: list[Operation] = []
    for change in changes:
        if not change.address.startswith("auth0.action.") or change.kind in (DELETE, NOOP):
            continue
        action = by_address[change.address]
        want = desired[change.address]
        name = action.name
        trigger_id, version = str(want.doc["trigger"]), str(want.doc["trigger_version"])
        secret_list = [
            {"name": n, "value": d.placeholder()} for n, d in sorted(ctx.secrets.get(change.address, {}).items())
        ]
        hashes = {n: d.hash for n, d in ctx.secrets.get(change.address, {}).items()}
        write_id = f"write:{name}"
        if change.kind in (CREATE, REPLACE):
            ops.append(
                Operation(
                    id=write_id,
                    provider=NAME,
                    method="create_action",
                    params={
                        "name": name,
                        "trigger_id": trigger_id,
                        "trigger_version": version,
                        "code": want.code,
                        "runtime": api_runtime(action.runtime),
                        "dependencies": _deps(action.dependencies),
                        "secrets": secret_list,
                    },
                    description=f"Create action {name} ({action.trigger})",
                    address=change.address,
                    depends_on=(f"delete:{name}",) if change.kind == REPLACE else (),
                    record={change.address: _record(write_id, hashes)},
                )
            )
            action_ref[name] = Ref(write_id, ("id",))
        else:
            fields: dict[str, Any] = {}
            paths = {f.path.split(".", 1)[0] for f in change.fields}
            if "code" in paths:
                fields["code"] = want.code
            if "runtime" in paths:
                fields["runtime"] = api_runtime(action.runtime)
            if "dependencies" in paths:
                fields["dependencies"] = _deps(action.dependencies)
            if "secrets" in paths:
                fields["secrets"] = secret_list  # the whole list: sending secrets replaces them all
            if "trigger_version" in paths:
                # A new trigger version is an in-place upgrade (PATCH supported_triggers, then
                # build and deploy): the action keeps its id, its bindings and its version
                # history. Only a new trigger id replaces the action (replace_on).
                fields["supported_triggers"] = [{"id": trigger_id, "version": version}]
            if fields:
                ops.append(
                    Operation(
                        id=write_id,
                        provider=NAME,
                        method="update_action",
                        params={"action_id": view.actions[name].id, "name": name, **fields},
                        description=f"Update action {name}: {', '.join(sorted(fields))}",
                        address=change.address,
                        record={change.address: _record(write_id, hashes if "secrets" in fields else {})},
                    )
                )
        deploy_id = f"deploy:{name}"
        deploy_ops.append(
            Operation(
                id=deploy_id,
                provider=NAME,
                method="deploy_action",
                params={"action_id": action_ref[name], "name": name},
                description=f"Deploy action {name}",
                address=change.address,
                depends_on=(write_id,) if any(o.id == write_id for o in ops) else (),
            )
        )
        deploys[name] = deploy_id
    ops.extend(deploy_ops)

    # 3. One PATCH per trigger whose binding list changes, after the deploys it needs.
    for tb_address, change in changed.items():
        if not tb_address.startswith("auth0.trigger.") or change.kind == DELETE:
            continue
        trigger = tb_address.removeprefix("auth0.trigger.")
        labels = list(desired[tb_address].doc["bindings"])
        live_by_label = {binding_label(view, b): b for b in view.bindings.get(trigger, [])}
        refs: list[dict[str, Any]] = []
        needs: list[str] = [op_id for op_id in unbinds if op_id == f"unbind:{trigger}"]
        for label in labels:
            bound = live_by_label.get(label)
            if bound is not None and action_ref.get(label, bound.action_id) == bound.action_id:
                # Still the same action (updated or not): the binding stays as it is.
                refs.append(_by_binding_id(bound))
            else:
                refs.append({"ref": {"type": "action_id", "value": action_ref[label]}, "display_name": label})
                if label in deploys:
                    needs.append(deploys[label])
        unbound = next((op for op in ops if op.id == f"unbind:{trigger}"), None)
        if unbound is not None and list(unbound.params["bindings"]) == refs:
            continue  # the unbind before the deletions already wrote this exact list
        ops.append(
            Operation(
                id=f"bind:{trigger}",
                provider=NAME,
                method="set_bindings",
                params={"trigger_id": trigger, "bindings": refs},
                description=f"Bind trigger {trigger}: {', '.join(_short(label) for label in labels) or '(none)'}",
                address=tb_address,
                depends_on=tuple(needs),
            )
        )
    return ops


def auth0_limits(tenant_actions: int, changes: list[ResourceChange], desired: Mapping[str, Resource]) -> list[str]:
    """Auth0's entity limits (https://auth0.com/docs/customize/actions/limitations), counted with the
    tenant: actions a tenant may hold, and bindings a trigger may hold, unmanaged ones included."""
    problems: list[str] = []
    actions = [c for c in changes if c.address.startswith("auth0.action.")]
    created = sum(1 for c in actions if c.kind == CREATE)
    deleted = sum(1 for c in actions if c.kind == DELETE)
    total = tenant_actions + created - deleted
    if created and total > catalog.AUTH0_MAX_ACTIONS:
        problems.append(
            f"auth0: the tenant has {tenant_actions} actions and this plan creates {created}"
            + (f" and deletes {deleted}" if deleted else "")
            + f": {total}, over Auth0's limit of {catalog.AUTH0_MAX_ACTIONS} actions per tenant; remove at least "
            f"{total - catalog.AUTH0_MAX_ACTIONS} new action(s) from the stack, or delete unused actions in the tenant"
        )
    for change in changes:
        if not change.address.startswith("auth0.trigger.") or change.kind == DELETE:
            continue
        labels = list(desired[change.address].doc["bindings"])
        if len(labels) <= catalog.AUTH0_MAX_BINDINGS_PER_TRIGGER:
            continue
        unmanaged = sum(1 for label in labels if label.startswith("(unmanaged)"))
        problems.append(
            f"{change.address}: {len(labels)} bindings ({unmanaged} not managed by this stack + "
            f"{len(labels) - unmanaged} of this stack), over Auth0's limit of "
            f"{catalog.AUTH0_MAX_BINDINGS_PER_TRIGGER} per trigger; remove at least "
            f"{len(labels) - catalog.AUTH0_MAX_BINDINGS_PER_TRIGGER} binding(s) from the stack's list, or unbind "
            "actions in the tenant"
        )
    return problems


def merge_bindings(
    current: list[str], managed: set[str], wanted: list[str], exclusive: bool, keep: set[str]
) -> list[str]:
    """The trigger's new ordered list.

    Unmanaged bindings stay where they are; the slots managed actions occupy
    are refilled in the declared order; further managed actions go last.
    ``keep`` names managed-but-undeclared actions to leave bound (no prune).
    With ``exclusive`` the stack owns the trigger: only declared actions remain.
    """
    if exclusive:
        return list(wanted)
    result: list[str] = []
    queue = list(wanted)
    for label in current:
        if label in keep or label not in managed:
            result.append(label)
        elif queue:
            result.append(queue.pop(0))
    result.extend(queue)
    # A declared action may already sit in an unmanaged-looking slot only if it was kept; de-duplicate.
    seen: set[str] = set()
    return [x for x in result if not (x in seen or seen.add(x))]  # type: ignore[func-returns-value]


def _by_binding_id(binding: LiveBinding) -> dict[str, Any]:
    # Re-sending an existing binding by its id keeps it as it is (Management API, PATCH bindings,
    # ActionBindingRef type "binding_id").
    return {"ref": {"type": "binding_id", "value": binding.id}, "display_name": binding.display_name}


def _short(label: str) -> str:
    return label.split(" [", 1)[0]


def _deps(dependencies: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "version": v} for n, v in sorted(dependencies.items())]


def _record(op_id: str, hashes: Mapping[str, str]) -> dict[str, Any]:
    # written_at: whether a PATCH without `secrets` re-stamps the existing secrets' updated_at is
    # undocumented, so a secret stamped at or before hookctl's last write is never "rotated outside".
    record: dict[str, Any] = {"id": Ref(op_id, ("id",)), "written_at": Ref(op_id, ("updated_at",))}
    if hashes:
        record["secrets"] = {
            name: {"hash": h, "updated_at": Ref(op_id, ("secrets_updated_at", name))} for name, h in hashes.items()
        }
    return record


def owned_names(actions: Iterable[LiveAction], stack: str, environment: str) -> set[str]:
    own = marker(stack, environment)
    return {a.name for a in actions if a.code.startswith(own)}


@dataclass(frozen=True)
class Rollback:
    name: str
    action_id: str
    version_id: str
    from_number: int | None
    to_number: int
    before: str
    after: str
    new_number: int | None = None


def rollback_owned(stack: Stack, recorded: Mapping[str, Any], name: str, live: LiveAction | None) -> LiveAction:
    """The action to roll back, refused unless this stack and environment own it (its marker, or its
    id in ``recorded``, the state's resources)."""
    if live is None:
        raise HookctlError(f"the tenant has no action named {name!r}")
    own = marker(stack.name, stack.environment.name)
    address = f"auth0.action.{name}"
    if not live.code.startswith(own) and (recorded.get(address) or {}).get("id") != live.id:
        theirs = MARKER_RE.match(live.code)
        owner = (
            f"hookctl stack {theirs.group('stack')!r} environment {theirs.group('env')!r} owns it"
            if theirs
            else "no hookctl stack owns it"
        )
        raise HookctlError(
            f"action {name} is not {stack.name}/{stack.environment.name}'s to roll back: {owner}",
            hint="hookctl rolls back only actions this stack and environment own.",
        )
    return live


def rollback_to(stack: Stack, live: LiveAction, versions: list[dict[str, Any]], name: str, to: int | None) -> Rollback:
    """What rolling ``live`` back to version ``to`` (default: the one before the deployed one) would do;
    refused unless that version carries this stack and environment's marker."""
    own = marker(stack.name, stack.environment.name)
    numbers = sorted(int(v["number"]) for v in versions if v.get("number") is not None)
    # The SDK's models give version numbers as floats; they are whole numbers.
    current = int(live.deployed_number) if live.deployed_number is not None else None
    if to is None:
        earlier = [n for n in numbers if current is None or n < current]
        if not earlier:
            raise HookctlError(f"action {name!r} has no version before {current}")
        to = earlier[-1]
    chosen = next((v for v in versions if int(v.get("number", -1)) == to), None)
    if chosen is None:
        raise HookctlError(f"action {name!r} has no version {to}; it has {', '.join(map(str, numbers))}")
    code = str(chosen.get("code", ""))
    if not code.startswith(own):
        raise HookctlError(
            f"version {to} of action {name} does not carry {stack.name}/{stack.environment.name}'s marker line "
            "(it predates hookctl's management of it); refusing to roll back to it"
        )
    return Rollback(name, live.id, str(chosen["id"]), current, to, live.deployed_code or "", code)
