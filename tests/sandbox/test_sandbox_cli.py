"""`hookctl sandbox` as a service manager and a closing terminal stop it: SIGTERM and SIGHUP do what
Ctrl-C does (save --state-dir, remove the throwaway TLS directory with its private key), and
--env-file writes the exports, which cover httpx, requests and Node.js."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.helpers import hookctl_path


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env_file = tmp_path / "sandbox.env"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))}
    proc = subprocess.Popen(
        [hookctl_path(), "sandbox", "--env-file", str(env_file), *args],
        cwd=tmp_path,
        env={**env, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(1200):  # up to two minutes on a loaded machine; returns as soon as it is up
        if env_file.exists() and env_file.read_text().endswith("\n"):
            break
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read() if proc.stderr else "sandbox exited")
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("the sandbox did not write its env file")
    exports = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            exports[key] = shlex.split(value)[0]
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    return proc, exports


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sandbox__signal_stops_like_ctrl_c_and_removes_the_tls_dir(tmp_path: Path, sig: signal.Signals) -> None:
    proc, exports = _start(tmp_path)
    ca = Path(exports["SSL_CERT_FILE"])
    assert exports["REQUESTS_CA_BUNDLE"] == exports["NODE_EXTRA_CA_CERTS"] == str(ca)
    assert (ca.parent / "server-key.pem").exists()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"Stopping the sandbox ({sig.name})" in err
    assert not ca.parent.exists()  # the throwaway CA and the server's private key are gone
    assert not (tmp_path / "sandbox.env").exists()


def test_sandbox__sigterm_saves_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc, exports = _start(tmp_path, "--state-dir", str(state))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (state / "aws.pickle").exists() and (state / "sandbox.json").exists()
    assert (state / "auth0" / "tenant.json").exists()
    assert exports["HOOKCTL_SANDBOX_POOL_ID"] in (state / "sandbox.json").read_text()
