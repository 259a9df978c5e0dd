"""Load stage: a stack file + an environment name → a validated, frozen ``Stack``.
Engine: stage 1 of the pipeline (load).

Reads the stack file and nothing else (no templates, no secrets, no remote
calls). Every problem is collected, not just the first, and reported as
``file:line: field: message`` with a suggestion for misspelled keys. The
YAML parser is ruamel.yaml in round-trip mode because it keeps line numbers.

Why one module: it is one pass over one document. Every check (keys, names, triggers, runtimes,
secrets, dependencies, ``${VAR}`` substitution, environment inheritance) walks the same
position-keeping YAML nodes and reports into the same problem list, in file order, so that one run
shows every problem at once; split by section, each part would need that walker and list passed in.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, CommentedSet, TaggedScalar
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, NodeEvent
from ruamel.yaml.reader import ReaderError

from . import catalog
from .errors import InputError, Problem
from .model import (
    Action,
    Auth0Target,
    CognitoTarget,
    Environment,
    Function,
    Origin,
    Pool,
    PoolTrigger,
    SecretRef,
    Stack,
    TriggerBindings,
    freeze,
)

MAX_STACK_BYTES = 1024 * 1024
MAX_NODES = 20_000  # guards against alias bombs: aliases expand when walked
# Deeper documents are refused before they are composed: ruamel.yaml composes
# recursively (RecursionError past a few hundred levels) and scans deeply
# nested flow collections in quadratic time.
MAX_DEPTH = 64
MAX_PROBLEMS = 100  # then one line saying there are more
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
SECRET_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")  # Lambda's FunctionName (a plain name)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,255}\Z")
NPM_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?\Z")
# PEP 440 exact release versions: 1.2.3, 2!1.0, 1.0rc1, 1.0.post2, 1.0.dev3.
PEP440_VERSION_RE = re.compile(r"(?:\d+!)?\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?", re.ASCII)
# Package names, so that no dependency can be read as a tool's option (`--index-url=...`) or
# as a URL or path. npm: validate-npm-package-name (url-safe, not starting with . or _, at most
# 214 characters, an optional @scope/); names with capitals are valid for old packages.
NPM_NAME_RE = re.compile(r"(?:@[a-z0-9~-][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*", re.ASCII | re.IGNORECASE)
NPM_NAME_MAX = 214
# PEP 508 "Names" (https://peps.python.org/pep-0508/#names).
PEP508_NAME_RE = re.compile(r"[A-Z0-9](?:[A-Z0-9._-]*[A-Z0-9])?", re.ASCII | re.IGNORECASE)
ENV_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}")
SECRET_SOURCES = ("env", "file", "secretsmanager", "ssm")
# ${NAME} in target fields reads only names the stack files cannot widen: a fixed prefix, the
# variable the sandbox exports, and a list kept outside the repository (the CI job's environment).
SUBST_PREFIX = "HOOKCTL_VAR_"
SUBST_FIXED = frozenset({"HOOKCTL_SANDBOX_POOL_ID", "HOOKCTL_SANDBOX_POOL_ID_2", "HOOKCTL_SANDBOX_POOL_ID_3"})
SUBST_ALLOW_ENV = "HOOKCTL_ALLOW_VARS"

TOP_KEYS = ("stack", "description", "prune", "template_path", "vars", "environments", "auth0", "cognito")
ENV_KEYS = ("inherit", "vars", "auth0", "cognito")
ENV_AUTH0_KEYS = ("domain",)
ENV_COGNITO_KEYS = ("region", "pools")
AUTH0_KEYS = ("actions", "triggers")
ACTION_KEYS = (
    "trigger",
    "template",
    "code",
    "runtime",
    "vars",
    "dependencies",
    "secrets",
    "description",
)
TRIGGER_KEYS = ("bindings", "exclusive")
COGNITO_KEYS = ("functions",)
FUNCTION_KEYS = (
    "template",
    "code",
    "function_name",
    "runtime",
    "handler",
    "trigger",
    "triggers",
    "vars",
    "dependencies",
    "environment",
    "secrets",
    "role",
    "timeout",
    "memory",
    "description",
)
POOL_TRIGGER_KEYS = ("pool", "trigger", "lambda_version", "kms_key_id", "take_over")
SECRET_KEYS = (*SECRET_SOURCES, "key")

DEFAULT_HANDLERS = {"node": "index.handler", "python": "lambda_function.lambda_handler"}


def substitutable(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """May ``${name}`` be read? Never decided by the stack: a pull request writes the stack."""
    if name.startswith(SUBST_PREFIX) or name in SUBST_FIXED:
        return True
    allowed = (os.environ if environ is None else environ).get(SUBST_ALLOW_ENV, "")
    return name in re.split(r"[\s,]+", allowed.strip())


def discover_stacks(root: str = "stacks") -> list[str]:
    """Every ``*.yaml``/``*.yml`` stack file directly under ``root`` or one level down
    (``*.tests.yaml`` files hold test cases and are skipped)."""
    found: list[str] = []
    if not os.path.isdir(root):
        return found
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if entry.endswith((".tests.yaml", ".tests.yml")):
            continue  # test cases beside a stack (hookctl test), not stacks
        if entry.endswith((".yaml", ".yml")) and os.path.isfile(path):
            found.append(path)
        elif os.path.isdir(path):
            for name in ("stack.yaml", "stack.yml"):
                if os.path.isfile(os.path.join(path, name)):
                    found.append(os.path.join(path, name))
    return found


def read_document(path: str) -> tuple[Any, str]:
    """Parse the YAML file; returns the round-trip document and the sha256 of its bytes."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_STACK_BYTES + 1)
    except OSError as exc:
        raise InputError([Problem(path, None, "file", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_STACK_BYTES:
        raise InputError([Problem(path, None, "file", "larger than 1 MiB; is this a stack file?")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            [Problem(path, bad_line, "file", f"not UTF-8 ({exc.reason} at byte {exc.start}); save the file as UTF-8")]
        ) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Constructor = _Constructor
    try:
        _check_shape(yaml, text, path)
        doc = yaml.load(text)
    except _ValueError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise InputError([Problem(path, line, "yaml", str(exc.problem))]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        raise InputError([Problem(path, line, "yaml", _explain_syntax(what, mark))]) from None
    except ReaderError as exc:
        # Control characters (NUL, BEL, ...) are not allowed anywhere in YAML.
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise InputError(
            [Problem(path, line, "yaml", f"syntax error: character {_char(exc.character)} is not allowed in YAML")]
        ) from None
    except YAMLError as exc:
        raise InputError([Problem(path, None, "yaml", f"syntax error: {exc}")]) from None
    except RecursionError:
        raise InputError([Problem(path, None, "yaml", f"nested more than {MAX_DEPTH} levels deep")]) from None
    return doc, hashlib.sha256(raw).hexdigest()


def _explain_syntax(what: str, mark: Any) -> str:
    """The parser's words, led by what a person most likely did: mis-indented a line (the usual
    cause of these two parser messages) or wrote ``: `` inside an unquoted value."""
    column = f" (column {mark.column + 1})" if mark is not None and getattr(mark, "column", None) is not None else ""
    if what.startswith("expected <block end>") or what.startswith("did not find expected key"):
        return (
            f"bad indentation{column}: this line does not line up with the keys above it; "
            f"keys of one mapping start in the same column, indented with spaces (parser: {what})"
        )
    if what == "mapping values are not allowed here":
        return (
            f"bad indentation{column}: this line is indented deeper than the line above allows, "
            f"or a value contains ': ' and needs quotes (parser: {what})"
        )
    return f"syntax error: {what}"


class _ValueError(ConstructorError):
    """A value ruamel.yaml could parse but not build, located at its node."""


class _Constructor(RoundTripConstructor):
    """The round-trip constructor, with its bare Python exceptions on odd tags and values
    (``!!set x``, ``!!int abc``, an integer of 5000 digits) turned into located errors."""

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        pending = len(self.state_generators)
        try:
            data = super().construct_non_recursive_object(node, tag)
        except (YAMLError, RecursionError):
            raise
        except Exception as exc:
            raise _failure(node, exc) from None
        # Collections finish building later, outside this call: keep their node for errors too.
        for i in range(pending, len(self.state_generators)):
            self.state_generators[i] = _located(self.state_generators[i], node)
        return data


def _located(generator: Iterator[Any], node: Any) -> Iterator[Any]:
    try:
        yield from generator
    except (YAMLError, RecursionError):
        raise
    except Exception as exc:
        raise _failure(node, exc) from None


def _failure(node: Any, exc: Exception) -> _ValueError:
    if isinstance(exc, ValueError) and "digits" in str(exc):
        problem = "a number has more than 4300 digits"
    else:
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        problem = f"cannot read a value tagged {tag} here"
    return _ValueError(problem=problem, problem_mark=node.start_mark)


def _check_shape(yaml: YAML, text: str, path: str) -> None:
    """Refuse, from the event stream (not recursive, nothing built yet), a document nested deeper
    than ``MAX_DEPTH`` or holding more than ``MAX_NODES`` values."""
    depth = nodes = 0
    for event in yaml.parse(text):
        if isinstance(event, NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                line = event.start_mark.line + 1 if event.start_mark is not None else None
                raise InputError([Problem(path, line, "yaml", f"more than {MAX_NODES} values; is this a stack file?")])
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark is not None else None
                raise InputError([Problem(path, line, "yaml", f"nested more than {MAX_DEPTH} levels deep")])
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def environment_names(path: str) -> list[str | None]:
    """The environments a stack file declares, in order; ``[None]`` when it cannot tell
    (loading with ``None`` then reports why)."""
    try:
        doc, _ = read_document(path)
    except InputError:
        return [None]
    envs = doc.get("environments") if isinstance(doc, CommentedMap) else None
    if isinstance(envs, CommentedMap) and envs:
        return [str(k) for k in envs]
    return [None]


def duplicate_stack_names(paths: list[str], known: Mapping[str, str] | None = None) -> list[Problem]:
    """Stack files that share one ``stack:`` name, each named with the others.

    Two such files share one state and one ownership marker, so each plans (with ``prune``) to
    delete what the other declares. ``known`` gives names already loaded (by normalised path), so
    no file is parsed twice; files that cannot be read are skipped: loading reports them.
    """
    named: dict[str, list[str]] = {}
    for path in dict.fromkeys(os.path.normpath(p) for p in paths):
        name = (known or {}).get(path)
        if name is None:
            try:
                doc, _ = read_document(path)
            except InputError:
                continue
            found = doc.get("stack") if isinstance(doc, CommentedMap) else None
            name = found if isinstance(found, str) else None
        if name:
            named.setdefault(name, []).append(path)
    problems: list[Problem] = []
    for name, places in named.items():
        if len(places) < 2:
            continue
        for path in places:
            others = ", ".join(p for p in places if p != path)
            problems.append(
                Problem(
                    path,
                    _stack_line(path),
                    "stack",
                    f"the stack name {name!r} is also used by {others}; stack names must be unique (the files "
                    "would share one state and ownership, and each would prune what the other declares)",
                )
            )
    return problems


def _stack_line(path: str) -> int | None:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, 1):
                if re.match(r"stack\s*:", line):
                    return number
    except (OSError, UnicodeDecodeError):
        return None
    return None


SecretCheck = Callable[[SecretRef, str], Problem | None]


def load_stack(
    path: str,
    environment: str | None = None,
    *,
    check_secret: SecretCheck | None = None,
    check_entries: Callable[[Stack], list[Problem]] | None = None,
) -> Stack:
    """Load and validate ``path`` for ``environment`` (optional when there is only one).

    ``check_secret(ref, stack_dir)`` (e.g. "is this environment variable set?") runs on every secret
    declared well enough to check, even when the file has other problems, so all are reported at once.
    Likewise, when the file has problems, ``check_entries`` (rendering and syntax-checking handlers)
    runs on a stack of the entries that are themselves valid, so their template errors come in the
    same run; its problems are only added to a failing load (on a clean load the caller checks)."""
    doc, revision = read_document(path)
    loader = _Loader(path)
    stack = loader.build(doc, environment, revision)
    if stack is None and check_entries is not None:
        valid = loader.valid_entries()
        for entry_problem in check_entries(valid) if valid is not None else ():
            loader.add(entry_problem)  # a template's own file and line
    if check_secret is not None:
        base_dir = os.path.dirname(os.path.abspath(path))
        for ref in loader.refs:
            found = check_secret(ref, base_dir)
            if found is not None:
                loader.problem(found.line, found.field, found.message)
                loader.hint = loader.hint or "A secret's source must exist when you plan or apply."
    if loader.problems or stack is None:
        raise InputError(loader.problems, hint=loader.hint)
    return stack


class _Loader:
    """Walks the round-trip document, collecting every problem before failing."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.partial: Stack | None = None  # what build() read, for valid_entries() when it has problems
        self.hint: str | None = None
        self._nodes = 0
        self._declared_envs: set[str] = set()
        self._cycles: set[frozenset[str]] = set()
        self.refs: list[SecretRef] = []  # every secret reference read, for checks made after loading

    # -- reporting -----------------------------------------------------------------
    def problem(self, line: int | None, fld: str, message: str) -> None:
        self.add(Problem(self.path, line, fld, message))

    def add(self, problem: Problem) -> None:
        if problem in self.problems:
            return  # an inherited environment is walked once per environment that inherits it
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append(
                Problem(self.path, None, "stack file", f"more than {MAX_PROBLEMS} problems; fix these first")
            )

    def origin(self, node: Any, key: Any, fld: str) -> Origin:
        return Origin(self.path, _line_of(node, key), fld)

    def count(self, line: int | None, fld: str) -> bool:
        self._nodes += 1
        if self._nodes == MAX_NODES:
            self.problem(line, fld, f"more than {MAX_NODES} values in vars (an alias bomb?)")
        return self._nodes < MAX_NODES

    # -- generic checks --------------------------------------------------------------
    def mapping(self, node: Any, fld: str, line: int | None, allowed: tuple[str, ...] | None) -> CommentedMap | None:
        if node is None:
            return CommentedMap()
        if not isinstance(node, CommentedMap):
            self.problem(line, fld, f"expected a mapping, got {_kind(node)}")
            return None
        if allowed is not None:
            for key in node:
                if key not in allowed:
                    self.problem(
                        _line_of(node, key),
                        f"{fld}.{_key(key)}" if fld else _key(key),
                        f"unknown key{_suggest(str(key), allowed)}",
                    )
        return node

    def string(self, node: CommentedMap, key: str, fld: str, *, required: bool = False) -> str | None:
        if key not in node or node[key] is None:
            if required:
                self.problem(_line_of(node, None), fld, "is required")
            return None
        value = node[key]
        if not isinstance(value, str) or isinstance(value, bool):
            self.problem(_line_of(node, key), fld, f"expected a string, got {_kind(value)}")
            return None
        return value

    def integer(self, node: CommentedMap, key: str, fld: str, default: int, low: int, high: int) -> int:
        if key not in node:
            return default
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(_line_of(node, key), fld, f"expected an integer, got {_kind(value)}")
            return default
        if not low <= value <= high:
            self.problem(_line_of(node, key), fld, f"must be between {low} and {high}, got {value}")
        return int(value)

    def boolean(self, node: CommentedMap, key: str, fld: str, default: bool = False) -> bool:
        if key not in node:
            return default
        value = node[key]
        if not isinstance(value, bool):
            self.problem(_line_of(node, key), fld, f"expected true or false, got {_kind(value)}")
            return default
        return value

    def plain(self, node: Any, fld: str, line: int | None, depth: int = 0) -> Any:
        """Template variables: any YAML scalars, lists and mappings with string keys."""
        if not self.count(line, fld):
            return None
        if depth > MAX_DEPTH:
            # Only aliases get here (the text itself was depth-checked): a chain of anchors.
            self.problem(line, fld, f"nested more than {MAX_DEPTH} levels deep (through aliases)")
            self._nodes = MAX_NODES  # stop walking: one report is enough
            return None
        if isinstance(node, CommentedMap | CommentedSeq) and _tag(node) is not None:
            self.problem(line, fld, f"unsupported YAML tag {_tag(node)}")
            return None
        if isinstance(node, CommentedMap):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if not isinstance(key, str):
                    self.problem(_line_of(node, key), fld, f"keys must be strings, got {_kind(key)}")
                    continue
                out[key] = self.plain(value, f"{fld}.{_key(key)}", _line_of(node, key), depth + 1)
            return out
        if isinstance(node, CommentedSeq):
            return [self.plain(v, f"{fld}[{i}]", _line_of(node, i), depth + 1) for i, v in enumerate(node)]
        if node is None or isinstance(node, str | bool | int | float):
            return str(node) if isinstance(node, str) else node
        self.problem(line, fld, f"unsupported value: {_kind(node)}; use strings, numbers, booleans, lists, mappings")
        return None

    def variables(self, parent: CommentedMap, key: str, fld: str) -> dict[str, Any]:
        node = parent.get(key)
        line = _line_of(parent, key)
        checked = self.mapping(node, fld, line, None)
        if checked is None:
            return {}
        value = self.plain(checked, fld, line)
        return value if isinstance(value, dict) else {}

    def str_map(
        self,
        parent: CommentedMap,
        key: str,
        fld: str,
        value_re: re.Pattern[str] | None = None,
        what: str = "",
        *,
        fullmatch: bool = False,
    ) -> dict[str, str]:
        node = self.mapping(parent.get(key), fld, _line_of(parent, key), None)
        out: dict[str, str] = {}
        if node is None:
            return out
        for name, value in node.items():
            line = _line_of(node, name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                self.problem(line, f"{fld}.{_key(name)}", f"expected a string, got {_kind(value)}")
                continue
            if value_re is not None and not (value_re.fullmatch(value) if fullmatch else value_re.match(value)):
                self.problem(line, f"{fld}.{_key(name)}", f"{what}, got {value[:64]!r}")
                continue
            out[str(name)] = value
        return out

    def dependencies(self, parent: CommentedMap, fld: str, language: str) -> dict[str, str]:
        """npm or PyPI packages with exact versions; names follow npm's or PEP 508's grammar."""
        if language == "node":
            deps = self.str_map(
                parent, "dependencies", fld, NPM_VERSION_RE, "npm dependencies need an exact version (1.2.3)"
            )
        else:
            deps = self.str_map(
                parent,
                "dependencies",
                fld,
                PEP440_VERSION_RE,
                "PyPI dependencies need an exact version (1.2.3)",
                fullmatch=True,
            )
        node = parent.get("dependencies")
        for name in list(deps):
            if language == "node":
                valid = len(name) <= NPM_NAME_MAX and NPM_NAME_RE.fullmatch(name) is not None
                grammar = "an npm package name (letters, digits, - . _ ~, optionally @scope/)"
            else:
                valid = PEP508_NAME_RE.fullmatch(name) is not None
                grammar = "a PyPI package name (PEP 508: letters, digits, - . _)"
            if not valid:
                self.problem(_line_of(node, name), f"{fld}.{_key(name)}", f"expected {grammar}")
                del deps[name]
        return deps

    def secrets(self, parent: CommentedMap, fld: str, env_name: str) -> tuple[SecretRef, ...]:
        node = self.mapping(parent.get("secrets"), fld, _line_of(parent, "secrets"), None)
        refs: list[SecretRef] = []
        if node is None:
            return ()
        for name, spec in node.items():
            sfld = f"{fld}.{_key(name)}"
            line = _line_of(node, name)
            if not isinstance(name, str) or not SECRET_NAME_RE.match(name):
                self.problem(line, sfld, "secret names are letters, digits and _ (not starting with a digit)")
                continue
            if isinstance(spec, CommentedMap) and "value" in spec:
                self.problem(
                    _line_of(spec, "value"),
                    f"{sfld}.value",
                    "a stack never holds a secret's value; declare where it comes from, "
                    f"e.g. {name}: {{env: {name}}} (or file:, secretsmanager:, ssm:)",
                )
                continue
            if spec is not None and not isinstance(spec, CommentedMap | CommentedSeq):
                # Most likely the value itself: say how to declare a source, never echo the value.
                self.problem(
                    line,
                    sfld,
                    "a stack never holds a secret's value; declare where it comes from, "
                    f"e.g. {name}: {{env: {name}}} (or file:, secretsmanager:, ssm:)",
                )
                continue
            spec_map = self.mapping(spec, sfld, line, SECRET_KEYS)
            if spec_map is None:
                continue
            sources = [s for s in SECRET_SOURCES if s in spec_map]
            if len(sources) != 1:
                self.problem(line, sfld, f"give exactly one source: {', '.join(SECRET_SOURCES)}")
                continue
            source = sources[0]
            locator = self.string(spec_map, source, f"{sfld}.{source}", required=True)
            key = self.string(spec_map, "key", f"{sfld}.key")
            if key is not None and source != "secretsmanager":
                self.problem(_line_of(spec_map, "key"), f"{sfld}.key", "only a secretsmanager source has a key")
            if locator is None:
                continue
            if source == "env" and not ENV_NAME_RE.match(locator.replace("{environment}", "E")):
                # Most likely the value itself pasted in place of a variable name: never echo it.
                self.problem(
                    _line_of(spec_map, "env"),
                    f"{sfld}.env",
                    "expected the name of an environment variable (letters, digits and _); "
                    "a stack never holds a secret's value",
                )
                continue
            locator = locator.replace("{environment}", env_name)
            refs.append(SecretRef(name, source, locator, self.origin(spec_map, source, f"{sfld}.{source}"), key))
        self.refs.extend(refs)
        return tuple(refs)

    def target(
        self, value: str | None, line: int | None, fld: str, check: Callable[[str], bool], what: str
    ) -> str | None:
        """A target field (tenant domain, region, pool id): ``${NAME}`` / ``${NAME:-default}`` expanded
        from the process environment, then checked with ``check`` before anything uses it.

        Only names the stack cannot widen are read (``substitutable``): the process environment of
        a CI runner holds its credentials, and a pull request writes the stack. A substituted value
        is never put in a message."""
        if value is None:
            return None
        substituted = failed = False

        def sub(match: re.Match[str]) -> str:
            nonlocal substituted, failed
            name, default = match.group(1), match.group(3)
            if not substitutable(name):
                failed = True
                self.problem(
                    line,
                    fld,
                    f"${{{name}}} may not be read: target fields read only {SUBST_PREFIX}* variables, "
                    f"{', '.join(sorted(SUBST_FIXED))} and the names listed in ${SUBST_ALLOW_ENV} "
                    "(set by the job running hookctl, never by the stack)",
                )
                return ""
            found = os.environ.get(name)
            if found:
                substituted = True
                return found
            if default is not None:
                return default
            failed = True
            self.problem(line, fld, f"environment variable {name} is not set")
            return ""

        expanded = ENV_REF_RE.sub(sub, value)
        if failed:
            return None
        if not check(expanded):
            shown = "the value substituted into it" if substituted else repr(expanded[:80])
            self.problem(line, fld, f"expected {what}, got {shown}")
            return None
        return expanded

    def handler_source(self, entry: CommentedMap, fld: str) -> tuple[str | None, bool, int | None]:
        """``template:`` (a Jinja template) or ``code:`` (a plain handler file, used as is): the name,
        whether it is plain code, and the line of its key."""
        if "template" in entry and "code" in entry:
            self.problem(_line_of(entry, "code"), f"{fld}.code", "give either template or code, not both")
            return None, False, None
        if "code" in entry:
            return self.string(entry, "code", f"{fld}.code", required=True), True, _line_of(entry, "code")
        if "template" not in entry:
            self.problem(
                _line_of(entry, None),
                f"{fld}.template",
                "is required: a template (Jinja, e.g. cognito/pre-sign-up/auto-confirm-all.mjs.j2) "
                "or code: a plain handler file (e.g. handlers/pre-sign-up.mjs)",
            )
            return None, False, None
        return self.string(entry, "template", f"{fld}.template", required=True), False, _line_of(entry, "template")

    def template_path(self, top: CommentedMap) -> tuple[str, ...]:
        """``template_path: [dir, ...]``: folders (relative to the stack file) searched before the defaults."""
        node = top.get("template_path")
        if node is None:
            return ()
        if isinstance(node, str):
            node = [node]
        if not isinstance(node, list):
            self.problem(
                _line_of(top, "template_path"), "template_path", f"expected a list of folders, got {_kind(node)}"
            )
            return ()
        base = os.path.dirname(os.path.abspath(self.path))
        found: list[str] = []
        for i, item in enumerate(node):
            line = _line_of(node, i) if isinstance(node, CommentedSeq) else _line_of(top, "template_path")
            if not isinstance(item, str) or not item:
                self.problem(line, f"template_path[{i}]", f"expected a folder, got {_kind(item)}")
                continue
            folder = os.path.normpath(os.path.join(base, item))
            if not os.path.isdir(folder):
                self.problem(line, f"template_path[{i}]", f"no folder {item!r} beside the stack file")
                continue
            found.append(folder)
        return tuple(found)

    def named_entries(self, parent: CommentedMap, key: str, fld: str) -> Iterator[tuple[str, CommentedMap, int | None]]:
        node = self.mapping(parent.get(key), fld, _line_of(parent, key), None)
        if node is None:
            return
        for name, body in node.items():
            line = _line_of(node, name)
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.problem(line, f"{fld}.{_key(name)}", "names are 1-64 letters, digits, '.', '_' or '-'")
                continue
            entry = self.mapping(body, f"{fld}.{name}", line, None)
            if entry is not None:
                yield name, entry, line

    # -- the document ------------------------------------------------------------------
    def build(self, doc: Any, env_name: str | None, revision: str) -> Stack | None:
        if doc is not None and not isinstance(doc, CommentedMap):
            self.problem(1, "stack file", f"expected a mapping (stack:, environments:, ...), got {_kind(doc)}")
            return None
        top = self.mapping(doc, "", 1, TOP_KEYS)
        if top is None:
            return None
        if not top:
            self.problem(1, "stack", "the file is empty")
            return None
        name = self.string(top, "stack", "stack", required=True)
        if name is not None and not NAME_RE.match(name):
            self.problem(_line_of(top, "stack"), "stack", "names are 1-64 letters, digits, '.', '_' or '-'")
        self.string(top, "description", "description")
        stack_vars = self.variables(top, "vars", "vars")
        prune = self.boolean(top, "prune", "prune")
        template_path = self.template_path(top)
        envs = self.environments(top)
        environment = self.pick_environment(top, envs, env_name)
        env_label = environment.name if environment else (env_name or "")
        actions = self.actions(top, env_label)
        bindings = self.bindings(top, actions)
        functions = self.functions(top, environment, env_label)
        if name is None or environment is None:
            return None
        stack = Stack(
            name=name,
            path=self.path,
            environment=environment,
            environments=tuple(envs),
            vars=freeze(stack_vars),
            actions=tuple(actions),
            bindings=tuple(bindings),
            functions=tuple(functions),
            prune=prune,
            revision=revision,
            template_path=template_path,
        )
        if self.problems:
            self.partial = stack
            return None
        return stack

    def valid_entries(self) -> Stack | None:
        """The stack read so far, keeping only the actions and functions with no problem of their own,
        or None when a problem elsewhere could change what they render (variables, template folders)."""
        if self.partial is None:
            return None
        fields = [p.field for p in self.problems]
        entry = re.compile(r"^(auth0\.actions|cognito\.functions)\.")
        if any(
            not entry.match(f) and (re.search(r"(^|\.)vars(\.|$)", f) or f.startswith("template_path")) for f in fields
        ):
            return None

        def clean(origin: Origin) -> bool:
            return not any(f == origin.field or f.startswith(origin.field + ".") for f in fields)

        actions = tuple(a for a in self.partial.actions if clean(a.origin))
        functions = tuple(f for f in self.partial.functions if clean(f.origin))
        return dataclasses.replace(self.partial, actions=actions, bindings=(), functions=functions)

    def environments(self, top: CommentedMap) -> dict[str, Environment]:
        node = top.get("environments")
        if node is None:
            self.problem(_line_of(top, None), "environments", "is required: declare at least one environment")
            return {}
        if isinstance(node, CommentedMap) and not node:
            self.problem(_line_of(top, "environments"), "environments", "declare at least one environment")
            return {}
        raw: dict[str, tuple[CommentedMap, int | None]] = {}
        declared = top.get("environments")
        self._declared_envs = {str(k) for k in declared} if isinstance(declared, CommentedMap) else set()
        for name, body, line in self.named_entries(top, "environments", "environments"):
            checked = self.mapping(body, f"environments.{name}", line, ENV_KEYS)
            if checked is not None:
                raw[name] = (checked, line)
        result: dict[str, Environment] = {}
        for name in raw:
            chain = self.inheritance(name, raw)
            if chain is None:
                continue
            result[name] = self.environment(name, chain, raw)
        return result

    def inheritance(self, name: str, raw: dict[str, tuple[CommentedMap, int | None]]) -> list[str] | None:
        chain = [name]
        current = name
        while True:
            body, _ = raw[current]
            parent = body.get("inherit")
            if parent is None:
                return list(reversed(chain))
            fld = f"environments.{current}.inherit"
            if not isinstance(parent, str):
                self.problem(_line_of(body, "inherit"), fld, f"expected an environment name, got {_kind(parent)}")
                return None
            if parent not in raw:
                self.problem(
                    _line_of(body, "inherit"),
                    fld,
                    f"no environment named {parent!r}{_suggest(str(parent), tuple(raw))}",
                )
                return None
            if parent in chain:
                cycle = frozenset(chain[chain.index(parent) :])
                if cycle not in self._cycles:  # every member would find the same cycle
                    self._cycles.add(cycle)
                    self.problem(_line_of(body, "inherit"), fld, f"inheritance cycle: {' -> '.join([*chain, parent])}")
                return None
            chain.append(parent)
            current = parent

    def environment(self, name: str, chain: list[str], raw: dict[str, tuple[CommentedMap, int | None]]) -> Environment:
        variables: dict[str, Any] = {}
        domain: str | None = None
        auth0_origin: Origin | None = None
        region: str | None = None
        pools: dict[str, Pool] = {}
        cognito_origin: Origin | None = None
        for layer in chain:  # base first; the named environment wins
            body, line = raw[layer]
            fld = f"environments.{layer}"
            variables.update(self.variables(body, "vars", f"{fld}.vars"))
            if "auth0" in body:
                a0 = self.mapping(body["auth0"], f"{fld}.auth0", _line_of(body, "auth0"), ENV_AUTH0_KEYS)
                if a0 is not None:
                    declared = self.target(
                        self.string(a0, "domain", f"{fld}.auth0.domain"),
                        _line_of(a0, "domain"),
                        f"{fld}.auth0.domain",
                        lambda d: catalog.auth0_domain(d) is not None,
                        "a hostname with an optional port (exampleco.us.auth0.com)",
                    )
                    domain = catalog.auth0_domain(declared) if declared else domain
                    auth0_origin = self.origin(body, "auth0", f"{fld}.auth0")
            if "cognito" in body:
                cg = self.mapping(body["cognito"], f"{fld}.cognito", _line_of(body, "cognito"), ENV_COGNITO_KEYS)
                if cg is not None:
                    region = (
                        self.target(
                            self.string(cg, "region", f"{fld}.cognito.region"),
                            _line_of(cg, "region"),
                            f"{fld}.cognito.region",
                            catalog.aws_region,
                            "an AWS region name like eu-west-1",
                        )
                        or region
                    )
                    cognito_origin = self.origin(body, "cognito", f"{fld}.cognito")
                    pnode = self.mapping(cg.get("pools"), f"{fld}.cognito.pools", _line_of(cg, "pools"), None)
                    for pname, pid in (pnode or {}).items():
                        pfld = f"{fld}.cognito.pools.{pname}"
                        if not isinstance(pid, str):
                            expected = "expected a user pool id like eu-west-1_AbC123"
                            self.problem(_line_of(pnode, pname), pfld, f"{expected}, got {pid!r}")
                            continue
                        pid = self.target(
                            pid,
                            _line_of(pnode, pname),
                            pfld,
                            catalog.cognito_pool_id,
                            "a user pool id like eu-west-1_AbC123",
                        )
                        if pid is None:
                            continue
                        pools[str(pname)] = Pool(str(pname), pid, self.origin(pnode, pname, pfld))
        auth0 = Auth0Target(domain, auth0_origin) if auth0_origin else None
        cognito = CognitoTarget(region, freeze(pools), cognito_origin) if cognito_origin else None
        _, line = raw[name]
        return Environment(name, auth0, cognito, freeze(variables), Origin(self.path, line, f"environments.{name}"))

    def pick_environment(
        self, top: CommentedMap, envs: dict[str, Environment], wanted: str | None
    ) -> Environment | None:
        if not envs:
            return None
        if wanted is None:
            if len(envs) == 1:
                return next(iter(envs.values()))
            self.problem(
                _line_of(top, "environments"),
                "environments",
                f"this stack has several environments ({', '.join(envs)}); choose one with -e",
            )
            return None
        if wanted not in envs:
            if wanted in self._declared_envs and self.problems:
                return None  # declared, but broken: its problems are already reported
            self.problem(
                _line_of(top, "environments"),
                "environments",
                f"no environment named {wanted!r}{_suggest(wanted, tuple(envs))}; this stack has {', '.join(envs)}",
            )
            return None
        return envs[wanted]

    def actions(self, top: CommentedMap, env_name: str) -> list[Action]:
        auth0 = self.mapping(top.get("auth0"), "auth0", _line_of(top, "auth0"), AUTH0_KEYS)
        if auth0 is None:
            return []
        actions: list[Action] = []
        for name, entry, line in self.named_entries(auth0, "actions", "auth0.actions"):
            fld = f"auth0.actions.{name}"
            self.mapping(entry, fld, line, ACTION_KEYS)
            trigger = self.string(entry, "trigger", f"{fld}.trigger", required=True)
            if trigger is not None and trigger not in catalog.AUTH0_TRIGGERS:
                self.problem(_line_of(entry, "trigger"), f"{fld}.trigger", _trigger_problem(trigger))
            template, is_code, template_line = self.handler_source(entry, fld)
            runtime = self.string(entry, "runtime", f"{fld}.runtime") or catalog.AUTH0_DEFAULT_RUNTIME
            if runtime == "node18-actions":
                runtime = "node18"
            if runtime not in catalog.AUTH0_RUNTIMES:
                self.problem(
                    _line_of(entry, "runtime"),
                    f"{fld}.runtime",
                    f"unsupported runtime {runtime!r}; use one of {', '.join(sorted(catalog.AUTH0_RUNTIMES))}",
                )
            deps = self.dependencies(entry, f"{fld}.dependencies", "node")
            if len(deps) > catalog.AUTH0_MAX_DEPENDENCIES:
                self.problem(
                    _line_of(entry, "dependencies"),
                    f"{fld}.dependencies",
                    f"Auth0 allows at most {catalog.AUTH0_MAX_DEPENDENCIES} dependencies",
                )
            secrets = self.secrets(entry, f"{fld}.secrets", env_name)
            if len(secrets) > catalog.AUTH0_MAX_SECRETS:
                self.problem(
                    _line_of(entry, "secrets"),
                    f"{fld}.secrets",
                    f"Auth0 allows at most {catalog.AUTH0_MAX_SECRETS} secrets",
                )
            description = self.string(entry, "description", f"{fld}.description") or ""
            if trigger is None or template is None:
                continue
            actions.append(
                Action(
                    name=name,
                    trigger=trigger,
                    template=template,
                    runtime=runtime,
                    vars=freeze(self.variables(entry, "vars", f"{fld}.vars")),
                    dependencies=freeze(deps),
                    secrets=secrets,
                    origin=Origin(self.path, line, fld),
                    description=description,
                    code=is_code,
                    template_line=template_line,
                )
            )
        return actions

    def bindings(self, top: CommentedMap, actions: list[Action]) -> list[TriggerBindings]:
        auth0 = top.get("auth0")
        by_name = {a.name: a for a in actions}
        declared: dict[str, TriggerBindings] = {}
        if isinstance(auth0, CommentedMap) and "triggers" in auth0:
            for trigger, entry, line in self.named_entries(auth0, "triggers", "auth0.triggers"):
                fld = f"auth0.triggers.{trigger}"
                self.mapping(entry, fld, line, TRIGGER_KEYS)
                if trigger not in catalog.AUTH0_TRIGGERS:
                    self.problem(line, fld, _trigger_problem(trigger))
                    continue
                order = entry.get("bindings", [])
                if not isinstance(order, CommentedSeq | list):
                    self.problem(_line_of(entry, "bindings"), f"{fld}.bindings", "expected a list of action names")
                    continue
                names: list[str] = []
                for i, ref in enumerate(order):
                    rfld = f"{fld}.bindings[{i}]"
                    rline = _line_of(order, i) if isinstance(order, CommentedSeq) else line
                    if not isinstance(ref, str):
                        self.problem(rline, rfld, f"expected an action name, got {_kind(ref)}")
                    elif ref not in by_name:
                        self.problem(
                            rline,
                            rfld,
                            f"binds {ref!r}, which is not a declared action{_suggest(str(ref), tuple(by_name))}",
                        )
                    elif by_name[ref].trigger != trigger:
                        self.problem(
                            rline, rfld, f"action {ref!r} is for trigger {by_name[ref].trigger!r}, not {trigger!r}"
                        )
                    elif ref in names:
                        self.problem(rline, rfld, f"action {ref!r} is listed twice")
                    else:
                        names.append(ref)
                exclusive = self.boolean(entry, "exclusive", f"{fld}.exclusive")
                declared[trigger] = TriggerBindings(trigger, tuple(names), exclusive, Origin(self.path, line, fld))
        # A trigger whose actions have no declared order binds them in declaration order.
        result: list[TriggerBindings] = []
        for action in actions:
            if action.trigger not in declared:
                same = tuple(a.name for a in actions if a.trigger == action.trigger)
                declared[action.trigger] = TriggerBindings(action.trigger, same, False, action.origin)
        for tb in declared.values():
            if len(tb.actions) > catalog.AUTH0_MAX_BINDINGS_PER_TRIGGER:
                self.problem(
                    tb.origin.line,
                    tb.origin.field,
                    f"Auth0 allows at most {catalog.AUTH0_MAX_BINDINGS_PER_TRIGGER} actions per trigger",
                )
            result.append(tb)
        return result

    def functions(self, top: CommentedMap, env: Environment | None, env_name: str) -> list[Function]:
        cognito = self.mapping(top.get("cognito"), "cognito", _line_of(top, "cognito"), COGNITO_KEYS)
        if cognito is None:
            return []
        pools = dict(env.cognito.pools) if env and env.cognito else {}
        functions: list[Function] = []
        for name, entry, line in self.named_entries(cognito, "functions", "cognito.functions"):
            fld = f"cognito.functions.{name}"
            self.mapping(entry, fld, line, FUNCTION_KEYS)
            template, is_code, template_line = self.handler_source(entry, fld)
            runtime = self.string(entry, "runtime", f"{fld}.runtime", required="runtime" in entry)
            if runtime is None and "runtime" not in entry and template is not None:
                # The handler file's extension names the language; the newest runtime of it is the default.
                base = template[:-3] if template.endswith(".j2") else template
                runtime = catalog.LAMBDA_DEFAULT_RUNTIMES.get(os.path.splitext(base)[1])
                if runtime is None:
                    self.problem(
                        _line_of(entry, None),
                        f"{fld}.runtime",
                        f"is required: {template!r} does not say its language (use .mjs, .js or .py)",
                    )
            if runtime is not None and runtime not in catalog.LAMBDA_RUNTIMES:
                self.problem(
                    _line_of(entry, "runtime"),
                    f"{fld}.runtime",
                    f"unsupported runtime {runtime!r}; use one of {', '.join(sorted(catalog.LAMBDA_RUNTIMES))}",
                )
                runtime = None
            language = catalog.lambda_language(runtime or "nodejs22.x")
            handler = self.string(entry, "handler", f"{fld}.handler") or DEFAULT_HANDLERS[language]
            if not re.match(r"^[A-Za-z_][\w/-]*\.[A-Za-z_]\w*\Z", handler):
                self.problem(_line_of(entry, "handler"), f"{fld}.handler", f"expected module.function, got {handler!r}")
            triggers = self.pool_triggers(entry, fld, pools, env is not None)
            deps = self.dependencies(entry, f"{fld}.dependencies", language)
            environment = self.str_map(entry, "environment", f"{fld}.environment")
            for key in environment:
                if not re.match(r"^[A-Za-z][A-Za-z0-9_]*\Z", key) or key.startswith("AWS_"):
                    self.problem(
                        _line_of(entry.get("environment"), key),
                        f"{fld}.environment.{key}",
                        "Lambda environment names are letters, digits and _, and may not start with AWS_",
                    )
            secrets = self.secrets(entry, f"{fld}.secrets", env_name)
            role = self.string(entry, "role", f"{fld}.role")
            if role is not None and not role.startswith("arn:"):
                self.problem(
                    _line_of(entry, "role"),
                    f"{fld}.role",
                    "expected an IAM role ARN, or leave it out to let hookctl create one",
                )
            function_name = self.string(entry, "function_name", f"{fld}.function_name")
            if function_name is not None and not FUNCTION_NAME_RE.match(function_name):
                self.problem(
                    _line_of(entry, "function_name"),
                    f"{fld}.function_name",
                    "a Lambda function name is 1-64 letters, digits, '-' and '_'",
                )
                function_name = None
            timeout = self.integer(entry, "timeout", f"{fld}.timeout", 5, 1, 900)
            memory = self.integer(entry, "memory", f"{fld}.memory", 128, 128, 10240)
            description = self.string(entry, "description", f"{fld}.description") or ""
            if template is None or runtime is None:
                continue
            functions.append(
                Function(
                    name=name,
                    template=template,
                    runtime=runtime,
                    handler=handler,
                    vars=freeze(self.variables(entry, "vars", f"{fld}.vars")),
                    dependencies=freeze(deps),
                    environment=freeze(environment),
                    secrets=secrets,
                    triggers=triggers,
                    role=role,
                    timeout=timeout,
                    memory=memory,
                    origin=Origin(self.path, line, fld),
                    description=description,
                    code=is_code,
                    template_line=template_line,
                    function_name=function_name,
                )
            )
        # IAM role names are case-insensitive (IAM User Guide, "IAM identifiers": "names must be
        # unique ... not distinguished by case"), and each function gets a role named after it.
        lowered: dict[str, str] = {}
        for fn in functions:
            other = lowered.setdefault(fn.name.lower(), fn.name)
            if other != fn.name:
                self.problem(
                    fn.origin.line,
                    fn.origin.field,
                    f"function {fn.name!r} differs from {other!r} only in case; "
                    "their IAM roles would collide (IAM names are case-insensitive)",
                )
        physical: dict[str, str] = {}
        for fn in functions:
            if fn.function_name is None:
                continue
            other = physical.setdefault(fn.function_name.lower(), fn.name)
            if other != fn.name:
                self.problem(
                    fn.origin.line,
                    f"{fn.origin.field}.function_name",
                    f"function {other!r} already has the Lambda name {fn.function_name!r}",
                )
        seen: dict[tuple[str, str], str] = {}
        for fn in functions:
            for pt in fn.triggers:
                other = seen.setdefault((pt.pool, pt.trigger), fn.name)
                if other != fn.name:
                    self.problem(
                        pt.origin.line,
                        pt.origin.field,
                        f"pool {pt.pool!r} trigger {pt.trigger} is already served by function {other!r}",
                    )
        return functions

    def pool_triggers(
        self, entry: CommentedMap, fld: str, pools: dict[str, Pool], have_env: bool
    ) -> tuple[PoolTrigger, ...]:
        result: list[PoolTrigger] = []
        if "trigger" in entry and "triggers" in entry:
            self.problem(_line_of(entry, "triggers"), f"{fld}.triggers", "give either trigger or triggers, not both")
            return ()
        if "trigger" in entry:
            # Shorthand: the trigger on every pool of the environment.
            shorthand = self.string(entry, "trigger", f"{fld}.trigger", required=True)
            if shorthand is None:
                return ()
            if self.check_trigger(shorthand, _line_of(entry, "trigger"), f"{fld}.trigger"):
                if have_env and not pools:
                    self.problem(
                        _line_of(entry, "trigger"), f"{fld}.trigger", "the environment declares no Cognito pools"
                    )
                origin = self.origin(entry, "trigger", f"{fld}.trigger")
                for pool_name in pools:
                    result.append(self.versioned(PoolTrigger(pool_name, shorthand, origin), origin))
            return tuple(result)
        node = entry.get("triggers")
        if node is None:
            self.problem(
                _line_of(entry, None), f"{fld}.triggers", "is required: which pool triggers does this function serve?"
            )
            return ()
        if not isinstance(node, CommentedSeq):
            self.problem(_line_of(entry, "triggers"), f"{fld}.triggers", f"expected a list, got {_kind(node)}")
            return ()
        for i, item in enumerate(node):
            tfld = f"{fld}.triggers[{i}]"
            body = self.mapping(item, tfld, _line_of(node, i), POOL_TRIGGER_KEYS)
            if body is None:
                continue
            pool = self.string(body, "pool", f"{tfld}.pool", required=True)
            trigger = self.string(body, "trigger", f"{tfld}.trigger", required=True)
            if pool is not None and have_env and pool not in pools:
                self.problem(
                    _line_of(body, "pool"),
                    f"{tfld}.pool",
                    f"the environment has no pool named {pool!r}{_suggest(pool, tuple(pools))}",
                )
                continue
            if (
                pool is None
                or trigger is None
                or not self.check_trigger(trigger, _line_of(body, "trigger"), f"{tfld}.trigger")
            ):
                continue
            origin = self.origin(node, i, tfld)
            version = self.string(body, "lambda_version", f"{tfld}.lambda_version")
            kms = self.string(body, "kms_key_id", f"{tfld}.kms_key_id")
            take_over = self.string(body, "take_over", f"{tfld}.take_over")
            result.append(self.versioned(PoolTrigger(pool, trigger, origin, version, kms, take_over), origin))
        return tuple(result)

    def check_trigger(self, trigger: str, line: int | None, fld: str) -> bool:
        if trigger in catalog.COGNITO_TRIGGERS:
            return True
        self.problem(
            line, fld, f"unknown Cognito trigger {trigger!r}{_suggest(trigger, tuple(catalog.COGNITO_TRIGGERS))}"
        )
        return False

    def versioned(self, pt: PoolTrigger, origin: Origin) -> PoolTrigger:
        allowed = catalog.COGNITO_VERSIONED_TRIGGERS.get(pt.trigger)
        version = pt.lambda_version
        if allowed is None:
            if version is not None:
                self.problem(origin.line, f"{origin.field}.lambda_version", f"{pt.trigger} takes no lambda_version")
        else:
            version = version or "V1_0"
            if version not in allowed:
                self.problem(
                    origin.line,
                    f"{origin.field}.lambda_version",
                    f"{pt.trigger} supports {', '.join(sorted(allowed))}, not {version!r}",
                )
        if pt.trigger in catalog.COGNITO_KMS_TRIGGERS and not pt.kms_key_id:
            self.problem(origin.line, f"{origin.field}.kms_key_id", f"{pt.trigger} needs kms_key_id (a KMS key ARN)")
        elif pt.trigger in catalog.COGNITO_KMS_TRIGGERS and not catalog.kms_key_arn(str(pt.kms_key_id)):
            # Cognito encrypts the codes with it, and the function hookctl deploys needs kms:Decrypt on
            # it: IAM grants that on a key ARN, never on an alias or a bare key id.
            self.problem(
                origin.line,
                f"{origin.field}.kms_key_id",
                "must be a KMS key ARN like arn:aws:kms:eu-west-1:123456789012:key/<key-id> "
                "(not an alias or a bare key id)",
            )
        if pt.trigger not in catalog.COGNITO_KMS_TRIGGERS and pt.kms_key_id:
            self.problem(origin.line, f"{origin.field}.kms_key_id", f"{pt.trigger} takes no kms_key_id")
        return PoolTrigger(pt.pool, pt.trigger, pt.origin, version, pt.kms_key_id, pt.take_over)


def _line_of(node: Any, key: Any) -> int | None:
    """1-based line of ``node[key]`` (or of ``node`` itself when key is None)."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return int(lc.line) + 1
        if isinstance(node, CommentedSeq):
            return int(lc.item(key)[0]) + 1
        return int(lc.key(key)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return int(lc.line) + 1 if lc.line is not None else None


def _key(key: Any) -> str:
    """A user-written key or name as it appears in a field path: one line, never empty, never huge."""
    text = str(key)
    if len(text) > 64:
        text = text[:60] + "…"
    return text if text.strip() and text.isprintable() else repr(text)


def _char(character: Any) -> str:
    return f"{character:#06x}" if isinstance(character, int) else repr(character)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | CommentedSeq):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, TaggedScalar):
        return f"a value tagged {_tag(value)}"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, CommentedSet):
        return "a set"
    return type(value).__name__


def _tag(node: Any) -> str | None:
    """The explicit YAML tag of a round-trip node (``!!python/object``, ``!custom``), if any."""
    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", None)
    return value.replace("tag:yaml.org,2002:", "!!") if isinstance(value, str) else None


def _trigger_problem(trigger: str) -> str:
    if trigger in catalog.AUTH0_ENTITY_BOUND_TRIGGERS:
        return (
            f"Auth0 trigger {trigger!r} is entity-bound: its actions are attached to an entity, not to a "
            "trigger's binding list, and hookctl manages trigger-bound triggers only"
        )
    return f"unknown Auth0 trigger {trigger!r}{_suggest(trigger, tuple(catalog.AUTH0_TRIGGERS))}"


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


SuggestFn = Callable[[str, tuple[str, ...]], str]
suggest: SuggestFn = _suggest
