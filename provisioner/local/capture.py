"""The capture server: a loopback HTTP listener that records what handlers send it.
Local runs: the capture server hookctl test points handlers' HTTP calls at.

A case's ``{capture: NAME}`` value (a ``CaptureRef``) becomes a URL on this
server, ``http://127.0.0.1:PORT/<scope>/NAME``; the requests that arrive are
kept per scope (one per case) as ``Captured`` values for the ``http``
expectation. I/O: listens on 127.0.0.1 only, on a port the OS picks.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class CaptureRef:
    """``{capture: NAME, path: /x}``: replaced by the capture server's URL for NAME at run time."""

    name: str
    path: str = ""


@dataclass(frozen=True)
class Captured:
    """One HTTP request the capture server received."""

    capture: str
    method: str
    path: str  # below the capture's own URL ("" or "/v1/users")
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: str

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        body = self.body if len(self.body) <= 300 else self.body[:299] + "…"
        return f"{self.method} {self.path or '/'} {body}"


class CaptureServer:
    """An HTTP server on 127.0.0.1 that records what handlers send it.

    URLs are ``http://127.0.0.1:PORT/<scope>/<capture><path>``: each case gets
    its own scope, so cases may run in parallel without seeing each other's
    requests. Every request is answered ``200 ok`` unless the case configured
    the capture otherwise (``captures: {NAME: {status: 500}}``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, list[Captured]] = {}
        self._answers: dict[tuple[str, str], Mapping[str, Any]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def _handle(self) -> None:
                body = self._body().decode("utf-8", "replace")
                parts = urlsplit(self.path)
                segments = parts.path.split("/", 3)  # "", scope, capture, rest
                scope = segments[1] if len(segments) > 1 else ""
                capture = segments[2] if len(segments) > 2 else ""
                rest = "/" + segments[3] if len(segments) > 3 else ""
                request = Captured(
                    capture,
                    self.command,
                    rest,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                answer = server._record(scope, request)
                data = str(answer.get("body", "ok")).encode("utf-8")
                self.send_response(int(answer.get("status", 200)))
                self.send_header("Content-Type", str(answer.get("content_type", "text/plain")))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()  # the blank line after the last chunk
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hookctl-capture", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def scope(self, answers: Mapping[str, Mapping[str, Any]] | None = None) -> str:
        token = uuid.uuid4().hex[:12]
        with self._lock:
            self._requests[token] = []
            for name, answer in (answers or {}).items():
                self._answers[(token, name)] = answer
        return token

    def url(self, scope: str, ref: CaptureRef) -> str:
        return f"http://127.0.0.1:{self.port}/{scope}/{ref.name}{ref.path}"

    def _record(self, scope: str, request: Captured) -> Mapping[str, Any]:
        with self._lock:
            self._requests.setdefault(scope, []).append(request)
            return self._answers.get((scope, request.capture), {})

    def received(self, scope: str) -> list[Captured]:
        with self._lock:
            return list(self._requests.get(scope, []))


def resolve_captures(value: Any, url: Callable[[CaptureRef], str]) -> Any:
    if isinstance(value, CaptureRef):
        return url(value)
    if isinstance(value, dict):
        return {k: resolve_captures(v, url) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_captures(v, url) for v in value]
    return value
