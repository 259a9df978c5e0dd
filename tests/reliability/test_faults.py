"""Faults: apply the example stack while the Auth0 tenant and AWS misbehave, then prove nothing was lost.

Auth0 faults come from the emulator's own ``FaultRule``s; AWS faults from ``FaultProxy``, a seeded
fault-injecting proxy in front of moto (``AWS_ENDPOINT_URL`` points at it). Each case injects one kind
of fault — 429 storms, 500/503 answers, answers slower than the client's timeout, dropped connections —
at one rate with one seed, on both sides at once, and then:

1. ``hookctl apply`` either completes or stops with ``Error: <operation>: <cause>`` and
   ``Already done: <the operations that finished>`` (or, before any operation, names the API call);
2. with the faults off, a second ``apply`` succeeds and the following ``plan`` is empty;
3. nothing exists twice (actions, functions, roles, permission statements) and nothing hookctl does not
   manage was lost: an unmanaged binding still bound in its slot, the unmanaged action's secret, the
   pool's password policy, auto-verified email, tags and custom attribute, and an unrelated
   CustomMessage trigger on the pool.

Targeted cases then pin the sequences a lost answer makes dangerous: a create whose answer is lost
(Auth0 action, Lambda function, IAM role), a retried AddPermission, and an UpdateUserPool whose answer
is lost while someone else edits the pool.

The CLI runs in this process (``provisioner.cli.main``) with only the environment a user would set,
so each case costs its API calls and the SDKs' own back-off, not interpreter start-ups. The client
timeout is lowered through ``HOOKCTL_HTTP_TIMEOUT`` so that "slower than the timeout" takes a second,
not a minute. One moto server serves the module; each test wipes the account and gets a new tenant.

``make test`` runs every kind at the high rate and two kinds at the low one, one seed each, plus one
case of each lost-answer sequence (about a minute). ``HOOKCTL_LONG=1`` (``make test-long``) runs 12
seeds per kind and rate (24 a kind) and every lost-answer variant.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioner.sandbox.auth0.config import EmulatorConfig, FaultRule
from provisioner.sandbox.auth0.server import Auth0Emulator
from provisioner.sandbox.run import Sandbox, seed_pool
from tests.conftest import REPO

from .faultproxy import KINDS, FaultPlan, FaultProxy, Kind

LONG = bool(os.environ.get("HOOKCTL_LONG"))
STACK = ("-s", "stacks/example.yaml", "-e", "sandbox")
SLACK_URL = "https://hooks.slack.invalid/services/T0/B0/faults"
CLIENT_TIMEOUT = 1.0  # HOOKCTL_HTTP_TIMEOUT while faults are on
SLOW = 1.6  # a slow answer: past the client timeout
RATES = {"low": 0.08, "high": 0.3}  # chance that a request is faulted
MAX_FAULTS = {"low": 3, "high": 4}  # per side and run, so every storm ends

MANAGED_ACTIONS = ["deny-tls-fingerprints", "slack-new-user"]
MANAGED_FUNCTIONS = ["example-sandbox-auto-confirm-domain", "example-sandbox-log-sign-in"]
UNMANAGED_ACTION = "audit-sign-ups"
UNMANAGED_SECRET = ("AUDIT_TOKEN", "unmanaged-secret-5e7a")
UNMANAGED_CODE = "exports.onExecutePostUserRegistration = async (event, api) => {};"
UNMANAGED_FUNCTION = "someone-elses-custom-message"
PROGRESS_RE = re.compile(r"^\[(\d+)/(\d+)\] (.*?)(: done \(.*\)| …)$")


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def error(self) -> str:
        """The ``Error: …`` message and what follows it (hint included)."""
        at = self.err.find("Error: ")
        return self.err[at:] if at >= 0 else ""


@dataclass
class World:
    box: Sandbox
    proxy: FaultProxy
    cwd: Path
    pool_id: str
    unmanaged_binding: str = ""
    pool_before: dict[str, Any] = field(default_factory=dict)
    unmanaged_arn: str = ""
    rules: list[FaultRule] = field(default_factory=list)

    @property
    def emu(self) -> Any:
        assert self.box.auth0 is not None
        return self.box.auth0

    def aws(self, service: str) -> Any:
        """boto3 straight to moto, past the proxy: set-up and assertions never see faults."""
        return self.box.boto3_client(service)

    def hookctl(self, *args: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        started = time.monotonic()
        code = 0
        from provisioner.cli import main as cli

        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0)
        return Run(code, out.getvalue(), err.getvalue(), time.monotonic() - started)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[Sandbox, FaultProxy]]:
    """One moto server (behind the proxy) for the module: each test wipes the account instead of
    resetting moto, which would reload IAM's managed policies (most of a second) every time."""
    with Sandbox() as box, FaultProxy(box.environment()["AWS_ENDPOINT_URL"]) as proxy:
        yield box, proxy


