"""Package stage: rendered handler source + dependencies → an artifact.
Engine: stage 4 of the pipeline (package).

Input: a stack entry (``Action`` or ``Function``) and its ``Rendered`` source.
Output: an ``Auth0Artifact`` (code and dependency list; Auth0 builds it) or a
``LambdaArtifact`` (a deterministic zip in a content-addressed cache).
I/O: a local build directory and the cache only. No remote calls here, except
the ones npm and pip make while installing a function's dependencies.

Same inputs → same zip bytes → same Lambda ``CodeSha256`` on any machine
(STYLE §7). Nothing about the build machine reaches the zip: entries are
sorted, carry a fixed timestamp, a fixed mode (0644, or 0755 when executable)
and no directory entries or extra fields; files that installers write
differently on every machine (``__pycache__``, ``RECORD``, ``INSTALLER``,
console scripts with the local interpreter's path, npm's hidden lockfile and
``.bin`` links) are left out. The cache key is a digest of the *inputs*
(runtime, handler file name, rendered source, dependencies, lock file), so an
unchanged function is never rebuilt and no npm or pip runs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from . import catalog
from .errors import HookctlError
from .model import Action, Function
from .render import Rendered

# Bump when anything below changes what a given input turns into (install
# flags, skipped files, zip layout): every cached build is then rebuilt.
FORMAT_VERSION = 1

# Lambda's default architecture; functions have no architecture setting yet.
LAMBDA_ARCH = "x86_64"

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold
ZIP_COMPRESSION = zipfile.ZIP_DEFLATED
ZIP_COMPRESSLEVEL = 6
ZIP_CREATE_SYSTEM = 3  # unix: external_attr carries the mode bits
FILE_MODE = 0o644
EXEC_MODE = 0o755

COMMAND_TIMEOUT = 600  # seconds for one npm / pip run
STDERR_TAIL_LINES = 20

# npm: install what Lambda (Amazon Linux, x86_64, glibc) needs, not what the
# build machine needs: optional platform packages (esbuild, sharp, ...) are
# chosen by these, so a build on macOS gets the Linux ones.
NPM_PLATFORM = ("--os=linux", "--cpu=x64", "--libc=glibc")
NPM_COMMON = ("--ignore-scripts", "--no-audit", "--no-fund", "--no-bin-links")

# pip: Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34).
# `--platform` accepts exactly the tags it is given (pip adds only manylinux2010
# and manylinux1 after manylinux2014), so list every manylinux tag the runtime
# can load, newest first, like pip itself would on that machine.
PIP_PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(34, 16, -1)),
    "manylinux2014_x86_64",
)

# Files pip writes that differ between machines or pip versions and that
# nothing needs at run time (RECORD holds the hashes of the console scripts,
# whose first line is the build machine's interpreter path).
PIP_DROPPED_METADATA = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})

NPM_LOCK = "package-lock.json"
PIP_LOCK = "requirements.txt"  # used as pip --constraint

# A lock file comes from the stack's repository, so from a pull request: pip reads options from
# a constraints file (`--index-url`, `-e`, `-r`) and npm fetches each `resolved` URL of a lock.
# A constraints line is therefore only `name==version` (PEP 508 name, optional extras) with
# optional `--hash=algo:hex`; a lock's `resolved` URLs must be on the npm registry.
_PIP_LOCK_LINE = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[A-Za-z0-9._, -]*\])?\s*==\s*[A-Za-z0-9.!+_-]+"
    r"(?:\s+--hash(?:=|\s+)[a-z0-9]+:[0-9a-fA-F]+)*",
    re.ASCII,
)
NPM_REGISTRY = "https://registry.npmjs.org/"


class BuildError(HookctlError):
    """Packaging a function failed: names the function and, for a tool, the command."""

    def __init__(
        self,
        address: str,
        detail: str,
        *,
        command: Sequence[str] | None = None,
        hint: str | None = None,
    ) -> None:
        self.address = address
        self.command = tuple(command) if command is not None else None
        self.detail = detail
        super().__init__(f"building {address}: {detail}", hint=hint)


@dataclass(frozen=True)
class Auth0Artifact:
    """What Auth0 needs to build an action: it installs the dependencies itself."""

    address: str
    code: str
    dependencies: tuple[tuple[str, str], ...]  # sorted (name, version)
    runtime: str
    digest: str  # sha256 hex over a canonical JSON of code, runtime, dependencies


@dataclass(frozen=True)
class LambdaArtifact:
    """A deterministic deployment zip in the cache."""

    address: str
    zip_path: str  # inside the cache, content-addressed: <cache>/<digest>.zip
    code_sha256: str  # base64(sha256(zip bytes)): exactly Lambda's CodeSha256
    digest: str  # sha256 hex of the inputs: the cache key
    size: int
    files: tuple[str, ...]  # entries in the zip, sorted


Runner = Callable[..., "subprocess.CompletedProcess[str]"]
Progress = Callable[[str], None]


# -- Auth0 ------------------------------------------------------------------------------


def package_action(action: Action, rendered: Rendered) -> Auth0Artifact:
    """An action's code and dependency list; the digest ignores dependency order."""
    if rendered.language != "js":
        raise BuildError(action.address, f"Auth0 actions run JavaScript, got a {rendered.suffix} template")
    size = len(rendered.source.encode("utf-8"))
    if size > catalog.AUTH0_MAX_CODE_BYTES:
        raise BuildError(
            action.address,
            f"code is {size} bytes; Auth0 accepts at most {catalog.AUTH0_MAX_CODE_BYTES}",
            hint="Move code into an npm dependency or split the action.",
        )
    dependencies = _sorted_dependencies(action.dependencies)
    digest = _sha256_json(
        {
            "code": rendered.source,
            "runtime": action.runtime,
            "dependencies": [list(pair) for pair in dependencies],
        }
    )
    return Auth0Artifact(action.address, rendered.source, dependencies, action.runtime, digest)


