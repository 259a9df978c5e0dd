"""``hookctl import`` and ``hookctl adopt``: bring an existing setup under management.
CLI: the adopt commands (import adopt).

Commands only: options are parsed here; the work is in ``provisioner.adopt`` (read and
write: ``importing``; import and files: ``stackfile``; adopt: ``adoption``). The commands
are plain click commands, registered on the ``hookctl`` group in ``cli/main.py``; like
``cli/local.py`` they reach the group's settings through ``ctx.obj``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..engine import catalog
from ..engine.errors import AbortedError, HookctlError
from .options import env_option, pick_stack, stack_option


def _adopt_and_report(ctx: click.Context, stack_path: str, environment: str | None, auto_approve: bool) -> None:
    from ..adopt.adoption import Adoption, adopt, adoption_text
    from ..providers import providers_for

    rt = ctx.obj

    def confirm(adoption: Adoption) -> bool:
        click.echo(adoption_text(adoption, colour=rt.colour()), nl=False)
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            raise AbortedError("no terminal to confirm on; pass --auto-approve to adopt")
        answer = click.prompt("Make these writes? Only 'yes' is accepted", default="", show_default=False)
        return bool(answer.strip() == "yes")

    result = adopt(stack_path, environment, providers_for, rt.options(), confirm=confirm)
    if not result.done:
        click.echo("Nothing to adopt: hookctl already owns everything this stack declares.")
        return
    click.echo(f"Adopted: {len(result.done)} operations.")
    if result.remaining:
        listed = ", ".join(sorted(c.address for c in result.remaining))
        raise HookctlError(
            f"the plan after adopting is not empty ({listed})",
            hint=f"Run `hookctl plan -s {stack_path} -e {environment}` to see why.",
        )
    click.echo("The plan is now empty: hookctl manages these resources from here on.")


@click.command("import")
@env_option
@click.option("-s", "--stack", "stack_path", metavar="STACK_OUT", help="Stack file to write (default: DIR/NAME.yaml).")
@click.option(
    "--name", "stack_name", metavar="NAME", help="Stack name (default: STACK_OUT's file name, or 'imported')."
)
@click.option(
    "--dir",
    "directory",
    metavar="DIR",
    default="stacks",
    show_default=True,
    help="Where the stack file goes without -s.",
)
@click.option("--auth0", "use_auth0", is_flag=True, help="Import Auth0 actions (AUTH0_DOMAIN and credentials).")
@click.option("--cognito", "use_cognito", is_flag=True, help="Import the Lambda triggers of the --pool pools.")
@click.option("--pool", "pools", multiple=True, metavar="NAME=POOL_ID", help="A user pool to import; repeatable.")
@click.option("--region", metavar="REGION", help="AWS region of the pools (default: boto3's, e.g. AWS_REGION).")
@click.option(
    "--select",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Import only actions / functions whose name matches (shell pattern; '!PATTERN' leaves out); repeatable. "
    "Default: all.",
)
@click.option("--plain", multiple=True, metavar="VAR", help="Keep this Lambda variable plain though it looks secret.")
@click.option("--secret", "secret_vars", multiple=True, metavar="VAR", help="Treat this Lambda variable as a secret.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--adopt", "then_adopt", is_flag=True, help="Adopt right away (see `hookctl adopt`).")
@click.option("--auto-approve", is_flag=True, help="With --adopt: do not ask (required without a terminal).")
@click.pass_context
def import_command(
    ctx: click.Context,
    environment: str | None,
    stack_path: str | None,
    stack_name: str | None,
    directory: str,
    use_auth0: bool,
    use_cognito: bool,
    pools: tuple[str, ...],
    region: str | None,
    patterns: tuple[str, ...],
    plain: tuple[str, ...],
    secret_vars: tuple[str, ...],
    force: bool,
    then_adopt: bool,
    auto_approve: bool,
) -> None:
    """Write a stack file and templates from the live Auth0 tenant and/or Cognito pools.

    \b
    Reads only. The stack lists the selected actions (in their binding order)
    and the functions serving the pools' triggers; their code becomes
    templates under templates/imported/<stack>/ beside the stack file. Secret
    values are never read or written: each secret is declared by name with an
    env: source, and the variables to export are listed. Then `hookctl adopt`
    (or --adopt) makes the one-time writes that make hookctl the owner, after
    which the plan is empty.

    \b
      hookctl import -e prod --auth0 --name login
      hookctl import -e prod --pool main=eu-west-1_AbC123 --select 'app-prod-*' --name app
    """
    from ..adopt.importing import missing_env, parse_pools, write_import
    from ..adopt.stackfile import Selection, import_live

    rt = ctx.obj
    if not environment:
        raise click.UsageError("name the environment with -e ENV (or $HOOKCTL_ENV)")
    pool_ids = parse_pools(pools)
    use_cognito = use_cognito or bool(pool_ids)
    if use_cognito and not pool_ids:
        raise click.UsageError("--cognito needs the pools: --pool NAME=POOL_ID (repeatable)")
    if not use_auth0 and not use_cognito:
        if not os.environ.get("AUTH0_DOMAIN"):
            raise click.UsageError("nothing to import from: pass --auth0 (with AUTH0_DOMAIN set) and/or --pool")
        use_auth0 = True
    name = stack_name or (os.path.splitext(os.path.basename(stack_path))[0] if stack_path else "imported")
    path = stack_path or os.path.join(directory, f"{name}.yaml")
    selection = Selection(tuple(patterns), frozenset(plain), frozenset(secret_vars))

    auth0 = _read_auth0(rt) if use_auth0 else None
    cognito = _read_cognito(rt, pool_ids, region, selection) if use_cognito else None
    imported = import_live(name, environment, auth0, cognito, selection)
    for note in imported.notes:
        click.echo(f"Note: {note}", err=True)
    missing = missing_env(imported)
    if then_adopt and missing:
        raise HookctlError(
            f"adopting needs the secrets' values: export {', '.join(missing)} first; nothing was written",
            hint="Or import without --adopt, export them, and run `hookctl adopt` later.",
        )
    written = write_import(imported, path, force=force)
    counts = f"{len(imported.actions)} actions, {len(imported.functions)} functions"
    click.echo(f"Imported {counts} into {path}:")
    for file in written:
        click.echo(f"  wrote {file}")
    rows = imported.env_secrets
    if rows:
        click.echo("Secrets are declared by name only (their values were not read); export before planning:")
        width = max(len(var) for var, _ in rows)
        for var, what in rows:
            click.echo(f"  {var.ljust(width)}  {what}{'' if os.environ.get(var) else '  (not set)'}")
    kept = imported.kept_plain
    if kept:
        # Every value that went into the stack file, so a reviewer checks each before it reaches git.
        click.echo("Kept as plain variables (their values are in the stack file; --secret VAR if one is a secret):")
        width = max(len(var) for var, _ in kept)
        for var, address in kept:
            click.echo(f"  {var.ljust(width)}  {address}")
    if then_adopt:
        _adopt_and_report(ctx, path, environment, auto_approve)
    else:
        click.echo(f"Next: review the files, then `hookctl adopt -s {path} -e {environment}` (shows and asks first).")


def _read_auth0(rt: Any) -> Any:
    from ..adopt.importing import read_auth0
    from ..providers.auth0.client import Auth0Client

    domain = (os.environ.get("AUTH0_DOMAIN") or "").removeprefix("https://").rstrip("/")
    if not domain:
        raise HookctlError("no Auth0 tenant: set AUTH0_DOMAIN (and AUTH0_CLIENT_ID/SECRET or AUTH0_TOKEN)")
    client = Auth0Client.connect(
        domain,
        token=os.environ.get("AUTH0_TOKEN"),
        client_id=os.environ.get("AUTH0_CLIENT_ID"),
        client_secret=os.environ.get("AUTH0_CLIENT_SECRET"),
    )
    rt.progress(f"Reading Auth0 tenant {domain} …")
    return read_auth0(client, domain)


def _read_cognito(rt: Any, pools: dict[str, str], region: str | None, selection: Any) -> Any:
    from ..adopt.importing import read_cognito
    from ..providers.cognito.client import LambdaCognitoClient, session_for

    session = session_for(region)
    if not session.region_name:
        raise HookctlError("no AWS region", hint="Pass --region, or set AWS_REGION / AWS_DEFAULT_REGION.")
    if not catalog.aws_region(str(session.region_name)):
        raise HookctlError("the AWS region is not a region name like eu-west-1")
    rt.progress(f"Reading Cognito pools {', '.join(sorted(pools))} and Lambda functions in {session.region_name} …")
    return read_cognito(LambdaCognitoClient(session), pools, selection)


@click.command("adopt")
@stack_option
@env_option
@click.option("--auto-approve", is_flag=True, help="Adopt without asking (required without a terminal).")
@click.pass_context
def adopt_command(ctx: click.Context, stack_path: str | None, environment: str | None, auto_approve: bool) -> None:
    """Make hookctl the owner of what an imported stack declares; then its plan is empty.

    \b
    The one-time writes, shown and confirmed first: each Auth0 action gets
    hookctl's marker line and its secrets from the environment, and is
    redeployed; each Lambda function gets hookctl's tags, its build of the
    same handler and its build marker. Refuses, writing nothing, if the plan
    would change anything else (use plan/apply for real changes).
    """
    _adopt_and_report(ctx, pick_stack(stack_path), environment, auto_approve)
