"""The ``hookctl`` command line: the group, its global options, and ``main()`` with its error handling.
CLI: the entry point (``hookctl = provisioner.cli.main:main``); registers the commands of the other modules.

The commands live in ``stack`` (validate, plan, apply, ...), ``local`` (invoke, test, event),
``adopt`` (import, adopt) and ``sandbox`` (sandbox, demo); what they share is in ``options``.
Nothing imports this module but the console script and tests.

Exit codes: 0 success (or no changes), 1 error, 2 changes present (only with
``plan --detailed-exitcode``).
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any

import click

from ..engine.errors import HookctlError, InputError
from . import adopt, local, sandbox, stack
from .options import EXIT_ERROR, EXIT_OK, Runtime

# Options of the group that may also be written after the subcommand (`hookctl plan -q`), as
# Terraform, kubectl and the AWS CLI allow: name -> takes a value.
GLOBAL_OPTIONS = {
    "--debug": False,
    "-q": False,
    "--quiet": False,
    "--no-color": False,
    "--state-dir": True,
    "--state": True,
}


class HookctlGroup(click.Group):
    """A group that accepts its global options anywhere on the command line. Those written after
    the subcommand are moved in front of it, unless that subcommand has an option of the same name
    (``sandbox --state-dir`` is the sandbox's own)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(self, ctx, args))


def _option_names(command: click.Command, ctx: click.Context) -> set[str]:
    names = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                names |= _option_names(sub, ctx)
    return names


def hoist_global_options(group: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    front: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":  # global options already in front
        name = args[i].split("=", 1)[0]
        takes = GLOBAL_OPTIONS.get(name, False) and "=" not in args[i]
        front.extend(args[i : i + 1 + int(bool(takes))])
        i += 1 + int(bool(takes))
    if i >= len(args):
        return args
    command = group.get_command(ctx, args[i])
    if command is None:
        return args
    own = _option_names(command, ctx)
    hoisted: list[str] = []
    rest: list[str] = [args[i]]
    j = i + 1
    while j < len(args):
        arg = args[j]
        if arg == "--":
            rest.extend(args[j:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS and name not in own:
            takes = GLOBAL_OPTIONS[name] and "=" not in arg
            hoisted.extend(args[j : j + 1 + int(takes)])
            j += 1 + int(takes)
            continue
        rest.append(arg)
        j += 1
    return [*front, *hoisted, *rest]


@click.group(cls=HookctlGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on stderr.")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal (also NO_COLOR=1).")
@click.option(
    "--state-dir",
    default=".hookctl/state",
    show_default=True,
    envvar="HOOKCTL_STATE_DIR",
    help="Directory of the local state backend.",
)
@click.option(
    "--state",
    "state_url",
    envvar="HOOKCTL_STATE",
    metavar="URL",
    help="Remote state, locked by S3 conditional writes: s3://BUCKET/PREFIX[?kms_key_id=KEY] "
    "(or a directory). Wins over --state-dir. Also $HOOKCTL_STATE.",
)
@click.version_option(package_name="hookctl", prog_name="hookctl")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool, no_color: bool, state_dir: str, state_url: str | None) -> None:
    """Provision Auth0 Actions and Amazon Cognito Lambda triggers from a stack file.

    \b
    Typical use:
      hookctl validate                       check every stack under ./stacks
      hookctl plan -s stacks/x.yaml -e dev   show what would change
      hookctl apply -s stacks/x.yaml -e dev  plan, confirm, apply

    Global options may come before or after the command (hookctl plan -q).

    Exit codes: 0 success or no changes, 1 error, 2 changes present
    (plan --detailed-exitcode only).
    """
    ctx.obj = Runtime(debug, quiet, state_dir, state_url, no_color)


for command in (
    stack.validate,
    stack.render,
    stack.plan,
    stack.show,
    stack.apply,
    stack.destroy,
    stack.rollback,
    stack.environments,
    stack.state,
    stack.schema,
    stack.templates,
    local.invoke,
    local.test_cmd,
    local.event,
    adopt.import_command,
    adopt.adopt_command,
    sandbox.sandbox,
    sandbox.demo,
):
    cli.add_command(command)


def json_error(exc: Exception) -> str:
    """An error as the JSON document ``--json`` commands print on stdout (the text goes to stderr too)."""
    doc: dict[str, Any] = {"format": "hookctl-error", "error": {"message": str(exc), "hint": None, "problems": []}}
    if isinstance(exc, HookctlError):
        doc["error"]["message"] = exc.message
        doc["error"]["hint"] = exc.hint
    if isinstance(exc, InputError):
        doc["error"]["problems"] = [
            {"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in exc.problems
        ]
    if isinstance(exc, click.ClickException):
        doc["error"]["message"] = exc.format_message()
    return json.dumps(doc, indent=2)


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args
    as_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    try:
        cli.main(args=argv, prog_name="hookctl", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        if as_json:
            click.echo(json_error(exc))
        exc.show()
        sys.exit(EXIT_ERROR)
    except HookctlError as exc:
        if debug:
            traceback.print_exc()
        if as_json:
            click.echo(json_error(exc))
        click.echo(f"Error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"Hint: {exc.hint}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: internal error ({type(exc).__name__}); rerun with --debug for details", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_OK)
