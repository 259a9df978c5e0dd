"""Remote state on S3, locked by S3 conditional writes (no lock table, no extra database).
Engine: the state backend on S3 (with secrets_aws, the engine modules that import boto3).

Layout under ``s3://<bucket>/<prefix>/``::

    <stack>/<environment>.json   the State document (ids, ARNs, secret hashes — never a value)
    <stack>/<environment>.lock   the lock: a LockInfo as JSON, present only while a run holds it

The guarantees come from S3 itself, not from reading first:

- **Lock**: ``PutObject`` with ``If-None-Match: *`` creates the lock object only
  if it does not exist. Of several runs starting together exactly one gets
  200; the others get ``412 PreconditionFailed`` and are told who holds the
  lock and since when. A ``409 ConditionalRequestConflict`` (S3: another
  conditional write to the key was in flight) is retried with the same
  condition, which is always safe.
- **State**: a write carries ``If-Match: <ETag of the version this backend
  read>`` (or ``If-None-Match: *`` when there was none), so a writer racing
  another fails loudly with ``StateConflictError`` instead of silently losing
  the other's resources. The serial goes up on every write, so a document
  never returns to an earlier ETag (no ABA).
- **Release / unlock** read the lock, compare its id, and delete it with
  ``If-Match: <its ETag>``: a lock that changed hands in between is left alone.

Every object is written with server-side encryption: ``AES256`` (SSE-S3) by
default, ``aws:kms`` with ``kms_key_id``. botocore errors become
``ProviderError`` naming the API call and ``s3://bucket/key``; request bodies
are never quoted.

``backend_from_url`` turns ``--state`` / ``$HOOKCTL_STATE`` into a backend:
``s3://bucket[/prefix][?kms_key_id=KEY]`` or a local directory.
``list_states`` lists every state under either (``hookctl state list``).

I/O: S3 (through boto3's standard chain: credentials, ``AWS_REGION`` /
``AWS_DEFAULT_REGION`` / config, and ``AWS_ENDPOINT_URL``) or the state directory.
"""

from __future__ import annotations

import builtins
import datetime
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from .errors import HookctlError, LockError, ProviderError
from .state import Backend, LocalBackend, LockInfo, State, whoami

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

PROVIDER = "s3"
# How often a conditional write is sent again after S3 answered 409 (another conditional
# write to the same key was in flight) or the lock vanished between our PUT and our read.
ATTEMPTS = 3

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_URL_OPTIONS = frozenset({"kms_key_id"})
_SCHEME_ONLY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: C:\\state stays a path

_HINTS = {
    "NoSuchBucket": "Create the bucket (with versioning, so old states can be recovered) or fix the state URL.",
    "AccessDenied": (
        "The credentials need s3:GetObject, s3:PutObject and s3:DeleteObject on the prefix, "
        "s3:ListBucket on the bucket, and kms:GenerateDataKey / kms:Decrypt when a KMS key is used."
    ),
    "InvalidAccessKeyId": "Check the AWS credentials (profile, keys, session token).",
    "SignatureDoesNotMatch": "Check the AWS credentials (profile, keys, session token).",
    "ExpiredToken": "The AWS session expired; sign in again.",
    "KMS.NotFoundException": "The state URL's kms_key_id names no KMS key in this account and region.",
}


class StateConflictError(HookctlError):
    """The state object changed between this run's read and its write; nothing was overwritten."""


@dataclass(frozen=True)
class StateEntry:
    """One state under a backend, for ``hookctl state list``."""

    stack: str
    environment: str
    serial: int
    last_modified: datetime.datetime  # UTC
    locked: bool
    location: str


