"""``hookctl sandbox`` and ``hookctl demo``: the local sandbox, and the tour that runs in it.
CLI: the sandbox commands (sandbox demo).

Commands only: the sandbox itself is ``provisioner.sandbox.run`` (the Auth0 emulator and moto on
127.0.0.1) and the tour ``provisioner.sandbox.demo``. Registered on the ``hookctl`` group in
``cli/main.py``.
"""

from __future__ import annotations

import os
from typing import Any

import click

from ..providers import providers_for
from .options import Runtime, pass_runtime

# The names of provisioner/sandbox/awsmodel.py's BEHAVIOURS (kept here so --help imports nothing heavy).
AWS_BEHAVIOURS = ("iam_propagation", "lambda_states", "lambda_limits", "pool_revalidation", "pool_tiers")


@click.command()
@click.option("--state-dir", "sandbox_dir", metavar="DIR", help="Save the sandbox here on exit and load it on start.")
@click.option(
    "--without",
    "without",
    multiple=True,
    type=click.Choice(["all", *AWS_BEHAVIOURS]),
    help="Switch off a modelled AWS behaviour (repeatable; also $HOOKCTL_SANDBOX_AWS_OFF).",
)
@click.option(
    "--env-file",
    metavar="PATH",
    help="Also write the export lines to PATH (mode 0600; `. PATH` in another shell); removed on stop.",
)
@pass_runtime
def sandbox(rt: Runtime, sandbox_dir: str | None, without: tuple[str, ...], env_file: str | None) -> None:
    """Run the local sandbox (Auth0 emulator + moto) on 127.0.0.1 until Ctrl-C, SIGTERM or SIGHUP.

    In front of moto the sandbox behaves as AWS does where moto does not: IAM
    propagation, Lambda states, Lambda limits, UpdateUserPool re-validation and
    feature plans (tiers), with realistic durations.
    """
    import shlex
    import signal
    import time
    from pathlib import Path

    from ..sandbox.awsmodel import BEHAVIOURS, AwsBehaviours
    from ..sandbox.run import Sandbox

    behaviours = AwsBehaviours.from_environment()
    behaviours = behaviours.without(*(BEHAVIOURS if "all" in without else without))

    def stop_like_ctrl_c(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    # A service manager's SIGTERM and a closed terminal's SIGHUP stop the sandbox the way Ctrl-C
    # does: the state directory is saved and the throwaway TLS directory (its key too) removed.
    previous = {sig: signal.signal(sig, stop_like_ctrl_c) for sig in (signal.SIGTERM, signal.SIGHUP)}
    box = Sandbox(state_dir=Path(sandbox_dir) if sandbox_dir else None, aws_behaviours=behaviours)
    try:
        box.start()
        lines = [f"export {key}={shlex.quote(value)}" for key, value in sorted(box.environment().items())]
        if env_file:
            fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("# hookctl sandbox: `. " + env_file + "` in another shell\n" + "\n".join(lines) + "\n")
        click.echo("# The hookctl sandbox is running. Paste these into another shell:")
        for line in lines:
            click.echo(line)
        if env_file:
            click.echo(f"# (or: . {shlex.quote(env_file)})")
        click.echo("# Then: hookctl plan -s stacks/example.yaml -e sandbox   (Ctrl-C here stops the sandbox)")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt as exc:
        why = f" ({exc.args[0]})" if exc.args else ""
        click.echo(f"Stopping the sandbox{why}" + (f"; saving to {sandbox_dir}" if sandbox_dir else "") + ".", err=True)
    finally:
        try:
            box.stop()
        finally:
            if env_file and os.path.exists(env_file):
                os.unlink(env_file)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.command()
@pass_runtime
def demo(rt: Runtime) -> None:
    """The tour: start the sandbox, plan, apply, re-plan, change a variable, stop. No cloud account needed."""
    from ..sandbox.demo import run_demo

    run_demo(click.echo, rt.progress, providers_for)