@pytest.fixture
def world(
    sandbox: tuple[Sandbox, FaultProxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[World]:
    box, proxy = sandbox
    callspec = getattr(request.node, "callspec", None)
    seed = int(callspec.params.get("seed", 0)) if callspec else 0
    # A new tenant for every test, seeded for the emulator's fault draws.
    assert box.auth0 is not None
    box.auth0.stop()
    box.auth0 = Auth0Emulator(EmulatorConfig(seed=seed)).start()
    proxy.disarm()
    proxy.hooks.clear()
    proxy.injected.clear()
    box.pool_id = _fresh_account(box)
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    for name in [n for n in os.environ if n.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))]:
        monkeypatch.delenv(name)
    for name, value in box.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("HOOKCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOOKCTL_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", SLACK_URL)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    w = World(box, proxy, tmp_path, box.pool_id)
    _unmanaged(w)
    yield w
    proxy.disarm()


def _fresh_account(box: Sandbox) -> str:
    """Delete what the last test left, then seed a pool as the sandbox does (settings of its own)."""
    lam, iam, idp = box.boto3_client("lambda"), box.boto3_client("iam"), box.boto3_client("cognito-idp")
    for fn in lam.list_functions()["Functions"]:
        lam.delete_function(FunctionName=fn["FunctionName"])
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        iam.delete_role(RoleName=name)
    for pool in idp.list_user_pools(MaxResults=60)["UserPools"]:
        idp.delete_user_pool(UserPoolId=pool["Id"])
    return seed_pool(idp)


def _unmanaged(w: World) -> None:
    """What someone else owns: an action bound first on hookctl's trigger, a function on the pool."""
    _unmanaged_auth0(w)
    _unmanaged_aws(w)


def _unmanaged_auth0(w: World) -> None:
    tenant = w.emu.tenant
    action = tenant.seed_action(
        UNMANAGED_ACTION, "post-user-registration", UNMANAGED_CODE, secrets=dict([UNMANAGED_SECRET])
    )
    w.unmanaged_binding = tenant.add_binding("post-user-registration", action.id).id


def _unmanaged_aws(w: World) -> None:
    iam, lam, idp = w.aws("iam"), w.aws("lambda"), w.aws("cognito-idp")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="someone-elses-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    w.box.settle()  # set-up by hand: let the role propagate (the sandbox models IAM's delay)
    w.unmanaged_arn = lam.create_function(
        FunctionName=UNMANAGED_FUNCTION,
        Runtime="nodejs22.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip("export const handler = async (e) => e;\n")},
    )["FunctionArn"]
    pool = idp.describe_user_pool(UserPoolId=w.pool_id)["UserPool"]
    idp.update_user_pool(
        UserPoolId=w.pool_id,
        Policies=pool["Policies"],
        AutoVerifiedAttributes=pool["AutoVerifiedAttributes"],
        UserPoolTags=pool["UserPoolTags"],
        MfaConfiguration=pool["MfaConfiguration"],
        LambdaConfig={"CustomMessage": w.unmanaged_arn},
    )
    w.pool_before = idp.describe_user_pool(UserPoolId=w.pool_id)["UserPool"]


def _zip(source: str) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.mjs", source)
    return buffer.getvalue()


# -- faults ---------------------------------------------------------------------------------------


