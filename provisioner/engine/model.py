"""The validated stack: frozen dataclasses produced by ``load`` for one environment.
Engine: the core data every stage passes on.

No I/O here. Every node remembers where it came from (``Origin``) so later
stages (rendering, secret resolution) can still report ``file:line: field``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

FrozenVars = Mapping[str, Any]


def freeze(value: Any) -> Any:
    """Deep-freeze plain YAML data: dicts become read-only mappings, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of ``freeze``: plain dicts and lists (for templates and JSON)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Origin:
    """Where a value was declared: file, line and dotted field path."""

    file: str
    line: int | None
    field: str


@dataclass(frozen=True)
class SecretRef:
    """Where a secret's value comes from. Never the value itself.

    ``source`` is one of ``env``, ``file``, ``secretsmanager``, ``ssm``;
    ``locator`` is the variable name, path, secret id/ARN or parameter name;
    ``key`` picks a field out of a JSON secret (Secrets Manager only).
    """

    name: str
    source: str
    locator: str
    origin: Origin
    key: str | None = None

    def describe(self) -> str:
        suffix = f"#{self.key}" if self.key else ""
        return f"{self.source}:{self.locator}{suffix}"


@dataclass(frozen=True)
class Action:
    """An Auth0 Action, bound to exactly one trigger."""

    name: str
    trigger: str
    template: str
    runtime: str
    vars: FrozenVars
    dependencies: Mapping[str, str]
    secrets: tuple[SecretRef, ...]
    origin: Origin
    description: str = ""
    code: bool = False  # ``template`` names a plain handler file (``code:``), used as is, not through Jinja
    template_line: int | None = None  # line of the ``template:`` / ``code:`` key, for errors about it

    @property
    def address(self) -> str:
        return f"auth0.action.{self.name}"


@dataclass(frozen=True)
class TriggerBindings:
    """The declared order of managed actions on one Auth0 trigger."""

    trigger: str
    actions: tuple[str, ...]
    exclusive: bool
    origin: Origin

    @property
    def address(self) -> str:
        return f"auth0.trigger.{self.trigger}"


@dataclass(frozen=True)
class PoolTrigger:
    """One LambdaConfig entry a function serves on a named pool."""

    pool: str
    trigger: str
    origin: Origin
    lambda_version: str | None = None  # PreTokenGeneration / sender triggers
    kms_key_id: str | None = None  # CustomSMSSender / CustomEmailSender
    take_over: str | None = None  # the unmanaged function now in this slot that the stack may replace

    @property
    def address(self) -> str:
        return f"cognito.pool.{self.pool}.{self.trigger}"


@dataclass(frozen=True)
class Function:
    """A Lambda function serving one or more Cognito pool triggers."""

    name: str
    template: str
    runtime: str
    handler: str
    vars: FrozenVars
    dependencies: Mapping[str, str]
    environment: Mapping[str, str]
    secrets: tuple[SecretRef, ...]
    triggers: tuple[PoolTrigger, ...]
    role: str | None
    timeout: int
    memory: int
    origin: Origin
    description: str = ""
    code: bool = False  # ``template`` names a plain handler file (``code:``), used as is, not through Jinja
    template_line: int | None = None  # line of the ``template:`` / ``code:`` key, for errors about it
    function_name: str | None = None  # the Lambda name when not <stack>-<environment>-<name> (imported)

    @property
    def address(self) -> str:
        return f"cognito.function.{self.name}"


@dataclass(frozen=True)
class Auth0Target:
    domain: str | None
    origin: Origin


@dataclass(frozen=True)
class Pool:
    name: str
    user_pool_id: str
    origin: Origin


@dataclass(frozen=True)
class CognitoTarget:
    region: str | None
    pools: Mapping[str, Pool]
    origin: Origin


@dataclass(frozen=True)
class Environment:
    name: str
    auth0: Auth0Target | None
    cognito: CognitoTarget | None
    vars: FrozenVars
    origin: Origin


@dataclass(frozen=True)
class Stack:
    """One stack file resolved for one environment."""

    name: str
    path: str
    environment: Environment
    environments: tuple[str, ...]
    vars: FrozenVars
    actions: tuple[Action, ...]
    bindings: tuple[TriggerBindings, ...]
    functions: tuple[Function, ...]
    prune: bool
    revision: str = field(default="")  # sha256 of the stack file's bytes
    template_path: tuple[str, ...] = ()  # ``template_path:`` folders (absolute), searched before the defaults

    @property
    def stack_dir(self) -> str:
        import os

        return os.path.dirname(os.path.abspath(self.path))

    def template_vars(self, entry_vars: FrozenVars) -> dict[str, Any]:
        """Variables for one entry: stack, then environment, then entry (last wins)."""
        merged: dict[str, Any] = {}
        for layer in (self.vars, self.environment.vars, entry_vars):
            merged.update(thaw(layer))
        return merged
