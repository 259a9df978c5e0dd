"""Live snapshots to the stack entries, stack file and template texts that reproduce them.
Adopt: hookctl import's pure half, from what the read step found to the files it writes.

    import   Auth0Snapshot, CognitoSnapshot + Selection  → Imported (or NotImportable, naming
                                                           everything that cannot be expressed)
    files    Imported                                    → stack file + template texts

No I/O here: no API, no file, no clock. ``importing`` reads the live systems into the
snapshots and writes these texts to disk; ``adoption`` reuses ``handler_source`` to read a
function's package again.

Why this module stays over 800 lines: it is one pure step, and most of it is the list of
reasons a live action or function cannot become a stack entry (each a check and the message
that names the field), the heuristic that keeps secret-looking values out of the stack file,
and the YAML/Jinja writing they feed. Split further, the checks would sit apart from the
entries they guard and from the texts that must reproduce them byte for byte.
"""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import hashlib
import io
import math
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine import catalog
from ..engine.errors import HookctlError
from ..engine.load import ENV_NAME_RE, NAME_RE, NPM_VERSION_RE, SECRET_NAME_RE
from ..providers.auth0.plan import MARKER_RE, LiveAction, LiveBinding, TriggerInfo, marker
from ..providers.cognito.plan import (
    MAX_DESCRIPTION,
    SECRET_ENV_PREFIX,
    SENDER_TRIGGERS,
    TAG_FUNCTION,
    TAG_MANAGED,
    TAG_STACK,
    Names,
    pool_entries,
    split_marker,
    with_marker,
)

MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's own limit; guards against zip bombs
NODE_SUFFIXES = (".js", ".mjs", ".cjs")  # the order Lambda's Node.js runtime tries them in
HANDLER_RE = re.compile(r"^[A-Za-z_][\w/-]*\.[A-Za-z_]\w*\Z")  # what load accepts

# Lambda settings hookctl neither reads nor writes: adoption keeps them as they are, but the
# stack cannot say so (and a function hookctl recreates would not have them).
UNMANAGED_SETTINGS = {
    "Layers": "layers",
    "VpcConfig": "a VPC configuration",
    "DeadLetterConfig": "a dead-letter queue",
    "KMSKeyArn": "a customer-managed KMS key for its environment",
    "FileSystemConfigs": "an EFS file system",
}

# Environment variable names an imported secret must not read its value from: a shell always
# has them (PATH, HOME), or they configure hookctl and its tools.
RESERVED_ENV = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "PWD",
        "OLDPWD",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TMPDIR",
        "TEMP",
        "TMP",
        "TZ",
        "HOSTNAME",
        "EDITOR",
        "PAGER",
        "DISPLAY",
        "MAIL",
        "CI",
        "NO_COLOR",
    }
)
RESERVED_ENV_PREFIXES = (
    "AWS_",
    "AUTH0_",
    "HOOKCTL_",
    "LC_",
    "PYTHON",
    "NODE_",
    "NPM_",
    "PIP_",
    "SSL_",
    "XDG_",
    "GIT_",
    "GITHUB_",
    "GITLAB_",
    "RUNNER_",
)


class NotImportable(HookctlError):
    """Some selected resources cannot be expressed as a stack entry; nothing was written."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {what}: {why}" for what, why in self.problems)
        count = len(self.problems)
        super().__init__(
            f"cannot import {count} selected resource{'s' if count != 1 else ''}; nothing was written:\n{lines}",
            hint="Fix them in the live system first, or leave them out with --select '!NAME'.",
        )


# =============================================================================================
# Selection


@dataclass(frozen=True)
class Selection:
    """What to adopt and how to treat a Lambda function's environment variables."""

    # Shell-style patterns against the action's or Lambda function's name; "!PATTERN" leaves out.
    # No including pattern: everything (but what is left out).
    patterns: tuple[str, ...] = ()
    plain: frozenset[str] = frozenset()  # environment variable names to keep plain even if they look secret
    secret: frozenset[str] = frozenset()  # environment variable names to treat as secrets anyway

    def wants(self, name: str) -> bool:
        include = [p for p in self.patterns if not p.startswith("!")]
        exclude = [p[1:] for p in self.patterns if p.startswith("!")]
        if any(fnmatch.fnmatchcase(name, p) for p in exclude):
            return False
        return not include or any(fnmatch.fnmatchcase(name, p) for p in include)


