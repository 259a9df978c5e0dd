"""Benchmark: first apply of many Auth0 actions with real build times, in parallel and one at a time,
and side by side with auth0-deploy-cli on the same emulator.

Grid: 10, 50 and 100 actions (over 5 triggers) with 0, 2 and 10 s builds, at 50 ms latency per
request and against a tenant limited to 2 requests/s. Each cell is applied with the default
``--parallelism 10`` and with ``--parallelism 1`` in the same run, each against a fresh tenant.

Peer: ``a0deploy import`` (auth0-deploy-cli, see bench/peer.py) and ``hookctl apply`` as processes,
deploying the same actions to a fresh tenant each, at 50 ms and 200 ms latency and at 2 requests/s.
Both tools' calls, writes, new versions and wall time come from the emulator and the clock.

    .venv/bin/python bench/bench_parallel.py [--sizes 10,50,100] [--builds 0,2,10] [--peer-sizes 10,100]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import peer  # noqa: E402
from bench_auth0 import HANDLERS, TRIGGERS, write_stack  # noqa: E402

from provisioner.engine.pipeline import Options, apply_plan, compute_plan  # noqa: E402
from provisioner.engine.secrets import SecretResolver  # noqa: E402
from provisioner.providers.auth0.client import Auth0Client  # noqa: E402
from provisioner.providers.auth0.provider import Auth0Provider  # noqa: E402
from provisioner.sandbox.auth0.config import EmulatorConfig  # noqa: E402
from provisioner.sandbox.auth0.server import Auth0Emulator  # noqa: E402

TRIGGER_COUNT = 5
RATE = 2.0


def _calls(counts: Counter[tuple[str, str]]) -> int:
    return sum(n for (_m, path), n in counts.items() if path != "/oauth/token")


def _writes(counts: Counter[tuple[str, str]]) -> int:
    return sum(n for (m, path), n in counts.items() if m != "GET" and path != "/oauth/token")


def _throttled(emu: Auth0Emulator) -> int:
    return sum(n for (_m, path, status), n in emu.status_counts.items() if status == 429 and path != "/oauth/token")


def _emulator(latency: float, rate: float | None, build: float) -> Auth0Emulator:
    config = EmulatorConfig(
        latency_seconds=latency,
        syntax_check="off",
        rate_limit_per_second=rate,
        rate_limit_burst=math.ceil(rate) if rate else None,
        build_seconds=build,
    )
    return Auth0Emulator(config).start()


def min_calls(actions: int, triggers: int) -> int:
    """A first apply's least calls: triggers + action pages + bindings per trigger (the plan),
    then a create and a deploy per action and one bindings PATCH per trigger."""
    return 1 + math.ceil(actions / 100) + triggers + 2 * actions + triggers


def apply_in_process(
    actions: int, latency: float, rate: float | None, build: float, parallelism: int
) -> dict[str, Any]:
    emu = _emulator(latency, rate, build)
    os.environ["SSL_CERT_FILE"] = str(emu.ca_file)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            stack = write_stack(root, actions, TRIGGER_COUNT)
            options = Options(
                state_dir=str(root / "state"),
                build_dir=str(root / "build"),
                resolver=SecretResolver(environ={}),
                parallelism=parallelism,
            )
            clients: list[Auth0Client] = []

            def factory(_stack: Any) -> list[Any]:
                def connect() -> Auth0Client:
                    client = Auth0Client.connect(emu.domain, client_id=emu.client_id, client_secret=emu.client_secret)
                    clients.append(client)
                    return client

                return [Auth0Provider(connect)]

            emu.reset_counts()
            t0 = time.perf_counter()
            planned = compute_plan(stack, "bench", factory, options)
            plan_throttled = _throttled(emu)
            apply_plan(planned, None, options)
            seconds = time.perf_counter() - t0
            watch = clients[0].watch
            return {
                "seconds": seconds,
                "calls": _calls(emu.counts),
                "writes": _writes(emu.counts),
                "throttled": _throttled(emu),
                "plan_throttled": plan_throttled,
                "rounds": watch.rounds,
                "status_reads": watch.reads,
                "per_action_gets": emu.counts[("GET", "/api/v2/actions/actions/{id}")],
                "versions": sum(len(a.versions) for a in emu.tenant.actions.values()),
            }
    finally:
        emu.stop()


def _actions(actions: int) -> list[tuple[str, str, str]]:
    """The actions bench_auth0.write_stack declares, as (name, trigger, code) for the peer."""
    out = []
    for i in range(actions):
        trigger = TRIGGERS[i % TRIGGER_COUNT]
        code = f'exports.{HANDLERS[trigger]} = async (event, api) => {{\n  console.log("bench-{i}");\n}};\n'
        out.append((f"action-{i:03d}", trigger, code))
    return out


def hookctl_process(emu: Auth0Emulator, root: Path, actions: int) -> float:
    stack = write_stack(root, actions, TRIGGER_COUNT)
    env = {
        **os.environ,
        "SSL_CERT_FILE": str(emu.ca_file),
        "AUTH0_DOMAIN": emu.domain,
        "AUTH0_CLIENT_ID": emu.client_id,
        "AUTH0_CLIENT_SECRET": emu.client_secret,
        "HOOKCTL_STATE_DIR": str(root / "state"),
        "HOOKCTL_BUILD_DIR": str(root / "build"),
    }
    hookctl = str(Path(sys.executable).parent / "hookctl")
    t0 = time.perf_counter()
    subprocess.run(
        [hookctl, "-q", "apply", "-s", stack, "-e", "bench", "--auto-approve"],
        cwd=root,
        env=env,
        capture_output=True,
        check=True,
        timeout=3600,
    )
    return time.perf_counter() - t0


def side_by_side(actions: int, latency: float, rate: float | None, build: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for tool in ("hookctl", "a0deploy"):
        emu = _emulator(latency, rate, build)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                emu.reset_counts()
                if tool == "hookctl":
                    seconds = hookctl_process(emu, Path(tmp), actions)
                else:
                    seconds = peer.run_peer(emu, Path(tmp), _actions(actions))["seconds"]
                tenant = emu.tenant
                bound = sum(len(tenant.list_bindings(t)) for t in TRIGGERS[:TRIGGER_COUNT])
                out[tool] = {
                    "seconds": seconds,
                    "calls": _calls(emu.counts),
                    "writes": _writes(emu.counts),
                    "throttled": _throttled(emu),
                    "versions": sum(len(a.versions) for a in tenant.actions.values()),
                    "deployed": sum(1 for a in tenant.actions.values() if a.deployed_version_id),
                    "bound": bound,
                }
        finally:
            emu.stop()
    return out


def peer_startup(latency: float) -> float:
    """a0deploy importing nothing (actions and triggers only): its own start-up on this machine."""
    emu = _emulator(latency, None, 0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return float(peer.run_peer(emu, Path(tmp), [])["seconds"])
    finally:
        emu.stop()


def _setting(latency: float, rate: float | None) -> str:
    return f"{RATE:g} req/s" if rate else f"{latency * 1000:.0f} ms"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument("--builds", default="0,2,10")
    parser.add_argument("--settings", default="latency,rate", help="latency (50 ms) and/or rate (2 req/s)")
    parser.add_argument("--peer-sizes", default="10,100")
    parser.add_argument("--peer-build", type=float, default=2.0)
    args = parser.parse_args(argv)
    import auth0.management  # noqa: F401 - import the SDK before timing anything

    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})"
    sizes = [int(x) for x in args.sizes.split(",") if x]
    builds = [float(x) for x in args.builds.split(",") if x]
    settings = [(0.05, None) if s == "latency" else (0.05, RATE) for s in args.settings.split(",") if s]
    out = [
        f"### Auth0: first apply in parallel — {machine}",
        "",
        f"{TRIGGER_COUNT} triggers; a fresh tenant per row and per column. `p10`: `--parallelism 10` (the default); "
        "`p1`: `--parallelism 1`, same run. Status reads: `GET /actions/actions` pages read while waiting for "
        "builds and deployed versions, and the rounds they served. At 2 requests/s, bound = (least calls / 2 + one "
        "build) + 10 %.",
        "",
        "| actions | build s | setting | p10 s | p1 s | p1 / p10 | calls (least) | writes | 429s (in the plan) "
        "| status reads / rounds | GET per action | at 2 req/s: bound s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for latency, rate in settings:
        for build in builds:
            for size in sizes:
                fast = apply_in_process(size, latency, rate, build, 10)
                slow = apply_in_process(size, latency, rate, build, 1)
                least = min_calls(size, TRIGGER_COUNT)
                bound = f"{(least / RATE + build) * 1.1:.1f}" if rate else "—"
                out.append(
                    f"| {size} | {build:g} | {_setting(latency, rate)} | {fast['seconds']:.1f} | {slow['seconds']:.1f} "
                    f"| {slow['seconds'] / fast['seconds']:.1f}× | {fast['calls']} ({least}) | {fast['writes']} "
                    f"| {fast['throttled']} ({fast['plan_throttled']}) | {fast['status_reads']} / {fast['rounds']} "
                    f"| {fast['per_action_gets']} | {bound} |"
                )
                print(f"  done {size} actions, {build:g} s builds, {_setting(latency, rate)}", file=sys.stderr)
    if peer.available() and args.peer_sizes:
        startup = peer_startup(0.05)
        out += [
            "",
            f"### Auth0: hookctl against auth0-deploy-cli {peer.PEER_VERSION} (`a0deploy import`) — {machine}",
            "",
            f"Both as processes, the same actions ({args.peer_build:g} s builds, {TRIGGER_COUNT} triggers) into a "
            "fresh emulated tenant each; calls, writes and new versions counted by the emulator. a0deploy's own "
            f"start-up (importing nothing) took {startup:.1f} s in this run and is part of its wall time, as for a "
            "user; on a busy machine it varies by tens of seconds, so compare the 2 requests/s rows, where the "
            "tenant's budget, not start-up, sets the pace.",
            "",
            "| actions | setting | hookctl s | a0deploy s | a0deploy / hookctl "
            "| hookctl calls / writes / versions | a0deploy calls / writes / versions | 429s hookctl / a0deploy |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for latency, rate in ((0.05, None), (0.2, None), (0.05, RATE)):
            for size in [int(x) for x in args.peer_sizes.split(",") if x]:
                r = side_by_side(size, latency, rate, args.peer_build)
                h, p = r["hookctl"], r["a0deploy"]
                out.append(
                    f"| {size} | {_setting(latency, rate)} | {h['seconds']:.1f} | {p['seconds']:.1f} "
                    f"| {p['seconds'] / h['seconds']:.1f}× "
                    f"| {h['calls']} / {h['writes']} / {h['versions']} "
                    f"| {p['calls']} / {p['writes']} / {p['versions']} | {h['throttled']} / {p['throttled']} |"
                )
                print(f"  done peer {size} actions, {_setting(latency, rate)}", file=sys.stderr)
    text = "\n".join(out) + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main()
