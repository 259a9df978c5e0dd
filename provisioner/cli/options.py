"""What the command modules share: the runtime object, stack choice, common options, exit codes.
CLI: shared by the command modules (stack, local, adopt, sandbox); imports no command module.

``Runtime`` carries the group's global options (``--debug``, ``--quiet``, ``--no-color``, the
state backend) to every command through ``ctx.obj`` (``pass_runtime``). The options declared here
are written once and used by several commands.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..engine.errors import InputError, Problem

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


class Runtime:
    """Per-invocation settings shared by the commands (``--debug``, ``--quiet``, colour)."""

    def __init__(
        self, debug: bool, quiet: bool, state_dir: str, state_url: str | None = None, no_color: bool = False
    ) -> None:
        self.debug = debug
        self.quiet = quiet
        self.state_dir = state_dir
        self.state_url = state_url
        self.no_color = no_color

    def colour(self) -> bool:
        return colour_wanted(self.no_color)

    def progress(self, message: str) -> None:
        if not self.quiet:
            click.echo(message, err=True)

    def options(self, targets: tuple[str, ...] = (), unknown_secrets: str | None = None) -> Any:
        from ..engine.pipeline import Options

        return Options(
            state_dir=self.state_dir,
            state_url=self.state_url,
            build_dir=os.environ.get("HOOKCTL_BUILD_DIR", ".hookctl/build"),
            targets=targets,
            progress=self.progress,
            extra={"unknown_secrets": unknown_secrets} if unknown_secrets else {},
        )

    def reporter(self) -> Any:
        """Live lines on a terminal; start, done and heartbeat lines otherwise; nothing with --quiet."""
        from ..engine import progress

        if self.quiet:
            return progress.Reporter()
        if sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
            return progress.LiveReporter(sys.stderr)
        return progress.LineReporter(self.progress)


pass_runtime = click.make_pass_decorator(Runtime)


def colour_wanted(no_color: bool = False) -> bool:
    """Colour only on a terminal, never with --no-color, and never when NO_COLOR is set to a
    non-empty value (https://no-color.org: an empty NO_COLOR does not disable colour)."""
    return sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR")


def pick_stack(path: str | None) -> str:
    if path:
        return path
    from ..engine.load import discover_stacks

    found = discover_stacks("stacks")
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError([Problem("stacks/", None, "stack", "no stack file found; pass one with -s")])
    raise InputError([Problem("stacks/", None, "stack", f"several stacks ({', '.join(found)}); choose one with -s")])


def stack_option(f: F) -> F:
    return click.option(
        "-s",
        "--stack",
        "stack_path",
        metavar="STACK",
        help="Stack file (default: the only stack under ./stacks).",
    )(f)


def stack_paths_option(default: str = "every stack under ./stacks") -> Callable[[F], F]:
    """``-s/--stack``, repeatable, for the commands that work on several stacks at once."""
    return click.option(
        "-s",
        "--stack",
        "stack_paths",
        multiple=True,
        metavar="STACK",
        help=f"Stack file; repeatable (default: {default}).",
    )


def env_option(f: F) -> F:
    return click.option(
        "-e",
        "--env",
        "--environment",
        "environment",
        metavar="ENV",
        envvar="HOOKCTL_ENV",
        help="Environment of the stack (default: its only one; or $HOOKCTL_ENV).",
    )(f)


def target_option(f: F) -> F:
    return click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="ADDRESS",
        help="Limit to this resource address (and what it depends on); repeatable.",
    )(f)


def unknown_secrets_option(f: F) -> F:
    return click.option(
        "--unknown-secrets",
        "unknown_secrets",
        type=click.Choice(["keep", "send"]),
        default=None,
        help="A secret hookctl cannot compare (not recorded in state; Auth0 never returns values): keep the "
        "live value (default) or send the stack's value. A saved plan applies with the choice it was made with.",
    )(f)
