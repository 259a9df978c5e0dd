"""``hookctl demo``: the one-command tour behind ``make demo``.
Sandbox: the tour of plan, apply and re-plan against the sandbox.

Starts the sandbox in-process on 127.0.0.1, then plans the example stack
(everything to create), applies it, plans again (no changes), changes one
variable and shows the one-line update, runs the stack's tests when the
local runner is available, and stops everything. Works in a temporary
directory; touches nothing beyond loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..engine import output
from ..engine.errors import HookctlError
from ..engine.pipeline import Options, apply_plan, compute_plan

Echo = Callable[[str], None]
DEMO_STACK = "example.yaml"
DEMO_ENV = "sandbox"


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def find_stacks_dir() -> Path:
    """The example stacks shipped inside the package (``provisioner.examples``), so the demo runs
    wherever hookctl is installed; a source checkout without an install uses its ``stacks/``."""
    from importlib import resources

    try:
        shipped = Path(str(resources.files("provisioner.examples")))
        if (shipped / DEMO_STACK).is_file():
            return shipped
    except ModuleNotFoundError:
        pass
    checkout = Path(__file__).resolve().parents[2] / "stacks"
    if (checkout / DEMO_STACK).is_file():
        return checkout
    raise HookctlError(f"the example stack {DEMO_STACK} is missing from this hookctl installation; reinstall hookctl")


def run_demo(echo: Echo, progress: Echo, providers_for: Any) -> None:
    from .run import Sandbox

    started = time.monotonic()
    stacks = find_stacks_dir()
    with tempfile.TemporaryDirectory(prefix="hookctl-demo-") as tmp:
        work = Path(tmp)
        shutil.copytree(stacks, work / "stacks", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        stack_path = str(work / "stacks" / DEMO_STACK)
        options = Options(state_dir=str(work / "state"), build_dir=str(work / "build"), progress=progress)
        echo("==> Starting the sandbox (Auth0 emulator + moto) on 127.0.0.1")
        with Sandbox() as sandbox:
            env = sandbox.environment()
            env["SLACK_WEBHOOK_URL"] = "https://hooks.slack.invalid/services/DEMO/ONLY"
            shown = {
                k: v
                for k, v in env.items()
                if k not in ("AUTH0_CLIENT_SECRET", "AWS_SECRET_ACCESS_KEY", "SLACK_WEBHOOK_URL")
            }
            for key, value in sorted(shown.items()):
                echo(f"    {key}={value}")
            with patched_environ(env):
                echo("\n==> 1. Plan the example stack: everything is new")
                first = compute_plan(stack_path, DEMO_ENV, providers_for, options)
                echo(output.text(first.plan))
                echo("==> 2. Apply it")
                apply_plan(first, None, options)
                echo(f"Applied {len(first.plan.operations)} operations.\n")
                echo("==> 3. Plan again: the live systems match the stack")
                again = compute_plan(stack_path, DEMO_ENV, providers_for, options)
                echo(output.text(again.plan))
                if not again.plan.empty:
                    raise HookctlError("the plan after apply is not empty; this is a bug")
                echo("==> 4. Change one variable (the Slack channel) and plan")
                path = Path(stack_path)
                path.write_text(path.read_text().replace('channel: "#signups-sandbox"', 'channel: "#demo-signups"'))
                changed = compute_plan(stack_path, DEMO_ENV, providers_for, options)
                echo(output.text(changed.plan))
                echo("==> 5. Apply the change")
                apply_plan(changed, None, options)
                echo("Applied.\n")
                _run_stack_tests(stack_path, echo)
    echo(f"==> Done in {time.monotonic() - started:.1f}s; the sandbox is stopped and nothing is left running.")
    echo("\nWhere next:")
    echo("  hookctl sandbox                      keep a sandbox running and export its environment")
    echo("  hookctl plan -s stacks/example.yaml -e sandbox")
    echo("  hookctl render -s stacks/example.yaml -e sandbox -o out/   read the generated handlers")
    echo("  README.md                            the stack file and CLI reference")


def _run_stack_tests(stack_path: str, echo: Echo) -> None:
    try:
        from ..local.suite import run_stack_tests  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return
    echo("==> 6. Run the stack's tests locally (hookctl test)")
    passed = run_stack_tests(stack_path, DEMO_ENV, echo)
    if not passed:
        raise HookctlError("the example stack's tests failed")
