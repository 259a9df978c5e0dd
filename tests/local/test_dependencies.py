"""npm dependencies: installed once into hookctl's cache (npm ci from a generated lock file), then reused.

The registry is a tiny npm registry served on 127.0.0.1 by the test: one
package, its packument and its tarball. Nothing reaches the internet.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from provisioner.local import run as localrun
from provisioner.local.deps import DependencyCache, InstallError

from .conftest import action_invocation, needs_node

pytestmark = [needs_node, pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not on PATH")]

PACKAGE = "hookctl-loopback-greeting"
VERSION = "1.0.0"


def _tarball() -> bytes:
    files = {
        "package/package.json": json.dumps({"name": PACKAGE, "version": VERSION, "main": "index.js"}),
        "package/index.js": "exports.greet = (name) => `hello ${name} from the loopback registry`;\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def registry() -> Iterator[dict[str, Any]]:
    """An npm registry on loopback serving one package; counts the requests it gets."""
    tarball = _tarball()
    state: dict[str, Any] = {"hits": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["hits"] += 1
            port = self.server.server_address[1]
            if self.path.rstrip("/") == f"/{PACKAGE}":
                body = json.dumps(
                    {
                        "name": PACKAGE,
                        "dist-tags": {"latest": VERSION},
                        "versions": {
                            VERSION: {
                                "name": PACKAGE,
                                "version": VERSION,
                                "main": "index.js",
                                "dist": {
                                    "tarball": f"http://127.0.0.1:{port}/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz",
                                    "shasum": hashlib.sha1(tarball).hexdigest(),
                                    "integrity": "sha512-"
                                    + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
                                },
                            }
                        },
                    }
                ).encode()
                content_type = "application/json"
            elif self.path.endswith(".tgz"):
                body, content_type = tarball, "application/octet-stream"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_install_deps__installed_once_from_generated_lock__then_reused(
    registry: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("npm_config_registry", registry["url"])
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_userconfig", str(tmp_path / "no-npmrc"))
    commands: list[list[str]] = []

    def spy(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.run(command, **kwargs)

    cache = DependencyCache(str(tmp_path / "hookctl-cache"), runner=spy)
    invocation = action_invocation(
        f"""
        const {{ greet }} = require("{PACKAGE}");
        exports.onExecutePostUserRegistration = async (event) => {{ console.log(greet(event.user.email)); }};
        """,
        "post-user-registration",
        dependencies=((PACKAGE, VERSION),),
        timeout_ms=10_000,
    )
    first = localrun.Runner(cache=cache, install_deps=True).run(invocation)
    assert first.status == "ok", first.error
    assert first.logs[0].text == "hello jane.doe@example.com from the loopback registry"
    assert [c[:2] for c in commands] == [["npm", "install"], ["npm", "ci"]]
    assert "--package-lock-only" in commands[0]
    installed = cache.find("js", ((PACKAGE, VERSION),), None)
    assert installed is not None and (Path(installed) / "package-lock.json").is_file()

    hits = registry["hits"]
    again = localrun.Runner(cache=cache, install_deps=True).run(invocation)
    without_flag = localrun.Runner(cache=cache).run(invocation)  # an installed set is used without the flag too
    assert again.logs[0].text == without_flag.logs[0].text == first.logs[0].text
    assert len(commands) == 2 and registry["hits"] == hits


def test_not_installed__no_shim__warns_and_the_require_fails(tmp_path: Path) -> None:
    runner = localrun.Runner(cache=DependencyCache(str(tmp_path / "empty")))
    result = runner.run(
        action_invocation(
            f'require("{PACKAGE}");\nexports.onExecutePostUserRegistration = async () => {{}};',
            "post-user-registration",
            dependencies=((PACKAGE, VERSION),),
        )
    )
    assert result.status == "error"
    assert result.error is not None and f"Cannot find module '{PACKAGE}'" in result.error.message
    assert any("--install-deps" in w for w in result.warnings)


def test_install_failure__npm_output_in_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")  # nothing listens there
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_userconfig", str(tmp_path / "no-npmrc"))
    cache = DependencyCache(str(tmp_path / "c"))
    with pytest.raises(InstallError) as info:
        cache.install("auth0.action.t", "js", ((PACKAGE, VERSION),), None)
    assert "installing dependencies of auth0.action.t: `npm install --package-lock-only" in info.value.message
    assert cache.find("js", ((PACKAGE, VERSION),), None) is None