def arm(w: World, kind: Kind, level: str, seed: int) -> None:
    rate, cap = RATES[level], MAX_FAULTS[level]
    rule: dict[str, Any] = {"probability": rate, "max_injections": cap}
    if kind == "throttle":
        fault = FaultRule(kind="status", status=429, **rule)
    elif kind == "error":
        fault = FaultRule(kind="status", status=(500, 503)[seed % 2], **rule)
    elif kind == "slow":
        fault = FaultRule(kind="delay", delay_seconds=SLOW, **rule)
    else:
        fault = FaultRule(kind="drop", **rule)
    w.rules.append(w.emu.add_fault(fault))
    w.proxy.arm(FaultPlan(kind, rate, seed, max_faults=cap, delay=SLOW))


def disarm(w: World) -> None:
    w.emu.clear_faults()
    w.proxy.disarm()


def emulator_faults(w: World) -> int:
    return sum(rule.injected for rule in w.rules)


# -- checks ---------------------------------------------------------------------------------------


def check_failure_message(run: Run) -> None:
    """A failed run names the operation that failed and lists exactly what finished before it."""
    assert "internal error" not in run.err, run.err
    assert "Traceback" not in run.err, run.err
    error = run.error
    assert error, f"exit {run.code} without an Error: line\n{run.err}"
    started: dict[int, str] = {}
    finished: dict[int, str] = {}
    for line in run.err.splitlines():
        match = PROGRESS_RE.match(line)
        if match:
            (finished if match.group(4).startswith(":") else started)[int(match.group(1))] = match.group(3)
    if not started:
        # Failed while reading (before any operation): the message names the API call and the resource.
        assert re.match(r"Error: (auth0|cognito) \S+.* for .+ failed: ", error), error
        return
    # Operations run in parallel: the error names the first failed operation in plan order (one
    # that started and did not finish), then any other that failed beside it, then what finished,
    # in plan order.
    unfinished = [started[i] for i in sorted(started) if i not in finished]
    assert any(error.startswith(f"Error: {name}: ") for name in unfinished), run.err
    for line in error.splitlines():
        if line.startswith("Also failed: "):
            assert any(line.startswith(f"Also failed: {name}: ") for name in unfinished), run.err
    done = [finished[i] for i in sorted(finished)]
    assert f"Already done: {', '.join(done) if done else 'nothing'}." in error, error
    assert "Hint: " in error, error


def check_nothing_lost_nothing_twice(w: World) -> None:
    tenant = w.emu.tenant
    names = sorted(a.name for a in tenant.actions.values())
    assert names == sorted([*MANAGED_ACTIONS, UNMANAGED_ACTION]), names
    unmanaged = tenant.find_action(UNMANAGED_ACTION)
    assert tenant.secret_value(unmanaged.id, UNMANAGED_SECRET[0]) == UNMANAGED_SECRET[1]
    assert (unmanaged.code, len(unmanaged.versions)) == (UNMANAGED_CODE, 1), "hookctl touched an unmanaged action"
    slack = tenant.find_action("slack-new-user")
    assert tenant.secret_value(slack.id, "SLACK_WEBHOOK_URL") == SLACK_URL
    bound = tenant.list_bindings("post-user-registration")
    assert bound[0].id == w.unmanaged_binding, "the unmanaged binding lost its slot"
    assert [b.action_id for b in bound] == [unmanaged.id, slack.id]
    assert [b.action_id for b in tenant.list_bindings("pre-user-registration")] == [
        tenant.find_action("deny-tls-fingerprints").id
    ]

    lam, iam, idp = w.aws("lambda"), w.aws("iam"), w.aws("cognito-idp")
    functions = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"])
    assert functions == sorted([*MANAGED_FUNCTIONS, UNMANAGED_FUNCTION]), functions
    roles = sorted(r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/"))
    assert roles == sorted([*MANAGED_FUNCTIONS, "someone-elses-role"]), roles
    pool_arn = w.pool_before["Arn"]
    for name in MANAGED_FUNCTIONS:
        statements = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
        assert len(statements) == 1, statements
        assert statements[0]["Condition"]["ArnLike"]["AWS:SourceArn"] == pool_arn
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName=UNMANAGED_FUNCTION)

    pool = idp.describe_user_pool(UserPoolId=w.pool_id)["UserPool"]
    for key in ("Policies", "AutoVerifiedAttributes", "UserPoolTags", "MfaConfiguration", "SchemaAttributes"):
        assert pool.get(key) == w.pool_before.get(key), key
    triggers = pool["LambdaConfig"]
    assert triggers["CustomMessage"] == w.unmanaged_arn
    assert triggers["PreSignUp"].endswith(":function:example-sandbox-auto-confirm-domain")
    assert triggers["PostAuthentication"].endswith(":function:example-sandbox-log-sign-in")
    assert sorted(triggers) == ["CustomMessage", "PostAuthentication", "PreSignUp"]