# =============================================================================================
# Snapshots: what the read step found (plain values; the import below is pure)


@dataclass(frozen=True)
class Auth0Snapshot:
    domain: str
    triggers: Mapping[str, TriggerInfo]
    actions: tuple[LiveAction, ...]
    bindings: Mapping[str, tuple[LiveBinding, ...]]  # trigger -> ordered bindings


@dataclass(frozen=True)
class FunctionCode:
    """A selected function's deployment package, or why it could not be read."""

    data: bytes | None
    error: str = ""


@dataclass(frozen=True)
class CognitoSnapshot:
    region: str
    pools: Mapping[str, Mapping[str, Any]]  # pool name -> DescribeUserPool
    functions: tuple[Mapping[str, Any], ...]  # ListFunctions
    tags: Mapping[str, Mapping[str, str]]  # function name -> tags (selected functions only)
    code: Mapping[str, FunctionCode]  # function name -> zip (selected functions only)


# =============================================================================================
# The imported model (pure)


@dataclass(frozen=True)
class SecretDecl:
    """A secret as the stack declares it: a name and where its value comes from. Never the value."""

    name: str
    source: str  # env | secretsmanager | ssm
    locator: str
    key: str | None = None

    def yaml(self) -> dict[str, str]:
        spec = {self.source: self.locator}
        if self.key:
            spec["key"] = self.key
        return spec


@dataclass(frozen=True)
class ImportedAction:
    name: str
    trigger: str
    runtime: str
    dependencies: tuple[tuple[str, str], ...]
    secrets: tuple[SecretDecl, ...]
    code: str  # without hookctl's marker

    @property
    def address(self) -> str:
        return f"auth0.action.{self.name}"


@dataclass(frozen=True)
class ImportedTrigger:
    pool: str
    trigger: str
    lambda_version: str | None = None
    kms_key_id: str | None = None


@dataclass(frozen=True)
class ImportedFunction:
    name: str  # logical: the physical name is <stack>-<environment>-<name>, or function_name
    physical: str
    runtime: str
    handler: str
    role: str
    timeout: int
    memory: int
    description: str
    environment: tuple[tuple[str, str], ...]  # plain variables only
    secrets: tuple[SecretDecl, ...]
    triggers: tuple[ImportedTrigger, ...]
    code: str
    suffix: str  # .js .mjs .cjs .py
    function_name: str | None = None  # the Lambda name, when it is not <stack>-<environment>-<name>

    @property
    def address(self) -> str:
        return f"cognito.function.{self.name}"


