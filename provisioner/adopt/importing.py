"""The live Auth0 tenant and Cognito pools read into snapshots; an import written to disk.
Adopt: hookctl import, reading live systems through the providers' clients.

``hookctl import`` and ``hookctl adopt`` bring an Auth0 tenant's actions and Cognito pools'
Lambda triggers under hookctl, in these steps (module: input → output, I/O):

    read     importing: provider clients (read-only)  → Auth0Snapshot, CognitoSnapshot   (provider APIs)
    import   stackfile: snapshots + Selection         → Imported                         (none: pure)
    files    stackfile: Imported                      → stack file + template texts      (none: pure)
    write    importing: files                         → disk, after proving that load +
                                                        render reproduce the live code    (a temp dir, the stack dir)
    adopt    adoption:  the written stack             → the one-time writes that make
                                                        ownership real, then an empty plan (provider APIs, state)

Every API call goes through the providers' clients (``Auth0Client``,
``LambdaCognitoClient``): nothing here imports an SDK.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..engine.errors import HookctlError
from ..engine.load import NAME_RE, load_stack
from ..engine.render import render_all
from ..providers.cognito.plan import pool_entries
from .stackfile import (
    Auth0Snapshot,
    CognitoSnapshot,
    FunctionCode,
    Imported,
    Selection,
    import_files,
)

if TYPE_CHECKING:
    from ..providers.auth0.client import Auth0Client
    from ..providers.cognito.client import LambdaCognitoClient

# hookctl can upload at most this much in one request (MAX_DIRECT_UPLOAD of the Cognito client): a
# bigger function could not be adopted anyway, so it is not downloaded.
MAX_ZIP_BYTES = 50 * 1024 * 1024
DOWNLOAD_TIMEOUT = 60


def read_auth0(client: Auth0Client, domain: str) -> Auth0Snapshot:
    """Triggers, every action and the bindings of every trigger-bound trigger that has actions: 2 + K reads."""
    triggers = client.list_triggers()
    actions = client.list_actions()
    bound = {
        a.trigger for a in actions if a.trigger in triggers and triggers[a.trigger].binding_policy != "entity-bound"
    }
    bindings = client.list_bindings_of(bound) if bound else {}
    return Auth0Snapshot(
        domain=domain,
        triggers=dict(triggers),
        actions=tuple(actions),
        bindings={t: tuple(b) for t, b in bindings.items()},
    )


Fetch = Callable[[str, str], bytes]  # (Code.Location, resource) -> zip bytes


def read_cognito(
    client: LambdaCognitoClient,
    pools: Mapping[str, str],
    selection: Selection,
    fetch: Fetch | None = None,
) -> CognitoSnapshot:
    """The pools, every function of the region, and tags and code of the selected functions serving them.

    Reads: one DescribeUserPool per pool, one paginated ListFunctions, then per selected
    function one ListTags, one GetFunction and one download of its package.
    """
    described: dict[str, Mapping[str, Any]] = {}
    for name, pool_id in pools.items():
        pool = client.describe_pool(pool_id, f"pool {name} ({pool_id})")
        assert pool is not None
        described[name] = pool
    listed = client.list_functions()
    by_arn = {str(cfg["FunctionArn"]): cfg for cfg in listed}
    chosen: dict[str, Mapping[str, Any]] = {}
    for view in described.values():
        for entry in pool_entries(view.get("LambdaConfig") or {}).values():
            serving = by_arn.get(str(entry["lambda_arn"]))
            if serving is not None and selection.wants(str(serving["FunctionName"])):
                chosen[str(serving["FunctionName"])] = serving
    tags: dict[str, Mapping[str, str]] = {}
    code: dict[str, FunctionCode] = {}
    for name, cfg in sorted(chosen.items()):
        resource = f"function {name}"
        tags[name] = client.list_tags(str(cfg["FunctionArn"]), resource)
        if cfg.get("PackageType", "Zip") != "Zip" or int(cfg.get("CodeSize") or 0) > MAX_ZIP_BYTES:
            code[name] = FunctionCode(None)  # refused by the import with the reason; not downloaded
            continue
        try:
            code[name] = FunctionCode(download_function(client, name, resource, fetch))
        except HookctlError as exc:
            code[name] = FunctionCode(None, f"could not download its code: {exc.message}")
    return CognitoSnapshot(
        region=client.region,
        pools=described,
        functions=tuple(listed),
        tags=tags,
        code=code,
    )


def download_function(client: LambdaCognitoClient, name: str, resource: str, fetch: Fetch | None = None) -> bytes:
    """A function's deployment package: GetFunction, then its ``Code.Location``."""
    location = client.function_code_location(name, resource)
    if fetch:
        return fetch(location, resource)
    return client.download_package(location, resource, max_bytes=MAX_ZIP_BYTES, timeout=DOWNLOAD_TIMEOUT)