def converge(w: World) -> tuple[Run, Run]:
    """Faults off: apply must succeed and the next plan must be empty."""
    disarm(w)
    again = w.hookctl("apply", *STACK, "--auto-approve")
    assert again.code == 0, again.err
    replan = w.hookctl("plan", *STACK, "--detailed-exitcode")
    assert replan.code == 0, replan.out + replan.err
    check_nothing_lost_nothing_twice(w)
    return again, replan


# -- the matrix -----------------------------------------------------------------------------------


# The default run: every kind at the high rate, two at the low one, one seed each (all different).
DEFAULT_CELLS = {
    ("throttle", "high"),
    ("error", "high"),
    ("slow", "high"),
    ("drop", "high"),
    ("error", "low"),
    ("slow", "low"),
}


def _cases() -> list[Any]:
    seeds = range(1, 13) if LONG else (1,)
    cases = []
    for kind in KINDS:
        for level in RATES:
            if not LONG and (kind, level) not in DEFAULT_CELLS:
                continue
            for seed in seeds:
                s = seed * 100 + KINDS.index(kind) * 10 + list(RATES).index(level)
                cases.append(pytest.param(kind, level, s, id=f"{kind}-{level}-seed{s}"))
    return cases


@pytest.mark.parametrize(("kind", "level", "seed"), _cases())
def test_apply_under_faults__completes_or_explains__second_apply_converges(
    world: World, monkeypatch: pytest.MonkeyPatch, kind: Kind, level: str, seed: int
) -> None:
    w = world
    monkeypatch.setenv("HOOKCTL_HTTP_TIMEOUT", str(CLIENT_TIMEOUT))
    arm(w, kind, level, seed)
    first = w.hookctl("apply", *STACK, "--auto-approve")
    if first.code != 0:
        check_failure_message(first)
    else:
        assert "Apply complete: 13 operations." in first.out, first.out + first.err
    if level == "high":
        assert emulator_faults(w) + len(w.proxy.injected) > 0, "no fault was injected"
    monkeypatch.delenv("HOOKCTL_HTTP_TIMEOUT")
    again, _ = converge(w)
    print(
        f"{kind}/{level}/seed {seed}: first apply exit {first.code} in {first.seconds:.1f}s "
        f"(auth0 faults {emulator_faults(w)}, aws faults {len(w.proxy.injected)}), "
        f"second apply {again.seconds:.1f}s; {first.error.splitlines()[0] if first.code else ''}"
    )


# -- lost answers: the sequences that could duplicate or clobber ------------------------------------


def _some(*params: Any) -> list[Any]:
    """All ``params`` with HOOKCTL_LONG=1, else the first."""
    return list(params) if LONG else list(params[:1])


