"""The command line of the Auth0 emulator: ``python -m provisioner.sandbox.auth0``.
Sandbox: the Auth0 emulator's command line.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

from .config import EmulatorConfig
from .server import Auth0Emulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m provisioner.sandbox.auth0",
        description="Serve an emulated Auth0 Management API (Actions) on https://127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    parser.add_argument("--state-dir", help="keep the tenant, credentials and CA here across restarts")
    parser.add_argument("--rate-limit", type=float, help="requests per second over all /api/v2 calls")
    parser.add_argument("--burst", type=int, help="rate-limit bucket size (default: the rate)")
    parser.add_argument("--latency", type=float, default=0.0, help="added latency per request, in ms")
    parser.add_argument("--build-seconds", type=float, default=2.0, help="draft build time (default 2)")
    parser.add_argument("--deploy-settle", type=float, default=0.5, help="deploy settle window, s")
    parser.add_argument(
        "--competing-rate", type=float, default=0.0, help="requests/s another client spends of the rate limit"
    )
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", help="default: random (persisted with --state-dir)")
    parser.add_argument(
        "--keep-secret-stamps",
        action="store_true",
        help="a PATCH without secrets keeps their updated_at (default: re-stamps them; undocumented either way)",
    )
    parser.add_argument(
        "--syntax-check",
        choices=("off", "auto", "node", "brackets"),
        default="off",
        help="fail builds of code that does not parse (default off: Auth0's build does not parse the code)",
    )
    parser.add_argument(
        "--promote",
        action="append",
        default=[],
        metavar="TRIGGER=VERSION",
        help="add a new CURRENT version of a trigger at start, e.g. post-login=v4 (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    config = EmulatorConfig(
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        rate_limit_per_second=args.rate_limit,
        rate_limit_burst=args.burst,
        latency_seconds=args.latency / 1000.0,
        build_seconds=args.build_seconds,
        deploy_settle_seconds=args.deploy_settle,
        restamp_secrets_on_patch=not args.keep_secret_stamps,
        syntax_check=args.syntax_check,
        competing_requests_per_second=args.competing_rate,
        verbose=args.verbose,
    )
    emulator = Auth0Emulator(config, state_dir=args.state_dir)
    for promotion in args.promote:
        trigger_id, _, version = promotion.partition("=")
        if not any(t.id == trigger_id and t.version == version for t in emulator.tenant.triggers):
            emulator.tenant.promote_trigger(trigger_id, version)
    emulator.start()
    token = emulator.issue_token()
    print(f"domain:        {emulator.domain}")
    print(f"ca file:       {emulator.ca_file}")
    print(f"client id:     {emulator.client_id}")
    print(f"client secret: {emulator.client_secret}")
    print(f"token:         {token}")
    print()
    print("Point clients at it with, for example:")
    print(f"  export SSL_CERT_FILE={emulator.ca_file}")
    print(f"  export AUTH0_DOMAIN={emulator.domain}")
    print(f"  export AUTH0_CLIENT_ID={emulator.client_id}")
    print(f"  export AUTH0_CLIENT_SECRET={emulator.client_secret}")
    print("Ctrl-C stops it.", flush=True)

    stopped = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0