# =============================================================================================
# Writing the files


def write_import(imported: Imported, stack_path: str, *, force: bool = False) -> list[str]:
    """Prove the files reproduce the live setup, then write them; refuses to overwrite without ``force``."""
    files = import_files(imported, stack_path)
    existing = sorted(p for p in files if os.path.lexists(p))
    if existing and not force:
        raise HookctlError(
            f"refusing to overwrite {', '.join(existing)}",
            hint="Pass --force to replace them, or choose another stack file with -s.",
        )
    verify_import(imported, files, stack_path)
    for path, text in files.items():
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    return list(files)


def verify_import(imported: Imported, files: Mapping[str, str], stack_path: str) -> None:
    """Load and render the files in a scratch copy: every entry must come back as read live."""
    stack_dir = os.path.dirname(stack_path) or "."
    scratch = tempfile.mkdtemp(prefix="hookctl-import-")
    try:
        for path, text in files.items():
            target = os.path.join(scratch, os.path.relpath(path, stack_dir))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        stack = load_stack(os.path.join(scratch, os.path.relpath(stack_path, stack_dir)), imported.environment)
        rendered = {r.address: r.source for r in render_all(stack)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    wrong: list[str] = []
    for a in imported.actions:
        got = next((x for x in stack.actions if x.name == a.name), None)
        same = got is not None and (got.trigger, got.runtime, dict(got.dependencies)) == (
            a.trigger,
            a.runtime,
            dict(a.dependencies),
        )
        if not same or rendered.get(a.address) != a.code:
            wrong.append(a.address)
    for f in imported.functions:
        fn = next((x for x in stack.functions if x.name == f.name), None)
        same = fn is not None and (
            fn.runtime,
            fn.handler,
            fn.role,
            fn.timeout,
            fn.memory,
            fn.description,
            dict(fn.environment),
        ) == (f.runtime, f.handler, f.role, f.timeout, f.memory, f.description, dict(f.environment))
        if not same or rendered.get(f.address) != f.code:
            wrong.append(f.address)
    order = {tb.trigger: list(tb.actions) for tb in stack.bindings}
    wrong.extend(f"auth0.trigger.{t}" for t, names in imported.bindings.items() if order.get(t) != names)
    if wrong:
        raise HookctlError(
            f"internal error: the written stack would not reproduce {', '.join(wrong)}; nothing was written",
            hint="This is a hookctl bug; rerun with --debug and report it.",
        )


def missing_env(imported: Imported, environ: Mapping[str, str] | None = None) -> list[str]:
    """Environment variables the imported secrets read that are not set (names only)."""
    env = os.environ if environ is None else environ
    return sorted({var for var, _ in imported.env_secrets if not env.get(var)})


def parse_pools(values: Iterable[str]) -> dict[str, str]:
    """``NAME=POOL_ID`` pairs (``--pool``), checked."""
    pools: dict[str, str] = {}
    for value in values:
        name, sep, pool_id = value.partition("=")
        if not sep or not NAME_RE.match(name) or not re.match(r"^[\w-]+_[0-9a-zA-Z]+\Z", pool_id):
            raise HookctlError(
                f"--pool takes NAME=POOL_ID (like main=eu-west-1_AbC123), got {value!r}",
            )
        if name in pools:
            raise HookctlError(f"--pool names {name!r} twice")
        pools[name] = pool_id
    return pools


__all__ = [
    "MAX_ZIP_BYTES",
    "download_function",
    "missing_env",
    "parse_pools",
    "read_auth0",
    "read_cognito",
    "verify_import",
    "write_import",
]
