"""Render stage: a stack entry (action or function) → handler source code.
Engine: stage 2 of the pipeline (render).

Reads templates only, from the search path (``search_path``): the stack's
``template_path:`` folders, a stack-local ``templates/`` folder beside the stack
file, the repository's ``templates/``, then the library shipped inside the
package. A ``code:`` entry names a plain handler file instead, used as it is
(no Jinja: ``${{a:1}.a}`` stays JavaScript). Jinja2 runs sandboxed
with ``StrictUndefined``. Values may only enter the generated JavaScript or
Python through the literal filters ``js`` / ``py``: a bare ``{{ value }}``
holding a string is an error, so no variable can break out of a string
literal and inject code. Numbers and booleans are written as literals of the
template's language. Same inputs → same bytes.
"""

from __future__ import annotations

import json
import math
import os
import re
import types
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .errors import InputError, Problem
from .model import Action, Function, Stack

LANGUAGE_BY_SUFFIX = {".js": "js", ".mjs": "js", ".cjs": "js", ".py": "py"}
RESERVED = "hookctl"
MAX_REPEAT = 1_000_000  # longest string or list ``*`` may build in a template
MAX_POWER_BITS = 64 * 1024  # largest integer ``**`` may build in a template
MAX_CODE_BYTES = 1024 * 1024  # a ``code:`` handler file (Auth0 itself takes 100 kB of code)


class Literal(str):
    """Source text produced by a literal filter: safe to place in code as is."""


@dataclass(frozen=True)
class Rendered:
    """One rendered handler."""

    address: str
    template: str
    template_path: str  # where the template was found (for messages)
    language: str  # "js" | "py"
    suffix: str  # ".js", ".mjs", ".py"
    source: str


class OutsideRoots(jinja2.TemplateNotFound):
    """A template whose real path (symbolic links followed) is outside every template folder."""


class _RootedLoader(jinja2.FileSystemLoader):
    """Jinja's file loader, refusing any template whose real path leaves the template folders.

    A pull request writes the stack's ``templates/``: a symbolic link there (or a ``templates``
    folder that is itself a link) would otherwise ``{% include %}`` any file of the runner, a
    secret file or ``/etc/passwd``, into the rendered code and the plan comment."""

    def __init__(self, roots: list[str]) -> None:
        super().__init__(roots)
        self.real_roots = [os.path.realpath(root) for root in roots]

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        real = os.path.realpath(filename)
        if not any(real.startswith(root.rstrip(os.sep) + os.sep) for root in self.real_roots):
            raise OutsideRoots(template)
        return source, filename, uptodate


def shipped_templates_dir() -> str:
    """The template library installed with the package (``provisioner/templates``)."""
    try:
        path = resources.files("provisioner.templates")
        if os.path.isdir(str(path)):
            return str(path)
    except ModuleNotFoundError:
        pass
    # Running from a source checkout without an install: the repository's templates/.
    return str(Path(__file__).resolve().parents[2] / "templates")


def template_language(name: str) -> tuple[str, str]:
    base = name[:-3] if name.endswith(".j2") else name
    suffix = os.path.splitext(base)[1]
    if suffix not in LANGUAGE_BY_SUFFIX:
        raise ValueError(suffix)
    return LANGUAGE_BY_SUFFIX[suffix], suffix


def js_literal(value: Any) -> Literal:
    """A JavaScript literal for any JSON value; strings can never end early.

    JSON is valid JavaScript; we additionally escape ``<``, ``>``, ``&`` and the
    line separators U+2028/U+2029 so the text is inert in any context.
    """
    text = json.dumps(_plain(value), ensure_ascii=True, sort_keys=True, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Literal(text)


def py_literal(value: Any) -> Literal:
    """A Python literal (str, int, float, bool, None, list, dict) built by ``repr``."""
    value = _plain(value)
    _check_finite(value)
    return Literal(_py_repr(value))


def _py_repr(value: Any) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"{_py_repr(str(k))}: {_py_repr(v)}" for k, v in sorted(value.items()))
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py_repr(v) for v in value) + "]"
    if isinstance(value, str):
        # ascii() escapes every non-ASCII character too, so the output is plain ASCII.
        return ascii(value)
    return repr(value)


def _check_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    if isinstance(value, list):
        for v in value:
            _check_finite(v)
    if isinstance(value, dict):
        for v in value.values():
            _check_finite(v)


