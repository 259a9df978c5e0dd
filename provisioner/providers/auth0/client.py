"""Auth0 Actions: a thin client over auth0-python 6.x and the provider that plans against it.

``Auth0Client`` exposes only the calls hookctl needs, takes and returns plain
values, translates SDK errors into ``ProviderError`` naming the action and the
call, and hides multi-step sequences: create is idempotent by name (the SDK
retries POSTs), deploy waits for the build and then for the version to be
live, and every request is paced by the ``x-ratelimit-*`` headers.

``Auth0Provider`` normalises the stack and the tenant into the same documents,
so the differ sees only what matters: code, runtime, dependencies, trigger and
version, secret names and (via state hashes) values, and deployment drift.

Reads for a plan: ``GET /actions/triggers`` once, ``GET /actions/actions``
page by page (100 a page, stopping at a short page or ``total``), and
``GET /actions/triggers/{id}/bindings`` once per managed trigger: 2 + K.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ...engine import catalog
from ...engine import progress as progresslib
from ...engine.diff import Resource, compare
from ...engine.errors import HookctlError, ProviderError
from ...engine.model import Action, Stack
from ...engine.plan import CREATE, DELETE, NOOP, REPLACE, Operation, Ref, ResourceChange
from ..base import Client, Context, Live, Provider, http_timeout

PER_PAGE = 100
READ_TIMEOUT_RETRIES = 2
READ_CONCURRENCY = 4  # reads in flight at once; the pacer still spaces them by the rate limit
MAX_RETRIES = 6
# Auth0's builder gives up on a build after 5 minutes; terraform-provider-auth0 waits 6 (5 + 1 of network
# buffer) for the same reason (https://github.com/auth0/terraform-provider-auth0/pull/1616).
BUILD_TIMEOUT = 360.0
POLL_MIN, POLL_MAX = 0.25, 3.0  # seconds between status rounds: shortest, and longest while nothing moves
MARKER_RE = re.compile(r"^// hookctl: stack=(?P<stack>[\w.-]+) environment=(?P<env>[\w.-]+)\b.*\n")
SECRET_UNKNOWN = "(unknown: not recorded in state)"
SECRET_ROTATED = "(rotated outside hookctl)"
# What a plan does with a secret it cannot compare (``--unknown-secrets``): keep the live value
# (the default: unknown is not changed) or send the stack's value again.
UNKNOWN_KEEP, UNKNOWN_SEND = "keep", "send"

Sleep = Callable[[float], None]


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


RATE_LIMIT_WAIT_ENV = "HOOKCTL_RATE_LIMIT_WAIT"
DEFAULT_RATE_LIMIT_WAIT = 300.0  # seconds hookctl keeps retrying 429s before giving up
RATE_WINDOW = 1.0  # x-ratelimit-limit is read as requests per this many seconds
RATE_MARGIN = 0.97  # stay just under the budget: arrival jitter must not cross the server's refill


def rate_limit_wait(default: float = DEFAULT_RATE_LIMIT_WAIT) -> float:
    """How long hookctl keeps retrying throttled calls: ``$HOOKCTL_RATE_LIMIT_WAIT`` seconds, else ``default``."""
    raw = os.environ.get(RATE_LIMIT_WAIT_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise HookctlError(f"{RATE_LIMIT_WAIT_ENV} must be a number of seconds, not {raw!r}")
    return value


class Pacer:
    """One budget of requests per tenant, shared by every thread of the client.

    Auth0 answers every Management API call with ``x-ratelimit-limit``,
    ``x-ratelimit-remaining`` and ``x-ratelimit-reset`` (epoch seconds)
    (https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy/management-api-endpoint-rate-limits).
    The pacer keeps a model of the tenant's token bucket: ``limit`` requests, refilled at
    ``limit`` per second (a little under), lowered, never raised, by what each answer says
    remains (less the requests still in flight, which the server may not have counted yet).
    Each request takes a token; one that finds none reserves the next and sleeps until it
    refills, so waiting requests leave evenly spaced rather than together at a second
    boundary. Until the first answer tells the budget, one request at a time goes out.

    A 429 means the server handled nothing (others share the tenant's budget: pipelines,
    scripts, the dashboard): the budget is emptied until ``Retry-After`` (or
    ``x-ratelimit-reset``) has passed, the rate is lowered (and recovers with each answer
    that gets through), and ``PacedHttpClient`` sends the request again.
    """

    def __init__(
        self,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.sleep = sleep
        self.clock = clock
        self.wall = wall
        self.limit: int | None = None  # None: not known yet
        self.unlimited = False  # the tenant sends no rate-limit headers
        self.rate = 0.0  # tokens per second the model refills
        self.tokens = 0.0
        self.last = 0.0
        self.sent = 0  # sent and not yet answered
        self.sleeping = 0  # holding a reservation, not yet sent
        self.requests = 0
        self.throttled = 0
        self.waited = 0.0  # seconds requests were held back, all threads together
        self._cond = threading.Condition()

    def acquire(self) -> None:
        """Block until this request may be sent."""
        with self._cond:
            while self.limit is None and not self.unlimited and self.sent + self.sleeping > 0:
                self._cond.wait(0.5)  # the first answer tells the budget
            self.requests += 1
            wait = 0.0
            if self.limit is not None:
                self._refill(self.clock())
                self.tokens -= 1.0
                if self.tokens < 0:
                    wait = -self.tokens / self.rate
                    self.waited += wait
            self.sleeping += 1
        try:
            if wait > 0:
                self.sleep(wait)
        finally:
            with self._cond:
                self.sleeping -= 1
                self.sent += 1

    def abandon(self) -> None:
        """The request got no answer (a transport error)."""
        with self._cond:
            self.sent -= 1
            self._cond.notify_all()

    def settle(self, status: int, headers: Any) -> float:
        """Take an answer's headers into the model; for a 429, the seconds to wait before trying again."""
        with self._cond:
            self.sent -= 1
            self._cond.notify_all()
            limit, remaining = _header_int(headers, "x-ratelimit-limit"), _header_int(headers, "x-ratelimit-remaining")
            now = self.clock()
            if limit is None or remaining is None:
                if self.limit is None:
                    self.unlimited = status != 429
                return _retry_after(headers, self.wall) or 1.0 if status == 429 else 0.0
            if self.limit is None or limit != self.limit:
                self.limit, self.rate = max(limit, 1), max(limit, 1) / RATE_WINDOW * RATE_MARGIN
                self.tokens, self.last = float(remaining - self.sent - self.sleeping), now
            else:
                self._refill(now)
                self.tokens = min(self.tokens, float(remaining - self.sent - self.sleeping))
            nominal = self.limit / RATE_WINDOW * RATE_MARGIN
            if status != 429:
                self.rate = min(self.rate * 1.1, nominal)
                return 0.0
            self.throttled += 1
            wait = _retry_after(headers, self.wall)
            if wait is None:
                wait = 1.0 / self.rate
            # The budget is shared with someone else, so ask for less of it; and nothing more
            # leaves until the server said it may.
            self.rate = max(self.rate * 0.7, nominal / 4)
            self.tokens = min(self.tokens, -wait * self.rate - self.sleeping)
            return wait

    def _refill(self, now: float) -> None:
        assert self.limit is not None
        self.tokens = min(float(self.limit), self.tokens + (now - self.last) * self.rate)
        self.last = now


