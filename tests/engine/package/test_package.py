"""Package stage: deterministic zips, the content-addressed cache, real npm and pip.

Unit tests drive ``package_function`` with a fake installer (a runner that
writes what npm/pip would, plus machine-dependent noise). Functional tests run
the real npm against a loopback registry served from this file and the real
pip against wheels built here, so no test reaches the internet. Setting
``HOOKCTL_NETWORK_TESTS=1`` adds a smoke test against the public npm registry
and PyPI (``is-number@7.0.0``, ``six==1.16.0``).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from provisioner.engine.errors import HookctlError
from provisioner.engine.model import Action, Function, Origin
from provisioner.engine.package import (
    FORMAT_VERSION,
    Auth0Artifact,
    BuildError,
    LambdaArtifact,
    check_lambda_size,
    code_sha256,
    function_digest,
    handler_file,
    package_action,
    package_function,
)
from provisioner.engine.render import Rendered

NODE_SOURCE = "export const handler = async (event) => {\n  return event;\n};\n"
PY_SOURCE = "def lambda_handler(event, context):\n    return event\n"

requires_npm = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not on PATH (install Node.js to run)")
requires_network = pytest.mark.skipif(
    os.environ.get("HOOKCTL_NETWORK_TESTS") != "1",
    reason="reaches the public npm registry and PyPI; set HOOKCTL_NETWORK_TESTS=1 to run",
)


# -- builders ---------------------------------------------------------------------------


def make_function(
    *,
    name: str = "x",
    runtime: str = "nodejs22.x",
    handler: str | None = None,
    dependencies: Mapping[str, str] | None = None,
    stack_file: str = "stack.yaml",
    memory: int = 128,
) -> Function:
    if handler is None:
        handler = "lambda_function.lambda_handler" if runtime.startswith("python") else "index.handler"
    return Function(
        name=name,
        template="t.py.j2" if runtime.startswith("python") else "t.mjs.j2",
        runtime=runtime,
        handler=handler,
        vars=MappingProxyType({}),
        dependencies=MappingProxyType(dict(dependencies or {})),
        environment=MappingProxyType({}),
        secrets=(),
        triggers=(),
        role=None,
        timeout=5,
        memory=memory,
        origin=Origin(stack_file, 1, f"cognito.functions.{name}"),
    )


def make_rendered(fn: Function, source: str | None = None, suffix: str | None = None) -> Rendered:
    python = fn.runtime.startswith("python")
    suffix = suffix or (".py" if python else ".mjs")
    source = source if source is not None else (PY_SOURCE if python else NODE_SOURCE)
    return Rendered(fn.address, fn.template, fn.template, "py" if python else "js", suffix, source)


def make_action(*, code_deps: Mapping[str, str] | None = None, runtime: str = "node22") -> Action:
    return Action(
        name="a",
        trigger="post-user-registration",
        template="t.js.j2",
        runtime=runtime,
        vars=MappingProxyType({}),
        dependencies=MappingProxyType(dict(code_deps or {})),
        secrets=(),
        origin=Origin("stack.yaml", 1, "auth0.actions.a"),
    )


def zip_bytes(artifact: LambdaArtifact) -> bytes:
    with open(artifact.zip_path, "rb") as fh:
        return fh.read()


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def never_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    raise AssertionError(f"no command may run, got {command}")


class FakeInstaller:
    """Stands in for npm and pip: writes what they would, with per-machine noise.

    ``noise`` changes every file that real installers write differently on
    each machine (hidden lockfile, RECORD, INSTALLER, script shebangs, .pyc,
    .bin links); ``mtime`` and ``exec_mode`` stand for the clock and umask.
    """

    def __init__(
        self,
        *,
        noise: str = "a",
        mtime: float = 1_000_000_000,
        exec_mode: int = 0o755,
        returncode: int = 0,
        stderr: str = "",
    ) -> None:
        self.noise = noise
        self.mtime = mtime
        self.exec_mode = exec_mode
        self.returncode = returncode
        self.stderr = stderr
        self.calls: list[list[str]] = []

    def __call__(self, command: list[str], *, cwd: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(command))
        if self.returncode == 0:
            if command[:2] == ["npm", "install"]:
                self._write(os.path.join(cwd, "package-lock.json"), '{"lockfileVersion": 3}\n')
            elif command[:2] == ["npm", "ci"]:
                self._npm_ci(cwd)
            elif "pip" in command:
                self._pip(command[command.index("--target") + 1])
        return subprocess.CompletedProcess(command, self.returncode, "", self.stderr)

    def _write(self, path: str, text: str, mode: int | None = None) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        if mode is not None:
            os.chmod(path, mode)
        os.utime(path, (self.mtime, self.mtime))

    def _npm_ci(self, project: str) -> None:
        modules = os.path.join(project, "node_modules")
        self._write(os.path.join(modules, "is-number", "package.json"), '{"name": "is-number"}\n')
        self._write(os.path.join(modules, "is-number", "index.js"), "module.exports = 1;\n")
        self._write(os.path.join(modules, "is-number", "cli.js"), "#!/usr/bin/env node\n", self.exec_mode)
        self._write(os.path.join(modules, ".package-lock.json"), f'{{"noise": "{self.noise}"}}\n')
        os.makedirs(os.path.join(modules, ".bin"), exist_ok=True)
        os.symlink("../is-number/cli.js", os.path.join(modules, ".bin", "is-number"))
        self._write(os.path.join(modules, "empty-dir", ".keep-not"), "")
        os.unlink(os.path.join(modules, "empty-dir", ".keep-not"))  # leaves an empty folder

    def _pip(self, target: str) -> None:
        info = os.path.join(target, "six-1.16.0.dist-info")
        self._write(os.path.join(target, "six.py"), "VERSION = '1.16.0'\n")
        self._write(os.path.join(info, "METADATA"), "Name: six\nVersion: 1.16.0\n")
        self._write(os.path.join(info, "RECORD"), f"six.py,sha256={self.noise},1\n")
        self._write(os.path.join(info, "INSTALLER"), f"{self.noise}\n")
        self._write(os.path.join(info, "REQUESTED"), "")
        self._write(os.path.join(info, "direct_url.json"), f'{{"url": "file:///{self.noise}"}}\n')
        self._write(os.path.join(target, "bin", "six-tool"), f"#!/{self.noise}/python\n", self.exec_mode)
        self._write(os.path.join(target, "__pycache__", "six.cpython-312.pyc"), self.noise)


# -- handler file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runtime", "handler", "suffix", "expected"),
    [
        ("nodejs22.x", "index.handler", ".mjs", "index.mjs"),
        ("nodejs22.x", "index.handler", ".js", "index.js"),
        ("nodejs20.x", "index.handler", ".cjs", "index.cjs"),
        ("python3.12", "lambda_function.lambda_handler", ".py", "lambda_function.py"),
        ("python3.13", "handlers/auth.lambda_handler", ".py", "handlers/auth.py"),
        ("nodejs22.x", "src/app.handler", ".mjs", "src/app.mjs"),
    ],
)
def test_handler_file__handler_and_suffix__gives_module_file(
    runtime: str, handler: str, suffix: str, expected: str
) -> None:
    fn = make_function(runtime=runtime, handler=handler)
    assert handler_file(fn, make_rendered(fn, suffix=suffix)) == expected


@pytest.mark.parametrize("handler", ["index", "../x.handler", "a//b.handler", "index."])
def test_handler_file__malformed_handler__raises_build_error(handler: str) -> None:
    fn = make_function(handler=handler)
    with pytest.raises(BuildError, match=r"cognito\.function\.x"):
        handler_file(fn, make_rendered(fn))


def test_handler_file__python_template_for_node_runtime__raises_build_error() -> None:
    fn = make_function(runtime="nodejs22.x")
    rendered = Rendered(fn.address, "t.py.j2", "t.py.j2", "py", ".py", PY_SOURCE)
    with pytest.raises(BuildError, match="JavaScript"):
        handler_file(fn, rendered)


# -- deterministic zip ------------------------------------------------------------------


def test_package_function__no_dependencies__runs_no_command(tmp_path: Any) -> None:
    fn = make_function()
    artifact = package_function(fn, make_rendered(fn), str(tmp_path), runner=never_run)
    assert artifact.files == ("index.mjs",)


def test_package_function__other_cwd_umask_and_cache__byte_identical_zip(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fn = make_function()
    artifacts = []
    for index, mask in enumerate((0o022, 0o077)):
        work = tmp_path / f"cwd{index}"
        work.mkdir()
        monkeypatch.chdir(work)
        with umask(mask):
            artifacts.append(package_function(fn, make_rendered(fn), "cache", runner=never_run))
    first, second = artifacts
    assert first.zip_path != second.zip_path
    assert zip_bytes(first) == zip_bytes(second)
    assert first.code_sha256 == second.code_sha256
    assert first.digest == second.digest
    assert first.code_sha256 == base64.b64encode(hashlib.sha256(zip_bytes(first)).digest()).decode()
    assert first.code_sha256 == code_sha256(zip_bytes(first))
    assert first.size == len(zip_bytes(first))


def test_package_function__installed_files_differ_in_clock_umask_and_noise__byte_identical_zip(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fn = make_function(dependencies={"is-number": "7.0.0"})
    builds = [
        (0o022, FakeInstaller(noise="machine-a", mtime=315_532_800, exec_mode=0o755)),
        (0o077, FakeInstaller(noise="machine-b", mtime=2_000_000_000, exec_mode=0o700)),
    ]
    artifacts = []
    for index, (mask, installer) in enumerate(builds):
        work = tmp_path / f"cwd{index}"
        work.mkdir()
        monkeypatch.chdir(work)
        with umask(mask):
            artifacts.append(package_function(fn, make_rendered(fn), "cache", runner=installer))
    first, second = artifacts
    assert zip_bytes(first) == zip_bytes(second)
    assert first.code_sha256 == second.code_sha256
    assert first.files == (
        "index.mjs",
        "node_modules/is-number/cli.js",
        "node_modules/is-number/index.js",
        "node_modules/is-number/package.json",
    )


def test_package_function__pip_noise__dropped_from_zip(tmp_path: Any) -> None:
    fn = make_function(runtime="python3.12", dependencies={"six": "1.16.0"})
    first = package_function(fn, make_rendered(fn), str(tmp_path / "a"), runner=FakeInstaller(noise="a"))
    second = package_function(
        fn, make_rendered(fn), str(tmp_path / "b"), runner=FakeInstaller(noise="b", mtime=5, exec_mode=0o700)
    )
    assert first.files == ("lambda_function.py", "six-1.16.0.dist-info/METADATA", "six.py")
    assert zip_bytes(first) == zip_bytes(second)


def test_zip__entries__sorted_fixed_time_and_modes_no_directories(tmp_path: Any) -> None:
    fn = make_function(dependencies={"is-number": "7.0.0"}, handler="src/index.handler")
    artifact = package_function(fn, make_rendered(fn), str(tmp_path), runner=FakeInstaller(exec_mode=0o700))
    with zipfile.ZipFile(artifact.zip_path) as zf:
        infos = zf.infolist()
        assert zf.testzip() is None
        assert zf.comment == b""
    names = [i.filename for i in infos]
    assert names == sorted(names) == list(artifact.files)
    assert "src/index.mjs" in names
    modes = {}
    for info in infos:
        assert not info.is_dir() and not info.filename.endswith("/")
        assert "\\" not in info.filename
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.create_system == 3
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.extra == b""
        assert info.flag_bits & 0x08 == 0  # no data descriptor
        assert stat.S_ISREG(info.external_attr >> 16)
        modes[info.filename] = stat.S_IMODE(info.external_attr >> 16)
    assert modes["node_modules/is-number/cli.js"] == 0o755
    assert modes["node_modules/is-number/index.js"] == 0o644
    assert modes["src/index.mjs"] == 0o644
    with zipfile.ZipFile(artifact.zip_path) as zf:
        assert zf.read("src/index.mjs").decode() == NODE_SOURCE


def test_zip__known_input__known_bytes(tmp_path: Any) -> None:
    # Pins the exact bytes: a change here means every deployed function would
    # show a false code change. Deflate output depends on the zlib build
    # (zlib-ng produces other bytes); this was recorded with zlib 1.2.13.
    fn = make_function()
    artifact = package_function(fn, make_rendered(fn), str(tmp_path), runner=never_run)
    assert artifact.code_sha256 == GOLDEN_NODE_CODE_SHA256, f"zlib {zlib.ZLIB_RUNTIME_VERSION}"


GOLDEN_NODE_CODE_SHA256 = "lPCRBr6GXCrcEPDz9ZpJASa6SyQP3LTNGYB9vdBHJ0I="


# -- cache ------------------------------------------------------------------------------


def test_package_function__unchanged_inputs__cache_hit_runs_nothing_and_keeps_zip(tmp_path: Any) -> None:
    fn = make_function(dependencies={"is-number": "7.0.0", "axios": "1.7.9"})
    messages: list[str] = []
    installer = FakeInstaller()
    first = package_function(fn, make_rendered(fn), str(tmp_path), runner=installer, progress=messages.append)
    assert [c[:2] for c in installer.calls] == [["npm", "install"], ["npm", "ci"]]
    assert "building cognito.function.x: npm ci (2 packages)" in messages
    before = os.stat(first.zip_path)

    messages.clear()
    second = package_function(fn, make_rendered(fn), str(tmp_path), runner=never_run, progress=messages.append)
    assert second == first
    after = os.stat(first.zip_path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert messages == [f"cognito.function.x: unchanged, cached build {first.digest[:12]}"]
    assert sorted(os.listdir(tmp_path)) == [f"{first.digest}.json", f"{first.digest}.zip"]


def test_package_function__same_inputs_other_function__shares_cache_entry(tmp_path: Any) -> None:
    one = make_function(name="one", memory=128)
    two = make_function(name="two", memory=512)
    first = package_function(one, make_rendered(one), str(tmp_path), runner=never_run)
    second = package_function(two, make_rendered(two), str(tmp_path), runner=never_run)
    assert (first.address, second.address) == ("cognito.function.one", "cognito.function.two")
    assert first.zip_path == second.zip_path and first.code_sha256 == second.code_sha256


def test_package_function__damaged_cache_entry__rebuilt(tmp_path: Any) -> None:
    fn = make_function()
    first = package_function(fn, make_rendered(fn), str(tmp_path), runner=never_run)
    good = zip_bytes(first)
    with open(first.zip_path, "wb") as fh:
        fh.write(good[: len(good) // 2])
    second = package_function(fn, make_rendered(fn), str(tmp_path), runner=never_run)
    assert zip_bytes(second) == good and second == first


def test_package_function__install_fails__no_cache_entry_left(tmp_path: Any) -> None:
    fn = make_function(dependencies={"is-number": "7.0.0"})
    failing = FakeInstaller(returncode=1, stderr="npm error 404 Not Found - GET is-number\n")
    with pytest.raises(BuildError):
        package_function(fn, make_rendered(fn), str(tmp_path), runner=failing)
    assert os.listdir(tmp_path) == []


def test_package_function__sidecar__records_code_sha256_and_files(tmp_path: Any) -> None:
    fn = make_function()
    artifact = package_function(fn, make_rendered(fn), str(tmp_path), runner=never_run)
    with open(os.path.join(tmp_path, f"{artifact.digest}.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    assert meta == {
        "format": FORMAT_VERSION,
        "digest": artifact.digest,
        "code_sha256": artifact.code_sha256,
        "size": artifact.size,
        "files": ["index.mjs"],
    }


# -- digest -----------------------------------------------------------------------------


def _digest(fn: Function, source: str | None = None, stack_dir: str | None = None) -> str:
    return function_digest(fn, make_rendered(fn, source), stack_dir=stack_dir)


def test_digest__changed_source_runtime_or_dependency__changes() -> None:
    base = make_function(dependencies={"is-number": "7.0.0"})
    digests = {
        _digest(base),
        _digest(base, NODE_SOURCE + "// changed\n"),
        _digest(make_function(runtime="nodejs20.x", dependencies={"is-number": "7.0.0"})),
        _digest(make_function(dependencies={"is-number": "7.0.1"})),
        _digest(make_function(dependencies={"is-number": "7.0.0", "axios": "1.7.9"})),
        _digest(make_function(dependencies={})),
        _digest(make_function(handler="main.handler", dependencies={"is-number": "7.0.0"})),
    }
    assert len(digests) == 7


def test_digest__python_version__changes() -> None:
    assert _digest(make_function(runtime="python3.12")) != _digest(make_function(runtime="python3.13"))


def test_digest__configuration_and_dependency_order__unchanged() -> None:
    a = make_function(name="a", memory=128, dependencies={"a": "1.0.0", "b": "2.0.0"})
    b = make_function(name="b", memory=1024, dependencies={"b": "2.0.0", "a": "1.0.0"})
    assert _digest(a) == _digest(b)


def test_digest__stack_lock_file__part_of_digest(tmp_path: Any) -> None:
    fn = make_function(dependencies={"is-number": "7.0.0"})
    without = _digest(fn, stack_dir=str(tmp_path))
    lock = tmp_path / "locks" / "x" / "package-lock.json"
    lock.parent.mkdir(parents=True)
    lock.write_text('{"lockfileVersion": 3, "v": 1}\n')
    with_lock = _digest(fn, stack_dir=str(tmp_path))
    lock.write_text('{"lockfileVersion": 3, "v": 2}\n')
    changed_lock = _digest(fn, stack_dir=str(tmp_path))
    assert len({without, with_lock, changed_lock}) == 3
    # Found beside the stack file by default.
    stack_fn = make_function(dependencies={"is-number": "7.0.0"}, stack_file=str(tmp_path / "stack.yaml"))
    assert _digest(stack_fn) == changed_lock


def test_package_function__stack_lock_file__used_instead_of_generating(tmp_path: Any) -> None:
    lock = tmp_path / "locks" / "x" / "package-lock.json"
    lock.parent.mkdir(parents=True)
    lock.write_text('{"lockfileVersion": 3}\n')
    fn = make_function(dependencies={"is-number": "7.0.0"}, stack_file=str(tmp_path / "stack.yaml"))
    installer = FakeInstaller()
    package_function(fn, make_rendered(fn), str(tmp_path / "cache"), runner=installer)
    assert [c[:2] for c in installer.calls] == [["npm", "ci"]]


# -- errors -----------------------------------------------------------------------------


def test_package_function__npm_fails__error_names_function_command_and_stderr_tail(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKCTL_TEST_TOKEN", "s3cr3t-value")
    stderr = "".join(f"npm error line {n}\n" for n in range(40))
    fn = make_function(dependencies={"is-number": "7.0.0"})
    with pytest.raises(BuildError) as caught:
        package_function(fn, make_rendered(fn), str(tmp_path), runner=FakeInstaller(returncode=1, stderr=stderr))
    error = caught.value
    assert isinstance(error, HookctlError)
    assert error.message.startswith("building cognito.function.x: `npm install --package-lock-only")
    assert "failed with exit code 1" in error.message
    assert "npm error line 39" in error.message and "npm error line 19" not in error.message
    assert "s3cr3t-value" not in error.message
    assert error.command is not None and error.command[:2] == ("npm", "install")


def test_package_function__npm_missing__error_with_hint(tmp_path: Any) -> None:
    def missing(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(command[0])

    fn = make_function(dependencies={"is-number": "7.0.0"})
    with pytest.raises(BuildError, match="`npm` not found") as caught:
        package_function(fn, make_rendered(fn), str(tmp_path), runner=missing)
    assert caught.value.hint == "Install Node.js and npm."


def test_package_function__pip_command__targets_lambda_platform(tmp_path: Any) -> None:
    fn = make_function(runtime="python3.13", dependencies={"six": "1.16.0"})
    installer = FakeInstaller()
    package_function(fn, make_rendered(fn), str(tmp_path), runner=installer)
    (command,) = installer.calls
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--only-binary=:all:" in command and "--no-compile" in command
    assert "--no-deps" not in command
    assert command[command.index("--python-version") + 1] == "3.13"
    assert command[command.index("--implementation") + 1] == "cp"
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms[0] == "manylinux_2_34_x86_64" and "manylinux2014_x86_64" in platforms
    assert command[-1] == "six==1.16.0"


def test_package_function__npm_commands__target_linux_x64(tmp_path: Any) -> None:
    fn = make_function(dependencies={"is-number": "7.0.0"})
    installer = FakeInstaller()
    package_function(fn, make_rendered(fn), str(tmp_path), runner=installer)
    for command in installer.calls:
        assert {"--os=linux", "--cpu=x64", "--ignore-scripts", "--no-audit", "--no-fund"} <= set(command)
    assert "--omit=dev" in installer.calls[-1]


def test_package_function__dependency_shadows_handler__raises_build_error(tmp_path: Any) -> None:
    fn = make_function(runtime="python3.12", handler="six.handler", dependencies={"six": "1.16.0"})
    with pytest.raises(BuildError, match="handler's own file name"):
        package_function(fn, make_rendered(fn), str(tmp_path), runner=FakeInstaller())


# -- Auth0 ------------------------------------------------------------------------------


def test_package_action__dependency_order__same_digest() -> None:
    one = make_action(code_deps={"axios": "1.7.9", "@slack/webhook": "7.0.4"})
    two = make_action(code_deps={"@slack/webhook": "7.0.4", "axios": "1.7.9"})
    rendered = Rendered("auth0.action.a", "t.js.j2", "t.js.j2", "js", ".js", "exports.onExecute = 1;\n")
    first, second = package_action(one, rendered), package_action(two, rendered)
    assert first == second
    assert first.dependencies == (("@slack/webhook", "7.0.4"), ("axios", "1.7.9"))
    assert first == Auth0Artifact(
        "auth0.action.a",
        "exports.onExecute = 1;\n",
        first.dependencies,
        "node22",
        # sha256 of the canonical JSON: stable across runs, machines and Python versions.
        GOLDEN_ACTION_DIGEST,
    )


GOLDEN_ACTION_DIGEST = "943e5913c9b2e802f3ef56a2d1624945e14e968a7a7a823b92407c67bfbbdf12"


def test_package_action__code_runtime_or_version_change__changes_digest() -> None:
    rendered = Rendered("auth0.action.a", "t.js.j2", "t.js.j2", "js", ".js", "exports.onExecute = 1;\n")
    changed = Rendered("auth0.action.a", "t.js.j2", "t.js.j2", "js", ".js", "exports.onExecute = 2;\n")
    digests = {
        package_action(make_action(code_deps={"axios": "1.7.9"}), rendered).digest,
        package_action(make_action(code_deps={"axios": "1.7.9"}), changed).digest,
        package_action(make_action(code_deps={"axios": "1.7.9"}, runtime="node18"), rendered).digest,
        package_action(make_action(code_deps={"axios": "1.8.0"}), rendered).digest,
    }
    assert len(digests) == 4


def test_package_action__code_over_limit__raises_build_error() -> None:
    rendered = Rendered("auth0.action.a", "t.js.j2", "t.js.j2", "js", ".js", "x" * (100 * 1024 + 1))
    with pytest.raises(BuildError, match="at most 102400"):
        package_action(make_action(), rendered)


# -- real npm against a loopback registry -----------------------------------------------


def _tarball(name: str, package: dict[str, Any], files: Mapping[str, tuple[str, int]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        contents = {"package.json": (json.dumps(package, indent=2) + "\n", 0o644), **files}
        for path, (text, mode) in sorted(contents.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"package/{path}")
            info.size, info.mode, info.mtime = len(data), mode, 499_162_500
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


class Registry:
    """A minimal npm registry on loopback: packuments and tarballs, nothing else."""

    def __init__(self) -> None:
        self.packuments: dict[str, dict[str, Any]] = {}
        self.tarballs: dict[str, bytes] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                path = self.path.split("?")[0]
                if path in registry.tarballs:
                    body, kind = registry.tarballs[path], "application/octet-stream"
                elif path.lstrip("/") in registry.packuments:
                    body, kind = json.dumps(registry.packuments[path.lstrip("/")]).encode(), "application/json"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def publish(
        self, name: str, version: str, files: Mapping[str, tuple[str, int]] | None = None, **fields: Any
    ) -> None:
        package = {"name": name, "version": version, **fields}
        data = _tarball(name, package, files or {"index.js": (f"module.exports = '{name}@{version}';\n", 0o644)})
        path = f"/{name}/-/{name}-{version}.tgz"
        self.tarballs[path] = data
        packument = self.packuments.setdefault(name, {"name": name, "dist-tags": {}, "versions": {}})
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        packument["versions"][version] = {
            **package,
            "dist": {
                "tarball": self.url.rstrip("/") + path,
                "integrity": integrity,
                "shasum": hashlib.sha1(data).hexdigest(),
            },
        }
        packument["dist-tags"]["latest"] = max(packument["versions"], key=lambda v: tuple(map(int, v.split("."))))


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    reg = Registry()
    reg.publish("hk-pad-core", "1.0.0")
    reg.publish("hk-pad-core", "1.1.0")
    reg.publish(
        "hk-left-pad",
        "2.0.0",
        {
            "index.js": ("module.exports = require('hk-pad-core');\n", 0o644),
            "bin/cli.js": ("#!/usr/bin/env node\n", 0o755),
        },
        bin={"hk-left-pad": "bin/cli.js"},
        dependencies={"hk-pad-core": "^1.0.0"},
    )
    reg.publish("hk-native-linux-x64", "1.0.0", os=["linux"], cpu=["x64"])
    reg.publish("hk-native-darwin-arm64", "1.0.0", os=["darwin"], cpu=["arm64"])
    reg.publish(
        "hk-native", "1.0.0", optionalDependencies={"hk-native-linux-x64": "1.0.0", "hk-native-darwin-arm64": "1.0.0"}
    )
    reg.thread.start()
    yield reg
    reg.server.shutdown()
    reg.server.server_close()


@pytest.fixture
def npm_registry(
    registry: Registry, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Registry:
    monkeypatch.setenv("npm_config_registry", registry.url)
    monkeypatch.setenv("npm_config_cache", str(tmp_path_factory.mktemp("npm-cache")))
    monkeypatch.setenv("npm_config_update_notifier", "false")
    return registry


@requires_npm
def test_real_npm__two_builds__byte_identical_with_node_modules(
    tmp_path: Any, npm_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    fn = make_function(dependencies={"hk-left-pad": "2.0.0", "hk-native": "1.0.0"})
    artifacts = []
    for index, mask in enumerate((0o022, 0o077)):
        work = tmp_path / f"cwd{index}"
        work.mkdir()
        monkeypatch.chdir(work)
        with umask(mask):
            artifacts.append(package_function(fn, make_rendered(fn), "cache"))
    first, second = artifacts
    assert zip_bytes(first) == zip_bytes(second)
    assert first.code_sha256 == second.code_sha256
    files = set(first.files)
    assert {
        "index.mjs",
        "node_modules/hk-left-pad/index.js",
        "node_modules/hk-left-pad/bin/cli.js",
        "node_modules/hk-pad-core/package.json",  # a dependency of a dependency
        "node_modules/hk-native-linux-x64/index.js",  # Lambda's platform, whatever the host
    } <= files
    assert not any("hk-native-darwin-arm64" in f for f in files)
    assert not any("/.bin/" in f or f.endswith(".package-lock.json") for f in files)
    with zipfile.ZipFile(first.zip_path) as zf:
        assert zf.read("node_modules/hk-pad-core/index.js") == b"module.exports = 'hk-pad-core@1.1.0';\n"
        mode = stat.S_IMODE(zf.getinfo("node_modules/hk-left-pad/bin/cli.js").external_attr >> 16)
    assert mode == 0o755
    assert "/hk-left-pad" in npm_registry.requests  # npm really went to the loopback registry

    requests = len(npm_registry.requests)
    again = package_function(fn, make_rendered(fn), "cache", runner=never_run)
    assert again == second and len(npm_registry.requests) == requests


@requires_npm
def test_real_npm__stack_lock_file__pins_dependencies_of_dependencies(tmp_path: Any, npm_registry: Registry) -> None:
    fn = make_function(dependencies={"hk-left-pad": "2.0.0"}, stack_file=str(tmp_path / "stack.yaml"))
    # What a team would commit: a lock made when hk-pad-core 1.0.0 was the newest.
    lock = {
        "name": "hookctl-function",
        "version": "0.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "hookctl-function", "version": "0.0.0", "dependencies": {"hk-left-pad": "2.0.0"}},
            "node_modules/hk-left-pad": {
                "version": "2.0.0",
                "integrity": npm_registry.packuments["hk-left-pad"]["versions"]["2.0.0"]["dist"]["integrity"],
                "dependencies": {"hk-pad-core": "^1.0.0"},
                "bin": {"hk-left-pad": "bin/cli.js"},
            },
            "node_modules/hk-pad-core": {
                "version": "1.0.0",
                "integrity": npm_registry.packuments["hk-pad-core"]["versions"]["1.0.0"]["dist"]["integrity"],
            },
        },
    }
    (tmp_path / "locks" / "x").mkdir(parents=True)
    (tmp_path / "locks" / "x" / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    artifact = package_function(fn, make_rendered(fn), str(tmp_path / "cache"))
    with zipfile.ZipFile(artifact.zip_path) as zf:
        assert zf.read("node_modules/hk-pad-core/index.js") == b"module.exports = 'hk-pad-core@1.0.0';\n"


@requires_npm
def test_real_npm__unknown_package__build_error_with_npm_output(tmp_path: Any, npm_registry: Registry) -> None:
    fn = make_function(dependencies={"hk-does-not-exist": "1.0.0"})
    with pytest.raises(BuildError, match=r"npm install --package-lock-only.*failed") as caught:
        package_function(fn, make_rendered(fn), str(tmp_path))
    assert "404" in caught.value.message
    assert os.listdir(tmp_path) == []


# -- real pip against local wheels ------------------------------------------------------


def _wheel(
    directory: str,
    name: str,
    version: str,
    files: Mapping[str, tuple[str, int]],
    metadata: str = "",
    entry_points: str = "",
) -> None:
    info = f"{name}-{version}.dist-info"
    contents = dict(files)
    contents[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{metadata}", 0o644)
    contents[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: hookctl-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        0o644,
    )
    if entry_points:
        contents[f"{info}/entry_points.txt"] = (entry_points, 0o644)
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip('=')},"
        f"{len(text.encode())}"
        for path, (text, _) in sorted(contents.items())
    ]
    contents[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n", 0o644)
    with zipfile.ZipFile(os.path.join(directory, f"{name}-{version}-py3-none-any.whl"), "w") as zf:
        for path, (text, mode) in sorted(contents.items()):
            info_entry = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info_entry.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info_entry, text)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = str(tmp_path_factory.mktemp("wheels"))
    _wheel(directory, "hkdep", "1.0.0", {"hkdep.py": ("VERSION = '1.0.0'\n", 0o644)})
    _wheel(directory, "hkdep", "1.1.0", {"hkdep.py": ("VERSION = '1.1.0'\n", 0o644)})
    _wheel(
        directory,
        "hkpure",
        "1.0.0",
        {
            "hkpure/__init__.py": ("def main():\n    return 0\n", 0o644),
            "hkpure/run.sh": ("#!/bin/sh\necho hi\n", 0o755),
        },
        metadata="Requires-Dist: hkdep>=1.0\n",
        entry_points="[console_scripts]\nhkpure = hkpure:main\n",
    )
    return directory


@pytest.fixture
def pip_index(wheelhouse: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", wheelhouse)
    return wheelhouse


def test_real_pip__two_builds__byte_identical_without_machine_files(
    tmp_path: Any, pip_index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fn = make_function(runtime="python3.12", dependencies={"hkpure": "1.0.0"})
    artifacts = []
    for index, mask in enumerate((0o022, 0o077)):
        work = tmp_path / f"cwd{index}"
        work.mkdir()
        monkeypatch.chdir(work)
        with umask(mask):
            artifacts.append(package_function(fn, make_rendered(fn), "cache"))
    first, second = artifacts
    assert zip_bytes(first) == zip_bytes(second)
    assert first.files == (
        "hkdep-1.1.0.dist-info/METADATA",  # a dependency of a dependency, newest allowed
        "hkdep-1.1.0.dist-info/WHEEL",
        "hkdep.py",
        "hkpure-1.0.0.dist-info/METADATA",
        "hkpure-1.0.0.dist-info/WHEEL",
        "hkpure-1.0.0.dist-info/entry_points.txt",
        "hkpure/__init__.py",
        "hkpure/run.sh",
        "lambda_function.py",
    )  # no bin/ (shebang names this machine's python), RECORD, INSTALLER, REQUESTED, __pycache__
    with zipfile.ZipFile(first.zip_path) as zf:
        assert stat.S_IMODE(zf.getinfo("hkpure/run.sh").external_attr >> 16) == 0o755


def test_real_pip__stack_constraints__pin_dependencies_of_dependencies(tmp_path: Any, pip_index: str) -> None:
    (tmp_path / "locks" / "x").mkdir(parents=True)
    (tmp_path / "locks" / "x" / "requirements.txt").write_text("hkdep==1.0.0\n")
    fn = make_function(runtime="python3.12", dependencies={"hkpure": "1.0.0"}, stack_file=str(tmp_path / "stack.yaml"))
    artifact = package_function(fn, make_rendered(fn), str(tmp_path / "cache"))
    assert "hkdep-1.0.0.dist-info/METADATA" in artifact.files


def test_real_pip__no_wheel__build_error_names_pip(tmp_path: Any, pip_index: str) -> None:
    fn = make_function(runtime="python3.12", dependencies={"hk-missing": "1.0"})
    with pytest.raises(BuildError, match=r"pip install .*failed with exit code") as caught:
        package_function(fn, make_rendered(fn), str(tmp_path))
    assert "hk-missing" in caught.value.message
    assert caught.value.hint is not None and "wheels" in caught.value.hint


# -- opt-in: the public registries ------------------------------------------------------


@requires_network
@requires_npm
def test_public_npm__is_number__byte_identical(tmp_path: Any) -> None:
    fn = make_function(dependencies={"is-number": "7.0.0"})
    first = package_function(fn, make_rendered(fn), str(tmp_path / "a"))
    second = package_function(fn, make_rendered(fn), str(tmp_path / "b"))
    assert "node_modules/is-number/index.js" in first.files
    assert zip_bytes(first) == zip_bytes(second)


@requires_network
def test_public_pypi__six__byte_identical(tmp_path: Any) -> None:
    fn = make_function(runtime="python3.12", dependencies={"six": "1.16.0"})
    first = package_function(fn, make_rendered(fn), str(tmp_path / "a"))
    second = package_function(fn, make_rendered(fn), str(tmp_path / "b"))
    assert "six.py" in first.files
    assert zip_bytes(first) == zip_bytes(second)


# -- Lambda's size limits, caught at plan time -------------------------------------------


def _zip_with(tmp_path: Any, name: str, payload: bytes) -> str:
    path = str(tmp_path / name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.mjs", payload)
    return path


def test_check_lambda_size__unzipped_over_limit__refused_naming_function_and_limit(tmp_path: Any) -> None:
    fn = make_function(name="big")
    path = _zip_with(tmp_path, "big.zip", b"\0" * 4096)  # compresses to a few bytes
    with pytest.raises(BuildError, match="4096 bytes unzipped; Lambda accepts at most 4095 bytes") as info:
        check_lambda_size(fn, path, max_unzipped=4095)
    assert "stack.yaml:1: cognito.functions.big.dependencies" in str(info.value)
    check_lambda_size(fn, path, max_unzipped=4096)  # at the limit: accepted


def test_check_lambda_size__zip_over_direct_upload_limit__refused_with_what_to_do(tmp_path: Any) -> None:
    fn = make_function(name="big")
    path = _zip_with(tmp_path, "big.zip", os.urandom(2048))  # does not compress
    size = os.path.getsize(path)
    with pytest.raises(BuildError, match="in the request") as info:
        check_lambda_size(fn, path, max_zip=size - 1)
    assert info.value.hint is not None and "S3" in info.value.hint
    check_lambda_size(fn, path, max_zip=size)