def _plain(value: Any) -> Any:
    if isinstance(value, types.MappingProxyType | dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ValueError(f"cannot place a {type(value).__name__} in code")


class UnsafeOutput(Exception):
    """A string reached the output without a literal filter."""


def _finalizer(language: str) -> Any:
    def finalize(value: Any) -> Any:
        if isinstance(value, Literal):
            return value
        if isinstance(value, bool):
            return ("True" if value else "False") if language == "py" else ("true" if value else "false")
        if isinstance(value, int | float) and math.isfinite(value):
            return repr(value)
        if isinstance(value, jinja2.Undefined):
            return value  # StrictUndefined raises when printed
        raise UnsafeOutput(
            f"a {type(value).__name__} value must pass through the "
            f"'{language}' filter (e.g. {{{{ name | {language} }}}}) before it is placed in code"
        )

    return finalize


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox plus size limits on ``*`` and ``**``.

    Intercepting them also stops Jinja from constant-folding ``{{ 9 ** 999999999 }}``
    while it compiles the template, which would otherwise hang before any check runs.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_int(left) and _is_int(right) and right * abs(left).bit_length() > MAX_POWER_BITS:
            raise SecurityError("the result of ** is too large for a template")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and _is_int(times) and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"repeating a {type(seq).__name__} {times} times is too large for a template")
        return super().call_binop(context, operator, left, right)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Renderer:
    """Renders entries of one stack; caches one Jinja environment per language."""

    def __init__(self, stack: Stack, extra_dirs: tuple[str, ...] = ()) -> None:
        self.stack = stack
        self.search_path = [*extra_dirs, *search_path(stack)]
        self._envs: dict[str, jinja2.Environment] = {}

    def env(self, language: str) -> jinja2.Environment:
        if language not in self._envs:
            env = _Sandbox(
                loader=_RootedLoader(self.search_path),
                undefined=jinja2.StrictUndefined,
                autoescape=False,
                keep_trailing_newline=True,
                finalize=_finalizer(language),
            )
            env.filters["js"] = js_literal
            env.filters["py"] = py_literal
            env.filters["literal"] = py_literal if language == "py" else js_literal
            self._envs[language] = env
        return self._envs[language]

    def context(self, entry: Action | Function) -> dict[str, Any]:
        variables = self.stack.template_vars(entry.vars)
        info: dict[str, Any] = {
            "stack": self.stack.name,
            "environment": self.stack.environment.name,
            "name": entry.name,
            "runtime": entry.runtime,
            "secrets": [s.name for s in entry.secrets],
        }
        if isinstance(entry, Action):
            info["trigger"] = entry.trigger
            info["dependencies"] = dict(entry.dependencies)
        else:
            info["triggers"] = sorted({t.trigger for t in entry.triggers})
            info["handler"] = entry.handler
            info["secret_sources"] = {s.name: s.source for s in entry.secrets}
        variables[RESERVED] = info
        return variables

    def render(self, entry: Action | Function) -> Rendered:
        if entry.code:
            return self.plain_code(entry)
        kind = "auth0.actions" if isinstance(entry, Action) else "cognito.functions"
        tfield = f"{kind}.{entry.name}.template"
        # Problems with the template itself point at the ``template:`` line, not the entry's.
        origin_line = entry.template_line or entry.origin.line
        if RESERVED in entry.vars:
            raise InputError(
                [
                    Problem(
                        self.stack.path,
                        entry.origin.line,
                        f"{kind}.{entry.name}.vars.{RESERVED}",
                        "this variable name is reserved for hookctl",
                    )
                ]
            )
        try:
            language, suffix = template_language(entry.template)
        except ValueError:
            raise InputError(
                [
                    Problem(
                        self.stack.path,
                        origin_line,
                        tfield,
                        f"template {entry.template!r} must end in .js.j2, .mjs.j2 or .py.j2",
                    )
                ]
            ) from None
        if isinstance(entry, Function):
            expected = "py" if entry.runtime.startswith("python") else "js"
            if expected != language:
                raise InputError(
                    [
                        Problem(
                            self.stack.path,
                            origin_line,
                            tfield,
                            f"template {entry.template!r} is {language}, runtime {entry.runtime} needs {expected}",
                        )
                    ]
                )
        env = self.env(language)
        try:
            template = env.get_template(entry.template)
        except OutsideRoots:
            raise InputError([Problem(self.stack.path, origin_line, tfield, _outside(entry.template))]) from None
        except jinja2.TemplateNotFound:
            raise InputError(
                [
                    Problem(
                        self.stack.path,
                        origin_line,
                        tfield,
                        f"no template {entry.template!r} in {' or '.join(self.search_path)}",
                    )
                ],
                hint="Run `hookctl templates` to list the shipped templates.",
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(
                [
                    Problem(
                        _display(exc.filename or entry.template),
                        exc.lineno,
                        tfield,
                        f"template syntax error: {exc.message}",
                    )
                ]
            ) from None
        except Exception as exc:  # e.g. RecursionError on absurdly nested expressions
            raise InputError(
                [
                    Problem(
                        self.stack.path, origin_line, tfield, f"cannot compile template {entry.template!r}: {_why(exc)}"
                    )
                ]
            ) from None
        path = template.filename or entry.template
        try:
            source = template.render(self.context(entry))
        except jinja2.UndefinedError as exc:
            name = _undefined_name(str(exc))
            raise InputError(
                [
                    Problem(
                        _display(path),
                        _template_line(exc, path),
                        f"{kind}.{entry.name}.vars.{name}" if name else f"{kind}.{entry.name}.vars",
                        f"undefined variable: {exc.message}; set it in vars of the stack, "
                        "the environment or this entry",
                    )
                ]
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(
                [Problem(_display(exc.filename or path), exc.lineno, tfield, f"template syntax error: {exc.message}")]
            ) from None
        except OutsideRoots as exc:
            raise InputError(
                [Problem(_display(path), _template_line(exc, path), tfield, f"template error: {_outside(exc.name)}")]
            ) from None
        except jinja2.TemplateNotFound as exc:
            # An include/import/extends of a missing name. '..' pieces are refused and absolute
            # names are looked up inside the template folders, so nothing outside them is read.
            raise InputError(
                [
                    Problem(
                        _display(path),
                        _template_line(exc, path),
                        tfield,
                        f"template error: no template {exc.name!r} to include or import in the template folders",
                    )
                ]
            ) from None
        except (UnsafeOutput, ValueError, TypeError, jinja2.TemplateError) as exc:
            raise InputError(
                [Problem(_display(path), _template_line(exc, path), tfield, f"template error: {exc}")]
            ) from None
        except Exception as exc:  # anything a template expression raises (1/0, recursion, memory)
            raise InputError(
                [Problem(_display(path), _template_line(exc, path), tfield, f"template error: {_why(exc)}")]
            ) from None
        return Rendered(entry.address, entry.template, path, language, suffix, source)

    def plain_code(self, entry: Action | Function) -> Rendered:
        """A ``code:`` handler: the file's bytes as they are (no Jinja), found beside the stack file.
        It must stay inside the repository (or the stack's folder when there is none)."""
        kind = "auth0.actions" if isinstance(entry, Action) else "cognito.functions"
        fld = f"{kind}.{entry.name}.code"
        line = entry.template_line or entry.origin.line

        def fail(message: str) -> InputError:
            return InputError([Problem(self.stack.path, line, fld, message)])

        name = entry.template
        suffix = os.path.splitext(name)[1]
        if suffix == ".j2":
            raise fail(f"{name!r} is a Jinja template: give it as template:, or drop .j2 to use the file as is")
        if suffix not in LANGUAGE_BY_SUFFIX:
            raise fail(f"code {name!r} must end in .js, .mjs, .cjs or .py")
        language = LANGUAGE_BY_SUFFIX[suffix]
        if isinstance(entry, Function):
            expected = "py" if entry.runtime.startswith("python") else "js"
            if expected != language:
                raise fail(f"code {name!r} is {language}, runtime {entry.runtime} needs {expected}")
        if os.path.isabs(name):
            raise fail(f"code {name!r} must be a path relative to the stack file")
        root = os.path.realpath(repository_root(self.stack.stack_dir))
        path = os.path.realpath(os.path.join(self.stack.stack_dir, name))
        if os.path.commonpath([root, path]) != root:
            raise fail(f"code {name!r} is outside the repository ({_display(root)})")
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_CODE_BYTES + 1)
        except OSError as exc:
            raise fail(f"cannot read code {name!r}: {exc.strerror}") from None
        if len(raw) > MAX_CODE_BYTES:
            raise fail(f"code {name!r} is larger than {MAX_CODE_BYTES // 1024} kB")
        try:
            source = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(f"code {name!r} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
        return Rendered(entry.address, name, path, language, suffix, source)


def repository_root(start: str) -> str:
    """The nearest folder at or above ``start`` holding ``.git``; without one, the folder above the
    stack's folder (a repository's layout: ``stacks/`` and ``templates/`` side by side)."""
    current = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return os.path.dirname(os.path.abspath(start))
        current = parent


def search_path(stack: Stack) -> list[str]:
    """Where templates are looked up, first match wins: the stack's ``template_path:`` folders, the
    stack-local ``templates/``, the repository's ``templates/``, then the shipped library. A folder
    counts only if its real path (symbolic links followed) is inside the stack's folder (the local
    ``templates/``) or the repository (the others)."""
    root = repository_root(stack.stack_dir)
    local = os.path.join(stack.stack_dir, "templates")
    found = [folder for folder in stack.template_path if _inside(folder, root)]
    if _inside(local, stack.stack_dir):
        found.append(local)
    repo_templates = os.path.join(root, "templates")
    shipped = shipped_templates_dir()
    if (
        os.path.isdir(repo_templates)
        and _inside(repo_templates, root)
        and os.path.realpath(repo_templates) != os.path.realpath(shipped)
    ):
        found.append(repo_templates)
    found.append(shipped)
    return list(dict.fromkeys(found))


def _inside(path: str, base: str) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(base).rstrip(os.sep) + os.sep)


def _outside(name: Any) -> str:
    return f"template {name!r} resolves outside the template folders (a symbolic link?); refused"


def _why(exc: BaseException) -> str:
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _display(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _undefined_name(message: str) -> str | None:
    match = re.search(r"'([^']+)' is undefined", message) or re.search(r"has no attribute '([^']+)'", message)
    return match.group(1) if match else None


def _template_line(exc: BaseException, path: str) -> int | None:
    """The template line Jinja attributed the failure to (its rewritten traceback)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_all(stack: Stack) -> list[Rendered]:
    """Every action and function of the stack, reporting all template problems at once."""
    renderer = Renderer(stack)
    results: list[Rendered] = []
    problems: list[Problem] = []
    entries: list[Action | Function] = [*stack.actions, *stack.functions]
    for entry in entries:
        try:
            results.append(renderer.render(entry))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return results