@pytest.mark.parametrize(
    "delay",
    _some(pytest.param(1.3, id="handled-before-retry"), pytest.param(2.5, id="handled-after-retry")),
)
def test_auth0_create_answer_lost__one_action__apply_completes(
    world: World, monkeypatch: pytest.MonkeyPatch, delay: float
) -> None:
    """The first POST /actions/actions is handled only after the client timed out: its answer is lost.

    hookctl sends that POST without SDK retries, looks the action up by name after the timeout, and
    either adopts what the late POST made (its retry then gets 409) or creates it while the late POST
    gets 409. Either way: one action, the apply completes, and the state holds the live id.
    """
    w = world
    monkeypatch.setenv("HOOKCTL_HTTP_TIMEOUT", str(CLIENT_TIMEOUT))
    rule = w.emu.add_fault(
        FaultRule(kind="delay", method="POST", path="/api/v2/actions/actions", first_n=1, delay_seconds=delay)
    )
    first = w.hookctl("apply", *STACK, "--auto-approve")
    assert first.code == 0, first.err
    assert rule.injected == 1
    key = ("POST", "/api/v2/actions/actions")
    deadline = time.monotonic() + delay + 5
    while time.monotonic() < deadline:  # the late POST is still sleeping in the emulator: let it land
        answered = sum(n for (m, p, _s), n in w.emu.status_counts.items() if (m, p) == key)
        if answered == w.emu.counts[key]:
            break
        time.sleep(0.05)
    assert w.emu.counts[key] == 3, w.emu.status_counts  # two actions, one of them posted twice
    assert w.emu.status_counts[(*key, 409)] == 1, w.emu.status_counts  # one of the two got "exists"
    monkeypatch.delenv("HOOKCTL_HTTP_TIMEOUT")
    converge(w)


LOST_ANSWERS = ("CreateRole", "CreateFunction", "AddPermission", "UpdateUserPool")


def _lost_answer_cases() -> list[Any]:
    every = pytest.param(LOST_ANSWERS, "drop", id="drop-all-four")
    if not LONG:
        return [every]
    one_by_one = [pytest.param((op,), how, id=f"{how}-{op}") for how in ("drop", "slow") for op in LOST_ANSWERS]
    return [every, pytest.param(LOST_ANSWERS, "slow", id="slow-all-four"), *one_by_one]


@pytest.mark.parametrize(("operations", "how"), _lost_answer_cases())
def test_aws_write_answer_lost__sdk_retry_is_absorbed__apply_completes(
    world: World, monkeypatch: pytest.MonkeyPatch, operations: tuple[str, ...], how: Kind
) -> None:
    """AWS handled the write, the answer never came back (connection closed, or later than the read
    timeout), botocore sent it again.

    The retry finds what the first attempt made (EntityAlreadyExists, "Function already exist", a
    ResourceConflictException for the statement id): hookctl must recognise its own work and go on.
    UpdateUserPool is the exception: it is not re-sent blindly, the pool is read again instead.
    """
    w = world
    monkeypatch.setenv("HOOKCTL_HTTP_TIMEOUT", str(CLIENT_TIMEOUT))
    plan = FaultPlan(how, 1.0, 0, max_faults=len(operations), delay=SLOW, where="after moto", per_operation=1)
    plan.only = frozenset(operations)
    w.proxy.arm(plan)
    first = w.hookctl("apply", *STACK, "--auto-approve")
    assert sorted((i.operation, i.kind) for i in w.proxy.injected) == sorted((op, how) for op in operations)
    assert first.code == 0, first.err
    for operation in operations:
        if operation == "UpdateUserPool":
            assert w.proxy.calls[operation] == 1  # read again, found written: not sent twice
        else:
            assert w.proxy.calls[operation] >= 3  # two resources, and the SDK's retry of the first
    monkeypatch.delenv("HOOKCTL_HTTP_TIMEOUT")
    converge(w)