@dataclass
class Imported:
    stack: str
    environment: str
    auth0_domain: str | None = None
    region: str | None = None
    pools: dict[str, str] = field(default_factory=dict)
    actions: list[ImportedAction] = field(default_factory=list)
    bindings: dict[str, list[str]] = field(default_factory=dict)  # trigger -> imported actions in live order
    functions: list[ImportedFunction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings worth reading; never a value

    @property
    def kept_plain(self) -> list[tuple[str, str]]:
        """(variable, address) of every Lambda variable imported as plain: its value is in the stack."""
        return [(key, f.address) for f in self.functions for key, _value in f.environment]

    @property
    def env_secrets(self) -> list[tuple[str, str]]:
        """(environment variable, what it is for) of every env-sourced secret."""
        rows: list[tuple[str, str]] = []
        entries: list[ImportedAction | ImportedFunction] = [*self.actions, *self.functions]
        for entry in entries:
            rows.extend((s.locator, f"secret {s.name} of {entry.address}") for s in entry.secrets if s.source == "env")
        return rows

    def template_name(self, entry: ImportedAction | ImportedFunction) -> str:
        if isinstance(entry, ImportedAction):
            return f"imported/{self.stack}/auth0/{entry.name}.js.j2"
        return f"imported/{self.stack}/cognito/{entry.name}{entry.suffix}.j2"


def import_live(
    stack: str,
    environment: str,
    auth0: Auth0Snapshot | None,
    cognito: CognitoSnapshot | None,
    selection: Selection = Selection(),
) -> Imported:
    """The stack entries that reproduce the selected live resources; raises ``NotImportable``
    naming everything that cannot be expressed (all of it at once)."""
    problems: list[tuple[str, str]] = []
    for label, value in (("stack name", stack), ("environment", environment)):
        if not NAME_RE.match(value):
            problems.append((label, f"{value!r}: names are 1-64 letters, digits, '.', '_' or '-'"))
    if problems:
        raise NotImportable(problems)
    imported = Imported(stack, environment)
    if auth0 is not None:
        imported.auth0_domain = auth0.domain
        _import_auth0(imported, auth0, selection, problems)
    if cognito is not None:
        imported.region = cognito.region
        _import_cognito(imported, cognito, selection, problems)
    if problems:
        raise NotImportable(problems)
    _name_env_sources(imported)
    if not imported.actions and not imported.functions:
        where = " matching " + ", ".join(selection.patterns) if selection.patterns else ""
        raise HookctlError(
            f"nothing to import: no Auth0 action or pool trigger function{where}",
            hint="Check --select, and for Cognito name the pools with --pool NAME=POOL_ID.",
        )
    return imported


# -- Auth0 -------------------------------------------------------------------------------------


def _import_auth0(
    imported: Imported, snap: Auth0Snapshot, selection: Selection, problems: list[tuple[str, str]]
) -> None:
    own = marker(imported.stack, imported.environment)
    by_id = {a.id: a for a in snap.actions}
    chosen = sorted((a for a in snap.actions if selection.wants(a.name)), key=lambda a: a.name)
    accepted: dict[str, ImportedAction] = {}
    for action in chosen:
        where = f"auth0.action.{action.name}"
        why = _action_problem(action, snap.triggers, own)
        if why:
            problems.append((where, why))
            continue
        if action.deployed_number is None:
            imported.notes.append(f"{where}: never deployed; adopting deploys it (it is bound to nothing)")
        code = action.code[len(own) :] if action.code.startswith(own) else action.code
        accepted[action.name] = ImportedAction(
            name=action.name,
            trigger=action.trigger,
            runtime=action.runtime,
            dependencies=tuple(sorted(action.dependencies.items())),
            secrets=tuple(SecretDecl(n, "env", n) for n in sorted(action.secrets)),
            code=code,
        )
    order: dict[str, list[str]] = {}
    for trigger in sorted({a.trigger for a in accepted.values()}):
        names = [
            by_id[b.action_id].name if b.action_id in by_id else b.action_name for b in snap.bindings.get(trigger, ())
        ]
        bound = [n for n in names if n in accepted]
        twice = sorted({n for n in bound if bound.count(n) > 1})
        for name in twice:
            problems.append((f"auth0.action.{name}", f"is bound to {trigger} more than once; a stack binds it once"))
        order[trigger] = bound

    def rank(a: ImportedAction) -> tuple[str, int, int]:
        # Bound actions first, in execution order; then the unbound ones (already by name).
        bound = order[a.trigger]
        return (a.trigger, 0, bound.index(a.name)) if a.name in bound else (a.trigger, 1, 0)

    ranked = sorted(accepted.values(), key=rank)
    imported.actions.extend(ranked)
    imported.bindings.update(order)


def _action_problem(action: LiveAction, triggers: Mapping[str, TriggerInfo], own: str) -> str:
    """Why ``action`` cannot become a stack entry as it is, or ''."""
    if not NAME_RE.match(action.name):
        return "its name is not a hookctl name (1-64 letters, digits, '.', '_' or '-'); rename it in Auth0 first"
    found = MARKER_RE.match(action.code)
    if found and found.group(0) != own:
        return f"already managed by hookctl stack {found.group('stack')!r} environment {found.group('env')!r}"
    info = triggers.get(action.trigger)
    if action.trigger in catalog.AUTH0_ENTITY_BOUND_TRIGGERS or (info and info.binding_policy == "entity-bound"):
        return f"trigger {action.trigger!r} is entity-bound; hookctl manages trigger-bound triggers only"
    if action.trigger not in catalog.AUTH0_TRIGGERS or info is None:
        return f"trigger {action.trigger!r} is not one hookctl manages"
    if action.trigger_version != info.version:
        return (
            f"targets {action.trigger}@{action.trigger_version}, and hookctl always targets the trigger's current "
            f"version {info.version}; upgrade the action in Auth0 first"
        )
    if action.runtime not in catalog.AUTH0_RUNTIMES:
        return f"runtime {action.runtime!r} is not one hookctl supports ({', '.join(sorted(catalog.AUTH0_RUNTIMES))})"
    if action.status == "failed":
        return "its last build failed; fix or deploy it in Auth0 first"
    if action.deployed_number is not None and (not action.all_changes_deployed or action.deployed_code != action.code):
        return (
            "its draft differs from the deployed version; deploy or discard the draft in Auth0 first "
            "(import takes exactly what runs)"
        )
    for name, version in sorted(action.dependencies.items()):
        if not NPM_VERSION_RE.match(version):
            return f"dependency {name}@{version} is not an exact version (1.2.3); pin it in Auth0 first"
    if len(action.dependencies) > catalog.AUTH0_MAX_DEPENDENCIES:
        return f"has more than {catalog.AUTH0_MAX_DEPENDENCIES} dependencies"
    for name in sorted(action.secrets):
        if not SECRET_NAME_RE.match(name):
            return f"secret name {name!r} is not letters, digits and _"
    return _code_problem(action.code)


def _code_problem(code: str) -> str:
    if "\r" in code:
        # Jinja turns every \r\n and \r into \n, so no template can reproduce these bytes.
        return "its code has CR (\\r) line endings, which a template cannot reproduce; convert them to LF first"
    return ""


# -- Cognito -----------------------------------------------------------------------------------


def _import_cognito(
    imported: Imported, snap: CognitoSnapshot, selection: Selection, problems: list[tuple[str, str]]
) -> None:
    names = Names(imported.stack, imported.environment)
    by_arn = {str(cfg["FunctionArn"]): cfg for cfg in snap.functions}
    serving: dict[str, list[ImportedTrigger]] = {}
    for pool, described in sorted(snap.pools.items()):
        imported.pools[pool] = str(described["Id"])
        config = described.get("LambdaConfig") or {}
        for trigger, entry in sorted(pool_entries(config).items()):
            arn = str(entry["lambda_arn"])
            cfg = by_arn.get(arn)
            target = arn.split(":function:", 1)[-1]
            if cfg is None:
                if selection.wants(target.split(":", 1)[0]):
                    problems.append((f"cognito.pool.{pool}.{trigger}", _foreign_arn(arn, snap.region)))
                continue
            physical = str(cfg["FunctionName"])
            if not selection.wants(physical):
                continue
            serving.setdefault(physical, []).append(
                ImportedTrigger(
                    pool,
                    trigger,
                    entry.get("lambda_version") if trigger in catalog.COGNITO_VERSIONED_TRIGGERS else None,
                    str(entry.get("kms_key_id")) if trigger in SENDER_TRIGGERS and entry.get("kms_key_id") else None,
                )
            )
    listed = {str(cfg["FunctionName"]): cfg for cfg in snap.functions}
    for physical, triggers in sorted(serving.items()):
        cfg = listed[physical]
        where = f"function {physical}"
        try:
            fn = _import_function(names, cfg, tuple(triggers), snap, selection, imported.notes)
        except _Refused as exc:
            problems.append((where, str(exc)))
            continue
        imported.functions.append(fn)
    imported.functions.sort(key=lambda f: f.name)


class _Refused(Exception):
    pass


def _foreign_arn(arn: str, region: str) -> str:
    parts = arn.split(":")
    if len(parts) > 7:
        return f"points at {arn}, a version or alias; hookctl attaches unqualified functions only"
    return f"points at {arn}, which is not a function of this account in {region}"


def _logical(names: Names, physical: str) -> str | None:
    """The stack name of a function hookctl would name ``physical``, if there is one."""
    prefix = names.function("")  # "<stack>-<environment>-", with what Lambda forbids replaced
    if not physical.startswith(prefix):
        return None
    logical = physical[len(prefix) :]
    return logical if NAME_RE.match(logical) and names.function(logical) == physical else None


def _import_function(
    names: Names,
    cfg: Mapping[str, Any],
    triggers: tuple[ImportedTrigger, ...],
    snap: CognitoSnapshot,
    selection: Selection,
    notes: list[str],
) -> ImportedFunction:
    physical = str(cfg["FunctionName"])
    logical = _logical(names, physical)
    given: str | None = None
    if logical is None:
        # Not named the way hookctl names functions: keep its name (a function cannot be renamed
        # in place) under `function_name:`, with the Lambda name as the stack's name for it.
        logical, given = physical.lstrip("-_") or "function", physical
    tags = snap.tags.get(physical) or {}
    if tags.get(TAG_MANAGED) == "true" and not names.owns(tags):
        raise _Refused(
            f"already managed by hookctl stack {tags.get(TAG_STACK)!r} environment {tags.get('hookctl:environment')!r}"
        )
    if names.owns(tags) and tags.get(TAG_FUNCTION) not in (None, logical):
        raise _Refused(f"its hookctl:function tag says {tags.get(TAG_FUNCTION)!r}, not {logical!r}")
    if cfg.get("PackageType", "Zip") != "Zip":
        raise _Refused("it is a container image function; hookctl deploys zip packages only")
    runtime = str(cfg.get("Runtime") or "")
    if runtime not in catalog.LAMBDA_RUNTIMES:
        raise _Refused(
            f"runtime {runtime!r} is not one hookctl supports ({', '.join(sorted(catalog.LAMBDA_RUNTIMES))})"
        )
    architectures = list(cfg.get("Architectures") or ["x86_64"])
    if architectures != ["x86_64"]:
        raise _Refused(f"it runs on {', '.join(architectures)}; hookctl builds x86_64 packages only")
    handler = str(cfg.get("Handler") or "")
    if not HANDLER_RE.match(handler):
        raise _Refused(f"handler {handler!r} is not module.function")
    timeout, memory = int(cfg.get("Timeout") or 3), int(cfg.get("MemorySize") or 128)
    if not (1 <= timeout <= 900 and 128 <= memory <= 10240):
        raise _Refused(f"timeout {timeout} s / memory {memory} MB are outside what a stack accepts")
    description, _ = split_marker(str(cfg.get("Description") or ""))
    if len(with_marker(description, "0" * 16)) > MAX_DESCRIPTION:
        raise _Refused(f"its description leaves no room for hookctl's build marker ({MAX_DESCRIPTION} characters)")
    plain, secrets = _split_environment(physical, cfg, selection, deployed_by_hookctl=names.owns(tags))
    code = snap.code.get(physical) or FunctionCode(None, "its code was not read")
    if code.data is None:
        raise _Refused(code.error or "its package is not a zip hookctl can read (image, or larger than 50 MB)")
    digest = base64.b64encode(hashlib.sha256(code.data).digest()).decode("ascii")
    if cfg.get("CodeSha256") and digest != cfg.get("CodeSha256"):
        raise _Refused("the downloaded package does not match its CodeSha256; import again")
    source, suffix = handler_source(code.data, handler, runtime)
    why = _code_problem(source)
    if why:
        raise _Refused(why)
    where = f"cognito.function.{logical}"
    for key, what in UNMANAGED_SETTINGS.items():
        value = cfg.get(key)
        if value and (key != "VpcConfig" or (value.get("SubnetIds") or value.get("SecurityGroupIds"))):
            notes.append(f"{where}: has {what}; hookctl keeps it as it is but does not manage it")
    if (cfg.get("TracingConfig") or {}).get("Mode") == "Active":
        notes.append(f"{where}: has active X-Ray tracing; hookctl keeps it as it is but does not manage it")
    return ImportedFunction(
        name=logical,
        physical=physical,
        runtime=runtime,
        handler=handler,
        role=str(cfg.get("Role") or ""),
        timeout=timeout,
        memory=memory,
        description=description,
        environment=tuple(sorted(plain.items())),
        secrets=tuple(sorted(secrets, key=lambda s: s.name)),
        triggers=tuple(sorted(triggers, key=lambda t: (t.pool, t.trigger))),
        code=source,
        suffix=suffix,
        function_name=given,
    )


def _split_environment(
    physical: str, cfg: Mapping[str, Any], selection: Selection, *, deployed_by_hookctl: bool = False
) -> tuple[dict[str, str], list[SecretDecl]]:
    """Plain variables, and secrets: hookctl's Secrets Manager / SSM references, and values that look secret.

    A function hookctl already deployed may hold env-sourced secrets whose values look harmless;
    nothing live says which variables were secrets, so every variable of such a function is
    imported as a secret unless ``--plain`` names it. Being wrong costs an exported variable;
    the other way round would write a secret into the stack file.
    """
    variables = (cfg.get("Environment") or {}).get("Variables") or {}
    plain: dict[str, str] = {}
    secrets: list[SecretDecl] = []
    for key, value in sorted(variables.items()):
        text = str(value)
        if key.startswith(SECRET_ENV_PREFIX):
            name = key[len(SECRET_ENV_PREFIX) :]
            ref = _secret_reference(name, text)
            if ref is None:
                raise _Refused(f"variable {key} is not a secretsmanager:/ssm: reference hookctl understands")
            secrets.append(ref)
            continue
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]*\Z", key) or not SECRET_NAME_RE.match(key):
            raise _Refused(f"environment variable name {key!r} is not one a stack accepts")
        if key in selection.secret or (key not in selection.plain and (deployed_by_hookctl or looks_secret(key, text))):
            secrets.append(SecretDecl(key, "env", key))
        else:
            plain[key] = text
    return plain, secrets


