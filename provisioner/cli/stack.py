"""The stack-level commands: validate, render, plan, show, apply, destroy, rollback, state, and more.
CLI: the stack commands (validate render plan show apply destroy rollback environments state schema templates).

Commands only: options are parsed here and the work is done by the engine's pipeline
(``provisioner.engine.pipeline``) and the providers. The commands are plain click commands,
registered on the ``hookctl`` group in ``cli/main.py``; they reach the group's settings through
``pass_runtime``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from ..engine.errors import AbortedError, HookctlError, InputError, Problem
from ..providers import providers_for
from .options import (
    EXIT_CHANGES,
    Runtime,
    env_option,
    pass_runtime,
    pick_stack,
    stack_option,
    stack_paths_option,
    target_option,
    unknown_secrets_option,
)


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
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


@click.command()
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
        check_operations,
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
            check_operations(planfile or "PLANFILE", saved, planned)
        done = apply_plan(planned, saved, options)
    click.echo(f"{verb.capitalize()} complete: {len(done)} operations. {(saved or planned.plan).done()}")


@click.command()
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


@click.command()
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


@click.command()
def templates() -> None:
    """List the shipped template library."""
    from ..engine.render import shipped_templates_dir

    root = shipped_templates_dir()
    for dirpath, _dirs, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.endswith(".j2") and "/_" not in os.path.join(dirpath, name).replace(root, ""):
                click.echo(os.path.relpath(os.path.join(dirpath, name), root))


@click.group()
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
