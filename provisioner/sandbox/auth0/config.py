"""Knobs of the Auth0 emulator: limits, timings, behaviours no source settles, and faults.
Sandbox: the Auth0 emulator's configuration.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .model import DEFAULT_TRIGGERS, TriggerSpec

# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------

FaultKind = Literal["status", "drop", "delay"]


@dataclass
class FaultRule:
    """Make chosen requests fail. Deterministic for a given ``EmulatorConfig.seed``.

    A request matches when ``method`` (None = any) equals its method and ``path``
    (a regular expression, None = any) fully matches either its path template
    (``/api/v2/actions/actions/{id}``) or its concrete path. Among matching
    requests, one is faulted when *all* given selectors agree: it is one of the
    ``first_n`` matches, its match number is a multiple of ``every_nth``, and a
    seeded draw is below ``probability``. ``max_injections`` caps the total.

    Kinds: ``status`` answers ``status`` (e.g. 500, 503) in Auth0's error shape;
    ``drop`` closes the connection without an answer; ``delay`` sleeps
    ``delay_seconds`` and then answers normally (to push a client past its
    timeout).
    """

    kind: FaultKind = "status"
    method: str | None = None
    path: str | None = None
    status: int = 503
    first_n: int | None = None
    every_nth: int | None = None
    probability: float | None = None
    max_injections: int | None = None
    delay_seconds: float = 0.0
    matched: int = field(default=0, init=False)
    injected: int = field(default=0, init=False)

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path is None:
            return True
        pattern = re.compile(self.path)
        return bool(pattern.fullmatch(template) or pattern.fullmatch(path))


@dataclass
class EmulatorConfig:
    """Knobs of the emulator. The defaults describe a quiet, fast tenant."""

    port: int = 0
    client_id: str = "sandbox-client"
    client_secret: str | None = None  # None: reuse the persisted one or make a random one
    token_ttl_seconds: int = 86400
    # Token bucket over every /api/v2 call; None disables rate limiting.
    rate_limit_per_second: float | None = None
    rate_limit_burst: int | None = None  # bucket size; default = ceil(rate)
    latency_seconds: float = 0.0  # added before answering every request
    build_seconds: float = 0.0  # 0: a draft is built (or failed) by the next read
    # Another client of the same tenant (a pipeline, a script, the dashboard) spending this many
    # requests a second of the rate limit: the budget is the tenant's, not hookctl's (issue 12j).
    competing_requests_per_second: float = 0.0
    deploy_settle_seconds: float = 0.0  # window before a deploy becomes deployed_version
    # Auth0's build installs dependencies; it does not parse the code. terraform-provider-auth0's
    # TestAccAction.yaml (2026) PATCHes code ending in `};"` (an unterminated string literal) and the
    # build answers "built" and deploys as version 2. So parse-checking is off by default; the
    # other modes fail such a build, for tests that want a build failure from code.
    syntax_check: Literal["auto", "node", "brackets", "off"] = "off"
    # Dependencies npm cannot resolve ("name@version"): a draft that needs one fails to build. The
    # default is the recorded failed build, TestAccAction_FailedBuild.yaml (terraform-provider-auth0
    # 0b89b3c6, 2023): dependency crypto@17.7.1 (npm's crypto package ends at 1.0.1) -> "failed".
    unresolvable_dependencies: frozenset[str] = frozenset({"crypto@17.7.1"})
    # Whether a PATCH that does not send `secrets` re-stamps the existing secrets' updated_at.
    # No documentation or recording settles it (every recorded PATCH sends secrets), so both
    # behaviours are offered; the default is the one that would make a careless client report a
    # false "rotated outside" after its own code-only update.
    restamp_secrets_on_patch: bool = True
    faults: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    # Entity limits: https://auth0.com/docs/customize/actions/limitations
    max_actions: int = 100
    max_bindings_per_trigger: int = 20
    max_versions_per_action: int = 50
    # The docs say that past 50 versions "the oldest version [is] deleted"; "reject"
    # refuses the 51st deploy instead.
    version_overflow: Literal["prune", "reject"] = "prune"
    max_secrets: int = 30
    max_dependencies: int = 10
    max_code_bytes: int = 100 * 1024
    max_secret_name: int = 128
    max_secret_value: int = 4096
    max_per_page: int = 100
    triggers: tuple[TriggerSpec, ...] = DEFAULT_TRIGGERS
    clock: Callable[[], float] = time.time  # drives builds and deploy windows
    verbose: bool = False
