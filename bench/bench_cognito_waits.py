"""Benchmark: first apply of 10 and 50 Cognito functions with the sandbox's IAM and Lambda delays.

moto behind the sandbox's behaviour layer (provisioner/sandbox/awsmodel.py, realistic durations:
a new role is unusable for ``role_propagation_seconds``, a new function Pending for
``function_create_seconds``), 50 ms latency per request. Each function gets a role hookctl creates,
so every function meets IAM propagation and Lambda's Pending state. Each row is applied at
``--parallelism`` 10 (the default), 50 and 1, each against an empty account.

    .venv/bin/python bench/bench_cognito_waits.py [--sizes 10,50] [--parallelisms 10,50,1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3

from provisioner.engine.model import Stack
from provisioner.engine.pipeline import Options, apply_plan, compute_plan
from provisioner.engine.secrets import SecretResolver
from provisioner.providers.base import Provider
from provisioner.providers.cognito.provider import CognitoProvider
from provisioner.sandbox.awsmodel import AwsBehaviours, ModelledMotoServer
from provisioner.sandbox.run import quiet_moto_logs

REGION = "eu-west-1"
LATENCY = 0.05
KEYS = ["PreSignUp", "PostAuthentication", "PostConfirmation", "PreAuthentication", "CustomMessage"]


def _stack(root: Path, functions: int, pool_ids: list[str]) -> str:
    pools = ", ".join(f"p{n}: {pid}" for n, pid in enumerate(pool_ids))
    lines = [
        "stack: waits",
        "environments:",
        "  bench:",
        "    cognito:",
        f"      region: {REGION}",
        f"      pools: {{{pools}}}",
        "    vars: {min_length: 5}",
        "cognito:",
        "  functions:",
    ]
    for i in range(functions):
        pool, key = divmod(i, len(KEYS))
        lines += [
            f"    fn-{i:03d}:",
            "      template: cognito/pre-sign-up/reject-short-username.py.j2",
            "      runtime: python3.12",
            f"      triggers: [{{pool: p{pool}, trigger: {KEYS[key]}}}]",
        ]
    path = root / "stack.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run(server: ModelledMotoServer, functions: int, parallelism: int) -> dict[str, Any]:
    with urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"), timeout=60):
        pass
    session = boto3.session.Session(region_name=REGION)
    cognito = session.client("cognito-idp")
    pools = -(-functions // len(KEYS))
    pool_ids = [cognito.create_user_pool(PoolName=f"waits-{n}")["UserPool"]["Id"] for n in range(pools)]
    clients: list[Any] = []

    def factory(stack: Stack) -> list[Provider]:
        bench_session = boto3.session.Session(region_name=REGION)
        bench_session.events.register("before-send", lambda **_: time.sleep(LATENCY))
        provider = CognitoProvider.from_environment(stack, session=bench_session)
        clients.append(provider.client())
        return [provider]

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        stack = _stack(root, functions, pool_ids)
        options = Options(
            state_dir=str(root / "state"),
            build_dir=str(root / "build"),
            resolver=SecretResolver(environ={}),
            parallelism=parallelism,
        )
        planned = compute_plan(stack, "bench", factory, options)
        t0 = time.perf_counter()
        apply_plan(planned, None, options)
        seconds = time.perf_counter() - t0
        writes = sum(clients[-1].writes().values())
        calls = sum(clients[-1].calls.values())
        assert compute_plan(stack, "bench", factory, options).plan.empty
    return {"seconds": seconds, "writes": writes, "calls": calls}


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10,50")
    parser.add_argument("--parallelisms", default="10,50,1")
    args = parser.parse_args(argv)
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        MOTO_IAM_LOAD_MANAGED_POLICIES="true",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HOOKCTL_SANDBOX_TIME_SCALE", "HOOKCTL_SANDBOX_AWS_OFF"):
        os.environ.pop(name, None)
    behaviours = AwsBehaviours()
    quiet_moto_logs()
    parallelisms = [int(x) for x in args.parallelisms.split(",") if x]
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})"
    bound_base = 2 * behaviours.function_create_seconds + behaviours.role_propagation_seconds
    out = [
        f"### Cognito: first apply with IAM propagation and Lambda's Pending state — {machine}",
        "",
        "moto behind the sandbox's behaviour layer: a new role unusable for "
        f"{behaviours.role_propagation_seconds:g} s, "
        f"a new function Pending for {behaviours.function_create_seconds:g} s; {LATENCY * 1000:.0f} ms per request; "
        "one role per function, made by hookctl. Target: 2 × activation + one propagation "
        f"({bound_base:g} s) + the writes, {LATENCY * 1000:.0f} ms each, spread over the parallel operations.",
        "",
        "| functions | "
        + " | ".join(f"apply s, --parallelism {p}" for p in parallelisms)
        + " | writes | calls (plan + apply) | target s |",
        "|---|" + "---|" * (len(parallelisms) + 3),
    ]
    with ModelledMotoServer(behaviours) as server:
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint
        for functions in [int(x) for x in args.sizes.split(",") if x]:
            results = {p: run(server, functions, p) for p in parallelisms}
            first = results[parallelisms[0]]
            target = bound_base + first["writes"] * LATENCY / parallelisms[0]
            out.append(
                f"| {functions} | "
                + " | ".join(f"{results[p]['seconds']:.1f}" for p in parallelisms)
                + f" | {first['writes']} | {first['calls']} | {target:.1f} |"
            )
            print(f"  done {functions} functions", file=sys.stderr)
    text = "\n".join(out) + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main()
