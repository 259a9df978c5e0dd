"""Auth0Emulator: the emulated tenant behind an HTTPS server on 127.0.0.1.
Sandbox: the Auth0 emulator's server (TLS, latency, faults, rate limit, bearer tokens).

A real HTTPS server on ``127.0.0.1`` (and nothing else), built from the standard
library (``http.server`` + ``ssl``) with a throwaway certificate authority from
:mod:`provisioner.sandbox.tls`, so the unmodified ``auth0-python`` client
(``auth0.management.ManagementClient``) can be pointed at it with
``domain="127.0.0.1:PORT"``. Every request is counted, delayed by the configured
latency, possibly faulted (``FaultRule``), rate limited (a token bucket that
answers ``x-ratelimit-*`` headers and 429s) and, under ``/api/v2``, checked for a
bearer token before :mod:`.routes` answers it.

Trusting the CA: httpx 0.28 (what the SDK uses) reads ``SSL_CERT_FILE`` when an
``httpx.Client`` is constructed and then trusts *only* that file. The SDK builds
its API client in ``ManagementClient.__init__`` and a fresh ``httpx.Client()``
for every client-credentials token fetch (``token_provider.py``), ignoring any
``httpx_client=`` passed in. So: set ``SSL_CERT_FILE=<emulator.ca_file>`` before
constructing the client (needed for client_id/client_secret), or pass
``token=emulator.issue_token()`` together with
``httpx_client=httpx.Client(verify=emulator.client_ssl_context())``.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import random
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from provisioner.sandbox.tls import TLSMaterial, ensure_tls_material

from .config import EmulatorConfig, FaultRule
from .model import E_TOO_MANY, ApiError
from .render import _Renderer
from .routes import _Handler, _json_response, _match_route, _Request, _Response
from .store import STATE_FILE, Tenant, load_tenant, save_tenant
from .syntax import SyntaxChecker

# --------------------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------------------


class _TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = max(1, burst)
        self.tokens = float(self.capacity)
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        with self.lock:
            mono = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (mono - self.last) * self.rate)
            self.last = mono
            allowed = self.tokens >= 1.0
            if allowed:
                self.tokens -= 1.0
            # x-ratelimit-reset is in epoch seconds (ruby-auth0 lib/auth0/exception.rb
            # reads it with Time.at(Integer(...)); a real value, 1643756409, is quoted in
            # community.auth0.com/t/global-limit-has-been-reached/77440). INFERRED: it is
            # the moment the bucket is full again, rounded up so that a client waiting
            # until then (auth0-python core/http_client.py does) is let through.
            to_full = (self.capacity - self.tokens) / self.rate
            headers = {
                "x-ratelimit-limit": str(self.capacity),
                "x-ratelimit-remaining": str(int(self.tokens)),
                "x-ratelimit-reset": str(math.ceil(time.time() + to_full)),
            }
            if not allowed:
                # Whole seconds until one request is allowed again (RFC 9110 section 10.2.3
                # delay-seconds). INFERRED for Auth0: auth0-python's own retry reads Retry-After
                # before x-ratelimit-reset (core/http_client.py _retry_timeout).
                headers["retry-after"] = str(max(1, math.ceil((1.0 - self.tokens) / self.rate)))
            return allowed, headers


# --------------------------------------------------------------------------------------
# HTTPS server
# --------------------------------------------------------------------------------------


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, emulator: Auth0Emulator, port: int, context: ssl.SSLContext) -> None:
        self.emulator = emulator
        super().__init__(("127.0.0.1", port), _RequestHandler)
        # Handshakes happen in the handler threads (do_handshake_on_connect=False), so
        # one slow client cannot stall the accept loop.
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.emulator.config.verbose:
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TLSServer
    timeout = 60
    # TCP_NODELAY: without it Nagle's algorithm and delayed ACKs add ~40 ms to every
    # keep-alive request (headers and body go out as separate TLS records).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        sock = cast(ssl.SSLSocket, self.request)
        sock.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.config.verbose:
            sys.stderr.write(f"auth0-emulator: {format % args}\n")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        headers = {key.lower(): value for key, value in self.headers.items()}
        response = self.server.emulator._handle(self.command, self.path, headers, body)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve


# --------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------


class Auth0Emulator:
    """The emulated tenant behind an HTTPS server on 127.0.0.1.

    ::

        emu = Auth0Emulator(EmulatorConfig(build_seconds=0.0)).start()
        emu.domain          # "127.0.0.1:PORT", for ManagementClient(domain=...)
        emu.ca_file         # trust it: SSL_CERT_FILE=emu.ca_file
        emu.client_id, emu.client_secret, emu.issue_token()
        emu.counts          # Counter of (METHOD, path template), every request received
        emu.status_counts   # Counter of (METHOD, path template, status); 0 = dropped
        emu.tenant          # the data (Tenant), for set-up and assertions
        emu.stop()

    ``state_dir`` (optional) holds ``tenant.json`` and ``tls/``: the tenant is loaded
    from it on construction, saved after every change and on ``stop()``, and the CA
    is reused across restarts.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, state_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.checker = SyntaxChecker(self.config.syntax_check)
        self.tenant = Tenant(self.config, self.checker)
        self.renderer = _Renderer(self.tenant)
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.status_counts: collections.Counter[tuple[str, str, int]] = collections.Counter()
        self._counts_lock = threading.Lock()
        self._fault_lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._bucket = (
            _TokenBucket(
                self.config.rate_limit_per_second,
                self.config.rate_limit_burst or math.ceil(self.config.rate_limit_per_second),
            )
            if self.config.rate_limit_per_second
            else None
        )
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._competitor: threading.Thread | None = None
        self._competitor_stop = threading.Event()
        # The other client's requests by outcome (200 let through, 429 refused); not in ``counts``.
        self.competing_counts: collections.Counter[int] = collections.Counter()
        self._tls: TLSMaterial | None = None
        self._tmp_tls: Path | None = None
        if self.state_dir is not None and (self.state_dir / STATE_FILE).is_file():
            self._load_file(self.state_dir / STATE_FILE)

    # ---- lifecycle --------------------------------------------------------------

    def start(self, port: int | None = None) -> Auth0Emulator:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        if self.state_dir is not None:
            tls_dir = self.state_dir / "tls"
        else:
            self._tmp_tls = Path(tempfile.mkdtemp(prefix="auth0-emu-tls-"))
            tls_dir = self._tmp_tls
        self._tls = ensure_tls_material(tls_dir)
        chosen = self.config.port if port is None else port
        self._server = _TLSServer(self, chosen, self._tls.server_context())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"auth0-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.compete(self.config.competing_requests_per_second)
        return self

    def compete(self, requests_per_second: float) -> None:
        """Start (or change, or with 0 stop) the other client spending the tenant's budget."""
        self._competitor_stop.set()
        if self._competitor is not None:
            self._competitor.join(timeout=5)
            self._competitor = None
        self.config.competing_requests_per_second = requests_per_second
        if self._bucket is not None and requests_per_second > 0:
            self._competitor_stop.clear()
            self._competitor = threading.Thread(target=self._compete, name="auth0-emulator:other-client", daemon=True)
            self._competitor.start()

    def _compete(self) -> None:
        """The other client: takes a request's worth of the budget at its own steady rate."""
        assert self._bucket is not None
        interval = 1.0 / self.config.competing_requests_per_second
        next_at = time.monotonic()
        while not self._competitor_stop.is_set():
            allowed, _ = self._bucket.take()
            with self._counts_lock:
                self.competing_counts[200 if allowed else 429] += 1
            next_at += interval
            self._competitor_stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self.compete(0.0)
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        if self.state_dir is not None:
            self.save(self.state_dir)
        self.checker.close()
        if self._tmp_tls is not None:
            shutil.rmtree(self._tmp_tls, ignore_errors=True)
            self._tmp_tls = None

    def __enter__(self) -> Auth0Emulator:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses and credentials ------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return int(self._server.server_address[1])

    @property
    def domain(self) -> str:
        """``127.0.0.1:PORT``: what ManagementClient takes as ``domain``."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"https://{self.domain}"

    @property
    def audience(self) -> str:
        # The SDK's default audience (auth0/management/token_provider.py).
        return f"https://{self.domain}/api/v2/"

    @property
    def ca_file(self) -> Path:
        if self._tls is None:
            raise RuntimeError("emulator not started")
        return self._tls.ca_file

    @property
    def client_id(self) -> str:
        return self.tenant.client_id

    @property
    def client_secret(self) -> str:
        return self.tenant.client_secret

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client ``SSLContext`` trusting the sandbox CA (e.g. ``httpx.Client(verify=...)``)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def issue_token(self, ttl: float | None = None) -> str:
        """A bearer token for ``ManagementClient(domain=..., token=...)``."""
        token = self.tenant.issue_token(ttl, audience=self.audience if self._server else "")
        self._autosave()
        return token

    # ---- counters and faults -------------------------------------------------------

    def reset_counts(self) -> None:
        with self._counts_lock:
            self.counts.clear()
            self.status_counts.clear()

    def add_fault(self, rule: FaultRule) -> FaultRule:
        with self._fault_lock:
            self.config.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        with self._fault_lock:
            self.config.faults.clear()

    # ---- persistence --------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the tenant to ``directory/tenant.json`` (atomically)."""
        return save_tenant(self.tenant, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], config: EmulatorConfig | None = None) -> Auth0Emulator:
        """A new (not started) emulator whose tenant is read from ``directory``.

        Unlike ``state_dir=``, later changes are not written back.
        """
        emulator = cls(config)
        emulator._load_file(Path(directory) / STATE_FILE)
        return emulator

    def _load_file(self, path: Path) -> None:
        load_tenant(self.tenant, path)

    def _autosave(self) -> None:
        if self.state_dir is not None:
            self.save(self.state_dir)

    # ---- request handling ---------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> _Response:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        route = _match_route(method, path)
        template = route[0] if route else path
        with self._counts_lock:
            self.counts[(method, template)] += 1
        response = self._handle_counted(method, path, template, route, query, headers, body)
        with self._counts_lock:
            self.status_counts[(method, template, 0 if response.drop else response.status)] += 1
        return response

    def _handle_counted(
        self,
        method: str,
        path: str,
        template: str,
        route: tuple[str, dict[str, str], _Handler] | None,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> _Response:
        if self.config.latency_seconds > 0:
            time.sleep(self.config.latency_seconds)
        fault = self._pick_fault(method, template, path)
        if fault is not None:
            if fault.kind == "drop":
                return _Response(0, drop=True)
            if fault.kind == "delay":
                time.sleep(fault.delay_seconds)
            else:
                return _json_response(
                    fault.status,
                    ApiError(fault.status, "Injected fault (sandbox)", "internal_error").body(),
                )
        is_api = path.startswith("/api/v2")
        limit_headers: dict[str, str] = {}
        if is_api and self._bucket is not None:
            allowed, limit_headers = self._bucket.take()
            if not allowed:
                # Body verbatim from TestAccAction.yaml id 5 (a real 429).
                return _json_response(
                    429, ApiError(429, "Global limit has been reached", E_TOO_MANY).body(), limit_headers
                )
        if route is None:
            response = _json_response(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})
        else:
            _, params, handler = route
            request = _Request(method, path, template, params, query, headers, body)
            try:
                if is_api:
                    self._authenticate(headers)
                response = handler(self, request)
            except ApiError as err:
                response = _json_response(err.status, err.body())
            if method != "GET" and 200 <= response.status < 300:
                self._autosave()
        response.headers.update(limit_headers)
        return response

    def _pick_fault(self, method: str, template: str, path: str) -> FaultRule | None:
        with self._fault_lock:
            for rule in self.config.faults:
                if not rule.matches(method, template, path):
                    continue
                rule.matched += 1
                if rule.max_injections is not None and rule.injected >= rule.max_injections:
                    continue
                if rule.first_n is not None and rule.matched > rule.first_n:
                    continue
                if rule.every_nth is not None and rule.matched % rule.every_nth != 0:
                    continue
                if rule.probability is not None and self._rng.random() >= rule.probability:
                    continue
                rule.injected += 1
                return rule
        return None

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        auth = headers.get("authorization") or ""
        scheme, _, token = auth.partition(" ")
        # Messages INFERRED; 401 itself is in the SDK (UnauthorizedError).
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Missing authentication", "missing_authentication")
        state = self.tenant.token_state(token.strip())
        if state == "expired":
            raise ApiError(401, "Expired token received for JSON Web Token validation", "token_expired")
        if state != "valid":
            raise ApiError(401, "Invalid token", "invalid_token")
