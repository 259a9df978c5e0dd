"""Secret references → values, wrapped so they cannot be printed.
Engine: stage 3 of the pipeline (secrets).

Input: ``SecretRef`` (env, file, AWS Secrets Manager, SSM). Output: ``Secret``
whose ``repr``/``str`` is ``****``. I/O: environment, local files, and AWS
(Secrets Manager / SSM, through boto3 in ``secrets_aws``) for the remote sources.

Values never leave this module except through ``Secret.reveal()``, which only
the executor calls when it hands a value to a provider. Comparisons use a
digest keyed with a random key kept in the state (HMAC-SHA256), so state and
plan files can tell "changed" from "unchanged" without holding the value, and
a plan file that leaks (a CI artifact) allows no offline guessing: the key is
never in a plan.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InputError, Problem, SecretUnavailable
from .model import SecretRef

MAX_SECRET_FILE_BYTES = 64 * 1024
# scrypt parameters of the legacy hashes (states written before digest keys): read only, to migrate.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class Secret:
    """A secret value that prints as ``****``."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.name!r}, '****')"

    def __str__(self) -> str:
        return "****"

    def __format__(self, spec: str) -> str:
        return "****"

    def __reduce__(self) -> Any:  # never pickled into anything
        raise TypeError("secrets cannot be serialised")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("secret", self.name))


DIGEST_PREFIX = "hmac-sha256$"
LEGACY_PREFIX = "scrypt$"
_HASH_CACHE: dict[tuple[str, str], str] = {}


def secret_hash(value: str, key: str) -> str:
    """``hmac-sha256$<base64>`` of the value under the state's digest key (``State.digest_key``)."""
    mac = hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).digest()
    return DIGEST_PREFIX + base64.b64encode(mac).decode()


def key_id(key: str) -> str:
    """Names a digest key without revealing it: a plan records which key its digests were made with."""
    return hmac.new(key.encode("utf-8"), b"hookctl digest key id", hashlib.sha256).hexdigest()[:16]


def legacy_hash(value: str, salt: str) -> str:
    """``scrypt$<base64>``: how states written before digest keys recorded a secret (salt public)."""
    cache = (salt, hashlib.sha256(value.encode()).hexdigest())
    cached = _HASH_CACHE.get(cache)
    if cached is None:
        digest = hashlib.scrypt(value.encode("utf-8"), salt=salt.encode(), n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
        cached = LEGACY_PREFIX + base64.b64encode(digest).decode()
        _HASH_CACHE[cache] = cached
    return cached


def migrate_legacy_digests(
    resources: dict[str, dict[str, Any]], secrets: Mapping[tuple[str, str], Secret], salt: str, key: str
) -> None:
    """Re-key, in memory, the secret hashes an older state recorded with its public salt: a value
    that still matches is recorded under the digest key, so upgrading shows no false change."""
    for (address, name), secret in secrets.items():
        recorded = (resources.get(address) or {}).get("secrets")
        entry = recorded.get(name) if isinstance(recorded, dict) else None
        legacy = isinstance(entry, dict) and str(entry.get("hash", "")).startswith(LEGACY_PREFIX)
        if legacy and salt and isinstance(entry, dict) and legacy_hash(secret.reveal(), salt) == entry["hash"]:
            entry["hash"] = secret_hash(secret.reveal(), key)


Fetcher = Callable[[SecretRef], str]


@dataclass
class SecretResolver:
    """Resolves references; remote fetchers are injected (``aws_fetcher``) and lazy."""

    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    base_dir: str = "."
    region: str | None = None  # for Secrets Manager / SSM; default: boto3's chain
    aws_fetcher: Fetcher | None = None
    _cache: dict[tuple[str, str, str | None], Secret] = field(default_factory=dict)

    def resolve(self, ref: SecretRef) -> Secret:
        key = (ref.source, ref.locator, ref.key)
        if key not in self._cache:
            self._cache[key] = Secret(ref.name, self._fetch(ref))
        cached = self._cache[key]
        return cached if cached.name == ref.name else Secret(ref.name, cached.reveal())

    def check_local(self, ref: SecretRef) -> Problem | None:
        """Is a local source (env, file) present? Remote ones are checked at plan time."""
        try:
            if ref.source in ("env", "file"):
                self._fetch(ref)
        except SecretUnavailable as exc:
            return Problem(ref.origin.file, ref.origin.line, ref.origin.field, str(exc))
        return None

    def resolve_all(self, refs: Iterable[SecretRef]) -> dict[tuple[str, str], Secret]:
        """Every reference, reporting all missing sources at once. Keyed by (locator key, name)."""
        problems: list[Problem] = []
        values: dict[tuple[str, str], Secret] = {}
        for ref in refs:
            try:
                values[(ref.origin.field, ref.name)] = self.resolve(ref)
            except SecretUnavailable as exc:
                problems.append(Problem(ref.origin.file, ref.origin.line, ref.origin.field, str(exc)))
        if problems:
            raise InputError(problems, hint="A secret's source must exist when you plan or apply.")
        return values

    def _fetch(self, ref: SecretRef) -> str:
        if ref.source == "env":
            value = self.environ.get(ref.locator)
            if value is None or value == "":
                raise SecretUnavailable(f"environment variable {ref.locator} is not set")
            return value
        if ref.source == "file":
            path = ref.locator if os.path.isabs(ref.locator) else os.path.join(self.base_dir, ref.locator)
            try:
                with open(path, "rb") as fh:
                    data = fh.read(MAX_SECRET_FILE_BYTES + 1)
            except OSError as exc:
                raise SecretUnavailable(f"cannot read secret file {ref.locator}: {exc.strerror}") from None
            if len(data) > MAX_SECRET_FILE_BYTES:
                raise SecretUnavailable(f"secret file {ref.locator} is larger than 64 KiB")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                # Position only: the bytes around it are the secret.
                where = f"invalid byte at offset {exc.start}"
                raise SecretUnavailable(f"secret file {ref.locator} is not UTF-8 text ({where})") from None
            return text.rstrip("\n")
        if self.aws_fetcher is None:
            from .secrets_aws import aws_fetcher  # deferred: boto3 only for remote sources

            self.aws_fetcher = aws_fetcher(self.region)
        try:
            return self.aws_fetcher(ref)
        except SecretUnavailable:
            raise
        except Exception as exc:  # SDK errors carry no secret values; keep only their class and code
            raise SecretUnavailable(f"cannot read {ref.describe()}: {type(exc).__name__}") from None
