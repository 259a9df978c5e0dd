"""Check stage: rendered handlers → syntax and export problems, before anything is packaged.
Engine: validate's and plan's handler check, between render and package.

A template that renders ``const X = ""https://x"";`` would otherwise fail only at
Auth0's build or at Lambda's first invocation. Here every rendered handler is
parsed by its own language without running it: JavaScript by ``node --check``
(as a CommonJS script for ``.js``/``.cjs``, as an ES module for ``.mjs``),
Python by ``compile()`` (what ``py_compile`` does). Then the export the
platform calls is looked for: ``exports.onExecutePostLogin`` and its siblings
for an Auth0 action (Auth0's trigger reference), the function named by a
Lambda's ``handler`` (``index.handler`` → ``export const handler`` /
``exports.handler``; ``lambda_function.lambda_handler`` → a top-level ``def``).

Local only: runs ``node`` on temporary files, no network, no secrets.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable

from .errors import Problem
from .events import AUTH0_HANDLERS
from .model import Action, Function, Stack
from .render import Rendered

NODE_TIMEOUT = 30

Progress = Callable[[str], None]


def check_rendered(stack: Stack, rendered: Iterable[Rendered], progress: Progress = lambda _m: None) -> list[Problem]:
    """Every syntax and missing-export problem of the stack's rendered handlers, located at the entry's
    ``template:`` (or ``code:``) line."""
    all_entries: list[Action | Function] = [*stack.actions, *stack.functions]
    entries = {e.address: e for e in all_entries}
    problems: list[Problem] = []
    scripts: list[tuple[Rendered, Action | Function]] = []
    for item in rendered:
        entry = entries.get(item.address)
        if entry is None:
            continue
        if item.language == "py":
            problems.extend(_check_python(stack, entry, item))
        else:
            scripts.append((item, entry))
    problems.extend(_check_javascript(stack, scripts, progress))
    return problems


def export_name(entry: Action | Function) -> str:
    """The name the platform calls: the trigger's ``onExecute…`` for Auth0, the handler's function for Lambda."""
    if isinstance(entry, Action):
        return AUTH0_HANDLERS.get(entry.trigger, "onExecute")
    return entry.handler.rsplit(".", 1)[1]


def _problem(stack: Stack, entry: Action | Function, message: str) -> Problem:
    kind = "auth0.actions" if isinstance(entry, Action) else "cognito.functions"
    key = "code" if getattr(entry, "code", None) else "template"
    line = getattr(entry, "template_line", None) or entry.origin.line
    return Problem(stack.path, line, f"{kind}.{entry.name}.{key}", message)


def _check_python(stack: Stack, entry: Action | Function, item: Rendered) -> list[Problem]:
    try:
        tree = ast.parse(item.source, f"{item.address}{item.suffix}")
    except SyntaxError as exc:
        return [_problem(stack, entry, f"the rendered Python does not compile: line {exc.lineno}: {exc.msg}")]
    except ValueError as exc:  # e.g. a NUL byte in the source
        return [_problem(stack, entry, f"the rendered Python does not compile: {exc}")]
    name = export_name(entry)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return []
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return []
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
            return []
    return [_problem(stack, entry, f"the rendered Python defines no top-level function {name}() (the handler)")]


def _exports(source: str, name: str, module: bool) -> bool:
    """Does the source export ``name``? A textual check (the code is never run): CommonJS
    ``exports.NAME =`` / ``module.exports = {NAME}``, or ES ``export function NAME`` / ``export const
    NAME`` / ``export {NAME}``."""
    n = re.escape(name)
    patterns = [
        rf"\b(?:module\.)?exports\s*\.\s*{n}\s*=",
        rf"\b(?:module\.)?exports\s*\[\s*['\"]{n}['\"]\s*\]\s*=",
        rf"\bmodule\.exports\s*=\s*\{{[^}}]*\b{n}\b",
    ]
    if module:
        patterns += [
            rf"\bexport\s+(?:async\s+)?function\s*\*?\s*{n}\b",
            rf"\bexport\s+(?:const|let|var)\s+{n}\b",
            rf"\bexport\s*\{{[^}}]*\b{n}\b[^}}]*\}}",
        ]
    return any(re.search(p, source) for p in patterns)


def _check_javascript(
    stack: Stack, scripts: list[tuple[Rendered, Action | Function]], progress: Progress
) -> list[Problem]:
    if not scripts:
        return []
    problems: list[Problem] = []
    for item, entry in scripts:
        module = item.suffix == ".mjs"
        if not _exports(item.source, export_name(entry), module):
            what = (
                f"exports.{export_name(entry)}"
                if not module
                else f"export const {export_name(entry)} (or export function)"
            )
            problems.append(_problem(stack, entry, f"the rendered JavaScript has no {what}, which the platform calls"))
    node = shutil.which("node")
    if node is None:
        progress("node is not on PATH: the rendered JavaScript was not syntax-checked (install Node.js 20+).")
        return problems
    for item, entry in scripts:
        verdict = _CHECKED.get(_key(item))
        if verdict:
            problems.append(_problem(stack, entry, verdict))
    unchecked = [(item, entry) for item, entry in scripts if _key(item) not in _CHECKED]
    with tempfile.TemporaryDirectory(prefix="hookctl-check-") as tmp:
        running: list[tuple[subprocess.Popen[str], Rendered, Action | Function]] = []
        for i, (item, entry) in enumerate(unchecked):
            path = os.path.join(tmp, f"{i}{item.suffix}")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(item.source)
            proc = subprocess.Popen(
                [node, "--check", path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env={"PATH": os.environ.get("PATH", ""), "NODE_OPTIONS": ""},
            )
            running.append((proc, item, entry))
        for proc, item, entry in running:
            try:
                _, err = proc.communicate(timeout=NODE_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                problems.append(_problem(stack, entry, "node --check did not finish"))
                continue
            verdict = f"the rendered JavaScript does not parse: {_node_error(err)}" if proc.returncode else ""
            _CHECKED[_key(item)] = verdict
            if verdict:
                problems.append(_problem(stack, entry, verdict))
    return problems


# Verdicts of node --check by (suffix, sha256 of the source): the environments of a stack, and the
# stacks of a repository, mostly render the same code, and each node start costs tens of ms.
_CHECKED: dict[tuple[str, str], str] = {}


def _key(item: Rendered) -> tuple[str, str]:
    return item.suffix, hashlib.sha256(item.source.encode("utf-8", "surrogatepass")).hexdigest()


def _node_error(stderr: str) -> str:
    """``line N: SyntaxError: …`` out of node's report (``/tmp/x/0.js:3`` then the source line and caret)."""
    lines = stderr.strip().splitlines()
    where = next((m.group(1) for ln in lines if (m := re.match(r"^.*\.(?:m|c)?js:(\d+)$", ln))), None)
    what = next((ln.strip() for ln in lines if re.match(r"^\s*\w*Error\b", ln)), lines[-1] if lines else "error")
    return f"line {where}: {what}" if where else what