class _Expected(Exception):
    """An S3 error code the caller handles itself (``NoSuchKey``, ``PreconditionFailed`` …)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class S3Backend(Backend):
    """State and lock for one stack and environment under ``s3://<bucket>/<prefix>/``."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        stack: str,
        environment: str,
        *,
        client: S3Client,
        kms_key_id: str | None = None,
        who: Callable[[], str] = whoami,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.stack = stack
        self.environment = environment
        self.kms_key_id = kms_key_id
        self.client = client
        self._who = who
        self._clock = clock
        base = f"{self.prefix}/" if self.prefix else ""
        self.key = f"{base}{stack}/{environment}.json"
        self.lock_key = f"{base}{stack}/{environment}.lock"
        # ETag of the state version this backend last read or wrote; None: there was none.
        self._etag: str | None = None

    def __repr__(self) -> str:
        return f"S3Backend({self.url(self.key)!r})"

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    # -- state --------------------------------------------------------------------------------
    def read(self) -> State:
        try:
            answer = self._call(
                "GetObject",
                self.key,
                lambda: self.client.get_object(Bucket=self.bucket, Key=self.key),
                expected=("NoSuchKey",),
            )
        except _Expected:
            self._etag = None
            return State(self.stack, self.environment)
        body = answer["Body"].read()
        self._etag = str(answer["ETag"])
        return State.from_json(_parse_json(body, self.url(self.key)), self.url(self.key))

    def write(self, state: State) -> None:
        """Write ``state`` only if the object is still the version this backend read.

        A backend that found no state (or never read) expects none: creating it
        cannot silently replace another run's first write either.
        """
        document = {**state.to_json(), "serial": state.serial + 1}
        body = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
        condition = {"IfMatch": self._etag} if self._etag else {"IfNoneMatch": "*"}
        for _ in range(ATTEMPTS):
            try:
                answer = self._put(self.key, body, condition, ("PreconditionFailed", "NoSuchKey"))
            except _Expected as refused:
                if refused.code == "ConditionalRequestConflict":
                    continue  # S3: retry; the same condition still decides
                current = self._current() if refused.code == "PreconditionFailed" else None
                if current is None or current[0] != body:
                    raise self._conflict(refused.code) from None
                # botocore retried a PUT whose first attempt had landed: the object is this write.
                etag = current[1]
            else:
                etag = str(answer["ETag"])
            state.serial += 1
            self._etag = etag
            return
        raise self._conflict("ConditionalRequestConflict")

    def _conflict(self, code: str) -> StateConflictError:
        if code == "NoSuchKey":
            what = "was deleted"
        elif self._etag is None:
            what = "was created by another run"
        else:
            what = "was written by another run"
        return StateConflictError(
            f"state for {self.stack}/{self.environment} at {self.url(self.key)} {what} after this run read it; "
            "nothing was overwritten",
            hint="Another run wrote it without holding the lock (or its lock was cleared with `hookctl state "
            "unlock` while it was running). Plan again: the plan reads the live systems and the current state.",
        )

    def _current(self) -> tuple[bytes, str] | None:
        """The state object's body and ETag as they are now; None if there is none."""
        try:
            answer = self._call(
                "GetObject",
                self.key,
                lambda: self.client.get_object(Bucket=self.bucket, Key=self.key),
                expected=("NoSuchKey",),
            )
        except _Expected:
            return None
        return answer["Body"].read(), str(answer["ETag"])

    # -- lock ---------------------------------------------------------------------------------
    def acquire(self, operation: str) -> LockInfo:
        info = LockInfo(uuid.uuid4().hex[:12], self._who(), operation, self._clock())
        body = json.dumps(info.__dict__, sort_keys=True).encode("utf-8")
        for _ in range(ATTEMPTS):
            try:
                self._put(self.lock_key, body, {"IfNoneMatch": "*"}, ("PreconditionFailed",))
                return info
            except _Expected as refused:
                if refused.code == "ConditionalRequestConflict":
                    continue  # S3: retry; the same condition still decides
            found = self._held()
            if found is None:
                continue  # released between our PUT and our read: try again
            held = found[0]
            if held is not None and held.id == info.id:
                return info  # botocore retried our own PUT after its first attempt had landed
            raise self._locked(held)
        raise LockError(
            f"state for {self.stack}/{self.environment} is locked: other runs kept taking {self.url(self.lock_key)} "
            f"({ATTEMPTS} attempts)",
            hint="Run again when they are done.",
        )

    def _locked(self, held: LockInfo | None) -> LockError:
        if held is None:
            return LockError(
                f"state for {self.stack}/{self.environment} is locked: the lock object {self.url(self.lock_key)} "
                "is unreadable",
                hint=f"If no run is using this state, delete it: `aws s3 rm {self.url(self.lock_key)}`.",
            )
        return LockError(
            f"state for {self.stack}/{self.environment} is locked: {held.describe()}",
            hint=f"If that run is gone, clear it with `hookctl state unlock {held.id}`.",
        )

    def held(self) -> LockInfo | None:
        """The current lock, if any (``None`` also for an unreadable lock object)."""
        found = self._held()
        return found[0] if found else None

    def _held(self) -> tuple[LockInfo | None, str] | None:
        """``None`` when unlocked; else the lock (``None`` if unreadable) and its ETag."""
        try:
            answer = self._call(
                "GetObject",
                self.lock_key,
                lambda: self.client.get_object(Bucket=self.bucket, Key=self.lock_key),
                expected=("NoSuchKey",),
            )
        except _Expected:
            return None
        etag = str(answer["ETag"])
        try:
            data = json.loads(answer["Body"].read())
            info = LockInfo(str(data["id"]), str(data["who"]), str(data["operation"]), float(data["created_at"]))
        except (ValueError, KeyError, TypeError):
            return None, etag
        return info, etag

    def release(self, lock: LockInfo) -> None:
        found = self._held()
        if found is None or found[0] is None or found[0].id != lock.id:
            return  # cleared with `state unlock`, perhaps taken by another run since: not ours to delete
        self._delete_lock(found[1])

    def unlock(self, lock_id: str) -> None:
        found = self._held()
        if found is None:
            raise HookctlError(f"state for {self.stack}/{self.environment} is not locked")
        held, etag = found
        if held is None:
            raise HookctlError(
                f"the lock object {self.url(self.lock_key)} is unreadable",
                hint=f"Make sure no run is using this state, then delete it: `aws s3 rm {self.url(self.lock_key)}`.",
            )
        if held.id != lock_id:
            raise HookctlError(f"lock id {lock_id!r} does not match the current {held.describe()}")
        if not self._delete_lock(etag):
            raise HookctlError(
                f"the lock on {self.stack}/{self.environment} changed while it was being cleared; nothing was deleted",
                hint="Run `hookctl state unlock` again with the id it now reports, if that run is gone too.",
            )

    def _delete_lock(self, etag: str) -> bool:
        """Delete the lock only if it is still the version read (``If-Match``); False if it changed."""
        try:
            self._call(
                "DeleteObject",
                self.lock_key,
                lambda: self.client.delete_object(Bucket=self.bucket, Key=self.lock_key, IfMatch=etag),
                expected=("PreconditionFailed", "NoSuchKey"),
            )
        except _Expected as refused:
            return refused.code == "NoSuchKey"  # already gone is as good as deleted
        return True

    # -- listing ------------------------------------------------------------------------------
    def list(self) -> builtins.list[StateEntry]:
        """Every state under this backend's prefix (all stacks and environments), sorted."""
        return list_s3_states(self.client, self.bucket, self.prefix)

    # -- calls --------------------------------------------------------------------------------
    def _put(self, key: str, body: bytes, condition: dict[str, str], expected: Iterable[str]) -> Any:
        extra: dict[str, Any] = {**condition, **self._encryption()}
        return self._call(
            "PutObject",
            key,
            lambda: self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", **extra
            ),
            expected=(*expected, "ConditionalRequestConflict"),
        )

    def _encryption(self) -> dict[str, str]:
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        return {"ServerSideEncryption": "AES256"}

    def _call(self, call: str, key: str, fn: Callable[[], T], *, expected: Iterable[str] = ()) -> T:
        return _call(call, self.url(key), fn, expected=expected)


