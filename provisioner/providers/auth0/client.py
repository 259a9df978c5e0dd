"""Auth0 Actions: a thin client over auth0-python 6.x, and its pacing.
Provider auth0: the client half (the only module that imports auth0-python and httpx).

``Auth0Client`` exposes only the calls hookctl needs, takes and returns plain
values, translates SDK errors into ``ProviderError`` naming the action and the
call, and hides multi-step sequences: create is idempotent by name (the SDK
retries POSTs), deploy waits for the build and then for the version to be
live, and every request is paced by the ``x-ratelimit-*`` headers (``Pacer``).
``Watcher`` serves the waits of many operations from shared status rounds.

Reads for a plan: ``GET /actions/triggers`` once, ``GET /actions/actions``
page by page (100 a page, stopping at a short page or ``total``), and
``GET /actions/triggers/{id}/bindings`` once per managed trigger: 2 + K.
What the answers mean for a plan is plan.py's business; provider.py wires the two.

Over ~800 lines on purpose: the pacer, the shared build watcher and the client are one
concern (every request Auth0 sees goes through them) and split apart they would need each
other's internals.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from ...engine import catalog
from ...engine import progress as progresslib
from ...engine.errors import HookctlError, ProviderError
from ..base import Client, http_timeout
from .plan import (
    MARKER_RE,
    LiveAction,
    LiveBinding,
    TriggerInfo,
    bare_domain,
    build_failure,
    to_live_action,
    version_key,
)

PER_PAGE = 100
READ_TIMEOUT_RETRIES = 2
READ_CONCURRENCY = 4  # reads in flight at once; the pacer still spaces them by the rate limit
MAX_RETRIES = 6
# Auth0's builder gives up on a build after 5 minutes; terraform-provider-auth0 waits 6 (5 + 1 of network
# buffer) for the same reason (https://github.com/auth0/terraform-provider-auth0/pull/1616).
BUILD_TIMEOUT = 360.0
POLL_MIN, POLL_MAX = 0.25, 3.0  # seconds between status rounds: shortest, and longest while nothing moves

Sleep = Callable[[float], None]


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


def _plain(model: Any) -> Any:
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(model, Mapping):
        return dict(model)
    return model


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
        client.domain = bare_domain(domain)
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