def _header_int(headers: Any, name: str) -> int | None:
    try:
        return int(float(headers[name])) if name in headers else None
    except (TypeError, ValueError):
        return None


def paced_http_client(pacer: Pacer, give_up_after: float, **kwargs: Any) -> Any:
    """An ``httpx.Client`` whose every request goes through ``pacer`` and survives 429s.

    A 429 is sent again (POSTs too: the server handled none of it), paced by the answer's
    headers, until ``give_up_after`` seconds of throttling; then a ``ProviderError`` says the
    tenant's budget is being used up by other clients. The SDK never sees a 429.
    """
    import httpx

    class PacedHttpClient(httpx.Client):
        def send(self, request: httpx.Request, **options: Any) -> httpx.Response:
            first_429: float | None = None
            while True:
                pacer.acquire()
                try:
                    response = super().send(request, **options)
                except BaseException:
                    pacer.abandon()
                    raise
                wait = pacer.settle(response.status_code, response.headers)
                if response.status_code != 429:
                    return response
                response.read()
                response.close()
                now = pacer.clock()
                first_429 = now if first_429 is None else first_429
                if now + wait - first_429 > give_up_after:
                    raise ProviderError(
                        "auth0",
                        f"{request.method} {request.url.path}",
                        "the tenant",
                        f"the tenant's rate limit stayed exhausted for {now - first_429:.0f} s (HTTP 429 on every "
                        "try): other clients of this tenant (pipelines, scripts, the dashboard) are using its budget",
                        status=429,
                        hint=f"Apply again when the tenant is quieter, or wait longer with {RATE_LIMIT_WAIT_ENV} "
                        f"(seconds; now {give_up_after:g}). Apply picks up where it stopped.",
                    )
                # The pacer holds every request (this one included) until the server allows one.

    return PacedHttpClient(**kwargs)


def client_credentials(domain: str, client_id: str, client_secret: str, sleep: Sleep = time.sleep) -> Callable[[], str]:
    """A Management API token from the client-credentials grant, fetched again as it expires.

    auth0-python's own ``TokenProvider`` (used when ManagementClient gets the client id and secret)
    sends ``POST /oauth/token`` once, without the retries every other call gets: a single 429 (the
    Authentication API has rate limits of its own), 5xx or dropped connection would end the run
    before its first call, under the name of whatever call happened to need the token. Here the
    same provider is retried like the Management calls (408, 429, 5xx, transport errors), and a
    failure is reported as the token request it is.
    """
    import httpx
    from auth0.management.token_provider import TokenProvider

    provider = TokenProvider(domain=domain, client_id=client_id, client_secret=client_secret)
    resource = f"client {client_id}"

    def token() -> str:
        for attempt in range(MAX_RETRIES + 1):
            try:
                return provider.get_token()
            except httpx.HTTPStatusError as exc:
                status = exc.response.status_code
                if (status not in (408, 429) and status < 500) or attempt == MAX_RETRIES:
                    denied = status in (401, 403)
                    raise ProviderError(
                        "auth0",
                        "POST /oauth/token",
                        resource,
                        f"HTTP {status}",
                        status=status,
                        hint="Check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET, and that the application may call "
                        "the Management API."
                        if denied
                        else None,
                    ) from None
                wait = _retry_after(exc.response.headers)
            except httpx.TransportError as exc:
                if attempt == MAX_RETRIES:
                    raise ProviderError(
                        "auth0", "POST /oauth/token", resource, f"{type(exc).__name__}: {exc}"
                    ) from None
                wait = None
            sleep(wait if wait is not None else min(0.5 * 2.0**attempt, 8.0))
        raise AssertionError("unreachable")

    return token


