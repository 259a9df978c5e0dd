"""The Cognito provider: reads Lambda, IAM and the user pools through the client, and plans.
Provider cognito: the provider (from the environment, read through client.py, plan with plan.py).

``CognitoProvider`` reads the live systems through ``LambdaCognitoClient``
into the normalised documents of ``plan.py``, builds the desired documents,
and turns the differ's changes into operations with ``operations.py``. Its
only I/O besides the client is local: reading a build's handler source (from
the zip, or this machine's build cache) to show code diffs, and the working
directory a saved plan's build paths are relative to.

Calls a plan makes (the read budget), for F functions declared, P pools:

- ``lambda:GetFunction``: one per function the stack declares (configuration, CodeSha256, the
  description where hookctl keeps its build digest, and the tags that prove ownership). Never
  ``ListFunctions``: it returns every function of the region with its environment in plaintext.
- ``tag:GetResources``: only with ``prune: true``, one paginated call for the functions tagged
  with this stack environment, each then read with GetFunction (as is each function the state
  records and the stack no longer declares).
- ``cognito-idp:DescribeUserPool``: one per pool (the environment's pools and
  pools the state still records triggers on).
- ``lambda:GetPolicy``: one per function hookctl manages that exists.
- ``iam:ListRoles`` (one, paginated, by hookctl's path for the stack
  environment) plus ``ListAttachedRolePolicies`` and ``GetRolePolicy`` per
  role, only when a function's role is hookctl's to create, or with prune.
- ``secretsmanager:DescribeSecret``: one per Secrets Manager secret referenced
  (the reference and the role's policy use its ARN, and its KmsKeyId says whether
  the role needs kms:Decrypt on a customer-managed key);
  ``ssm:DescribeParameters``: one for the SSM parameters referenced (their KeyId);
  ``kms:DescribeKey``: only for a key named by alias or key id.
- ``sts:GetCallerIdentity``: only when no pool or function shows the account.

Apply writes only what changed: an unchanged function is neither uploaded nor
reconfigured; a pool gets one UpdateUserPool per apply whatever the number of
its triggers that change (plus a DescribeUserPool before and after).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ...engine import catalog
from ...engine.diff import Resource
from ...engine.errors import HookctlError, InputError, Problem, ProviderError
from ...engine.model import Function, Stack
from ...engine.package import LambdaArtifact
from ...engine.plan import Operation, ResourceChange
from ...engine.secrets import secret_hash
from ..base import Context, Live, Provider
from .client import FIRST_RETRY_DELAY, LambdaCognitoClient, session_for
from .operations import OperationPlanner, skip_covered_deletes
from .plan import (
    ENVIRONMENT_HINT,
    MAX_DESCRIPTION,
    SECRETS_POLICY_NAME,
    SENDER_TRIGGERS,
    STATEMENT_PREFIX,
    TAG_FUNCTION,
    TAG_MANAGED,
    VERSIONED_TRIGGERS,
    Names,
    PoolView,
    address_entry,
    address_function,
    address_permission,
    address_role,
    arn_parts,
    check_environment,
    cognito_statements,
    declared_function,
    desired_function_doc,
    desired_role_doc,
    environment_problem,
    function_arn,
    function_name_of,
    live_function_doc,
    live_role_doc,
    ownership,
    permission_doc,
    pool_entries,
    role_arn,
    role_logical_name,
    secret_resource_arns,
    tier_problem,
    with_marker,
)

if TYPE_CHECKING:
    from .client import AwsSession


class CognitoProvider(Provider):
    name: ClassVar[str] = "cognito"

    def __init__(self, client: LambdaCognitoClient) -> None:
        self._client = client

    @classmethod
    def from_environment(
        cls,
        stack: Stack,
        *,
        session: AwsSession | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        waiter_delay: float = FIRST_RETRY_DELAY,
    ) -> CognitoProvider:
        """A provider for the stack's environment: region from ``cognito.region``, else boto3's chain."""
        if session is None:
            target = stack.environment.cognito
            session = session_for(target.region if target else None)
        if not session.region_name:
            raise HookctlError(
                f"no AWS region for {stack.name}/{stack.environment.name}",
                hint="Set cognito.region in the environment, or AWS_REGION / AWS_DEFAULT_REGION.",
            )
        if not catalog.aws_region(str(session.region_name)):
            raise HookctlError(
                f"the AWS region for {stack.name}/{stack.environment.name} is not a region name like eu-west-1",
                hint="Check cognito.region in the environment, or AWS_REGION / AWS_DEFAULT_REGION.",
            )
        return cls(LambdaCognitoClient(session, sleep=sleep, clock=clock, waiter_delay=waiter_delay))

    def client(self) -> LambdaCognitoClient:
        return self._client

    # -- read -----------------------------------------------------------------------------
    def read(self, ctx: Context) -> Live:
        stack = ctx.stack
        names = Names.of(stack)
        c = self._client
        pools = self._read_pools(ctx)
        declared = {names.function(fn.name): fn for fn in stack.functions}
        # Only the functions this stack declares, by name: ListFunctions would return every function
        # of the region with its environment in plaintext, other teams' secrets included.
        owned: dict[str, dict[str, Any]] = {}
        conflicts: list[str] = []
        for physical, fn in declared.items():
            address = address_function(fn.name)
            found = c.get_function(physical, f"{address} ({physical})")
            if found is None:
                continue
            cfg, tags = found
            if not self._recorded(ctx, address, cfg) and not names.owns(tags):
                conflicts.append(f"{address}: function {physical} {ownership(tags)}")
                continue
            owned[fn.name] = cfg
        orphans = self._orphans(ctx, names, declared) if stack.prune else {}
        partition, account = self._account(pools, [*owned.values(), *orphans.values()])

        live = Live(conflicts=conflicts)
        live.target = {
            "account": account,
            "region": c.region,
            "pools": {view.name: view.user_pool_id for view in pools.values()},
        }
        secret_arns, secret_keys = self._secret_facts(ctx)
        live.facts = {
            "region": c.region,
            "partition": partition,
            "account": account,
            "pools": {view.name: view.to_fact() for view in pools.values()},
            "secret_arns": secret_arns,
            "secret_keys": secret_keys,
        }
        functions = {**orphans, **owned}
        for name, cfg in functions.items():
            resource = self._live_function(ctx, name, cfg)
            live.resources[resource.address] = resource
            live.owned.add(resource.address)
        self._read_permissions(live, owned, pools)
        arns = {str(cfg["FunctionArn"]): logical for logical, cfg in functions.items()}
        for view in pools.values():
            for trigger, doc in pool_entries(view.lambda_config).items():
                address = address_entry(view.name, trigger)
                logical = arns.get(doc["lambda_arn"])
                live.resources[address] = Resource(
                    address,
                    doc,
                    extra={
                        "kind": "entry",
                        "pool": view.name,
                        "trigger": trigger,
                        "function": logical,
                        "name": functions[logical]["FunctionName"] if logical else doc["lambda_arn"],
                    },
                )
                if logical is not None:
                    live.owned.add(address)
        self._check_slots(ctx, names, live)
        self._read_roles(ctx, names, live)
        return live

    def _check_slots(self, ctx: Context, names: Names, live: Live) -> None:
        """A declared trigger whose slot holds a function this stack does not own is refused: another
        stack's (by its tags) always, naming it; an unmanaged one unless the stack's trigger says
        ``take_over: <that function>``, and then the plan says whose slot it takes."""
        for fn in ctx.stack.functions:
            for pt in fn.triggers:
                held = live.resources.get(pt.address)
                if held is None or held.extra.get("function") is not None:
                    continue
                arn = str(held.doc["lambda_arn"])
                holder = function_name_of(arn)
                if holder == names.function(fn.name):
                    continue  # ours by name, not yet recorded: the function's own check decides
                try:
                    tags = self._client.list_tags(arn, f"{pt.address} ({holder})")
                except ProviderError:
                    tags = {}  # another account's function, or no permission to read it: nobody's we know
                if tags.get(TAG_MANAGED) == "true":
                    live.conflicts.append(f"{pt.address}: the slot holds function {holder}, {ownership(tags)}")
                elif pt.take_over in (holder, arn):
                    live.resources[pt.address] = dataclasses.replace(
                        held, drift=f"takes over the slot from (unmanaged: {holder}) as the stack's take_over says"
                    )
                else:
                    live.conflicts.append(
                        f"{pt.address}: the slot holds (unmanaged: {holder}), a function no hookctl stack owns; "
                        f"to replace it, add take_over: {holder} to this trigger in the stack"
                    )

    def _read_pools(self, ctx: Context) -> dict[str, PoolView]:
        target = ctx.stack.environment.cognito
        wanted: dict[str, tuple[str, bool]] = {}
        for entry in ctx.state.values():
            if isinstance(entry, Mapping) and entry.get("kind") == "pool-trigger":
                wanted[str(entry["pool"])] = (str(entry["user_pool_id"]), False)
        for name, pool in target.pools.items() if target else ():
            wanted[name] = (pool.user_pool_id, True)
        views: dict[str, PoolView] = {}
        for name, (user_pool_id, declared) in sorted(wanted.items()):
            # A pool only the state remembers may be gone: nothing to detach then.
            found = self._client.describe_pool(user_pool_id, f"pool {name} ({user_pool_id})", missing_ok=not declared)
            if found is not None:
                views[name] = PoolView.of(name, found)
        return views

    def _account(self, pools: Mapping[str, PoolView], listed: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
        for arn in [v.arn for v in pools.values()] + [str(f["FunctionArn"]) for f in listed]:
            parts = arn_parts(arn)
            if parts:
                return parts[0], parts[2]
        return self._client.caller_account()

    @staticmethod
    def _recorded(ctx: Context, address: str, cfg: Mapping[str, Any]) -> bool:
        """Does the state record this very function (hookctl created or adopted it)?"""
        entry = ctx.state.get(address)
        return isinstance(entry, Mapping) and entry.get("arn") == cfg.get("FunctionArn")

    def _orphans(self, ctx: Context, names: Names, declared: Mapping[str, Function]) -> dict[str, dict[str, Any]]:
        """Functions this stack environment owns that it no longer declares (read only with prune).

        Candidates are what the state records and what carries this stack environment's tags
        (Resource Groups Tagging API, so a runner without state finds them too); each is then read
        by name, and one the state does not record counts only if its own tags say it is ours.
        """
        recorded = {
            str(e.get("arn")): str(e["function"])
            for e in ctx.state.values()
            if isinstance(e, Mapping) and e.get("kind") == "function" and e.get("arn")
        }
        candidates = dict.fromkeys([*recorded, *self._client.tagged_functions(names.tags_filter())])
        declared_logical = {fn.name for fn in declared.values()}
        found: dict[str, dict[str, Any]] = {}
        for arn in candidates:
            physical = arn.split(":function:", 1)[-1].split(":", 1)[0]
            if physical in declared:
                continue
            got = self._client.get_function(physical, f"function {physical}")
            if got is None:
                continue
            cfg, tags = got
            logical = recorded.get(str(cfg["FunctionArn"]))
            if logical is None:
                if not names.owns(tags):
                    continue
                logical = tags.get(TAG_FUNCTION) or physical
            if logical in declared_logical:
                logical = physical
            found[logical] = cfg
        return found

    def _live_function(self, ctx: Context, logical: str, cfg: Mapping[str, Any]) -> Resource:
        address = address_function(logical)
        fn = declared_function(ctx.stack, logical)
        recorded = ctx.state.get(address)
        # Plain means hookctl itself set the variable as plain (the state says so), never "the stack
        # declares it plain": a pull request that turns a secret into a plain variable of the same
        # name must not get the live secret printed in its plan.
        plain = set(recorded.get("environment") or ()) if isinstance(recorded, Mapping) else set()
        doc = live_function_doc(cfg, plain, ctx.salt)
        if fn is not None:
            # A declared plain variable the state does not record (a fresh runner) is shown as plain
            # only when its live value is provably the stack's: equal digests.
            for key, value in fn.environment.items():
                if key in doc["secrets"] and doc["secrets"][key] == secret_hash(value, ctx.salt):
                    del doc["secrets"][key]
                    doc["environment"][key] = value
        drift = ""
        code: str | None = None
        artifact = ctx.artifacts.get(address)
        if fn is not None and artifact is not None:
            digest = doc.get("code_digest")
            if digest and artifact.digest.startswith(digest):
                code = _handler_source(artifact.zip_path, fn.handler)
                if cfg.get("CodeSha256") != artifact.code_sha256:
                    drift = (
                        f"code changed outside hookctl: the deployed CodeSha256 {cfg.get('CodeSha256')} "
                        f"is not hookctl's build {artifact.code_sha256} of the same inputs"
                    )
            elif digest:
                code = _cached_source(os.path.dirname(artifact.zip_path), digest, str(cfg.get("Handler") or ""))
        return Resource(
            address,
            doc,
            code,
            sensitive=frozenset({"secrets"}),
            drift=drift,
            extra={
                "kind": "function",
                "function": logical,
                "name": cfg["FunctionName"],
                "arn": cfg["FunctionArn"],
                "code_sha256": cfg.get("CodeSha256"),
            },
        )

    def _read_permissions(
        self, live: Live, owned: Mapping[str, Mapping[str, Any]], pools: Mapping[str, PoolView]
    ) -> None:
        by_arn = {view.arn: view.name for view in pools.values()}
        for logical, cfg in owned.items():
            physical = str(cfg["FunctionName"])
            policy = self._client.function_policy(physical, f"{address_function(logical)} ({physical})")
            chosen: dict[str, dict[str, Any]] = {}
            for statement in cognito_statements(policy):
                pool = by_arn.get(statement["source_arn"] or "")
                if pool is None:
                    continue
                ours = str(statement["sid"] or "").startswith(STATEMENT_PREFIX)
                if pool not in chosen or ours:
                    chosen[pool] = statement
            for pool, statement in chosen.items():
                address = address_permission(logical, pool)
                live.resources[address] = Resource(
                    address,
                    permission_doc(statement["source_arn"], statement["source_account"]),
                    extra={
                        "kind": "permission",
                        "function": logical,
                        "pool": pool,
                        "name": physical,
                        "sid": statement["sid"],
                    },
                )
                if str(statement["sid"] or "").startswith(STATEMENT_PREFIX):
                    live.owned.add(address)

    def _read_roles(self, ctx: Context, names: Names, live: Live) -> None:
        stack = ctx.stack
        wanted = {names.role(fn.name): fn.name for fn in stack.functions if fn.role is None}
        # With prune, roles are read even when no declared function needs one: a runner without
        # state must still find the roles of functions the stack no longer declares.
        if not wanted and not stack.prune:
            return
        for role in self._client.list_roles(names.role_path):
            role_name = str(role["RoleName"])
            logical = wanted.get(role_name) or role_logical_name(role.get("Description"))
            if logical is None or (logical not in wanted.values() and not stack.prune):
                continue
            address = address_role(logical)
            policies = self._client.role_policies(role_name, f"{address} ({role_name})", SECRETS_POLICY_NAME)
            if policies is None:  # deleted since ListRoles
                continue
            attached, inline = policies
            live.resources[address] = Resource(
                address,
                live_role_doc(role, attached, inline),
                extra={"kind": "role", "function": logical, "name": role_name, "arn": role["Arn"]},
            )
            # Everything under hookctl's path for this stack environment is hookctl's.
            live.owned.add(address)

    def _secret_facts(self, ctx: Context) -> tuple[dict[str, str], dict[str, str]]:
        """Secrets Manager ARNs of secrets named by name, and the customer-managed KMS key (ARN) of every
        referenced secret and SecureString parameter encrypted under one (locator -> key ARN): the
        function's role needs kms:Decrypt on it. Read at plan time; never a value."""
        arns: dict[str, str] = {}
        raw_keys: dict[str, tuple[str, str]] = {}  # locator -> (key id as given, where)
        parameters: dict[str, str] = {}  # parameter name -> locator
        seen: set[str] = set()
        for fn in ctx.stack.functions:
            for ref in fn.secrets:
                where = f"secret {ref.name} of {address_function(fn.name)}"
                if ref.source == "secretsmanager" and ref.locator not in seen:
                    seen.add(ref.locator)
                    arn, key = self._client.describe_secret(ref.locator, where)
                    if not ref.locator.startswith("arn:"):
                        arns[ref.locator] = arn
                    if key:
                        raw_keys[ref.locator] = (key, where)
                elif ref.source == "ssm":
                    name = ref.locator.split(":parameter", 1)[1] if ref.locator.startswith("arn:") else ref.locator
                    parameters[name] = ref.locator
        if parameters:
            for name, key in self._client.parameter_keys(parameters, "the stack's SSM parameters").items():
                raw_keys[parameters[name]] = (key, f"parameter {name}")
        keys: dict[str, str] = {}
        for locator, (key, where) in raw_keys.items():
            found = self._client.customer_key_arn(key, where)
            if found is not None:
                keys[locator] = found
        return arns, keys

    # -- desired --------------------------------------------------------------------------
    def desired(self, ctx: Context, live: Live) -> dict[str, Resource]:
        stack = ctx.stack
        names = Names.of(stack)
        facts = live.facts
        partition, region, account = facts["partition"], facts["region"], facts["account"]
        pools = {name: PoolView.from_fact(name, fact) for name, fact in facts["pools"].items()}
        secret_arns = facts["secret_arns"]
        out: dict[str, Resource] = {}
        senders: dict[str, dict[str, str]] = {}
        # Feature plans first: a trigger the pool cannot take stops the plan before anything is made.
        refused = [p for fn in stack.functions for pt in fn.triggers if (p := tier_problem(pt, pools[pt.pool]))]
        if refused:
            raise InputError(
                refused,
                hint="Upgrade the pool's feature plan (UserPoolTier), or use lambda_version V1_0.",
            )
        for fn in stack.functions:
            check_environment(fn)
            address = address_function(fn.name)
            physical = names.function(fn.name)
            artifact = ctx.artifacts[address]
            role: str
            if fn.role is not None:
                role = fn.role
            else:
                role_name = names.role(fn.name)
                role = role_arn(partition, account, names.role_path, role_name)
                access = secret_resource_arns(
                    fn, secret_arns, partition, region, account, facts.get("secret_keys") or {}
                )
                out[address_role(fn.name)] = Resource(
                    address_role(fn.name),
                    desired_role_doc(partition, access),
                    extra={
                        "kind": "role",
                        "function": fn.name,
                        "name": role_name,
                        "arn": role,
                        "path": names.role_path,
                        "description": names.role_description(fn.name),
                        "tags": names.tags(fn.name),
                    },
                )
            hashes = {name: d.hash for name, d in ctx.secrets.get(address, {}).items()}
            doc = desired_function_doc(fn, artifact.digest, role, secret_arns, hashes)
            sizes = {name: d.size for name, d in ctx.secrets.get(address, {}).items()}
            too_big = environment_problem(fn, doc["secret_refs"], sizes)
            if too_big is not None:
                raise InputError([too_big], hint=ENVIRONMENT_HINT)
            if len(with_marker(fn.description, artifact.digest)) > MAX_DESCRIPTION:
                raise InputError(
                    [
                        Problem(
                            fn.origin.file,
                            fn.origin.line,
                            f"{fn.origin.field}.description",
                            f"at most {MAX_DESCRIPTION - len(with_marker('x', artifact.digest)) + 1} characters "
                            "(hookctl appends its build marker to the Lambda description)",
                        )
                    ]
                )
            arn = function_arn(partition, region, account, physical)
            out[address] = Resource(
                address,
                doc,
                _handler_source(artifact.zip_path, fn.handler),
                sensitive=frozenset({"secrets"}),
                extra={
                    "kind": "function",
                    "function": fn.name,
                    "name": physical,
                    "fn": fn,
                    "arn": arn,
                    "tags": names.tags(fn.name),
                },
            )
            for pool in dict.fromkeys(pt.pool for pt in fn.triggers):
                view = pools[pool]
                perm = address_permission(fn.name, pool)
                out[perm] = Resource(
                    perm,
                    permission_doc(view.arn, account),
                    extra={"kind": "permission", "function": fn.name, "pool": pool, "name": physical},
                )
            for pt in fn.triggers:
                entry: dict[str, Any] = {"lambda_arn": arn}
                if pt.trigger in VERSIONED_TRIGGERS:
                    entry["lambda_version"] = pt.lambda_version or "V1_0"
                if pt.trigger in SENDER_TRIGGERS:
                    entry["kms_key_id"] = pt.kms_key_id
                    senders.setdefault(pt.pool, {})[pt.trigger] = str(pt.kms_key_id)
                out[pt.address] = Resource(
                    pt.address,
                    entry,
                    extra={
                        "kind": "entry",
                        "pool": pt.pool,
                        "trigger": pt.trigger,
                        "function": fn.name,
                        "name": physical,
                    },
                )
        self._check_kms(stack, senders, live)
        return out

    @staticmethod
    def _check_kms(stack: Stack, senders: Mapping[str, Mapping[str, str]], live: Live) -> None:
        """A pool has one KMSKeyID for both sender triggers: declared and kept ones must agree."""
        for pool, declared in senders.items():
            keys = set(declared.values())
            for trigger in SENDER_TRIGGERS - set(declared):
                kept = live.resources.get(address_entry(pool, trigger))
                if kept is not None and not (stack.prune and address_entry(pool, trigger) in live.owned):
                    keys.add(str(kept.doc.get("kms_key_id")))
            if len(keys) > 1:
                raise HookctlError(
                    f"pool {pool}: CustomSMSSender and CustomEmailSender would need different KMS keys "
                    f"({', '.join(sorted(keys))}); a user pool has one KMSKeyID",
                    hint="Use the same kms_key_id for both sender triggers.",
                )

    # -- operations -----------------------------------------------------------------------
    def operations(
        self, ctx: Context, changes: list[ResourceChange], desired: Mapping[str, Resource], live: Live
    ) -> list[Operation]:
        pools = {name: PoolView.from_fact(name, fact) for name, fact in live.facts["pools"].items()}
        # The artifacts hold the stack's Auth0 builds too: only Lambda zips have a path.
        zip_paths = {
            address: portable_path(artifact.zip_path)
            for address, artifact in ctx.artifacts.items()
            if isinstance(artifact, LambdaArtifact)
        }
        planner = OperationPlanner(ctx.stack, desired, live.resources, ctx.artifacts, pools, zip_paths)
        return planner.plan(skip_covered_deletes(changes, live.resources))


def portable_path(path: str) -> str:
    """A build's path as a saved plan records it: relative to the working directory when inside it,
    so a plan made in one checkout applies in another checkout of the same repository (the build is
    content-addressed, and the client checks its CodeSha256 before uploading)."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if relative.startswith("..") else relative


def _handler_source(zip_path: str, handler: str) -> str | None:
    """The handler module's text inside a build, for showing code diffs."""
    module = handler.rpartition(".")[0]
    try:
        with zipfile.ZipFile(zip_path) as zf:
            present = set(zf.namelist())
            for suffix in (".mjs", ".js", ".cjs", ".py"):
                if module + suffix in present:
                    return zf.read(module + suffix).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return None
    return None


def _cached_source(cache_dir: str, digest: str, handler: str) -> str | None:
    """The deployed build's handler text, if this machine's build cache still has it."""
    matches = sorted(glob.glob(os.path.join(glob.escape(cache_dir), f"{digest}*.zip")))
    return _handler_source(matches[0], handler) if len(matches) == 1 else None


__all__ = ["CognitoProvider"]
