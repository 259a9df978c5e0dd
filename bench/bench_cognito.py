"""Benchmark: API calls and wall time of plan, first apply and no-op apply of Cognito triggers against moto.

Stacks of 1, 10 and 50 functions over 1 and 3 user pools, run against moto's
server on loopback through real boto3 (``AWS_ENDPOINT_URL``), with an emulated
latency per request (a botocore ``before-send`` hook; moto answers in
microseconds, AWS in tens of milliseconds). With ``--realistic`` the sandbox's
model of AWS sits in front of moto with its realistic durations
(``provisioner/sandbox/awsmodel.py``: a new role unusable for 8 s, a new
function Pending for 2 s, an update InProgress for 2 s). Calls are counted by
operation with the client's own ``before-call`` counter. Also times a cached
versus an uncached build of every function. Prints a Markdown table naming the
machine.

    .venv/bin/python bench/bench_cognito.py [--latency-ms 50] [--sizes 1:1,1:3,10:1,10:3,50:3] [--realistic]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3

from provisioner.engine.load import load_stack
from provisioner.engine.model import Stack
from provisioner.engine.pipeline import Options, apply_plan, compute_plan, package_all
from provisioner.engine.render import render_all
from provisioner.engine.secrets import SecretResolver
from provisioner.providers.base import Provider
from provisioner.providers.cognito.provider import CognitoProvider
from provisioner.sandbox.awsmodel import BEHAVIOURS, AwsBehaviours, ModelledMotoServer
from provisioner.sandbox.run import quiet_moto_logs

REGION = "eu-west-1"
# LambdaConfig keys that take a plain ARN (PreTokenGeneration defaults to V1_0);
# a pool holds one function per key, so 11 trigger slots a pool.
KEYS = [
    "PreSignUp",
    "PostAuthentication",
    "PostConfirmation",
    "PreAuthentication",
    "CustomMessage",
    "DefineAuthChallenge",
    "CreateAuthChallenge",
    "VerifyAuthChallengeResponse",
    "UserMigration",
    "InboundFederation",
    "PreTokenGeneration",
]
TEMPLATES = [
    ("cognito/post-authentication/log-sign-in.mjs.j2", "nodejs22.x"),
    ("cognito/post-authentication/log-sign-in.py.j2", "python3.13"),
    ("cognito/pre-sign-up/auto-confirm-domain.mjs.j2", "nodejs22.x"),
    ("cognito/pre-sign-up/reject-short-username.py.j2", "python3.12"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_stack(root: Path, functions: int, pool_ids: list[str], role: str) -> tuple[str, int]:
    """Function i serves trigger slots i, i+N, … of (key, pool) pairs; returns the path and slots used."""
    slots = [(pool, key) for key in KEYS for pool in range(len(pool_ids))]
    used = slots[: min(len(slots), max(functions, len(pool_ids)))]
    triggers: dict[int, list[tuple[int, str]]] = {}
    for j, slot in enumerate(used):
        triggers.setdefault(j % functions, []).append(slot)
    pools = ", ".join(f"p{n}: {pid}" for n, pid in enumerate(pool_ids))
    lines = [
        "stack: bench",
        "environments:",
        "  bench:",
        "    cognito:",
        f"      region: {REGION}",
        f"      pools: {{{pools}}}",
        "    vars: {domains: [example.com], min_length: 5}",
        "cognito:",
        "  functions:",
    ]
    for i in range(functions):
        template, runtime = TEMPLATES[i % len(TEMPLATES)]
        entries = ", ".join(f"{{pool: p{pool}, trigger: {key}}}" for pool, key in triggers.get(i, []))
        lines += [
            f"    fn-{i:03d}:",
            f"      template: {template}",
            f"      runtime: {runtime}",
            f"      role: {role}",
            f"      description: bench function {i}",
            f"      environment: {{INDEX: '{i}'}}",
            f"      triggers: [{entries}]",
        ]
    path = root / "stack.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path), len(used)


class Bench:
    def __init__(self, latency: float, realistic: bool = False) -> None:
        self.latency = latency
        port = _free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        quiet_moto_logs()
        behaviours = AwsBehaviours() if realistic else AwsBehaviours().without(*BEHAVIOURS)
        self.server = ModelledMotoServer(behaviours, port=port)
        os.environ.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION=REGION,
        )
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        self.calls: Counter[str] = Counter()

    def __enter__(self) -> Bench:
        self.server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=60):
            pass

    def factory(self, stack: Stack) -> list[Provider]:
        session = boto3.session.Session(region_name=REGION)
        if self.latency:
            # Clients copy the session's handlers when they are created: every request waits.
            session.events.register("before-send", lambda **_: time.sleep(self.latency))
        provider = CognitoProvider.from_environment(stack, session=session)
        self.last = provider
        return [provider]

    def run_case(self, functions: int, pools: int, parallelism: int = 10) -> dict[str, Any]:
        self.reset()
        session = boto3.session.Session(region_name=REGION)
        cognito, iam = session.client("cognito-idp"), session.client("iam")
        pool_ids = [cognito.create_user_pool(PoolName=f"bench-{n}")["UserPool"]["Id"] for n in range(pools)]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            stack_path, slots = write_stack(root, functions, pool_ids, role)
            options = Options(
                state_dir=str(root / "state"),
                build_dir=str(root / "build"),
                resolver=SecretResolver(environ={}),
                parallelism=parallelism,
            )
            r: dict[str, Any] = {"functions": functions, "pools": pools, "slots": slots}
            r["build_uncached_s"], r["build_cached_s"] = _build_times(stack_path, root)

            t0 = time.perf_counter()
            planned = compute_plan(stack_path, "bench", self.factory, options)
            r["plan_s"] = time.perf_counter() - t0
            r["plan_calls"] = Counter(self.last.client().calls)
            t0 = time.perf_counter()
            apply_plan(planned, None, options)
            r["apply_s"] = time.perf_counter() - t0
            r["apply_calls"] = Counter(self.last.client().calls) - r["plan_calls"]

            t0 = time.perf_counter()
            again = compute_plan(stack_path, "bench", self.factory, options)
            r["replan_s"] = time.perf_counter() - t0
            r["replan_calls"] = Counter(self.last.client().calls)
            apply_plan(again, None, options)
            r["noop_s"] = time.perf_counter() - t0
            r["noop_writes"] = sum(self.last.client().writes().values())
            r["noop_changes"] = len(again.plan.changes)

            # A fresh CI runner: no state, so ownership is proven by the functions' tags.
            shutil.rmtree(root / "state")
            t0 = time.perf_counter()
            fresh = compute_plan(stack_path, "bench", self.factory, options)
            r["fresh_s"] = time.perf_counter() - t0
            r["fresh_calls"] = Counter(self.last.client().calls)
            assert not fresh.plan.changes, "a fresh runner must see no changes"
            permissions = len({(i, pool) for i, pool in _assignments(functions, pools, slots)})
            r["min_first_plan"] = functions + pools  # GetFunction per declared function + DescribeUserPool per pool
            r["min_replan"] = pools + 2 * functions  # + GetPolicy per managed function
            # CreateFunction per function, AddPermission per (function, pool), UpdateUserPool per pool used.
            r["min_writes"] = functions + permissions + min(pools, slots)
            return r


def _assignments(functions: int, pools: int, slots: int) -> list[tuple[int, int]]:
    pairs = [(pool, key) for key in KEYS for pool in range(pools)][:slots]
    return [(j % functions, pool) for j, (pool, _key) in enumerate(pairs)]


def _build_times(stack_path: str, root: Path) -> tuple[float, float]:
    stack = load_stack(stack_path, "bench")
    rendered = {r.address: r for r in render_all(stack)}
    options = Options(build_dir=str(root / "build-timing"))
    t0 = time.perf_counter()
    package_all(stack, rendered, options)
    uncached = time.perf_counter() - t0
    t0 = time.perf_counter()
    package_all(stack, rendered, options)
    return uncached, time.perf_counter() - t0


DEPENDENCY_STACK = """\
stack: bench-deps
environments:
  bench:
    cognito: {region: eu-west-1, pools: {p0: eu-west-1_Unused0}}