# -- Lambda -----------------------------------------------------------------------------


def handler_file(fn: Function, rendered: Rendered) -> str:
    """The archive name of the handler module, e.g. ``index.mjs``, ``lambda_function.py``.

    Lambda's Node.js runtime looks for ``<module>.js``, ``.mjs`` then ``.cjs``;
    the Python runtime imports ``<module>`` with ``/`` read as ``.``.
    """
    module, sep, function = fn.handler.rpartition(".")
    parts = module.split("/")
    if not sep or not function or not module or any(p in ("", ".", "..") for p in parts):
        raise BuildError(fn.address, f"handler {fn.handler!r} is not module.function")
    language = catalog.lambda_language(fn.runtime)
    if language == "python":
        if rendered.language != "py":
            raise BuildError(fn.address, f"runtime {fn.runtime} needs a Python template, got {rendered.suffix}")
        return f"{module}.py"
    if rendered.language != "js":
        raise BuildError(fn.address, f"runtime {fn.runtime} needs a JavaScript template, got {rendered.suffix}")
    # .mjs is an ES module and .cjs CommonJS whatever package.json says; a plain
    # .js is CommonJS because the zip carries no package.json with "type".
    suffix = rendered.suffix if rendered.suffix in (".mjs", ".cjs") else ".js"
    return f"{module}{suffix}"


@dataclass(frozen=True)
class _Lock:
    name: str  # package-lock.json | requirements.txt
    path: str
    data: bytes


