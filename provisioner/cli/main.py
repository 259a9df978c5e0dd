"""The ``hookctl`` command line: parses options and calls the pipeline. Nothing else.

Exit codes: 0 success (or no changes), 1 error, 2 changes present (only with
``plan --detailed-exitcode``).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import click

from ..engine.errors import AbortedError, HookctlError, InputError, Problem
from ..providers import providers_for
from .options import (
    env_option,
    stack_option,
    stack_paths_option,
    target_option,
    unknown_secrets_option,
)

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


@cli.command()
@stack_paths_option()
@env_option
@click.option(
    "--check-secrets",
    is_flag=True,
    help="Also check that local secret sources (env variables, files) are present.",
)
@pass_runtime
def validate(rt: Runtime, stack_paths: tuple[str, ...], environment: str | None, check_secrets: bool) -> None:
    """Check stack files and templates, and syntax-check every rendered handler.

    Offline and needs no secret or credential (like terraform validate): fit for
    pre-commit and for pull requests from forks. No API is called.
    """
    from ..engine.load import discover_stacks, duplicate_stack_names, environment_names
    from ..engine.pipeline import validate_stack

    paths = list(stack_paths) or discover_stacks("stacks")
    if not paths:
        raise InputError([Problem("stacks/", None, "stack", "no stack file found; pass one with -s")])
    problems: list[Problem] = []
    loaded: dict[str, str] = {}
    for path in paths:
        for env in [environment] if environment else environment_names(path):
            try:
                stack = validate_stack(path, env, check_secrets=check_secrets, progress=rt.progress)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            loaded[os.path.normpath(path)] = stack.name
            click.echo(
                f"{path} ({stack.environment.name}): ok — {len(stack.actions)} actions, "
                f"{len(stack.functions)} functions"
            )
    # Stack files kept together (every stack under ./stacks, or a given file and the stack files in
    # its folder) must have distinct names.
    if stack_paths:
        folders = dict.fromkeys(os.path.dirname(p) or "." for p in paths)
        groups = [
            [
                *(p for p in discover_stacks(f) if os.path.dirname(p) == f),
                *(p for p in paths if (os.path.dirname(p) or ".") == f),
            ]
            for f in folders
        ]
    else:
        groups = [paths]
    given = {os.path.normpath(p) for p in paths}
    failed = given - set(loaded)  # already reported; not parsed again
    problems.extend(
        d
        for group in groups
        for d in duplicate_stack_names([p for p in group if os.path.normpath(p) not in failed], loaded)
        if os.path.normpath(d.file) in given
    )
    if problems:
        raise InputError(list(dict.fromkeys(problems)))


@cli.command()
@stack_option
@env_option
@click.option("-o", "--out", "out_dir", required=True, metavar="DIR", help="Directory to write handlers into.")
@pass_runtime
def render(rt: Runtime, stack_path: str | None, environment: str | None, out_dir: str) -> None:
    """Write each rendered handler to DIR for review (deterministic)."""
    from ..engine.load import load_stack
    from ..engine.render import render_all

    stack = load_stack(pick_stack(stack_path), environment)
    handlers = {f.address: f.handler.rsplit(".", 1)[0] for f in stack.functions}
    for item in render_all(stack):
        # Auth0 keeps one code blob per action; a Lambda handler file is named by its handler.
        path = os.path.join(out_dir, item.address, handlers.get(item.address, "code") + item.suffix)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(item.source)
        click.echo(path)


@cli.command()
@stack_option
@env_option
@target_option
@click.option("--out", "out_file", metavar="PLANFILE", help="Save the plan for `hookctl apply PLANFILE`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0 none, 1 error).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (docs/plan-json.md).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the plan as Markdown for a pull request.")
@click.option("--all-environments", is_flag=True, help="Plan every environment of the stack, concurrently.")
@click.option("--destroy", is_flag=True, help="Plan the removal of everything the stack owns (save it with --out).")
@click.option(
    "--parallelism",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="With --all-environments: how many environments to plan at once.",
)
@unknown_secrets_option
@pass_runtime
def plan(
    rt: Runtime,
    stack_path: str | None,
    environment: str | None,
    targets: tuple[str, ...],
    out_file: str | None,
    detailed_exitcode: bool,
    as_json: bool,
    as_markdown: bool,
    all_environments: bool,
    destroy: bool,
    parallelism: int,
    unknown_secrets: str | None,
) -> None:
    """Show what apply would change. Reads the live systems; writes nothing to them."""
    from ..engine.pipeline import compute_plan

    if as_json and as_markdown:
        raise click.UsageError("choose one of --json and --markdown")
    if all_environments:
        if out_file or environment:
            raise click.UsageError("--all-environments plans every environment; it takes no -e or --out")
        if destroy:
            raise click.UsageError("--destroy plans one environment; choose it with -e")
        _plan_all(
            rt, pick_stack(stack_path), targets, detailed_exitcode, as_json, as_markdown, parallelism, unknown_secrets
        )
        return
    options = rt.options(targets, unknown_secrets)
    options.destroy = destroy
    planned = compute_plan(pick_stack(stack_path), environment, providers_for, options)
    the_plan = planned.plan
    if out_file:
        _write_plan(out_file, the_plan)
        rt.progress(f"Saved the plan to {out_file}; apply it with `hookctl apply {out_file}`.")
    _show_plan(rt, the_plan, as_json, as_markdown)
    if detailed_exitcode and not the_plan.empty:
        sys.exit(EXIT_CHANGES)


def _show_plan(rt: Runtime, the_plan: Any, as_json: bool, as_markdown: bool) -> None:
    from ..engine import output

    if as_json:
        click.echo(output.as_json(the_plan), nl=False)
    elif as_markdown:
        click.echo(output.markdown(the_plan), nl=False)
    else:
        click.echo(output.text(the_plan, colour=rt.colour()), nl=False)


@cli.command()
@click.argument("planfile", metavar="PLANFILE")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (docs/plan-json.md).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the plan as Markdown for a pull request.")
@pass_runtime
def show(rt: Runtime, planfile: str, as_json: bool, as_markdown: bool) -> None:
    """Print a saved PLANFILE (as plan printed it), e.g. for whoever approves its apply.

    Reads only the file: no stack, no credentials, no API call.
    """
    if as_json and as_markdown:
        raise click.UsageError("choose one of --json and --markdown")
    the_plan = _read_plan(planfile)
    if not as_json and not as_markdown:
        what = "destroy plan" if the_plan.destroy else "plan"
        made = f" made {the_plan.created_at}" if the_plan.created_at else ""
        commit = f" from commit {the_plan.commit[:12]}" if the_plan.commit else ""
        click.echo(f"Saved {what} for {the_plan.stack}/{the_plan.environment}{made}{commit}:")
    _show_plan(rt, the_plan, as_json, as_markdown)


def _plan_all(
    rt: Runtime,
    path: str,
    targets: tuple[str, ...],
    detailed_exitcode: bool,
    as_json: bool,
    as_markdown: bool,
    parallelism: int,
    unknown_secrets: str | None = None,
) -> None:
    from ..engine import output
    from ..engine.load import environment_names
    from ..engine.pipeline import plan_environments
    from ..engine.plan import plan_to_json

    names = [e for e in environment_names(path) if e]
    results = plan_environments(path, names, providers_for, lambda: rt.options(targets, unknown_secrets), parallelism)
    failed = [(env, r) for env, r in results if isinstance(r, HookctlError)]
    if as_json:
        doc = {
            env: plan_to_json(r.plan, digests=False) if not isinstance(r, HookctlError) else {"error": r.message}
            for env, r in results
        }
        click.echo(json.dumps(doc, indent=2))
    else:
        for env, result in results:
            if isinstance(result, HookctlError):
                click.echo(f"{'### ' if as_markdown else ''}{env}: error: {result.message}\n")
            elif as_markdown:
                click.echo(output.markdown(result.plan))
            else:
                click.echo(f"== {env} ==")
                click.echo(output.text(result.plan, colour=rt.colour()))
        click.echo("Summary:" if not as_markdown else "#### Summary")
        for env, result in results:
            line = (
                f"error: {result.message.splitlines()[0]}"
                if isinstance(result, HookctlError)
                else (result.plan.summary() if not result.plan.empty else "No changes.")
            )
            click.echo(f"{'- ' if as_markdown else '  '}{env}: {line}")
    if failed:
        raise HookctlError(
            f"{len(failed)} of {len(results)} environments failed to plan: " + ", ".join(env for env, _ in failed)
        )
    if detailed_exitcode and any(not r.plan.empty for _, r in results if not isinstance(r, HookctlError)):
        sys.exit(EXIT_CHANGES)


@cli.command()
@stack_paths_option()
@click.option("--json", "as_json", is_flag=True, help="A JSON list, e.g. for a CI matrix.")
def environments(stack_paths: tuple[str, ...], as_json: bool) -> None:
    """List the stacks' environments and their targets (for a CI matrix with --json)."""
    from ..engine.load import discover_stacks, environment_names, load_stack

    paths = list(stack_paths) or discover_stacks("stacks")
    if not paths:
        raise InputError([Problem("stacks/", None, "stack", "no stack file found; pass one with -s")])
    rows: list[dict[str, Any]] = []
    for path, env in [(p, e) for p in paths for e in environment_names(p)]:
        stack = load_stack(path, env)
        e = stack.environment
        rows.append(
            {
                "stack": stack.name,
                "stack_path": path,
                "environment": e.name,
                "auth0": e.auth0 is not None,
                "auth0_domain": e.auth0.domain if e.auth0 else None,
                "cognito_region": e.cognito.region if e.cognito else None,
                "pools": {name: pool.user_pool_id for name, pool in e.cognito.pools.items()} if e.cognito else {},
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        parts = [f"auth0 {row['auth0_domain'] or '$AUTH0_DOMAIN'}"] if row["auth0"] else []
        pools = dict(row["pools"])
        if pools:
            parts.append(f"cognito {row['cognito_region']} " + ", ".join(f"{k}={v}" for k, v in pools.items()))
        prefix = f"{row['stack_path']} " if len(paths) > 1 else ""
        click.echo(f"{prefix}{row['environment']}: {'; '.join(parts)}")


def _write_plan(path: str, the_plan: Any) -> None:
    from ..engine.plan import plan_to_json

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(plan_to_json(the_plan), fh, indent=2)
        fh.write("\n")


def _read_plan(path: str) -> Any:
    from ..engine.plan import plan_from_json

    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        text = raw.decode("utf-8")
        data = json.loads(text)
        return plan_from_json(data)
    except OSError as exc:
        raise InputError([Problem(path, None, "plan", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError([Problem(path, line, "plan", f"not UTF-8 ({exc.reason} at byte {exc.start})")]) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(path, exc.lineno, "plan", f"not JSON: {exc.msg} (column {exc.colno}); was the file cut short?")]
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError([Problem(path, None, "plan", f"not a valid hookctl plan file: {exc}")]) from None
    except RecursionError:
        raise InputError([Problem(path, None, "plan", "not a valid hookctl plan file: nested too deeply")]) from None


def _secret_places(op: Any) -> list[tuple[str, str, str]]:
    """Every secret placeholder of an operation: (path, secret's address, name)."""
    from collections.abc import Mapping

    from ..engine.plan import SecretValue

    found: list[tuple[str, str, str]] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, SecretValue):
            found.append((where, value.address, value.name))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")

    walk(op.params, "params")
    walk(op.record, "record")
    return found


def _check_operations(path: str, saved: Any, planned: Any) -> None:
    """Refuse a saved plan that names a provider, method or parameter its client does not offer, or
    that puts a secret anywhere but the one parameter its operation sends secrets in, for the resource
    the operation writes, before the first operation runs. (Whether a secret's value changed since
    the plan is the executor's check, made for every secret before anything is written.)"""
    import inspect

    hint = "Plan again; a saved plan is applied only as it was made."
    by_name = {p.name: p for p in planned.providers}
    for i, op in enumerate(saved.operations):
        where = f"operations[{i}]"
        provider = by_name.get(op.provider)
        if provider is None:
            problem = Problem(path, None, f"{where}.provider", f"no provider {op.provider!r} in this environment")
            raise InputError([problem], hint=hint)
        client = provider.client()
        if op.method not in type(client).OPERATIONS:
            problem = Problem(path, None, f"{where}.method", f"{op.provider} offers no operation {op.method!r}")
            raise InputError([problem], hint=hint)
        allowed = type(client).SECRET_PARAMS.get(op.method)
        for place, address, name in _secret_places(op):
            if allowed is None or not place.startswith(f"params.{allowed}") or address != op.address:
                problem = Problem(path, None, f"{where}.{place}", f"secret {name} of {address} does not go here")
                raise InputError([problem], hint=hint)
        try:
            inspect.signature(getattr(client, op.method)).bind(**op.params)
        except TypeError as exc:
            problem = Problem(path, None, f"{where}.params", f"do not fit {op.provider} {op.method}: {exc}")
            raise InputError([problem], hint=hint) from None


@cli.command()
@click.argument("planfile", required=False, metavar="[PLANFILE]")
@stack_option
@env_option
@target_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required without a terminal).")
@unknown_secrets_option
@click.option(
    "--parallelism",
    default=10,
    show_default=True,
    type=click.IntRange(1, 64),
    help="How many operations may be at work at once (one that waits for a build or AWS gives its place up); "
    "each starts when those it depends on have finished.",
)
@pass_runtime
def apply(
    rt: Runtime,
    planfile: str | None,
    stack_path: str | None,
    environment: str | None,
    targets: tuple[str, ...],
    auto_approve: bool,
    unknown_secrets: str | None,
    parallelism: int,
) -> None:
    """Apply a saved PLANFILE exactly, or plan, confirm and apply.

    A saved plan is refused if the stack file or the live systems changed
    since it was made.
    """

    saved = _read_plan(planfile) if planfile else None
    _run_apply(
        rt,
        saved,
        stack_path,
        environment,
        targets,
        auto_approve,
        destroy=bool(saved and saved.destroy),
        planfile=planfile,
        unknown_secrets=unknown_secrets,
        parallelism=parallelism,
    )


@cli.command()
@stack_option
@env_option
@target_option
@click.option("--auto-approve", is_flag=True, help="Destroy without asking (required without a terminal).")
@click.option(
    "--parallelism",
    default=10,
    show_default=True,
    type=click.IntRange(1, 64),
    help="How many operations may be at work at once (one that waits for a build or AWS gives its place up); "
    "each starts when those it depends on have finished.",
)
@pass_runtime
def destroy(
    rt: Runtime,
    stack_path: str | None,
    environment: str | None,
    targets: tuple[str, ...],
    auto_approve: bool,
    parallelism: int,
) -> None:
    """Remove everything this stack and environment own, unbinding and detaching first.

    Shows the plan and asks first. Never touches what the stack does not own
    (other actions and bindings, other functions, the pool's own settings).
    """
    _run_apply(rt, None, stack_path, environment, targets, auto_approve, destroy=True, parallelism=parallelism)


def _run_apply(
    rt: Runtime,
    saved: Any,
    stack_path: str | None,
    environment: str | None,
    targets: tuple[str, ...],
    auto_approve: bool,
    *,
    destroy: bool,
    planfile: str | None = None,
    unknown_secrets: str | None = None,
    parallelism: int = 10,
) -> None:
    from ..engine import output
    from ..engine.load import load_stack
    from ..engine.pipeline import (
        apply_plan,
        backend_for,
        check_fresh,
        check_invocation,
        compute_plan,
    )

    if saved is not None:
        check_invocation(saved, stack_path, environment, targets, planfile or "PLANFILE", unknown_secrets)
    path = pick_stack(stack_path or (saved.stack_path if saved else None))
    env = environment or (saved.environment if saved else None)
    options = rt.options(
        targets or (saved.targets if saved else ()), saved.unknown_secrets if saved else unknown_secrets
    )
    options.destroy = destroy
    options.parallelism = parallelism
    options.reporter = rt.reporter()
    verb = "destroy" if destroy else "apply"
    stack = load_stack(path, env)
    backend = backend_for(stack, options)
    options.backend = lambda _stack: backend  # the plan reads and apply writes the state it locked
    with backend.locked(verb):
        planned = compute_plan(path, env, providers_for, options)
        if saved is None:
            click.echo(output.text(planned.plan, colour=rt.colour()), nl=False)
            if planned.plan.empty:
                return
            if not auto_approve:
                if not sys.stdin.isatty():
                    raise AbortedError(f"no terminal to confirm on; pass --auto-approve or {verb} a saved plan")
                question = "Destroy everything listed above?" if destroy else "Apply these changes?"
                answer = click.prompt(f"{question} Only 'yes' is accepted", default="", show_default=False)
                if answer.strip() != "yes":
                    raise AbortedError(f"{verb} cancelled; nothing was changed")
        elif saved.empty:
            click.echo("The plan has no changes; nothing to do.")
            return
        else:
            check_fresh(saved, planned)  # first: a stale plan differs from today's for that reason
            _check_operations(planfile or "PLANFILE", saved, planned)
        done = apply_plan(planned, saved, options)
    click.echo(f"{verb.capitalize()} complete: {len(done)} operations. {(saved or planned.plan).done()}")


@cli.command()
@click.argument("action")
@stack_option
@env_option
@click.option("--to", "to_version", type=int, metavar="VERSION", help="Version number (default: the previous one).")
@click.option("--auto-approve", is_flag=True, help="Roll back without asking (required without a terminal).")
@pass_runtime
def rollback(
    rt: Runtime,
    action: str,
    stack_path: str | None,
    environment: str | None,
    to_version: int | None,
    auto_approve: bool,
) -> None:
    """Redeploy an earlier version of Auth0 ACTION, which this stack must own.

    Holds the state lock, shows the code it brings back and asks first. The
    earlier version becomes the draft too, so the next plan shows the stack's
    code against the rolled-back code as an ordinary update.
    """
    import difflib

    from ..engine.load import load_stack
    from ..engine.pipeline import backend_for
    from ..providers.auth0.provider import Auth0Provider, prepare_rollback, rollback_action

    stack = load_stack(pick_stack(stack_path), environment)
    client = Auth0Provider.from_environment(stack).client()
    backend = backend_for(stack, rt.options())
    with backend.locked("rollback"):
        prepared = prepare_rollback(client, stack, backend.read().resources, action, to_version)
        click.echo(
            f"hookctl will roll back action {action} in {stack.name}/{stack.environment.name}: deployed version "
            f"{prepared.from_number} -> a new version made from version {prepared.to_number} "
            "(the draft becomes that code too):"
        )
        for line in difflib.unified_diff(
            prepared.before.splitlines(),
            prepared.after.splitlines(),
            f"version {prepared.from_number}",
            f"version {prepared.to_number}",
            lineterm="",
        ):
            click.echo(line)
        if not auto_approve:
            if not sys.stdin.isatty():
                raise AbortedError("no terminal to confirm on; pass --auto-approve")
            answer = click.prompt("Roll back? Only 'yes' is accepted", default="", show_default=False)
            if answer.strip() != "yes":
                raise AbortedError("rollback cancelled; nothing was changed")
        done = rollback_action(client, prepared)
    click.echo(
        f"Rolled back action {action}: version {done.from_number} -> version {done.to_number} "
        f"(deployed as version {done.new_number}). The next plan shows the stack's code against it."
    )


# The names of provisioner/sandbox/awsmodel.py's BEHAVIOURS (kept here so --help imports nothing heavy).
AWS_BEHAVIOURS = ("iam_propagation", "lambda_states", "lambda_limits", "pool_revalidation", "pool_tiers")


@cli.command()
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


@cli.command()
@pass_runtime
def demo(rt: Runtime) -> None:
    """The tour: start the sandbox, plan, apply, re-plan, change a variable, stop. No cloud account needed."""
    from ..sandbox.demo import run_demo

    run_demo(click.echo, rt.progress, providers_for)


@cli.command()
@click.argument("kind", type=click.Choice(["stack", "tests"]), default="stack")
def schema(kind: str) -> None:
    """Print the JSON Schema of stack files (or of test-case files: `schema tests`).

    \b
    The same schemas are checked in under schema/. For completion and checks in an
    editor with the YAML language server, start a stack file with:
      # yaml-language-server: $schema=../schema/stack.schema.json
    """
    from ..local.schema import render

    click.echo(render(kind), nl=False)


@cli.command()
def templates() -> None:
    """List the shipped template library."""
    from ..engine.render import shipped_templates_dir

    root = shipped_templates_dir()
    for dirpath, _dirs, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.endswith(".j2") and "/_" not in os.path.join(dirpath, name).replace(root, ""):
                click.echo(os.path.relpath(os.path.join(dirpath, name), root))


@cli.group()
def state() -> None:
    """List and inspect the states and clear a stale lock."""


@state.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@pass_runtime
def state_list(rt: Runtime, as_json: bool) -> None:
    """List every state in the backend: stack, environment, serial, last written, lock."""
    from ..engine.state_s3 import list_states

    entries = list_states(rt.state_url or rt.state_dir)
    if as_json:
        rows = [
            {
                "stack": e.stack,
                "environment": e.environment,
                "serial": e.serial,
                "last_modified": e.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "locked": e.locked,
                "location": e.location,
            }
            for e in entries
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    if not entries:
        click.echo("No state yet.")
    for e in entries:
        locked = "  locked" if e.locked else ""
        click.echo(f"{e.stack}/{e.environment}  serial {e.serial}  {e.last_modified:%Y-%m-%d %H:%M:%S} UTC{locked}")


@state.command("show")
@stack_option
@env_option
@pass_runtime
def state_show(rt: Runtime, stack_path: str | None, environment: str | None) -> None:
    """Print the state document (ids and secret hashes; never secret values)."""
    from ..engine.load import load_stack
    from ..engine.pipeline import backend_for

    stack = load_stack(pick_stack(stack_path), environment)
    document = backend_for(stack, rt.options()).read().to_json()
    document["digest_key"] = "(secret)"  # keys the secret digests: printing it would make them guessable
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@state.command("unlock")
@click.argument("lock_id")
@stack_option
@env_option
@pass_runtime
def state_unlock(rt: Runtime, lock_id: str, stack_path: str | None, environment: str | None) -> None:
    """Clear the lock LOCK_ID left by a run that died."""
    from ..engine.load import load_stack
    from ..engine.pipeline import backend_for

    stack = load_stack(pick_stack(stack_path), environment)
    backend_for(stack, rt.options()).unlock(lock_id)
    click.echo(f"Unlocked {stack.name}/{stack.environment.name}.")


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


from .local import event, invoke, test_cmd  # noqa: E402 - local runs: hookctl invoke / test / event

cli.add_command(invoke)
cli.add_command(test_cmd)
cli.add_command(event)
from .adopt import adopt_command, import_command  # noqa: E402 - hookctl import / adopt

cli.add_command(import_command)
cli.add_command(adopt_command)
