"""``hookctl invoke``, ``hookctl test`` and ``hookctl event``: run handlers locally.
CLI: the local-run commands (invoke test event).

Commands only: options are parsed here and the work is done by
``provisioner.local.run`` (one run), ``provisioner.local.suite`` (a stack's
test cases: ``cases`` loads them, ``checks`` checks each run, ``report``
writes the results) and ``provisioner.engine.events`` (sample events). The
commands are plain click commands, registered on the ``hookctl`` group in
``cli/main.py``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from ..engine.errors import HookctlError, InputError, Problem
from .options import env_option, pick_stack, stack_option, stack_paths_option

F = Callable[..., Any]


def _dependency_options(f: F) -> F:
    f = click.option(
        "--node-modules",
        "node_modules",
        metavar="DIR",
        help="A node_modules directory whose packages take precedence (stubs for tests, say).",
    )(f)
    f = click.option(
        "--install-deps",
        is_flag=True,
        help="Install the handler's npm (or pip) dependencies into hookctl's cache first (npm ci from a "
        "generated lock file; once per dependency set). Without it, installed sets are reused and "
        "@slack/webhook and axios fall back to hookctl's built-in test shims.",
    )(f)
    f = click.option(
        "--cache-dir",
        metavar="DIR",
        envvar="HOOKCTL_CACHE_DIR",
        help="Dependency cache (default: $HOOKCTL_CACHE_DIR or ~/.cache/hookctl).",
    )(f)
    return f


def _progress(ctx: click.Context) -> Callable[[str], None]:
    quiet = bool(getattr(ctx.obj, "quiet", False))
    return (lambda _m: None) if quiet else (lambda message: click.echo(message, err=True))


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.UsageError(f"{option} takes NAME=VALUE, got {value!r}")
        out[name] = text
    return out


def _read_event(path: str) -> dict[str, Any]:
    """An event from a JSON (or YAML) file, or from stdin with ``-``."""
    label = "stdin" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
    except OSError as exc:
        raise InputError([Problem(label, None, "event", f"cannot read: {exc.strerror}")]) from None
    try:
        data = json.loads(text)
    except ValueError as json_error:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            data = YAML(typ="safe").load(text)
        except YAMLError:
            line = getattr(json_error, "lineno", None)
            raise InputError([Problem(label, line, "event", f"not JSON (or YAML): {json_error}")]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(label, None, "event", "expected a JSON object")])
    return data


# -- invoke ---------------------------------------------------------------------------------


@click.command("invoke")
@click.argument("name", metavar="NAME")
@stack_option
@env_option
@click.option(
    "--event",
    "event_path",
    metavar="FILE|-",
    help="The event, as JSON (or YAML); - reads stdin. Default: a sample event for the trigger (`hookctl event`).",
)
@click.option("--merge", is_flag=True, help="Merge --event onto the sample event instead of using it as is.")
@click.option(
    "--trigger-source",
    metavar="SOURCE",
    help="Cognito: the triggerSource of the generated event (default: the trigger's first).",
)
@click.option("--pool", metavar="POOL", help="Cognito: the pool whose trigger is invoked (default: the first).")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    metavar="NAME=VALUE",
    help="A test value for a declared secret; repeatable. Real secret sources are never read.",
)
@click.option(
    "--env-var",
    "env_vars",
    multiple=True,
    metavar="NAME=VALUE",
    help="Cognito: an extra environment variable for the function; repeatable.",
)
@click.option(
    "--timeout-ms",
    type=click.IntRange(min=1),
    metavar="MS",
    help="Time limit (default: Auth0 20000; Cognito the function's timeout, at most 5000 for synchronous triggers).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@_dependency_options
@click.pass_context
def invoke(
    ctx: click.Context,
    name: str,
    stack_path: str | None,
    environment: str | None,
    event_path: str | None,
    merge: bool,
    trigger_source: str | None,
    pool: str | None,
    secrets: tuple[str, ...],
    env_vars: tuple[str, ...],
    timeout_ms: int | None,
    as_json: bool,
    node_modules: str | None,
    install_deps: bool,
    cache_dir: str | None,
) -> None:
    """Run the action or function NAME once, locally, and print what it did.

    Auth0 actions run in Node.js with an `event` and an `api` like the
    trigger's; Cognito functions run in Node.js or Python with a Cognito
    event. Exit code 1 when the handler fails or times out.
    """
    from ..engine.load import load_stack
    from ..local import run as localrun
    from ..local.deps import DependencyCache
    from ..local.invocation import find_entry, prepare

    stack = load_stack(pick_stack(stack_path), environment)
    entry = find_entry(stack, name)
    event = _read_event(event_path) if event_path else None
    if merge and event is None:
        raise click.UsageError("--merge needs --event")
    invocation = prepare(
        stack,
        entry,
        event=None if merge else event,
        overrides=event if merge else None,
        trigger_source=trigger_source,
        pool=pool,
        secrets=_pairs(secrets, "--secret"),
        environment=_pairs(env_vars, "--env-var"),
        timeout_ms=timeout_ms,
    )
    cache = DependencyCache(cache_dir or DependencyCache.default_root(), progress=_progress(ctx))
    runner = localrun.Runner(node_modules=node_modules, cache=cache, install_deps=install_deps)
    result = runner.run(invocation)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False, sort_keys=True))
    else:
        click.echo(localrun.describe(result))
    if result.status != "ok":
        sys.exit(1)


# -- test -----------------------------------------------------------------------------------


@click.command("test")
@stack_paths_option("every stack under ./stacks with a .tests.yaml beside it")
@env_option
@click.option("--junit", "junit_path", metavar="FILE", help="Also write the results as JUnit XML (for CI).")
@click.option("-k", "select", metavar="TEXT", help="Only the cases whose '<action or function>: <name>' contains TEXT.")
@click.option(
    "-j", "--jobs", type=click.IntRange(min=1), metavar="N", help="Cases run at once (default: 2 per CPU, at most 8)."
)
@_dependency_options
@click.pass_context
def test_cmd(
    ctx: click.Context,
    stack_paths: tuple[str, ...],
    environment: str | None,
    junit_path: str | None,
    select: str | None,
    jobs: int | None,
    node_modules: str | None,
    install_deps: bool,
    cache_dir: str | None,
) -> None:
    """Run the test cases kept beside each stack (<stack>.tests.yaml).

    One line per case, the failures explained, then `N passed, N failed`.
    Exit code 1 when any case fails. Each case runs its handler locally (see
    `hookctl invoke`); values written {capture: NAME} point the handler at a
    loopback HTTP server that records what it sends.
    """
    from ..engine.load import discover_stacks, read_document
    from ..local import cases, suite
    from ..local.report import failure_section, iter_results, result_line, summary, write_junit

    started = time.perf_counter()
    runs: list[tuple[str, str | None]] = []
    if stack_paths:
        runs = [(path, env) for path in stack_paths for env in _environments(path, environment, read_document)]
    else:
        found = [p for p in discover_stacks("stacks") if cases.tests_path_for(p)]
        if not found:
            raise InputError([Problem("stacks/", None, "tests", "no stack has test cases (<stack>.tests.yaml)")])
        for path in found:
            envs = _environments(path, environment, read_document, only_declared=environment is not None)
            runs += [(path, env) for env in envs]
    options = suite.TestOptions(
        node_modules=node_modules,
        install_deps=install_deps,
        cache_dir=cache_dir,
        select=select,
        jobs=jobs or 0,
        progress=_progress(ctx),
        on_result=lambda r: click.echo(result_line(r)),
    )
    runner = suite.make_runner(options)
    reports = []
    errors: list[str] = []
    for path, env in runs:
        click.echo(f"{path} -e {env or '(its only environment)'}")
        try:
            reports.append(suite.run_stack(path, env, options, runner))
        except HookctlError as exc:
            # A stack or case file that does not load is reported, and the other stacks still run.
            message = exc.message + (f"\nHint: {exc.hint}" if exc.hint else "")
            errors.append(message)
            click.echo("ERROR   " + message.replace("\n", "\n        "))
    seconds = time.perf_counter() - started
    failures = failure_section(reports)
    if failures:
        click.echo("\n" + " FAILURES ".center(80, "=") + "\n" + failures)
    notes = list(dict.fromkeys(n for report in reports for n in report.notes))
    if notes:
        click.echo("\nnotes:\n" + "\n".join(f"  {n}" for n in notes))
    if junit_path:
        write_junit(junit_path, reports, seconds)
    click.echo("\n" + f" {summary(reports, seconds, len(errors))} ".center(80, "="))
    if errors or any(r.status == "failed" for r in iter_results(reports)):
        sys.exit(1)


def _environments(
    path: str, wanted: str | None, read_document: Any, *, only_declared: bool = False
) -> list[str | None]:
    """The environments to test a stack in: the one asked for, else every one it declares."""
    try:
        doc, _ = read_document(path)
        envs = doc.get("environments") if hasattr(doc, "get") else None
        declared = [str(k) for k in envs] if hasattr(envs, "keys") and envs else []
    except InputError:
        declared = []
    if wanted:
        # Discovered stacks without the asked-for environment are left out rather than failing.
        return [] if only_declared and declared and wanted not in declared else [wanted]
    return list(declared) or [None]


# -- event ----------------------------------------------------------------------------------


@click.command("event")
@click.argument("provider", type=click.Choice(["cognito", "auth0"]))
@click.argument("name", required=False, metavar="[TRIGGER]")
@click.option("--list", "list_", is_flag=True, help="List the triggerSources (Cognito) or triggers (Auth0).")
@click.option(
    "--lambda-version",
    type=click.Choice(["V1_0", "V2_0", "V3_0"]),
    help="Cognito PreTokenGeneration: the event version (default V1_0).",
)
@click.option("--region", metavar="REGION", help="Cognito: the region in the event.")
@click.option("--user-pool-id", metavar="ID", help="Cognito: the userPoolId in the event.")
def event(
    provider: str,
    name: str | None,
    list_: bool,
    lambda_version: str | None,
    region: str | None,
    user_pool_id: str | None,
) -> None:
    """Print a sample event to start a test case or `hookctl invoke --event` from.

    \b
      hookctl event cognito PreSignUp_SignUp
      hookctl event cognito TokenGeneration_Authentication --lambda-version V2_0
      hookctl event cognito testTrigger      the AWS post authentication example's test event
      hookctl event auth0 pre-user-registration
      hookctl event cognito --list
    """
    from ..engine import events
    from ..engine.load import suggest

    if list_ or not name:
        if provider == "cognito":
            for trigger, sources in events.COGNITO_TRIGGER_SOURCES.items():
                click.echo(f"{trigger}:")
                for source in sources:
                    click.echo(f"  {source}")
            click.echo(f"seed:\n  {events.SEED_TEST_TRIGGER}  (the AWS post authentication example's test event)")
        else:
            for trigger in sorted(events.AUTH0_HANDLERS):
                detail = "" if trigger in events.AUTH0_MODELLED_TRIGGERS else "  (common properties only)"
                click.echo(f"{trigger}  {events.AUTH0_HANDLERS[trigger]}{detail}")
        if not name and not list_:
            raise click.UsageError(f"name a trigger; `hookctl event {provider} --list` lists them")
        return
    if provider == "cognito":
        source = name
        if name in events.COGNITO_TRIGGER_SOURCES:  # a LambdaConfig key: its first triggerSource
            source = events.COGNITO_TRIGGER_SOURCES[name][0]
        known = (*events.TRIGGER_BY_SOURCE, events.SEED_TEST_TRIGGER)
        if source not in known:
            raise click.UsageError(
                f"unknown triggerSource {name!r}{suggest(name, known)}; `hookctl event cognito --list` lists them"
            )
        sample = events.cognito_event(source, lambda_version=lambda_version, region=region, user_pool_id=user_pool_id)
    else:
        if name not in events.AUTH0_HANDLERS:
            raise click.UsageError(f"unknown Auth0 trigger {name!r}{suggest(name, tuple(events.AUTH0_HANDLERS))}")
        sample = events.auth0_event(name)
    click.echo(json.dumps(sample, indent=2, ensure_ascii=False))


__all__ = ["event", "invoke", "test_cmd"]