def _retry_after(headers: Any, wall: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait as the answer says (``Retry-After``, or ``x-ratelimit-reset`` in epoch seconds)."""
    try:
        if headers and "retry-after" in headers:
            return min(max(float(headers["retry-after"]), 0.0), 60.0)
        if headers and "x-ratelimit-reset" in headers:
            return min(max(float(headers["x-ratelimit-reset"]) - wall(), 0.0), 60.0)
    except (TypeError, ValueError):
        pass
    return None


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


def _plain(model: Any) -> Any:
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(model, Mapping):
        return dict(model)
    return model


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


class Watcher:
    """Waits of many operations for actions to reach a state, served by shared status rounds.

    An operation that waits (a deploy for its build, a binding for a new version to go live)
    registers the action and blocks. One waiting thread at a time runs a round for every
    registered action: ``GET /actions/actions`` page by page (100 actions a page, each with its
    status and deployed version) when that takes fewer calls than one ``GET`` per action, else one
    ``GET /actions/actions/{id}`` each. Every waiter then reads its action's answer from that round.
    So 100 deploys waiting at once cost one call a round, not 100. Only a round that started after
    the action's last write counts. Rounds start every ``POLL_MIN`` seconds (slower when the tenant's
    rate limit is low) and back off to ``POLL_MAX`` while nothing changes.
    """

    def __init__(self, client: Auth0Client, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._cond = threading.Condition()
        self._awaited: dict[str, int] = {}
        self._started = 0  # rounds started
        self._seen: dict[str, tuple[int, LiveAction]] = {}  # action id -> (round, what it showed)
        self._written: dict[str, int] = {}  # action id -> rounds started when it was last written
        self._written_at: dict[str, float] = {}
        # How long builds have been seen to take at least: a deploy tried sooner than this after the
        # write waits for a round instead (a refused deploy costs a call, like a round).
        self._build_estimate = 0.0
        # Until a guess has come out right or wrong once, one deploy at a time guesses (the others
        # wait for its answer): ten refused deploys would teach no more than one.
        self._guessing: str | None = None  # the action whose deploy is guessing
        self._guessed = False
        self._polling = False
        self._next = 0.0
        self._interval = POLL_MIN
        self._pages = 1  # pages of the whole tenant, as the last list said
        self.rounds = 0
        self.reads = 0

    def written(self, action_id: str) -> None:
        """The action changed: only rounds starting from now tell its new state."""
        with self._cond:
            self._written[action_id] = self._started
            self._written_at[action_id] = self.clock()

    def probably_built(self, action_id: str) -> bool:
        """Worth deploying without a status round first: a round since the write showed it built, or
        the write is older than any build seen refused so far. A wrong guess costs one refused deploy.

        While one deploy is finding out whether builds here are quick, the others wait for its
        answer (one call) rather than for a status round (a call, and a pause before it).
        """
        with self._cond:
            while True:
                seen = self._seen.get(action_id)
                if seen is not None and seen[0] > self._written.get(action_id, -1):
                    return seen[1].status == "built"
                if self.clock() - self._written_at.get(action_id, 0.0) < self._build_estimate:
                    return False
                if self._guessed:
                    return True
                if self._guessing is None:
                    self._guessing = action_id
                    return True
                self._cond.wait()

    def guessed(self) -> None:
        """A deploy tried without a round went through: builds here are quick enough to guess."""
        with self._cond:
            self._guessing, self._guessed = None, True
            self._cond.notify_all()

    def not_built(self, action_id: str) -> None:
        """A deploy was refused for a build still running: builds take at least this long."""
        with self._cond:
            elapsed = self.clock() - self._written_at.get(action_id, self.clock())
            self._build_estimate = max(self._build_estimate, elapsed + POLL_MIN)
            self._guessing, self._guessed = None, True
            self._cond.notify_all()

    def guess_abandoned(self, action_id: str) -> None:
        """The deploy that was guessing failed otherwise: let another deploy guess."""
        with self._cond:
            if self._guessing == action_id:
                self._guessing = None
                self._cond.notify_all()

    def was_written(self, action_id: str) -> bool:
        with self._cond:
            return action_id in self._written

    def wait(
        self,
        action_id: str,
        name: str,
        ready: Callable[[LiveAction], bool],
        *,
        timeout: float,
        what: str,
    ) -> LiveAction:
        """Block until a round shows ``ready(action)``; ``ready`` may raise to fail the wait."""
        started = self.clock()
        with self._cond:
            self._awaited[action_id] = self._awaited.get(action_id, 0) + 1
            newer_than = self._written.get(action_id, -1)
            # A newcomer need not wait out a long back-off: it has not been looked at yet.
            self._next = min(self._next, self.clock() + self._floor())
        try:
            while True:
                with self._cond:
                    seen = self._seen.get(action_id)
                    if seen is not None and seen[0] > newer_than:
                        if ready(seen[1]):
                            return seen[1]
                        newer_than = seen[0]
                    now = self.clock()
                    if now - started > timeout:
                        status = seen[1].status if seen is not None else "unknown"
                        raise ProviderError(
                            "auth0",
                            what,
                            f"action {name}",
                            f"gave up after {int(now - started)} s (status {status!r})",
                            hint="Auth0 gives up on a build after 5 minutes; check the action in the dashboard "
                            "and apply again.",
                        )
                    if self._polling or now < self._next:
                        self._cond.wait(timeout=0.5 if self._polling else max(0.01, self._next - now))
                        continue
                    self._polling = True
                    self._started += 1
                    number = self._started
                    ids = sorted(self._awaited)
                found: dict[str, LiveAction] = {}
                try:
                    found = self._round(ids)
                finally:
                    with self._cond:
                        moved = any(
                            i not in self._seen
                            or a.status != self._seen[i][1].status
                            or a.deployed_number != self._seen[i][1].deployed_number
                            for i, a in found.items()
                        )
                        for i, live in found.items():
                            self._seen[i] = (number, live)
                        self._interval = self._floor() if moved else min(self._interval * 1.5, POLL_MAX)
                        self._next = self.clock() + self._interval
                        self._polling = False
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._awaited[action_id] -= 1
                if not self._awaited[action_id]:
                    del self._awaited[action_id]

    def _floor(self) -> float:
        # Against a low rate limit a round must not crowd out the writes: at most one call in ~3.
        rate = self.client.pacer.rate if self.client.pacer.limit is not None else 0.0
        return max(POLL_MIN, 1.5 / rate) if rate else POLL_MIN

    def _round(self, ids: list[str]) -> dict[str, LiveAction]:
        self.rounds += 1
        if len(ids) >= self._pages:
            actions, total = self.client.list_actions_counted()
            self.reads += total
            self._pages = max(1, total)
            return {a.id: a for a in actions}  # every action: a waiter that comes next may find its answer
        found: dict[str, LiveAction] = {}
        for action_id in ids:
            self.reads += 1
            found[action_id] = self.client.get_action(action_id)
        return found


class Auth0Client(Client):
    """The Auth0 Management API calls hookctl makes, and nothing else."""

    OPERATIONS: ClassVar[frozenset[str]] = frozenset(
        {"create_action", "update_action", "deploy_action", "set_bindings", "delete_action"}
    )
    SECRET_PARAMS: ClassVar[Mapping[str, str]] = {"create_action": "secrets", "update_action": "secrets"}

    def __init__(
        self,
        sdk: Any,
        pacer: Pacer | None = None,
        sleep: Sleep = time.sleep,
        build_timeout: float = BUILD_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sdk = sdk
        self.pacer = pacer or Pacer()
        self.sleep = sleep
        self.build_timeout = build_timeout
        self.domain = ""
        self._token: str | Callable[[], str] | None = None
        self.watch = Watcher(self, clock)

    @classmethod
    def connect(
        cls,
        domain: str,
        *,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        sleep: Sleep = time.sleep,
    ) -> Auth0Client:
        """Connect to ``https://<domain>`` (a port is allowed). Extra CAs come from SSL_CERT_FILE, as in any
        httpx program."""
        from auth0.management import ManagementClient

        checked = catalog.auth0_domain(domain)
        if checked is None:
            # Checked here too, the one door to the tenant: user info, a path or a query in the
            # "domain" would send the credentials to another host (`tenant@127.0.0.1:8443`).
            raise HookctlError(
                "the Auth0 domain is not a hostname with an optional port",
                hint="Use the tenant's domain, e.g. exampleco.us.auth0.com (or a custom domain), nothing else.",
            )
        domain = checked
        pacer = Pacer()  # real time always: the tenant's budget refills in real time
        http = paced_http_client(pacer, rate_limit_wait(), timeout=http_timeout(30.0))
        source: str | Callable[[], str]
        if token:
            source = token
        elif client_id and client_secret:
            source = client_credentials(domain, client_id, client_secret, sleep)
        else:
            raise HookctlError(
                "no Auth0 credentials: set AUTH0_TOKEN, or AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET",
                hint="Use a machine-to-machine application with the read:actions, create:actions, "
                "update:actions, delete:actions and read/update:triggers scopes.",
            )
        sdk = ManagementClient(domain=domain, token=source, httpx_client=http)
        client = cls(sdk, pacer, sleep)
        client.domain = _bare(domain)
        client._token = source
        return client

    def identity(self) -> dict[str, Any]:
        """The tenant this client talks to: its domain and, where the Management API token is a JWT
        that says so, the issuer (``iss``, the tenant's own domain even behind a custom domain).
        Read from the token hookctl already holds: no extra call, no extra scope."""
        found: dict[str, Any] = {"domain": self.domain}
        source = self._token
        try:
            token = source() if callable(source) else source
        except HookctlError:
            return found
        issuer = _jwt_claim(token or "", "iss")
        if issuer:
            found["tenant"] = issuer.removeprefix("https://").rstrip("/")
        return found

    # -- translating errors ---------------------------------------------------------------
    def _call(self, call: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import httpx
        from auth0.management.core.api_error import ApiError

        kwargs.setdefault("request_options", {"max_retries": MAX_RETRIES})
        sent = _secret_values(kwargs.get("secrets"))
        # The SDK retries answers (429, 5xx) but not a read that timed out; a read is safe to repeat.
        attempts = READ_TIMEOUT_RETRIES + 1 if call.startswith("GET ") else 1
        for attempt in range(attempts):
            try:
                return fn(*args, **kwargs)
            except ApiError as exc:
                raise ProviderError("auth0", call, resource, _api_message(exc, sent), status=exc.status_code) from None
            except HookctlError:
                raise
            except httpx.TimeoutException as exc:
                if attempt + 1 < attempts:
                    self.sleep(min(0.5 * 2.0**attempt, 4.0))
                    continue
                raise ProviderError("auth0", call, resource, f"{type(exc).__name__}: no answer in time") from None
            except Exception as exc:  # transport errors: name the class, never the request body
                raise ProviderError("auth0", call, resource, _mask(f"{type(exc).__name__}: {exc}", sent)) from None
        raise AssertionError("unreachable")

    # -- reads ------------------------------------------------------------------------------
    def list_triggers(self) -> dict[str, TriggerInfo]:
        answer = self._call("GET /actions/triggers", "triggers", self.sdk.actions.triggers.list)
        triggers: dict[str, TriggerInfo] = {}
        for raw in _plain(answer).get("triggers", []):
            tid, version = str(raw.get("id")), str(raw.get("version"))
            status = str(raw.get("status", "")).upper()
            # Deprecated versions are listed beside the current one; keep the current.
            if status in ("DEPRECATED", "UNAVAILABLE") and tid in triggers:
                continue
            current = triggers.get(tid)
            if (
                current is None
                or status == "CURRENT"
                or (status != "DEPRECATED" and version_key(version) > version_key(current.version))
            ):
                triggers[tid] = TriggerInfo(tid, version, str(raw.get("binding_policy") or "trigger-bound"))
        return triggers

    def list_actions(self) -> list[LiveAction]:
        """Every action, one request per page. The first page tells the total; the remaining
        pages are then fetched concurrently (the pacer keeps them within the rate limit)."""
        return self.list_actions_counted()[0]

    def list_actions_counted(self) -> tuple[list[LiveAction], int]:
        """``list_actions`` and the number of pages it read."""
        first = self._page(0)
        items, total = first
        if len(items) < PER_PAGE or (total is not None and len(items) >= total):
            return [to_live_action(a) for a in items], 1
        if total is None:  # no total: walk pages until a short one
            found, page = list(items), 1
            while True:
                more, _ = self._page(page)
                found.extend(more)
                if len(more) < PER_PAGE:
                    return [to_live_action(a) for a in found], page + 1
                page += 1
        pages = range(1, -(-total // PER_PAGE))
        with ThreadPoolExecutor(max_workers=READ_CONCURRENCY, thread_name_prefix="auth0-read") as pool:
            rest = list(pool.map(self._page, pages))
        actions = [to_live_action(a) for a in [*items, *(a for page_items, _ in rest for a in page_items)]]
        return actions, len(pages) + 1

    def _page(self, page: int) -> tuple[list[dict[str, Any]], int | None]:
        pager = self._call("GET /actions/actions", "actions", self.sdk.actions.list, page=page, per_page=PER_PAGE)
        # Read the page itself, never the pager's lookahead (it would fetch one more, empty page).
        total = getattr(pager.response, "total", None)
        return [_plain(a) for a in (pager.items or [])], int(total) if total is not None else None

    def list_bindings_of(self, triggers: Iterable[str]) -> dict[str, list[LiveBinding]]:
        """Bindings of several triggers, read concurrently."""
        ordered = sorted(set(triggers))
        with ThreadPoolExecutor(max_workers=READ_CONCURRENCY, thread_name_prefix="auth0-read") as pool:
            return dict(zip(ordered, pool.map(self.list_bindings, ordered), strict=True))

    def list_bindings(self, trigger_id: str) -> list[LiveBinding]:
        bindings: list[LiveBinding] = []
        page = 0
        while True:
            pager = self._call(
                f"GET /actions/triggers/{trigger_id}/bindings",
                f"trigger {trigger_id}",
                self.sdk.actions.triggers.bindings.list,
                trigger_id,
                page=page,
                per_page=50,
            )
            items = [_plain(b) for b in (pager.items or [])]
            for raw in items:
                action = raw.get("action") or {}
                bindings.append(
                    LiveBinding(
                        str(raw.get("id")),
                        str(action.get("id", "")),
                        str(action.get("name", "")),
                        str(raw.get("display_name", "")),
                    )
                )
            total = getattr(pager.response, "total", None)
            if len(items) < 50 or (total is not None and len(bindings) >= total):
                return bindings
            page += 1

    def get_action(self, action_id: str, name: str = "") -> LiveAction:
        raw = self._call(
            f"GET /actions/actions/{action_id}", f"action {name or action_id}", self.sdk.actions.get, action_id
        )
        return to_live_action(_plain(raw))

    def find_action(self, name: str) -> LiveAction | None:
        pager = self._call(
            "GET /actions/actions", f"action {name}", self.sdk.actions.list, action_name=name, page=0, per_page=PER_PAGE
        )
        for raw in pager.items or []:
            live = to_live_action(_plain(raw))
            if live.name == name:
                return live
        return None

    # -- writes (the operations) -------------------------------------------------------------
    def create_action(
        self,
        name: str,
        trigger_id: str,
        trigger_version: str,
        code: str,
        runtime: str,
        dependencies: list[dict[str, str]],
        secrets: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create, idempotent by name.

        The SDK retries a POST on 409/429/5xx, so a create whose first answer was
        lost can come back as a duplicate-name 409. hookctl therefore sends the
        POST without SDK retries and, on any failure, looks the action up by name:
        if it exists (and carries this stack's marker) it is adopted and updated.
        """
        from auth0.management.core.api_error import ApiError

        resource = f"action {name}"
        body: dict[str, Any] = {
            "name": name,
            "supported_triggers": [{"id": trigger_id, "version": trigger_version}],
            "code": code,
            "runtime": runtime,
            "dependencies": dependencies,
        }
        if secrets is not None:
            body["secrets"] = secrets
        for attempt in range(MAX_RETRIES):
            wait: float | None = None
            try:
                created = _plain(self.sdk.actions.create(**body, request_options={"max_retries": 0}))
                return self._written(created)
            except HookctlError:
                raise  # the tenant's rate limit stayed exhausted: already retried as long as allowed
            except ApiError as exc:
                status = exc.status_code or 0
                if status not in (408, 409, 429) and status < 500:
                    raise ProviderError(
                        "auth0",
                        "POST /actions/actions",
                        resource,
                        _api_message(exc, _secret_values(secrets)),
                        status=status,
                    ) from None
                failure: Exception = exc
                wait = _retry_after(exc.headers)  # a 503 may say when to come back
            except Exception as exc:  # connection dropped or timed out: the action may exist
                failure = exc
            existing = self.find_action(name)
            if existing is not None:
                theirs, ours = MARKER_RE.match(existing.code), MARKER_RE.match(code)
                if theirs is None or ours is None or theirs.group(0) != ours.group(0):
                    raise ProviderError(
                        "auth0",
                        "POST /actions/actions",
                        resource,
                        "an action with this name exists and is not managed by this stack",
                        hint="Rename the action in the stack, or import the existing one.",
                    )
                fields = {k: v for k, v in body.items() if k != "name"}
                return self.update_action(existing.id, name, **fields)
            self.sleep(wait if wait is not None else min(2.0**attempt * 0.5, 10.0))
        raise ProviderError("auth0", "POST /actions/actions", resource, f"gave up after retries: {failure}")

    def update_action(self, action_id: str, name: str, **fields: Any) -> dict[str, Any]:
        """PATCH only the given fields; ``secrets``, when given, replaces the whole list."""
        updated = self._call(
            f"PATCH /actions/actions/{action_id}", f"action {name}", self.sdk.actions.update, action_id, **fields
        )
        return self._written(_plain(updated))

    def _written(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        self.watch.written(str(raw["id"]))  # a new draft: its build starts now
        return {
            "id": str(raw["id"]),
            # When this write happened, as the tenant stamps it: a secret stamped no later was
            # stamped by hookctl's own write, whether or not the write sent secrets.
            "updated_at": str(raw.get("updated_at") or ""),
            "secrets_updated_at": {str(s["name"]): str(s.get("updated_at", "")) for s in raw.get("secrets") or []},
        }

    def wait_built(self, action_id: str, name: str) -> LiveAction:
        """Wait (in a shared status round) until the draft is built; a failed build is an error."""

        def built(live: LiveAction) -> bool:
            if live.status == "failed":
                raise ProviderError(
                    "auth0",
                    "build",
                    f"action {name}",
                    f"the build failed: {build_failure(live)}",
                    hint="Fix the code or dependencies in the stack and apply again; the plan redeploys "
                    "only once they change.",
                )
            return live.status == "built"

        with progresslib.waiting(f"building {name}"):
            return self.watch.wait(action_id, name, built, timeout=self.build_timeout, what="build")

    def deploy_action(self, action_id: str, name: str) -> dict[str, Any]:
        """Wait for the build, then deploy: the draft becomes a new version.

        The version goes live shortly after the answer (``deployed_version`` follows); whatever
        needs it live (a binding) waits for that in ``set_bindings``, so a deploy holds no one up.
        """
        from auth0.management.core.api_error import ApiError

        # A build that is surely done (or was never slow here) is deployed straight away; otherwise
        # the shared status round says when.
        waited = not self.watch.probably_built(action_id)
        try:
            for _ in range(4):
                if waited:
                    self.wait_built(action_id, name)
                try:
                    version = _plain(self.sdk.actions.deploy(action_id, request_options={"max_retries": MAX_RETRIES}))
                except ApiError as exc:
                    body = exc.body if isinstance(exc.body, Mapping) else {}
                    if exc.status_code == 400 and body.get("errorCode") == "action_not_built":
                        if not waited:  # the guess was early: learn how long builds take, then wait
                            self.watch.not_built(action_id)
                        else:  # seen built by a round, refused by deploy (a build restarted): look again
                            self.watch.written(action_id)
                        waited = True
                        continue
                    raise ProviderError(
                        "auth0",
                        f"POST /actions/actions/{action_id}/deploy",
                        f"action {name}",
                        _api_message(exc),
                        status=exc.status_code,
                    ) from None
                if not waited:
                    self.watch.guessed()
                self.watch.written(action_id)
                return {"id": action_id, "version": version.get("number")}
            raise ProviderError(
                "auth0", "deploy", f"action {name}", "the draft never stayed built long enough to deploy"
            )
        finally:
            self.watch.guess_abandoned(action_id)  # a no-op unless this deploy's guess ended in another error

    def set_bindings(self, trigger_id: str, bindings: list[dict[str, Any]]) -> dict[str, Any]:
        """Replace the trigger's ordered binding list (PATCH replaces it whole).

        A binding to an action whose new version is not live yet is refused (``action_not_deployed``):
        the PATCH is sent at once, and only if refused are the actions this run deployed waited for
        (one shared status round for all of them) before it is sent again.
        """
        from auth0.management.core.api_error import ApiError

        fresh = [
            str(b["ref"]["value"])
            for b in bindings
            if isinstance(b.get("ref"), Mapping)
            and b["ref"].get("type") == "action_id"
            and self.watch.was_written(str(b["ref"]["value"]))
        ]
        for attempt in range(4):
            for action_id in fresh if attempt else ():
                label = next((str(b.get("display_name")) for b in bindings if b["ref"].get("value") == action_id), "")
                with progresslib.waiting(f"waiting for {label or action_id} to go live"):
                    self.watch.wait(
                        action_id,
                        label or action_id,
                        lambda live: live.deployed_number is not None and live.all_changes_deployed,
                        timeout=self.build_timeout,
                        what="deploy",
                    )
            try:
                answer = self.sdk.actions.triggers.bindings.update_many(
                    trigger_id, bindings=bindings, request_options={"max_retries": MAX_RETRIES}
                )
            except ApiError as exc:
                body = exc.body if isinstance(exc.body, Mapping) else {}
                if exc.status_code == 400 and body.get("errorCode") == "action_not_deployed" and attempt < 3:
                    for action_id in fresh:
                        self.watch.written(action_id)
                    continue
                raise ProviderError(
                    "auth0",
                    f"PATCH /actions/triggers/{trigger_id}/bindings",
                    f"trigger {trigger_id}",
                    _api_message(exc),
                    status=exc.status_code,
                ) from None
            except HookctlError:
                raise
            except Exception as exc:  # transport errors: name the class, never the request body
                raise ProviderError(
                    "auth0",
                    f"PATCH /actions/triggers/{trigger_id}/bindings",
                    f"trigger {trigger_id}",
                    f"{type(exc).__name__}: {exc}",
                ) from None
            return {"bindings": [b.get("id") for b in (_plain(answer) or {}).get("bindings", [])]}
        raise AssertionError("unreachable")

    def delete_action(self, action_id: str, name: str) -> dict[str, Any]:
        from auth0.management.core.api_error import ApiError

        try:
            self.sdk.actions.delete(action_id, request_options={"max_retries": MAX_RETRIES})
        except ApiError as exc:
            if exc.status_code == 404:  # already gone: a retried delete is done
                return {}
            raise ProviderError(
                "auth0",
                f"DELETE /actions/actions/{action_id}",
                f"action {name}",
                _api_message(exc),
                status=exc.status_code,
            ) from None
        return {}

    # -- rollback ---------------------------------------------------------------------------
    def list_versions(self, action_id: str, name: str) -> list[dict[str, Any]]:
        versions: list[dict[str, Any]] = []
        page = 0
        while True:
            pager = self._call(
                f"GET /actions/actions/{action_id}/versions",
                f"action {name}",
                self.sdk.actions.versions.list,
                action_id,
                page=page,
                per_page=50,
            )
            items = [_plain(v) for v in (pager.items or [])]
            versions.extend(items)
            if len(items) < 50:
                return versions
            page += 1

    def deploy_version(self, action_id: str, version_id: str, name: str, *, update_draft: bool) -> dict[str, Any]:
        from auth0.management.types.deploy_action_version_request_content import DeployActionVersionRequestContent

        return _plain(
            self._call(
                f"POST /actions/actions/{action_id}/versions/{version_id}/deploy",
                f"action {name}",
                self.sdk.actions.versions.deploy,
                action_id,
                version_id,
                request=DeployActionVersionRequestContent(update_draft=update_draft),
            )
        )


def _jwt_claim(token: str, claim: str) -> str | None:
    """One claim of a JWT's payload, unverified (it identifies, it does not authorise); None if unreadable."""
    import base64
    import json

    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    value = payload.get(claim) if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


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


def _bare(domain: str) -> str:
    return domain.removeprefix("https://").rstrip("/").lower()


def _api_message(exc: Any, sent: tuple[str, ...] = ()) -> str:
    """Auth0's error message, with any secret value hookctl sent (or any quoted ``"value"``) masked:
    an error that echoes the request must not print the secrets in it."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        message = _mask(str(body.get("message") or body.get("error") or ""), sent)
        code = body.get("errorCode")
        return f"HTTP {exc.status_code}: {message}" + (f" ({code})" if code else "")
    return f"HTTP {getattr(exc, 'status_code', '?')}"


_QUOTED_VALUE_RE = re.compile(r"""(["']value["']\s*:\s*)(["'])(?:\\.|(?!\2).)*\2""")


def _mask(text: str, sent: tuple[str, ...]) -> str:
    for value in sorted(sent, key=len, reverse=True):
        if value:
            text = text.replace(value, "****")
    return _QUOTED_VALUE_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(2)}", text)


def _secret_values(secrets: Any) -> tuple[str, ...]:
    if not isinstance(secrets, list | tuple):
        return ()
    return tuple(str(s["value"]) for s in secrets if isinstance(s, Mapping) and isinstance(s.get("value"), str))


# ---------------------------------------------------------------------------------------------
# The provider: normalise, diff inputs and operations.


class Auth0Provider(Provider):
    name: ClassVar[str] = "auth0"

    def __init__(self, connect: Callable[[], Auth0Client]) -> None:
        self._connect = connect
        self._client: Auth0Client | None = None
        self._actions: dict[str, LiveAction] = {}
        self._triggers: dict[str, TriggerInfo] = {}
        self._bindings: dict[str, list[LiveBinding]] = {}
        self._tenant_actions = 0
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
        if declared and exported and _bare(declared) != _bare(exported):
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
        self._triggers = client.list_triggers()
        all_actions = client.list_actions()
        by_name = {a.name: a for a in all_actions}
        declared = {a.name for a in stack.actions}
        own = marker(stack.name, stack.environment.name)
        owned = {a.name for a in all_actions if a.code.startswith(own)}
        conflicts = self._ownership(ctx, by_name, owned)
        managed = declared | owned
        self._actions = {name: by_name[name] for name in managed if name in by_name}
        self._tenant_actions = len(all_actions)
        triggers = {a.trigger for a in stack.actions} | {b.trigger for b in stack.bindings}
        if stack.prune:
            triggers |= {self._actions[n].trigger for n in owned}
        for trigger in sorted(triggers):
            info = self._triggers.get(trigger)
            if info is None:
                raise HookctlError(f"the tenant has no Actions trigger {trigger!r}")
            if info.binding_policy == "entity-bound":
                raise HookctlError(
                    f"trigger {trigger!r} is entity-bound: its actions are bound to entities, not to a trigger "
                    "binding list, and hookctl manages trigger-bound triggers only",
                )
        self._bindings = client.list_bindings_of(triggers)
        live = Live(conflicts=conflicts, target=client.identity())
        for name, action in sorted(self._actions.items()):
            address = f"auth0.action.{name}"
            live.resources[address] = self._live_action(ctx, address, action)
            if name in owned:
                live.owned.add(address)
        for trigger, bindings in self._bindings.items():
            address = f"auth0.trigger.{trigger}"
            live.resources[address] = Resource(address, {"bindings": [self._binding_label(b) for b in bindings]})
        live.facts = {
            "triggers": {t: [i.version, i.binding_policy] for t, i in sorted(self._triggers.items())},
            "bindings": {t: [[b.id, b.action_id] for b in bs] for t, bs in self._bindings.items()},
            "actions": {
                n: [a.id, a.status, a.deployed_number, sorted(a.secrets.items())]
                for n, a in sorted(self._actions.items())
            },
        }
        return live

    def _ownership(self, ctx: Context, by_name: Mapping[str, LiveAction], owned: set[str]) -> list[str]:
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

    def _binding_label(self, binding: LiveBinding) -> str:
        if binding.action_name in self._actions:
            return binding.action_name
        return f"(unmanaged) {binding.display_name or binding.action_name} [{binding.id}]"

    def _live_action(self, ctx: Context, address: str, action: LiveAction) -> Resource:
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

    def limits(
        self, ctx: Context, changes: list[ResourceChange], desired: Mapping[str, Resource], live: Live
    ) -> list[str]:
        return auth0_limits(self._tenant_actions, changes, desired)

    # -- desired ----------------------------------------------------------------------------
    def desired(self, ctx: Context, live: Live) -> dict[str, Resource]:
        stack = ctx.stack
        out: dict[str, Resource] = {}
        own = marker(stack.name, stack.environment.name)
        self._failed_drafts = set()
        for action in stack.actions:
            out[action.address] = want = self._desired_action(ctx, action, own, live)
            have = live.resources.get(action.address)
            found = self._actions.get(action.name)
            if found is not None and found.status == "failed" and have is not None and not compare(want, have):
                self._failed_drafts.add(action.name)
        # A failed draft that never deployed cannot be bound (the API refuses an undeployed action).
        unbindable = {n for n in self._failed_drafts if self._actions[n].deployed_number is None}
        managed = set(self._actions) | {a.name for a in stack.actions}
        declared = {a.name for a in stack.actions}
        for tb in stack.bindings:
            current = self._bindings.get(tb.trigger, [])
            out[tb.address] = Resource(
                tb.address,
                {
                    "bindings": merge_bindings(
                        [self._binding_label(b) for b in current],
                        managed,
                        [a for a in tb.actions if a not in unbindable],
                        tb.exclusive,
                        keep=set() if stack.prune else (managed - declared),
                    )
                },
            )
        if stack.prune:
            # Triggers whose only managed actions are being pruned still need their bindings rewritten.
            for trigger, current in self._bindings.items():
                address = f"auth0.trigger.{trigger}"
                if address not in out:
                    labels = [self._binding_label(b) for b in current]
                    out[address] = Resource(address, {"bindings": merge_bindings(labels, managed, [], False, set())})
        return out

    def _desired_action(self, ctx: Context, action: Action, own: str, live: Live) -> Resource:
        artifact = ctx.artifacts[action.address]
        info = self._triggers.get(action.trigger)
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

    # -- operations -------------------------------------------------------------------------
    def _replace_note(self, stack: Stack, change: ResourceChange, want: Resource) -> str:
        name = change.address.removeprefix("auth0.action.")
        old, new = self._actions[name].trigger, str(want.doc["trigger"])
        bound_old = any(b.action_name == name for b in self._bindings.get(old, []))
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
        self, ctx: Context, changes: list[ResourceChange], desired: Mapping[str, Resource], live: Live
    ) -> list[Operation]:
        stack = ctx.stack
        by_address = {a.address: a for a in stack.actions}
        ops: list[Operation] = []
        action_ref: dict[str, Any] = {name: a.id for name, a in self._actions.items()}
        deploys: dict[str, str] = {}
        unbinds: list[str] = []
        changed = {c.address: c for c in changes}
        deletes = [c for c in changes if c.kind == DELETE and c.address.startswith("auth0.action.")]
        replaces = [c for c in changes if c.kind == REPLACE and c.address.startswith("auth0.action.")]
        for i, change in enumerate(changes):
            name = change.address.removeprefix("auth0.action.")
            if change.address.startswith("auth0.action.") and name in self._failed_drafts:
                # Show the failed draft; deploy nothing until the stack's code or dependencies change.
                live_action = self._actions[name]
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
                note = self._replace_note(ctx.stack, change, desired[change.address])
                changes[i] = replace(change, reason="; ".join(r for r in (change.reason, note) if r))

        # 1. Unbind what will be deleted (prune or replace) before deleting it: never the 409. Each
        # trigger loses only its own removed actions, and each deletion waits only for its trigger.
        #    A trigger whose list changes beyond losing them (and that loses no action being replaced)
        #    needs no unbind of its own: its one PATCH drops the pruned actions, the deletes wait for it.
        removing = {c.address.removeprefix("auth0.action.") for c in (*deletes, *replaces)}
        replacing = {c.address.removeprefix("auth0.action.") for c in replaces}
        unbind_of: dict[str, str] = {}
        for trigger in sorted({self._actions[n].trigger for n in removing}):
            address = f"auth0.trigger.{trigger}"
            current = self._bindings.get(trigger, [])
            gone = [b.action_name for b in current if b.action_name in removing]
            if not gone:
                continue
            keep = [b for b in current if b.action_name not in removing]
            rebind = changed.get(address)
            kept = [self._binding_label(b) for b in keep]
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
                    provider=self.name,
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
                    provider=self.name,
                    method="delete_action",
                    params={"action_id": self._actions[name].id, "name": name},
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
                        provider=self.name,
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
                            provider=self.name,
                            method="update_action",
                            params={"action_id": self._actions[name].id, "name": name, **fields},
                            description=f"Update action {name}: {', '.join(sorted(fields))}",
                            address=change.address,
                            record={change.address: _record(write_id, hashes if "secrets" in fields else {})},
                        )
                    )
            deploy_id = f"deploy:{name}"
            deploy_ops.append(
                Operation(
                    id=deploy_id,
                    provider=self.name,
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
            live_by_label = {self._binding_label(b): b for b in self._bindings.get(trigger, [])}
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
                    provider=self.name,
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


def prepare_rollback(
    client: Auth0Client, stack: Stack, recorded: Mapping[str, Any], name: str, to: int | None
) -> Rollback:
    """What rolling ``name`` back would do, read-only; refused unless this stack and environment own
    the action (its marker, or its id in ``recorded``, the state's resources) and the chosen version."""
    live = client.find_action(name)
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
    versions = client.list_versions(live.id, name)
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


def rollback_action(client: Auth0Client, prepared: Rollback) -> Rollback:
    """Deploy the chosen version as a new one and make it the draft too (``update_draft``): draft and
    deployed version then agree, and the next plan shows the stack's code against the rolled-back
    code as an ordinary update rather than redeploying the old draft as drift."""
    deployed = client.deploy_version(prepared.action_id, prepared.version_id, prepared.name, update_draft=True)
    number = deployed.get("number")
    return replace(prepared, new_number=int(number) if number is not None else None)