def _someone_edits_the_pool(w: World, minimum_length: int) -> None:
    """Another administrator's careful read-modify-write, straight to moto."""
    idp = w.aws("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=w.pool_id)["UserPool"]
    policies = json.loads(json.dumps(pool["Policies"]))
    policies["PasswordPolicy"]["MinimumLength"] = minimum_length
    idp.update_user_pool(
        UserPoolId=w.pool_id,
        Policies=policies,
        AutoVerifiedAttributes=pool["AutoVerifiedAttributes"],
        UserPoolTags=pool["UserPoolTags"],
        MfaConfiguration=pool["MfaConfiguration"],
        LambdaConfig=pool["LambdaConfig"],
    )


@pytest.mark.parametrize("how", _some("drop", "slow"))
def test_pool_update_answer_lost_while_someone_edits__their_change_survives(
    world: World, monkeypatch: pytest.MonkeyPatch, how: Kind
) -> None:
    """UpdateUserPool lands, then another administrator changes the password policy, then the answer is lost.

    UpdateUserPool replaces the whole pool, so a blind retry of the same request would put back the
    password policy hookctl read before: the other administrator's change would be silently undone.
    hookctl must not re-send it blindly; whatever the first run reports, the change survives both applies.
    """
    w = world
    monkeypatch.setenv("HOOKCTL_HTTP_TIMEOUT", str(CLIENT_TIMEOUT))
    w.proxy.hooks["UpdateUserPool"] = lambda _call, nth: _someone_edits_the_pool(w, 16) if nth == 1 else None
    w.proxy.arm(
        FaultPlan(how, 1.0, 0, max_faults=1, delay=SLOW, only=frozenset({"UpdateUserPool"}), where="after moto")
    )
    first = w.hookctl("apply", *STACK, "--auto-approve")
    if first.code != 0:
        check_failure_message(first)
    pool = w.aws("cognito-idp").describe_user_pool(UserPoolId=w.pool_id)["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 16, "the other administrator's change was undone"
    w.proxy.hooks.clear()
    w.pool_before["Policies"]["PasswordPolicy"]["MinimumLength"] = 16
    monkeypatch.delenv("HOOKCTL_HTTP_TIMEOUT")
    converge(w)
    print(f"{how}: first apply exit {first.code}: {first.error}")


# -- Auth0's token request and a rate-limited tenant ------------------------------------------------


@pytest.mark.parametrize("status", _some(503, 429, 500))
def test_auth0_token_request_fails_twice__retried__apply_completes(
    world: World, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """auth0-python fetches the client-credentials token once, without retries; hookctl retries it."""
    w = world
    rule = w.emu.add_fault(FaultRule(kind="status", status=status, path="/oauth/token", first_n=2))
    first = w.hookctl("apply", *STACK, "--auto-approve")
    assert first.code == 0, first.err
    assert rule.injected == 2
    assert w.emu.status_counts[("POST", "/oauth/token", 200)] == 1
    converge(w)


@pytest.mark.skipif(not LONG, reason="HOOKCTL_LONG=1")
def test_auth0_token_request_refused__message_names_the_token_request(world: World) -> None:
    w = world
    w.emu.add_fault(FaultRule(kind="status", status=401, path="/oauth/token"))
    first = w.hookctl("apply", *STACK, "--auto-approve")
    assert first.code == 1
    assert first.error.startswith(f"Error: auth0 POST /oauth/token for client {w.emu.client_id} failed: HTTP 401"), (
        first.err
    )
    assert "Hint: Check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET" in first.error
    assert w.emu.status_counts[("POST", "/oauth/token", 401)] == 1  # a refusal is not retried
    converge(w)


@pytest.mark.skipif(not LONG, reason="a slow tenant: HOOKCTL_LONG=1")
def test_rate_limited_tenant__requests_paced__apply_completes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tenant that allows 4 requests a second, 2 at once (real 429s with ``x-ratelimit-*`` headers):
    the pacer spaces the plan's concurrent reads and the writes, and the SDK absorbs any 429 left."""
    w = world
    assert w.box.auth0 is not None
    w.box.auth0.stop()
    w.box.auth0 = Auth0Emulator(EmulatorConfig(rate_limit_per_second=4, rate_limit_burst=2)).start()
    for name, value in w.box.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", w.proxy.endpoint)
    _unmanaged_auth0(w)
    first = w.hookctl("apply", *STACK, "--auto-approve")
    assert first.code == 0, first.err
    throttled = sum(n for (_m, _p, status), n in w.emu.status_counts.items() if status == 429)
    print(f"rate-limited tenant: apply in {first.seconds:.1f}s, {throttled} answers were 429")
    converge(w)


def test_http_timeout__not_a_number__clear_error(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKCTL_HTTP_TIMEOUT", "soon")
    run = world.hookctl("plan", *STACK)
    assert run.code == 1
    assert run.error.startswith("Error: HOOKCTL_HTTP_TIMEOUT must be a positive number of seconds, not 'soon'"), run.err
