"""The Auth0 provider: reads the tenant through ``Auth0Client`` and plans with plan.py.
Provider auth0: the provider (wires the client half to the planning half).

``Auth0Provider`` connects from the stack's environment (``auth0.domain`` or ``AUTH0_DOMAIN``, and
a token or client credentials), reads triggers, actions and the managed triggers' bindings, and
keeps what it read as a ``TenantView`` for plan.py's pure functions. ``prepare_rollback`` and
``rollback_action`` are ``hookctl rollback``'s reads and its one write.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

from ...engine import catalog
from ...engine.diff import Resource
from ...engine.errors import HookctlError
from ...engine.model import Stack
from ...engine.plan import Operation, ResourceChange
from ..base import Context, Live, Provider
from . import plan
from .client import Auth0Client
from .plan import Rollback, TenantView, bare_domain, owned_names


class Auth0Provider(Provider):
    name: ClassVar[str] = plan.NAME

    def __init__(self, connect: Callable[[], Auth0Client]) -> None:
        self._connect = connect
        self._client: Auth0Client | None = None
        self._view = TenantView()
        # Actions whose failed draft is exactly what the stack wants: deploying it again fails again.
        self._failed_drafts: set[str] = set()

    @classmethod
    def from_environment(cls, stack: Stack, environ: Mapping[str, str] | None = None) -> Auth0Provider:
        env = dict(os.environ if environ is None else environ)
        target = stack.environment.auth0
        declared = target.domain if target else None
        exported = env.get("AUTH0_DOMAIN")
        if exported and catalog.auth0_domain(exported) is None:
            raise HookctlError(
                "AUTH0_DOMAIN is not a hostname with an optional port",
                hint="Export the tenant's domain only, e.g. AUTH0_DOMAIN=exampleco.us.auth0.com.",
            )
        if declared and exported and bare_domain(declared) != bare_domain(exported):
            # Refuse rather than guess: a shell exported for one tenant must not apply another
            # environment's stack to it.
            raise HookctlError(
                f"AUTH0_DOMAIN is {exported} but environment {stack.environment.name!r} names {declared}",
                hint="Unset AUTH0_DOMAIN, or choose the environment that targets that tenant.",
            )
        domain = declared or exported
        if not domain:
            raise HookctlError(
                f"no Auth0 domain for environment {stack.environment.name!r}",
                hint="Set auth0.domain in the stack's environment or export AUTH0_DOMAIN.",
            )
        domain = domain.removeprefix("https://").rstrip("/")

        def connect() -> Auth0Client:
            return Auth0Client.connect(
                domain,
                token=env.get("AUTH0_TOKEN"),
                client_id=env.get("AUTH0_CLIENT_ID"),
                client_secret=env.get("AUTH0_CLIENT_SECRET"),
            )

        return cls(connect)

    def client(self) -> Auth0Client:
        if self._client is None:
            self._client = self._connect()
        return self._client

    # -- read -------------------------------------------------------------------------------
    def read(self, ctx: Context) -> Live:
        client = self.client()
        stack = ctx.stack
        triggers = client.list_triggers()
        all_actions = client.list_actions()
        owned = owned_names(all_actions, stack.name, stack.environment.name)
        conflicts = plan.ownership_conflicts(ctx, {a.name: a for a in all_actions}, owned)
        actions = plan.managed_actions(stack, all_actions, owned)
        self._view = TenantView(triggers=triggers, actions=actions, tenant_actions=len(all_actions))
        self._view.bindings = client.list_bindings_of(plan.managed_triggers(stack, triggers, actions, owned))
        return plan.live_documents(ctx, self._view, owned, conflicts, client.identity())

    def limits(
        self, ctx: Context, changes: list[ResourceChange], desired: Mapping[str, Resource], live: Live
    ) -> list[str]:
        return plan.auth0_limits(self._view.tenant_actions, changes, desired)

    # -- desired and operations ---------------------------------------------------------------
    def desired(self, ctx: Context, live: Live) -> dict[str, Resource]:
        out, self._failed_drafts = plan.desired_documents(ctx, self._view, live)
        return out

    def operations(
        self, ctx: Context, changes: list[ResourceChange], desired: Mapping[str, Resource], live: Live
    ) -> list[Operation]:
        return plan.operations(ctx, self._view, self._failed_drafts, changes, desired, live)


def prepare_rollback(
    client: Auth0Client, stack: Stack, recorded: Mapping[str, Any], name: str, to: int | None
) -> Rollback:
    """What rolling ``name`` back would do, read-only; refused unless this stack and environment own
    the action (its marker, or its id in ``recorded``, the state's resources) and the chosen version."""
    live = plan.rollback_owned(stack, recorded, name, client.find_action(name))
    return plan.rollback_to(stack, live, client.list_versions(live.id, name), name, to)


def rollback_action(client: Auth0Client, prepared: Rollback) -> Rollback:
    """Deploy the chosen version as a new one and make it the draft too (``update_draft``): draft and
    deployed version then agree, and the next plan shows the stack's code against the rolled-back
    code as an ordinary update rather than redeploying the old draft as drift."""
    deployed = client.deploy_version(prepared.action_id, prepared.version_id, prepared.name, update_draft=True)
    number = deployed.get("number")
    return replace(prepared, new_number=int(number) if number is not None else None)