def _secret_reference(name: str, value: str) -> SecretDecl | None:
    if not SECRET_NAME_RE.match(name):
        return None
    source, _, locator = value.partition(":")
    if source == "secretsmanager" and locator:
        arn, _, key = locator.partition("#")
        return SecretDecl(name, "secretsmanager", arn, key or None)
    if source == "ssm" and locator:
        return SecretDecl(name, "ssm", locator)
    return None


def handler_source(data: bytes, handler: str, runtime: str) -> tuple[str, str]:
    """The handler module's text and suffix; refuses a package holding anything else.

    hookctl builds a function from one rendered handler (plus declared dependencies that it
    installs itself), so a package with other files — shared modules, a package.json,
    node_modules, vendored Python packages — cannot be reproduced from a template.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _Refused("its package is not a readable zip") from None
    if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise _Refused("its package unzips to more than Lambda's 250 MB")
    module = handler.rpartition(".")[0]
    suffixes = (".py",) if catalog.lambda_language(runtime) == "python" else NODE_SUFFIXES
    present = {i.filename: i for i in infos}
    found = next((module + s for s in suffixes if module + s in present), None)
    if found is None:
        raise _Refused(f"its package has no {' / '.join(module + s for s in suffixes)} for handler {handler}")
    others = sorted(n for n in present if n != found)
    if others:
        shown = ", ".join(others[:4]) + (f" and {len(others) - 4} more" if len(others) > 4 else "")
        if any(n.startswith("node_modules/") or ".dist-info/" in n for n in others):
            why = (
                "it bundles its dependencies; hookctl installs them from a stack's `dependencies:` (and a lock "
                "file) and cannot reproduce this package"
            )
        else:
            why = "hookctl deploys a single handler file and cannot reproduce a package with more"
        raise _Refused(
            f"its package holds {shown} besides {found}: {why}. Bundle the code into {found} "
            "(or declare the dependencies in a stack by hand)"
        )
    try:
        text = archive.read(found).decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(f"{found} is not UTF-8 text") from None
    return text, os.path.splitext(found)[1]


# -- secrets -----------------------------------------------------------------------------------

_SECRET_NAME_HINT = re.compile(
    r"SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|SIGNING|WEBHOOK|DSN"
    r"|SALT|COOKIE|AUTH|(^|_)(PASS|PWD|KEY|PIN)$",
    re.IGNORECASE,
)
_SECRET_VALUE_HINTS = (
    re.compile(r"://[^/\s:@]+:[^/\s@]+@"),  # credentials inside a URL
    re.compile(r"^eyJ[\w-]{8,}\.[\w-]{8,}\."),  # a JSON Web Token
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b[spr]k_(live|test)_[0-9A-Za-z]{8,}"),  # Stripe
    re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),  # Slack tokens
    re.compile(r"hooks\.slack\.com/"),  # Slack webhooks
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access keys
    re.compile(r"\b(gh[pousr]_[0-9A-Za-z]{20,}|github_pat_)"),  # GitHub tokens
    re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"),  # Google API keys
    re.compile(r"[?&](sig|signature|token|key|secret|code|password|access_token|api_key)=", re.IGNORECASE),
    # key=value settings that carry a credential (ADO.NET / ODBC / JDBC connection strings,
    # libpq's "password=..."), wherever they sit in the value.
    re.compile(
        r"(^|[\s;&?,])(password|passwd|pwd|pass|secret|token|api[_-]?key|access[_-]?key|"
        r"account[_-]?key|shared[_-]?access[_-]?key|client[_-]?secret)\s*[=:]",
        re.IGNORECASE,
    ),
    # Connection strings and database URLs, with or without a password in them.
    re.compile(r"(^|;)\s*(server|data source|host|hostname|endpoint|accountname)\s*=[^;]*;", re.IGNORECASE),
    re.compile(
        r"^(mongodb(\+srv)?|postgres(ql)?|mysql|mariadb|redis|rediss|amqps?|mssql|sqlserver|jdbc:[a-z]+)://",
        re.IGNORECASE,
    ),
    re.compile(r"\bbearer\s+\S{8,}", re.IGNORECASE),
)
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_-]{20,}")


def looks_secret(name: str, value: str) -> bool:
    """Would a reviewer want this Lambda environment variable kept out of git?

    Deliberately eager: a false "secret" costs one exported variable, a false "plain" puts a
    credential in a stack file. ``--plain NAME`` / ``--secret NAME`` override it.
    """
    if _SECRET_NAME_HINT.search(name):
        return True
    if any(p.search(value) for p in _SECRET_VALUE_HINTS):
        return True
    return any(_random_looking(run) for run in _TOKEN_RUN.findall(value))


def _random_looking(text: str) -> bool:
    if not (re.search(r"[A-Za-z]", text) and re.search(r"\d", text)):
        return False
    counts = {c: text.count(c) for c in set(text)}
    entropy = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return entropy >= 3.5


def _name_env_sources(imported: Imported) -> None:
    """Each env-sourced secret reads the variable named after it, unless that name is taken by another
    entry's secret or by the shell / hookctl itself: then ``<ENTRY>_<NAME>``."""
    entries: list[ImportedAction | ImportedFunction] = [*imported.actions, *imported.functions]
    users: dict[str, int] = {}
    for entry in entries:
        for s in entry.secrets:
            if s.source == "env":
                users[s.name] = users.get(s.name, 0) + 1
    for i, entry in enumerate(entries):
        renamed = tuple(
            dataclasses.replace(s, locator=_qualified(entry.name, s.name))
            if s.source == "env" and (users[s.name] > 1 or _reserved_env(s.name))
            else s
            for s in entry.secrets
        )
        entries[i] = dataclasses.replace(entry, secrets=renamed)
    imported.actions = [e for e in entries if isinstance(e, ImportedAction)]
    imported.functions = [e for e in entries if isinstance(e, ImportedFunction)]


