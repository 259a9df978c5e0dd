"""A small fault-injecting HTTP proxy on 127.0.0.1, in front of moto's server.

moto has no fault injection of its own. ``FaultProxy`` forwards every request
to moto unchanged and, by a seeded plan, answers some of them itself the way
AWS does on a bad day, in the shapes botocore understands:

``throttle``
    the service's throttling error: ``TooManyRequestsException`` (Cognito's
    JSON protocol: 400 + ``x-amzn-ErrorType``; Lambda's REST-JSON: 429),
    ``Throttling`` (IAM/STS query XML, 400) or ``SlowDown`` (S3, 503).
``error``
    a 500 or a 503 (drawn from the seed): ``InternalErrorException`` /
    ``ServiceUnavailableException``, ``ServiceException``, ``ServiceUnavailable``
    or ``InternalError``, each in its protocol's body.
``slow``
    the request reaches moto and is handled, but the answer is held for
    ``delay`` seconds, past the client's read timeout: "handled, answer lost"
    (or, on a seeded coin, the request is held *before* moto sees it, so it is
    handled after the client gave up).
``drop``
    the connection is closed without an answer; on a seeded coin either before
    moto saw the request (request lost) or after moto handled it (answer lost).

Which requests are faulted is deterministic for a seed, whatever the order in
which threads send them: the k-th call of operation ``X`` is faulted when a
draw seeded by ``(seed, X, k)`` is below ``rate``. ``max_faults`` caps the
total so a run always ends; ``per_operation`` caps one operation's faults;
``only`` restricts faults to some operations; ``where`` fixes the side of a
slow or dropped answer; ``disarm()`` stops them. ``hooks`` run a callback after
moto handled a chosen operation (e.g. "someone else edits the pool right now").

One fidelity fix, faults or not: AWS refuses an AddPermission whose
StatementId exists (409 ``ResourceConflictException``) where moto 5.x appends a
second statement with the same id; the proxy answers as AWS does, so a retried
AddPermission is tested against the real behaviour.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

Kind = Literal["throttle", "error", "slow", "drop"]
KINDS: tuple[Kind, ...] = ("throttle", "error", "slow", "drop")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}

# Lambda is REST-JSON: the operation is in the method and the path.
_LAMBDA_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", r"/2015-03-31/functions/?", "CreateFunction"),
    ("GET", r"/2015-03-31/functions/?", "ListFunctions"),
    ("GET", r"/2015-03-31/functions/[^/]+", "GetFunction"),
    ("DELETE", r"/2015-03-31/functions/[^/]+", "DeleteFunction"),
    ("PUT", r"/2015-03-31/functions/[^/]+/code", "UpdateFunctionCode"),
    ("PUT", r"/2015-03-31/functions/[^/]+/configuration", "UpdateFunctionConfiguration"),
    ("GET", r"/2015-03-31/functions/[^/]+/configuration", "GetFunctionConfiguration"),
    ("POST", r"/2015-03-31/functions/[^/]+/policy", "AddPermission"),
    ("GET", r"/2015-03-31/functions/[^/]+/policy", "GetPolicy"),
    ("DELETE", r"/2015-03-31/functions/[^/]+/policy/[^/]+", "RemovePermission"),
    ("GET", r"/2017-03-31/tags/.+", "ListTags"),
)


@dataclass(frozen=True)
class Call:
    """What a request is, as far as faults are concerned."""

    service: str  # from the SigV4 credential scope: lambda, cognito-idp, iam, sts, s3, ...
    operation: str  # CreateFunction, UpdateUserPool, CreateRole, ...
    protocol: Literal["json", "rest-json", "query", "rest-xml"]


@dataclass(frozen=True)
class Injected:
    operation: str
    nth: int  # this was the nth call of the operation (1-based)
    kind: Kind
    detail: str  # e.g. "503 ServiceUnavailableException", "after moto", "before moto"


@dataclass
class FaultPlan:
    kind: Kind
    rate: float
    seed: int
    max_faults: int = 6
    delay: float = 1.5
    only: frozenset[str] | None = None  # operation names; None = any
    where: Literal["after moto", "before moto"] | None = None  # slow/drop: None = drawn from the seed
    per_operation: int | None = None  # at most this many faults for any one operation


def classify(method: str, path: str, headers: dict[str, str], body: bytes) -> Call:
    auth = headers.get("authorization", "")
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", auth)
    service = scope.group(1) if scope else "unknown"
    target = headers.get("x-amz-target")
    if target:
        return Call(service, target.rsplit(".", 1)[-1], "json")
    if service == "lambda":
        for verb, pattern, name in _LAMBDA_ROUTES:
            if method == verb and re.fullmatch(pattern, unquote(path)):
                return Call(service, name, "rest-json")
        return Call(service, f"{method} {path}", "rest-json")
    if service == "s3":
        return Call(service, f"{method} {path}", "rest-xml")
    action = parse_qs(body.decode("utf-8", "replace")).get("Action") or parse_qs(urlsplit(path).query).get("Action")
    return Call(service, action[0] if action else f"{method} {path}", "query")


def error_response(call: Call, kind: Kind, status: int) -> tuple[int, dict[str, str], bytes]:
    """An AWS-style error answer botocore parses into the right error code."""
    request_id = str(uuid.uuid4())
    throttle = kind == "throttle"
    if call.protocol == "json":
        code = (
            "TooManyRequestsException"
            if throttle
            else ("InternalErrorException" if status == 500 else "ServiceUnavailableException")
        )
        body = json.dumps({"__type": code, "message": f"Injected fault ({code})"}).encode()
        headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        return (400 if throttle else status), {**headers, "x-amzn-RequestId": request_id}, body
    if call.protocol == "rest-json":
        code = "TooManyRequestsException" if throttle else "ServiceException"  # Lambda says so for 500 and 503
        payload: dict[str, Any] = {"Type": "User" if throttle else "Service", "message": f"Injected fault ({code})"}
        if throttle:
            payload["Reason"] = "CallerRateLimitExceeded"
        headers = {"content-type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": request_id}
        return (429 if throttle else status), headers, json.dumps(payload).encode()
    if call.protocol == "rest-xml":
        code = "SlowDown" if throttle else ("InternalError" if status == 500 else "ServiceUnavailable")
        xml = f"<Error><Code>{code}</Code><Message>Injected fault</Message><RequestId>{request_id}</RequestId></Error>"
        return (503 if throttle else status), {"content-type": "application/xml"}, xml.encode()
    code = "Throttling" if throttle else ("InternalFailure" if status == 500 else "ServiceUnavailable")
    who = "Sender" if throttle else "Receiver"
    xml = (
        f"<ErrorResponse><Error><Type>{who}</Type><Code>{code}</Code><Message>Injected fault</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return (400 if throttle else status), {"content-type": "text/xml"}, xml.encode()


class FaultProxy:
    """``FaultProxy(upstream).start()``; point ``AWS_ENDPOINT_URL`` at ``proxy.endpoint``."""

    def __init__(self, upstream: str) -> None:
        split = urlsplit(upstream)
        assert split.scheme == "http" and split.hostname == "127.0.0.1", "loopback moto only"
        self.upstream = (split.hostname, int(split.port or 80))
        self.plan: FaultPlan | None = None
        self.injected: list[Injected] = []  # every fault since start
        self._budget = 0  # faults the armed plan may still inject
        self._per_operation: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()
        self.hooks: dict[str, Callable[[Call, int], None]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- faults ------------------------------------------------------------------------
    def arm(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self.calls.clear()
            self._budget = plan.max_faults
            self._per_operation.clear()

    def disarm(self) -> None:
        with self._lock:
            self.plan = None

    def _decide(self, call: Call) -> tuple[int, Injected | None]:
        with self._lock:
            self.calls[call.operation] += 1
            nth = self.calls[call.operation]
            plan = self.plan
            if plan is None or (plan.only is not None and call.operation not in plan.only):
                return nth, None
            if self._budget <= 0:
                return nth, None
            if plan.per_operation is not None and self._per_operation[call.operation] >= plan.per_operation:
                return nth, None
            draw = random.Random(f"{plan.seed}:{call.operation}:{nth}")
            if draw.random() >= plan.rate:
                return nth, None
            if plan.kind == "error":
                detail = str(draw.choice((500, 503)))
            elif plan.kind in ("slow", "drop"):
                detail = plan.where or draw.choice(("after moto", "before moto"))
            else:
                detail = "throttled"
            fault = Injected(call.operation, nth, plan.kind, detail)
            self.injected.append(fault)
            self._budget -= 1
            self._per_operation[call.operation] += 1
            return nth, fault


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        call = classify(self.command, urlsplit(self.path).path, headers, body)
        nth, fault = self.owner._decide(call)
        plan = self.owner.plan
        delay = plan.delay if plan is not None else 0.0
        if fault is not None and fault.kind in ("throttle", "error"):
            status, answer_headers, answer = error_response(
                call, fault.kind, int(fault.detail) if fault.detail.isdigit() else 503
            )
            self._answer(status, answer_headers, answer)
            return
        if fault is not None and fault.detail == "before moto":
            if fault.kind == "drop":
                self._drop()
                return
            time.sleep(delay)  # slow: moto handles it after the client gave up
        conflict = self._duplicate_statement(call, body)
        status, answer_headers, answer = conflict or self._forward(body, headers)
        hook = self.owner.hooks.get(call.operation)
        if hook is not None:
            hook(call, nth)
        if fault is not None and fault.detail == "after moto":
            if fault.kind == "drop":
                self._drop()
                return
            time.sleep(delay)  # slow: the answer arrives after the client's read timeout
        self._answer(status, answer_headers, answer)

    def _duplicate_statement(self, call: Call, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        """AWS refuses an AddPermission whose StatementId exists; moto (5.x) appends a second one.

        Without this a retried AddPermission whose first answer was lost would leave two statements
        with one id on moto, which AWS never does. The proxy answers as Lambda does instead.
        """
        if call.operation != "AddPermission":
            return None
        sid = json.loads(body or b"{}").get("StatementId")
        status, _, answer = self._forward(b"", {}, method="GET")
        if status != 200 or not sid:
            return None
        statements = json.loads(json.loads(answer)["Policy"]).get("Statement", [])
        if not any(s.get("Sid") == sid for s in statements):
            return None
        code = "ResourceConflictException"
        message = (
            f"The statement id ({sid}) provided already exists. Please provide a new statement id, "
            "or remove the existing statement."
        )
        payload = json.dumps({"Type": "User", "message": message}).encode()
        return 409, {"content-type": "application/json", "x-amzn-ErrorType": code}, payload

    def _forward(
        self, body: bytes, headers: dict[str, str], method: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self.owner.upstream, timeout=60)
        try:
            forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if method is not None:  # a read of our own (moto does not check signatures)
                forwarded = {k: v for k, v in forwarded.items() if k.lower() not in ("content-length", "content-type")}
            conn.request(method or self.command, self.path, body=body or None, headers=forwarded)
            response = conn.getresponse()
            answer = response.read()
            answer_headers = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            return response.status, answer_headers, answer
        finally:
            conn.close()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client gave up (read timeout): the answer is lost
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve
