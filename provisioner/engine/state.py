"""State: what hookctl cannot read back live, per stack and environment.
Engine: the state the plan reads and the apply stage records, kept in a local folder.

Holds the managed resources (ids, ARNs), per secret a digest keyed with the
state's own random key and the last seen ``updated_at`` — never a value. The
key never leaves the state (plans carry only its id), so the state must stay
as private as the credentials that read it. A backend stores the
document and a lock; the local file backend keeps both under ``.hookctl/``.
I/O: the state directory only.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets as _random
import socket
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import HookctlError, LockError


class StateWriteError(HookctlError):
    """The state could not be written; what was applied before is then not recorded."""


STATE_FORMAT = "hookctl-state"
STATE_VERSION = 1


@dataclass
class State:
    stack: str
    environment: str
    salt: str = field(default_factory=lambda: _random.token_hex(16))  # legacy scrypt hashes only
    serial: int = 0
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    digest_key: str = field(default_factory=lambda: _random.token_hex(32), repr=False)
    key_recorded: bool = False  # the digest key was read from the backend, not made up by this run

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "format_version": STATE_VERSION,
            "stack": self.stack,
            "environment": self.environment,
            "salt": self.salt,
            "digest_key": self.digest_key,
            "serial": self.serial,
            "resources": self.resources,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> State:
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise HookctlError(f"{where} is not a hookctl state file")
        if data.get("format_version") != STATE_VERSION:
            raise HookctlError(f"{where}: state format {data.get('format_version')!r}, expected {STATE_VERSION}")
        resources = data.get("resources", {})
        if not isinstance(resources, dict) or not all(isinstance(v, dict) for v in resources.values()):
            raise HookctlError(
                f"{where}: `resources` is not a mapping of resource addresses to objects; "
                "the state file was edited or damaged",
                hint="Restore it from a backup (or from the S3 bucket's versions), or remove it to plan from scratch.",
            )
        try:
            state = cls(
                stack=str(data["stack"]),
                environment=str(data["environment"]),
                salt=str(data.get("salt") or ""),
                serial=int(data.get("serial", 0)),
                resources=dict(resources),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HookctlError(f"{where}: malformed state file ({type(exc).__name__}: {exc})") from None
        key = data.get("digest_key")
        if isinstance(key, str) and key:
            state.digest_key, state.key_recorded = key, True
        return state

    def patch(self, address: str, values: dict[str, Any] | None) -> None:
        """Merge ``values`` into a resource's entry; ``None`` forgets the resource."""
        if values is None:
            self.resources.pop(address, None)
            return
        entry = self.resources.setdefault(address, {})
        for key, value in values.items():
            if value is None:
                entry.pop(key, None)
            elif isinstance(value, dict) and isinstance(entry.get(key), dict):
                entry[key] = {**entry[key], **value}
            else:
                entry[key] = value


@dataclass(frozen=True)
class LockInfo:
    id: str
    who: str
    operation: str
    created_at: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.created_at))
        return f"lock {self.id} held by {self.who} ({self.operation}) since {when}"


class Backend(ABC):
    @abstractmethod
    def read(self) -> State: ...

    @abstractmethod
    def write(self, state: State) -> None: ...

    @abstractmethod
    def acquire(self, operation: str) -> LockInfo: ...

    @abstractmethod
    def release(self, lock: LockInfo) -> None: ...

    @abstractmethod
    def unlock(self, lock_id: str) -> None: ...

    @contextlib.contextmanager
    def locked(self, operation: str) -> Iterator[LockInfo]:
        lock = self.acquire(operation)
        try:
            yield lock
        except BaseException:
            # Releasing is best effort when the run already failed: its own error is the one to see.
            with contextlib.suppress(Exception):
                self.release(lock)
            raise
        self.release(lock)


def whoami() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


class LocalBackend(Backend):
    """``<dir>/<stack>/<environment>.json`` with an ``O_EXCL`` lock file beside it."""

    def __init__(self, directory: str, stack: str, environment: str) -> None:
        self.stack = stack
        self.environment = environment
        self.dir = os.path.join(directory, stack)
        self.path = os.path.join(self.dir, f"{environment}.json")
        self.lock_path = os.path.join(self.dir, f"{environment}.lock")

    def read(self) -> State:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return State(self.stack, self.environment)
        except ValueError as exc:
            raise HookctlError(f"{self.path}: state file is not valid JSON ({exc})") from None
        return State.from_json(data, self.path)

    def write(self, state: State) -> None:
        """Atomically: a temporary file beside the state, synced, then renamed over it. On any
        failure (a full disk) the temporary file is removed and the old state is left whole."""
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(self.dir, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({**state.to_json(), "serial": state.serial + 1}, fh, indent=2, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise StateWriteError(f"cannot write state {self.path}: {exc.strerror or exc}") from None
        state.serial += 1

    def acquire(self, operation: str) -> LockInfo:
        os.makedirs(self.dir, exist_ok=True)
        info = LockInfo(uuid.uuid4().hex[:12], whoami(), operation, time.time())
        try:
            fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            held = self._held()
            holder = held.describe() if held else "unreadable lock"
            raise LockError(
                f"state for {self.stack}/{self.environment} is locked: {holder}",
                hint=f"If that run is gone, clear it with `hookctl state unlock {held.id if held else '<id>'}`.",
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(info.__dict__, fh)
        return info

    def _held(self) -> LockInfo | None:
        try:
            with open(self.lock_path, encoding="utf-8") as fh:
                data = json.load(fh)
            return LockInfo(str(data["id"]), str(data["who"]), str(data["operation"]), float(data["created_at"]))
        except (OSError, ValueError, KeyError):
            return None

    def release(self, lock: LockInfo) -> None:
        held = self._held()
        if held is not None and held.id == lock.id:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.lock_path)

    def unlock(self, lock_id: str) -> None:
        held = self._held()
        if held is None:
            raise HookctlError(f"state for {self.stack}/{self.environment} is not locked")
        if held.id != lock_id:
            raise HookctlError(f"lock id {lock_id!r} does not match the current {held.describe()}")
        os.remove(self.lock_path)