def _reserved_env(name: str) -> bool:
    upper = name.upper()
    return upper in RESERVED_ENV or upper.startswith(RESERVED_ENV_PREFIXES)


def _qualified(entry: str, name: str) -> str:
    qualified = re.sub(r"[^A-Za-z0-9_]", "_", f"{entry}_{name}").upper()
    if not ENV_NAME_RE.match(qualified) or _reserved_env(qualified):
        qualified = f"SECRET_{qualified}"
    return qualified


# =============================================================================================
# Files (pure)

_JINJA_SYNTAX = re.compile(r"\{[{%#]")
# How Jinja's lexer finds the end of a raw block (jinja2.lexer: block start, optional -/+,
# whitespace, "endraw"); a literal one inside the code is split between its "{" and "%".
_ENDRAW = re.compile(r"\{(?=%[-+]?\s*endraw)")


def template_text(code: str, header: str = "") -> str:
    """A Jinja template that renders to exactly ``code``.

    Code without Jinja syntax is its own template. Otherwise it is wrapped in
    ``{% raw %}…{% endraw %}``, and any ``{% endraw %}`` inside it is split across
    two raw blocks so it cannot end the block early. ``header`` becomes a Jinja
    comment that renders to nothing.
    """
    needs_raw = bool(_JINJA_SYNTAX.search(code)) or (header and code[:1].isspace())
    body = code
    if needs_raw:
        body = "{% raw %}" + _ENDRAW.sub("{{% endraw %}{% raw %}", code) + "{% endraw %}"
    if header:
        # "-#}" trims the newline after the comment; the code itself starts at a raw block or
        # with a non-space character, so nothing of it is trimmed.
        body = "{# " + header.replace("#}", "# }") + " -#}\n" + body
    return body