def check_lock(name: str, path: str, data: bytes, registry: str | None = None) -> str | None:
    """Why a lock file kept beside the stack cannot be used, or ``None`` when it can."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if name == PIP_LOCK:
        for number, raw in enumerate(text.replace("\\\n", " ").splitlines(), 1):
            line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
            if line and _PIP_LOCK_LINE.fullmatch(line) is None:
                return f"line {number}: only `name==version` lines (with optional --hash) are allowed"
        return None
    try:
        lock = json.loads(text)
    except ValueError:
        return "not JSON"
    if registry is None:  # npm reads its configuration from the environment in either case
        registry = next((v for k, v in os.environ.items() if k.lower() == "npm_config_registry" and v), None)
    allowed = tuple({NPM_REGISTRY, (registry or NPM_REGISTRY).rstrip("/") + "/"})
    packages = lock.get("packages") if isinstance(lock, dict) else None
    entries = list(packages.items()) if isinstance(packages, dict) else []
    for where, entry in entries:
        resolved = entry.get("resolved") if isinstance(entry, dict) else None
        if resolved is not None and (not isinstance(resolved, str) or not resolved.startswith(allowed)):
            return f"{where or 'the root package'} resolves outside the npm registry ({allowed[0]})"
    return None


def _find_lock(fn: Function, stack_dir: str) -> _Lock | None:
    """A lock file kept beside the stack: ``locks/<function>/package-lock.json``.

    Python functions may keep ``locks/<function>/requirements.txt``: it is
    passed to pip as constraints, pinning the dependencies of dependencies.
    """
    name = PIP_LOCK if catalog.lambda_language(fn.runtime) == "python" else NPM_LOCK
    path = os.path.join(stack_dir, "locks", fn.name, name)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None
    problem = check_lock(name, path, data)
    if problem is not None:
        raise BuildError(fn.address, f"lock file {os.path.relpath(path)}: {problem}")
    return _Lock(name, path, data)


def function_digest(fn: Function, rendered: Rendered, *, stack_dir: str | None = None) -> str:
    """hookctl's content digest of a function's build inputs (sha256 hex)."""
    lock = _find_lock(fn, stack_dir or _stack_dir(fn)) if fn.dependencies else None
    return _digest(fn, handler_file(fn, rendered), rendered, lock)


def _digest(fn: Function, handler: str, rendered: Rendered, lock: _Lock | None) -> str:
    # Only what changes the zip's bytes: not the function's name, role,
    # memory or environment (those are configuration, compared by diff).
    return _sha256_json(
        {
            "format": FORMAT_VERSION,
            "arch": LAMBDA_ARCH,
            "runtime": fn.runtime,
            "handler_file": handler,
            "source": rendered.source,
            "dependencies": [list(pair) for pair in _sorted_dependencies(fn.dependencies)],
            "lock": None if lock is None else {"name": lock.name, "sha256": hashlib.sha256(lock.data).hexdigest()},
        }
    )


def package_function(
    fn: Function,
    rendered: Rendered,
    cache_dir: str,
    *,
    runner: Runner = subprocess.run,
    progress: Progress | None = None,
    stack_dir: str | None = None,
) -> LambdaArtifact:
    """Build (or find in the cache) the deployment zip of one function.

    ``stack_dir`` is where ``locks/`` is looked up; it defaults to the folder
    of the stack file the function was declared in.
    """
    say = progress or _quiet
    handler = handler_file(fn, rendered)
    lock = _find_lock(fn, stack_dir or _stack_dir(fn)) if fn.dependencies else None
    digest = _digest(fn, handler, rendered, lock)

    cache_dir = os.path.abspath(cache_dir)
    try:
        os.makedirs(cache_dir, exist_ok=True)
    except OSError as exc:
        raise BuildError(
            fn.address,
            f"cannot use the build directory {cache_dir}: {exc.strerror}",
            hint="Point HOOKCTL_BUILD_DIR at a writable directory.",
        ) from None
    zip_path = os.path.join(cache_dir, f"{digest}.zip")
    sidecar_path = os.path.join(cache_dir, f"{digest}.json")

    cached = _read_cached(zip_path, sidecar_path, digest)
    if cached is not None:
        sha, size, files = cached
        say(f"{fn.address}: unchanged, cached build {digest[:12]}")
        check_lambda_size(fn, zip_path)
        return LambdaArtifact(fn.address, zip_path, sha, digest, size, files)

    with tempfile.TemporaryDirectory(prefix=".build-", dir=cache_dir, ignore_cleanup_errors=True) as build:
        entries: dict[str, _Entry] = {}
        if fn.dependencies:
            if catalog.lambda_language(fn.runtime) == "python":
                entries.update(_install_python(fn, lock, build, runner, say))
            else:
                entries.update(_install_node(fn, lock, build, runner, say))
        if handler in entries:
            raise BuildError(
                fn.address,
                f"a dependency installs {handler!r}, the handler's own file name",
                hint="Rename the handler module.",
            )
        entries[handler] = _Entry(data=rendered.source.encode("utf-8"))
        say(f"building {fn.address}: zip ({_plural(len(entries), 'file')})")
        sha, size = _write_atomically(zip_path, lambda fh: _write_zip(fh, entries))

    files = tuple(sorted(entries))
    sidecar = {
        "format": FORMAT_VERSION,
        "digest": digest,
        "code_sha256": sha,
        "size": size,
        "files": list(files),
    }
    _write_atomically(sidecar_path, lambda fh: fh.write(_canonical_json(sidecar, indent=1).encode("utf-8")))
    check_lambda_size(fn, zip_path)
    return LambdaArtifact(fn.address, zip_path, sha, digest, size, files)


# Lambda quotas (Lambda developer guide, "Lambda quotas"): a zip sent in the request itself is at most
# 50 MB, and a function's code unzipped at most 250 MB. Caught here, at plan time, not by CreateFunction.
MAX_DIRECT_UPLOAD = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024


def check_lambda_size(
    fn: Function, zip_path: str, *, max_zip: int = MAX_DIRECT_UPLOAD, max_unzipped: int = MAX_UNZIPPED
) -> None:
    """Refuse a build Lambda would refuse: too large to upload directly, or too large unzipped."""
    size = os.path.getsize(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    where = f"{fn.origin.file}:{fn.origin.line}: {fn.origin.field}.dependencies"
    if unzipped > max_unzipped:
        raise BuildError(
            fn.address,
            f"the code is {_megabytes(unzipped)} unzipped; Lambda accepts at most {_megabytes(max_unzipped)} ({where})",
            hint="Trim the function's dependencies (or move them to a Lambda layer).",
        )
    if size > max_zip:
        raise BuildError(
            fn.address,
            f"the zip is {_megabytes(size)}; Lambda accepts at most {_megabytes(max_zip)} in the request ({where})",
            hint="Trim the function's dependencies; hookctl uploads zips directly and does not stage them "
            "in S3, so a larger function cannot be deployed with it.",
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"


# -- dependency installs ----------------------------------------------------------------


def _install_node(fn: Function, lock: _Lock | None, build: str, runner: Runner, say: Progress) -> dict[str, _Entry]:
    project = os.path.join(build, "npm")
    os.makedirs(project)
    deps = _sorted_dependencies(fn.dependencies)
    # Minimal and independent of the function's name, so a lock file made for
    # one function fits another with the same dependencies. No "type": a .mjs
    # handler is an ES module anyway, and package.json does not go into the zip.
    package_json = {"name": "hookctl-function", "version": "0.0.0", "private": True, "dependencies": dict(deps)}
    with open(os.path.join(project, "package.json"), "w", encoding="utf-8") as fh:
        fh.write(_canonical_json(package_json, indent=2))
    count = _plural(len(deps), "package")
    if lock is not None:
        with open(os.path.join(project, NPM_LOCK), "wb") as fh:
            fh.write(lock.data)
    else:
        say(f"building {fn.address}: npm install --package-lock-only ({count})")
        _run(fn, runner, ["npm", "install", "--package-lock-only", *NPM_COMMON, *NPM_PLATFORM], project)
    say(f"building {fn.address}: npm ci ({count})")
    hint = (
        f"Check {os.path.relpath(lock.path)} matches the dependencies in the stack, or delete it."
        if lock is not None
        else None
    )
    _run(fn, runner, ["npm", "ci", "--omit=dev", *NPM_COMMON, *NPM_PLATFORM], project, hint=hint)
    modules = os.path.join(project, "node_modules")
    if not os.path.isdir(modules):
        return {}
    return _collect(fn, modules, "node_modules/", _skip_node)


def _skip_node(rel_dir: str, name: str, is_dir: bool) -> bool:
    if rel_dir == "":
        # npm's hidden lockfile (install bookkeeping) and executable links.
        return name in (".package-lock.json", ".bin")
    return name == ".bin" and is_dir and os.path.basename(rel_dir) == "node_modules"


def _install_python(fn: Function, lock: _Lock | None, build: str, runner: Runner, say: Progress) -> dict[str, _Entry]:
    target = os.path.join(build, "python")
    deps = _sorted_dependencies(fn.dependencies)
    python_version = fn.runtime.removeprefix("python")
    platforms = [arg for tag in PIP_PLATFORMS for arg in ("--platform", tag)]
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        target,
        # Wheels built for Lambda, never an sdist compiled for this machine.
        # Dependencies of dependencies are needed, so no --no-deps.
        "--only-binary=:all:",
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--no-compile",
        "--no-input",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
    ]
    if lock is not None:
        command += ["--constraint", lock.path]
    # After `--` nothing can be read as an option, whatever a stack names.
    command += ["--", *(f"{name}=={version}" for name, version in deps)]
    say(f"building {fn.address}: pip install ({_plural(len(deps), 'package')})")
    _run(
        fn,
        runner,
        command,
        build,
        hint="Lambda needs wheels for manylinux x86_64 (or pure-Python wheels); "
        "a package published only as an sdist cannot be packaged.",
    )
    if not os.path.isdir(target):
        return {}
    return _collect(fn, target, "", _skip_python)


def _skip_python(rel_dir: str, name: str, is_dir: bool) -> bool:
    if is_dir:
        # bin/: console scripts whose shebang names the build machine's python.
        return name == "__pycache__" or (rel_dir == "" and name == "bin")
    if name.endswith((".pyc", ".pyo")):
        return True
    return rel_dir.endswith(".dist-info") and "/" not in rel_dir and name in PIP_DROPPED_METADATA


def _run(fn: Function, runner: Runner, command: list[str], cwd: str, *, hint: str | None = None) -> None:
    shown = shlex.join(command)
    try:
        result = runner(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
            timeout=COMMAND_TIMEOUT,
        )
    except FileNotFoundError:
        raise BuildError(
            fn.address,
            f"`{command[0]}` not found (running `{shown}`)",
            command=command,
            hint="Install Node.js and npm." if command[0] == "npm" else None,
        ) from None
    except subprocess.TimeoutExpired:
        raise BuildError(
            fn.address, f"`{shown}` did not finish within {COMMAND_TIMEOUT} s", command=command, hint=hint
        ) from None
    if result.returncode != 0:
        # Only the tool's own output: never the environment it ran in.
        tail = _tail(result.stderr) or _tail(result.stdout)
        detail = f"`{shown}` failed with exit code {result.returncode}"
        raise BuildError(fn.address, f"{detail}\n{tail}" if tail else detail, command=command, hint=hint)


def _tail(text: str | bytes | None) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = text.rstrip().splitlines()[-STDERR_TAIL_LINES:]
    return "\n".join(f"  {line}" for line in lines)


# -- deterministic zip ------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One zip entry: bytes in memory or a file on disk."""

    data: bytes | None = None
    path: str | None = None
    executable: bool = False

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        with open(self.path, "rb") as fh:
            return fh.read()