def _call(call: str, resource: str, fn: Callable[[], T], *, expected: Iterable[str] = ()) -> T:
    """Run one S3 call; codes in ``expected`` raise ``_Expected``, any other failure a ``ProviderError``."""
    try:
        return fn()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Error")
        if code in expected:
            raise _Expected(code) from None
        # S3's messages name the key and the condition at most; the request body is never echoed.
        message = str(error.get("Message") or "").strip()
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = f"{code}: {message}" if message else code
        raise ProviderError(PROVIDER, call, resource, detail, hint=_HINTS.get(code), status=status) from None
    except ParamValidationError:
        # Its text quotes the parameters, the body among them.
        raise ProviderError(
            PROVIDER,
            call,
            resource,
            "the request did not pass botocore's validation",
            hint="This is a hookctl bug; rerun with --debug and report it.",
        ) from None
    except BotoCoreError as exc:  # no credentials, endpoint unreachable, …
        raise ProviderError(PROVIDER, call, resource, f"{type(exc).__name__}: {exc}") from None


def _parse_json(body: bytes, where: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise HookctlError(f"{where}: state file is not valid JSON ({exc})") from None


def list_s3_states(client: S3Client, bucket: str, prefix: str) -> list[StateEntry]:
    """Every ``<stack>/<environment>.json`` directly under ``prefix``; one GetObject each, for the serial.

    Reading needs no key id: S3 decrypts SSE-KMS objects for callers allowed ``kms:Decrypt``.
    """
    base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    where = f"s3://{bucket}/{base}"
    states: dict[tuple[str, str], tuple[str, datetime.datetime]] = {}
    locks: set[tuple[str, str]] = set()

    def listing() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
            found.extend(dict(item) for item in page.get("Contents", []))
        return found

    for item in _call("ListObjectsV2", where, listing):
        parts = str(item["Key"])[len(base) :].split("/")
        if len(parts) != 2 or not parts[0]:
            continue
        stack, name = parts
        if name.endswith(".json") and len(name) > 5:
            states[(stack, name[:-5])] = (str(item["Key"]), item["LastModified"])
        elif name.endswith(".lock") and len(name) > 5:
            locks.add((stack, name[:-5]))

    def document(key: str) -> bytes:
        return _call("GetObject", f"s3://{bucket}/{key}", lambda: client.get_object(Bucket=bucket, Key=key))[
            "Body"
        ].read()

    entries: list[StateEntry] = []
    for (stack, environment), (key, modified) in sorted(states.items()):
        url = f"s3://{bucket}/{key}"
        state = State.from_json(_parse_json(document(key), url), url)
        entries.append(StateEntry(stack, environment, state.serial, _utc(modified), (stack, environment) in locks, url))
    return entries


def list_local_states(directory: str) -> list[StateEntry]:
    """Every ``<stack>/<environment>.json`` of a local state directory."""
    entries: list[StateEntry] = []
    if not os.path.isdir(directory):
        return entries
    for stack in sorted(os.listdir(directory)):
        folder = os.path.join(directory, stack)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".json") or len(name) <= 5:
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as fh:
                state = State.from_json(_parse_json(fh.read().encode("utf-8"), path), path)
            environment = name[:-5]
            modified = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.UTC)
            locked = os.path.exists(os.path.join(folder, f"{environment}.lock"))
            entries.append(StateEntry(stack, environment, state.serial, modified, locked, path))
    return entries