def stack_document(imported: Imported) -> dict[str, Any]:
    env: dict[str, Any] = {}
    if imported.actions:
        env["auth0"] = {"domain": imported.auth0_domain}
    if imported.functions:
        used = {t.pool for f in imported.functions for t in f.triggers}
        env["cognito"] = {
            "region": imported.region,
            "pools": {p: pid for p, pid in sorted(imported.pools.items()) if p in used},
        }
    doc: dict[str, Any] = {
        "stack": imported.stack,
        "environments": {imported.environment: env},
    }
    if imported.actions:
        actions: dict[str, Any] = {}
        for a in imported.actions:
            body: dict[str, Any] = {"trigger": a.trigger, "template": imported.template_name(a), "runtime": a.runtime}
            if a.dependencies:
                body["dependencies"] = dict(a.dependencies)
            if a.secrets:
                body["secrets"] = {s.name: s.yaml() for s in a.secrets}
            actions[a.name] = body
        # Every trigger of an imported action is listed, even with no binding: a trigger left out
        # would bind its actions in declaration order.
        triggers = {t: {"bindings": list(names)} for t, names in sorted(imported.bindings.items())}
        doc["auth0"] = {"actions": actions, "triggers": triggers}
    if imported.functions:
        functions: dict[str, Any] = {}
        for f in imported.functions:
            body = {"template": imported.template_name(f)}
            if f.function_name:
                body["function_name"] = f.function_name
            body |= {
                "runtime": f.runtime,
                "handler": f.handler,
                "role": f.role,
                "timeout": f.timeout,
                "memory": f.memory,
            }
            if f.description:
                body["description"] = f.description
            if f.environment:
                body["environment"] = dict(f.environment)
            if f.secrets:
                body["secrets"] = {s.name: s.yaml() for s in f.secrets}
            body["triggers"] = [_trigger_yaml(t) for t in f.triggers]
            functions[f.name] = body
        doc["cognito"] = {"functions": functions}
    return doc


