"""Options shared by several hookctl commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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