cognito:
  functions:
    with-dependency:
      template: cognito/post-authentication/log-sign-in.py.j2
      runtime: python3.13
      dependencies: {idna: "3.20"}
      triggers: [{pool: p0, trigger: PostAuthentication}]
"""


def _dependency_build_times() -> str:
    """One Python function with a pip dependency: a real install when uncached, a hash when cached."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "stack.yaml").write_text(DEPENDENCY_STACK)
        try:
            uncached, cached = _build_times(str(root / "stack.yaml"), root)
        except Exception as exc:  # pip needs an index: report, do not fail the benchmark
            return f"A Python function with one pip dependency could not be built here ({type(exc).__name__})."
    return (
        f"A Python function with one pip dependency (idna 3.20, `pip install --target` for manylinux x86_64): "
        f"uncached build {uncached:.2f} s, cached {cached:.3f} s."
    )


def _by_operation(calls: Counter[str]) -> str:
    return ", ".join(f"{name.split(':', 1)[1]} {n}" for name, n in sorted(calls.items()))


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--sizes", default="1:1,1:3,10:1,10:3,50:3", help="functions:pools pairs")
    parser.add_argument("--realistic", action="store_true", help="AWS's delays modelled in front of moto")
    args = parser.parse_args(argv)
    rows = []
    with Bench(args.latency_ms / 1000, realistic=args.realistic) as bench:
        for pair in args.sizes.split(","):
            functions, pools = (int(x) for x in pair.split(":"))
            row = bench.run_case(functions, pools)
            row["apply_p1_s"] = bench.run_case(functions, pools, parallelism=1)["apply_s"]
            rows.append(row)
            print(f"  done {functions} functions / {pools} pools", file=sys.stderr)
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})"
    delays = ", and AWS's delays modelled (role propagation 8 s, Pending 2 s, InProgress 2 s)" if args.realistic else ""
    out = [
        f"### Cognito: moto on loopback, {args.latency_ms:.0f} ms emulated latency per request{delays} — {machine}",
        "",
        "| functions | pools | triggers | first plan calls (min) | plan s | first apply calls | writes (min) "
        "| apply s | apply s, `--parallelism 1` | re-plan calls (min) | re-plan s | no-op writes | no-op s "
        "| fresh-runner plan calls | fresh-runner plan s | build uncached s | build cached s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        writes = sum(
            n
            for name, n in r["apply_calls"].items()
            if not name.split(":", 1)[1].startswith(("Get", "List", "Describe"))
        )
        out.append(
            f"| {r['functions']} | {r['pools']} | {r['slots']} "
            f"| {sum(r['plan_calls'].values())} ({r['min_first_plan']}) | {r['plan_s']:.2f} "
            f"| {sum(r['apply_calls'].values())} | {writes} ({r['min_writes']}) | {r['apply_s']:.2f} "
            f"| {r['apply_p1_s']:.2f} "
            f"| {sum(r['replan_calls'].values())} ({r['min_replan']}) | {r['replan_s']:.2f} "
            f"| {r['noop_writes']} | {r['noop_s']:.2f} | {sum(r['fresh_calls'].values())} | {r['fresh_s']:.2f} "
            f"| {r['build_uncached_s']:.2f} | {r['build_cached_s']:.3f} |"
        )
    out += ["", _dependency_build_times(), "", "Calls by operation:", ""]
    for r in rows:
        out.append(
            f"- {r['functions']} functions / {r['pools']} pools — first plan: {_by_operation(r['plan_calls'])}; "
            f"first apply: {_by_operation(r['apply_calls'])}; re-plan: {_by_operation(r['replan_calls'])}; "
            f"fresh-runner plan: {_by_operation(r['fresh_calls'])}"
        )
    out += [
        "",
        "Reading the Cognito table: a plan reads each declared function by name (GetFunction: configuration, code "
        "hash and tags in one answer) and never ListFunctions, which would return every function of the region "
        "with its environment in plaintext; DescribeUserPool once per pool and GetPolicy once per managed function "
        "that exists. A fresh runner without state proves ownership from the tags GetFunction already returned, so "
        "it costs what a re-plan costs. The first apply writes one CreateFunction per function, one AddPermission "
        "per (function, pool) and one UpdateUserPool per pool, and polls GetFunctionConfiguration until each "
        "function is Active (once when Lambda is instant; every 0.5 s growing to 5 s when it is Pending), with "
        "two DescribeUserPool per pool (the stale check before, the proof after). With AWS's delays a CreateFunction "
        "refused while the new role propagates counts again when retried. A no-op apply writes nothing. Builds "
        "have no dependencies here (no npm or pip run); a cached build only re-hashes the zip.",
    ]
    text = "\n".join(out) + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main()