def _utc(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC) if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromisoformat(str(value)).astimezone(datetime.UTC)


# -- URLs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str
    kms_key_id: str | None


def parse_state_url(url: str) -> S3Location | str:
    """``s3://bucket[/prefix][?kms_key_id=KEY]`` → ``S3Location``; ``file://PATH`` or a plain path → the path."""
    text = url.strip()
    if not text:
        raise HookctlError("the state URL is empty", hint="Use s3://BUCKET/PREFIX or a directory.")
    if "://" not in text:
        if _SCHEME_ONLY.match(text):  # "s3:bucket/x", "s3:/bucket": a URL gone wrong, not a directory
            raise HookctlError(f"state URL {url!r}: expected SCHEME://…", hint="Use s3://BUCKET/PREFIX or a directory.")
        return text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment or not parts.path:
            raise HookctlError(f"state URL {url!r}: a file URL is file:///absolute/path")
        return parts.path
    if scheme != "s3":
        raise HookctlError(
            f"state URL {url!r}: unsupported scheme {parts.scheme!r}", hint="Use s3://BUCKET/PREFIX or a directory."
        )
    bucket = parts.netloc
    if not bucket:
        raise HookctlError(f"state URL {url!r} names no bucket", hint="Use s3://BUCKET/PREFIX.")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise HookctlError(
            f"state URL {url!r}: {bucket!r} is not a valid S3 bucket name",
            hint="Bucket names are 3-63 lower-case letters, digits, dots and hyphens.",
        )
    if parts.fragment:
        raise HookctlError(f"state URL {url!r}: a fragment (#…) has no meaning here")
    prefix = parts.path.strip("/")
    if "//" in prefix:
        raise HookctlError(f"state URL {url!r}: the prefix has an empty path segment")
    try:
        options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise HookctlError(f"state URL {url!r}: the query is not key=value pairs") from None
    unknown = sorted(set(options) - _URL_OPTIONS)
    if unknown:
        raise HookctlError(
            f"state URL {url!r}: unknown option {', '.join(unknown)}",
            hint=f"Known: {', '.join(sorted(_URL_OPTIONS))}.",
        )
    kms = options.get("kms_key_id", [None])
    if len(kms) != 1 or kms[0] == "":
        raise HookctlError(f"state URL {url!r}: kms_key_id needs exactly one non-empty value")
    return S3Location(bucket, prefix, kms[0])


def default_client() -> S3Client:
    """An S3 client from boto3's standard chain; ``AWS_REGION`` wins over ``AWS_DEFAULT_REGION`` / config."""
    import boto3  # deferred: commands that need no AWS start faster

    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
    return session.client("s3")


def backend_from_url(url: str, stack: str, environment: str, *, client: S3Client | None = None) -> Backend:
    """``s3://bucket/prefix`` → ``S3Backend``; a directory (or ``file://``) → ``LocalBackend``."""
    where = parse_state_url(url)
    if isinstance(where, str):
        return LocalBackend(where, stack, environment)
    return S3Backend(
        where.bucket,
        where.prefix,
        stack,
        environment,
        client=client or default_client(),
        kms_key_id=where.kms_key_id,
    )


def list_states(url: str, *, client: S3Client | None = None) -> list[StateEntry]:
    """Every state under a state URL or directory (``hookctl state list``)."""
    where = parse_state_url(url)
    if isinstance(where, str):
        return list_local_states(where)
    return list_s3_states(client or default_client(), where.bucket, where.prefix)
