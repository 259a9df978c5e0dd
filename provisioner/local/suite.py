"""Test runs: a stack and its test-case file → a ``StackReport``.
Local runs: hookctl test for one stack, its cases run in parallel against the capture server.

Loads the stack and its cases (``cases``), serves the capture server
(``capture``) while the selected cases run, each in its own process
(``run``), and checks every run (``checks``). I/O: the stack and case files,
one subprocess per case, the capture server on 127.0.0.1. Nothing here
reaches beyond loopback.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..engine.errors import HookctlError, InputError, Problem
from ..engine.load import load_stack
from ..engine.model import Stack
from ..engine.render import Renderer
from . import run as localrun
from .capture import CaptureRef, CaptureServer, resolve_captures
from .cases import Case, display_path, load_cases, tests_path_for
from .checks import check
from .deps import DependencyCache
from .invocation import find_entry, prepare
from .report import CaseResult, StackReport, failure_section, result_line, summary


@dataclass
class TestOptions:
    node_modules: str | None = None
    install_deps: bool = False
    cache_dir: str | None = None
    select: str | None = None  # substring of "target: name"
    jobs: int = 0
    kill_grace_s: float = localrun.KILL_GRACE_S
    progress: Callable[[str], None] = lambda _m: None
    on_result: Callable[[CaseResult], None] = lambda _r: None


def run_stack(
    stack_path: str, environment: str | None, options: TestOptions, runner: localrun.Runner | None = None
) -> StackReport:
    """Load a stack and its test-case file and run every selected case."""
    tests_path = tests_path_for(stack_path)
    if tests_path is None:
        base = os.path.splitext(stack_path)[0]
        raise InputError([Problem(stack_path, None, "tests", f"no test cases: write {display_path(base)}.tests.yaml")])
    stack = load_stack(stack_path, environment)
    cases = load_cases(tests_path, stack)
    env_name = stack.environment.name
    selected = [
        c
        for c in cases
        if (not c.environments or env_name in c.environments)
        and (not options.select or options.select.lower() in c.title.lower())
    ]
    runner = runner or make_runner(options)
    renderer = Renderer(stack)
    render_lock = threading.Lock()
    results: list[CaseResult] = []
    with CaptureServer() as server:

        def one(case: Case) -> CaseResult:
            return run_case(stack, case, runner, server, renderer, render_lock)

        jobs = options.jobs or min(8, (os.cpu_count() or 2) * 2)
        # Cases run in parallel (each in its own process); results arrive in declaration order.
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for result in pool.map(one, selected):
                options.on_result(result)
                results.append(result)
    notes: list[str] = []
    shims: list[str] = []
    for result in results:
        if result.run is not None:
            notes += result.run.notes
            shims += result.run.shims
    if shims:
        names = ", ".join(dict.fromkeys(shims))
        notes.append(f"{names}: hookctl's test shims stood in for the real packages (--install-deps installs them)")
    return StackReport(
        stack_path, env_name, tests_path, results, len(cases) - len(selected), list(dict.fromkeys(notes))
    )


def run_stack_tests(stack_path: str, environment: str | None, echo: Callable[[str], None]) -> bool:
    """``hookctl test`` for one stack and environment, written through ``echo``; True when every case passed.

    For callers other than the CLI (``hookctl demo``): one line per case, the
    failures explained, then the summary.
    """
    started = time.perf_counter()
    report = run_stack(stack_path, environment, TestOptions(on_result=lambda r: echo(result_line(r))))
    failures = failure_section([report])
    if failures:
        echo(failures)
    echo(summary([report], time.perf_counter() - started))
    return all(r.status != "failed" for r in report.results)


def make_runner(options: TestOptions) -> localrun.Runner:
    cache = DependencyCache(options.cache_dir or DependencyCache.default_root(), progress=options.progress)
    return localrun.Runner(
        node_modules=options.node_modules,
        cache=cache,
        install_deps=options.install_deps,
        kill_grace_s=options.kill_grace_s,
    )


def run_case(
    stack: Stack,
    case: Case,
    runner: localrun.Runner,
    server: CaptureServer,
    renderer: Renderer | None = None,
    render_lock: Any = None,
) -> CaseResult:
    started = time.perf_counter()
    if case.skip:
        return CaseResult(case, "skipped", [case.skip])
    scope = server.scope(case.captures)

    def url(ref: CaptureRef) -> str:
        return server.url(scope, ref)

    entry = find_entry(stack, case.target)
    event = resolve_captures(case.event, url)
    try:
        with render_lock or contextlib.nullcontext():
            invocation = prepare(
                stack,
                entry,
                event=event if case.replace_event else None,
                overrides=None if case.replace_event else event,
                unset=case.unset,
                trigger_source=case.trigger_source,
                pool=case.pool,
                secrets=resolve_captures(dict(case.secrets), url),
                environment=resolve_captures(dict(case.environment), url),
                variables=resolve_captures(dict(case.variables), url),
                timeout_ms=case.timeout_ms,
                cache_seed=case.cache,
                renderer=renderer,
            )
        run = runner.run(invocation)
    except HookctlError as exc:
        message = exc.message + (f"\nHint: {exc.hint}" if exc.hint else "")
        return CaseResult(
            case, "failed", [f"could not run the handler: {message}"], None, time.perf_counter() - started
        )
    failures = check(case, run, server.received(scope))
    return CaseResult(case, "failed" if failures else "passed", failures, run, time.perf_counter() - started)