def _collect(fn: Function, root: str, prefix: str, skip: Callable[[str, str, bool], bool]) -> dict[str, _Entry]:
    """Every regular file under ``root`` as ``prefix + relative/path``."""
    entries: dict[str, _Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        dirnames[:] = sorted(d for d in dirnames if not skip(rel_dir, d, True))
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            if skip(rel_dir, name, False):
                continue
            path = os.path.join(dirpath, name)
            archive = prefix + (f"{rel_dir}/{name}" if rel_dir else name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                raise BuildError(
                    fn.address, f"the install created a symbolic link, {archive}; zips hold regular files only"
                )
            if not stat.S_ISREG(info.st_mode):
                continue
            # Same name on every file system (macOS may hand back decomposed names).
            archive = unicodedata.normalize("NFC", archive)
            entries[archive] = _Entry(path=path, executable=bool(info.st_mode & 0o111))
    return entries


def _write_zip(fh: IO[bytes], entries: Mapping[str, _Entry]) -> None:
    """Write ``entries`` as a zip whose bytes depend on names and contents only.

    Sorted names with ``/`` separators, the 1980-01-01 timestamp, mode 0644 or
    0755, unix as creating system, no directory entries, no extra fields,
    deflate at a fixed level. ``fh`` must be seekable (no data descriptors).
    """
    with zipfile.ZipFile(fh, "w", compression=ZIP_COMPRESSION, compresslevel=ZIP_COMPRESSLEVEL) as zf:
        for name in sorted(entries):
            entry = entries[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.create_system = ZIP_CREATE_SYSTEM
            info.external_attr = (stat.S_IFREG | (EXEC_MODE if entry.executable else FILE_MODE)) << 16
            info.compress_type = ZIP_COMPRESSION
            zf.writestr(info, entry.read(), compress_type=ZIP_COMPRESSION, compresslevel=ZIP_COMPRESSLEVEL)


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256 of a zip: base64 of the raw sha256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


# -- cache ------------------------------------------------------------------------------


def _write_atomically(path: str, write: Callable[[IO[bytes]], object]) -> tuple[str, int]:
    """Write through a temporary file beside ``path`` and rename it into place.

    A crash leaves at most a stray ``.tmp-*`` file, never a half-written entry.
    Returns the CodeSha256 and size of what was written.
    """
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w+b") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            fh.seek(0)
            sha, size = _hash(fh)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return sha, size


def _hash(fh: IO[bytes]) -> tuple[str, int]:
    """CodeSha256 and size of an open file, read from its current position."""
    hasher = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        hasher.update(chunk)
        size += len(chunk)
    return base64.b64encode(hasher.digest()).decode("ascii"), size


def _read_cached(zip_path: str, sidecar_path: str, digest: str) -> tuple[str, int, tuple[str, ...]] | None:
    """The cached build's CodeSha256, size and files, or None to rebuild.

    The zip is hashed again, so a damaged entry is rebuilt, not deployed.
    """
    try:
        with open(sidecar_path, encoding="utf-8") as fh:
            meta = json.load(fh)
        with open(zip_path, "rb") as zf:
            sha, size = _hash(zf)
    except (OSError, ValueError):
        return None
    if (
        not isinstance(meta, dict)
        or meta.get("format") != FORMAT_VERSION
        or meta.get("digest") != digest
        or meta.get("code_sha256") != sha
        or meta.get("size") != size
        or not isinstance(meta.get("files"), list)
    ):
        return None
    return sha, size, tuple(str(f) for f in meta["files"])


# -- helpers ----------------------------------------------------------------------------


def _sorted_dependencies(dependencies: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(name), str(version)) for name, version in dependencies.items()))


def _canonical_json(value: object, *, indent: int | None = None) -> str:
    text = json.dumps(
        value,
        sort_keys=True,
        ensure_ascii=False,
        indent=indent,
        separators=(",", ": ") if indent is not None else (",", ":"),
    )
    return text + "\n" if indent is not None else text


def _sha256_json(value: object) -> str:
    return hashlib.sha256(_canonical_json(value).encode("utf-8")).hexdigest()


def _stack_dir(fn: Function) -> str:
    return os.path.dirname(os.path.abspath(fn.origin.file))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _quiet(message: str) -> None:
    return None
