"""The one interface every provider implements.
Providers: the interface between the engine and each provider.

A provider turns the stack into normalised desired documents, reads the live
system into the same shape (read-only), and turns the resulting changes into
operations on its client. It never executes anything itself: the executor
calls the client methods named in the plan, and only those listed in the
client's ``OPERATIONS`` (so a tampered plan file cannot call anything else).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..engine.diff import Resource
from ..engine.errors import HookctlError
from ..engine.model import Stack
from ..engine.plan import Operation, ResourceChange, SecretValue

HTTP_TIMEOUT_ENV = "HOOKCTL_HTTP_TIMEOUT"


def http_timeout(default: float) -> float:
    """Seconds a provider call may wait for an answer: ``$HOOKCTL_HTTP_TIMEOUT``, else ``default``.

    A slow API (or a test pushing hookctl past its timeout) should not need a code change.
    """
    raw = os.environ.get(HTTP_TIMEOUT_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise HookctlError(f"{HTTP_TIMEOUT_ENV} must be a positive number of seconds, not {raw!r}")
    return value


@dataclass(frozen=True)
class SecretDigest:
    """What the plan knows about a secret: its reference and keyed digest, never its value."""

    address: str
    name: str
    hash: str
    # Bytes the value takes inside a JSON string (Lambda's environment limit counts them); not secret.
    size: int = 0

    def placeholder(self) -> SecretValue:
        return SecretValue(self.address, self.name, self.hash)


@dataclass
class Context:
    """Everything a provider needs to plan, computed by the earlier stages."""

    stack: Stack
    state: Mapping[str, Any]  # resources section of the state document (read-only)
    artifacts: Mapping[str, Any]  # address -> package.Auth0Artifact | package.LambdaArtifact
    secrets: Mapping[str, Mapping[str, SecretDigest]]  # address -> name -> digest
    progress: Callable[[str], None] = lambda _msg: None
    options: Mapping[str, Any] = field(default_factory=dict)
    # The state's digest key (secret: never in a plan): lets a provider that can read a secret's
    # live value (Lambda returns environment variables) digest it the way ``secrets`` was.
    salt: str = ""


@dataclass
class Live:
    """The normalised live view: managed (or owned) resources by address."""

    resources: dict[str, Resource] = field(default_factory=dict)
    # Live resources hookctl owns that the stack no longer declares may be pruned.
    owned: set[str] = field(default_factory=set)
    # Anything else the plan depends on (trigger versions, unmanaged bindings, pool settings),
    # included in the staleness fingerprint.
    facts: dict[str, Any] = field(default_factory=dict)
    # Resources the stack declares that this stack and environment do not own, one line each
    # ("<address>: <why>"): the plan refuses them all at once, before any operation is planned.
    conflicts: list[str] = field(default_factory=list)
    # The systems this live view was read from (domain, account, region, pool ids): a saved plan
    # records them, and apply refuses a plan made against other ones.
    target: dict[str, Any] = field(default_factory=dict)
    # Something the plan must say about a resource that is not a change (a secret hookctl cannot
    # compare), by address: added to its change's reason, or shown as a no-op.
    notes: dict[str, str] = field(default_factory=dict)


class Client:
    """A provider client: the only object operations are executed against."""

    OPERATIONS: ClassVar[frozenset[str]] = frozenset()
    # The parameter of each operation that may carry secret values (e.g. Auth0 ``secrets``, a
    # Lambda ``environment``); a saved plan with a secret anywhere else is refused.
    SECRET_PARAMS: ClassVar[Mapping[str, str]] = {}


class Provider(ABC):
    name: ClassVar[str]

    @abstractmethod
    def client(self) -> Client:
        """The client the executor calls (created lazily: plan-only runs may never need it)."""

    @abstractmethod
    def read(self, ctx: Context) -> Live:
        """Read the live system. Read-only."""

    @abstractmethod
    def desired(self, ctx: Context, live: Live) -> dict[str, Resource]:
        """Normalised desired documents for the stack, in the shape ``read`` produces."""

    @abstractmethod
    def operations(
        self, ctx: Context, changes: list[ResourceChange], desired: Mapping[str, Resource], live: Live
    ) -> list[Operation]:
        """Operations that carry out ``changes``, with dependencies and apply-time refs."""

    def limits(
        self, ctx: Context, changes: list[ResourceChange], desired: Mapping[str, Resource], live: Live
    ) -> list[str]:
        """The service limits applying ``changes`` would break, counted with what is live (one line each,
        with the numbers and what to remove); checked at plan time so no write is made that must fail."""
        return []