def _trigger_yaml(t: ImportedTrigger) -> dict[str, str]:
    out = {"pool": t.pool, "trigger": t.trigger}
    if t.lambda_version:
        out["lambda_version"] = t.lambda_version
    if t.kms_key_id:
        out["kms_key_id"] = t.kms_key_id
    return out


def stack_text(imported: Imported, stack_path: str) -> str:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096  # no folded lines: one value, one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(stack_document(imported), out)
    sources = []
    if imported.actions:
        sources.append(f"Auth0 tenant {imported.auth0_domain}")
    if imported.functions:
        sources.append(f"Cognito pools {', '.join(sorted(imported.pools))} in {imported.region}")
    lines = [
        f"# Imported by `hookctl import` from {' and '.join(sources)}.",
        "# Before the first plan, adopt it once: hookctl shows and asks before writing its ownership",
        "# marks (Auth0: a marker line in each action and its secrets; Lambda: tags and its own build):",
        f"#   hookctl adopt -s {stack_path} -e {imported.environment}",
    ]
    rows = imported.env_secrets
    if rows:
        lines.append("# Secrets are declared by name only; export these first:")
        width = max(len(var) for var, _ in rows)
        lines.extend(f"#   {var.ljust(width)}  {what}" for var, what in rows)
    return "\n".join(lines) + "\n" + out.getvalue()


def import_files(imported: Imported, stack_path: str) -> dict[str, str]:
    """Every file the import writes: path → text. Templates go beside the stack file
    (``templates/imported/<stack>/...``), the stack-local folder hookctl searches first."""
    stack_dir = os.path.dirname(stack_path) or "."
    files = {stack_path: stack_text(imported, stack_path)}
    entries: list[ImportedAction | ImportedFunction] = [*imported.actions, *imported.functions]
    for entry in entries:
        if isinstance(entry, ImportedAction):
            header = f"Imported from Auth0 action {entry.name}; hookctl prepends its ownership marker line."
        else:
            header = f"Imported from Lambda function {entry.physical}."
        path = os.path.join(stack_dir, "templates", *imported.template_name(entry).split("/"))
        files[path] = template_text(entry.code, header)
    return files


__all__ = [
    "Auth0Snapshot",
    "CognitoSnapshot",
    "FunctionCode",
    "Imported",
    "ImportedAction",
    "ImportedFunction",
    "ImportedTrigger",
    "NotImportable",
    "SecretDecl",
    "Selection",
    "handler_source",
    "import_files",
    "import_live",
    "looks_secret",
    "stack_document",
    "stack_text",
    "template_text",
]
