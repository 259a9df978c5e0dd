"""A newcomer's first hour, on a fresh clone, following the README step by step: make demo, validate
with an empty environment, render, the sandbox in another shell, plan, apply, test. Nothing errors,
and no step prints a warning line.

The virtual environment is this test run's own (``make`` is told its install stamp is current, so the
clone does not reinstall into it); the install itself is covered by
``test_build__prints_no_warning``, which builds the wheel from the clone the way pip does.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

from .helpers import hookctl_path

WARNING = re.compile(r"warn", re.IGNORECASE)


def _no_warning(text: str, step: str) -> None:
    lines = [line for line in text.splitlines() if WARNING.search(line)]
    assert not lines, f"{step} printed warnings:\n" + "\n".join(lines[:20])


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone of the committed repository."""
    target = tmp_path / "hookctl"
    subprocess.run(["git", "clone", "-q", str(REPO), str(target)], check=True, capture_output=True, timeout=120)
    return target


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """What a newcomer's shell holds: no hookctl, Auth0, AWS or Slack settings at all."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "USER", "LOGNAME", "SHELL")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["HOME"] = str(tmp_path / "home")
    env["PATH"] = f"{Path(hookctl_path()).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], step: str, timeout: float = 300) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{step} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    _no_warning(done.stdout + done.stderr, step)
    return done.stdout


def test_first_run__fresh_clone_to_applied_and_tested(clone: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    (tmp_path / "home").mkdir()
    venv = Path(sys.prefix)
    stamp = venv / ".hookctl-installed"
    stamp.touch(exist_ok=True)
    # 1. make demo (the venv is ours: -o keeps make from reinstalling the clone into it).
    out = _run(["make", "-o", str(stamp), "demo", f"VENV={venv}"], clone, env, "make demo")
    assert "the sandbox is stopped" in out
    # 2. validate, with no secret and no credential in the environment.
    out = _run(["hookctl", "validate"], clone, env, "hookctl validate")
    assert out.count(": ok") >= 6
    # 3. render the handlers to read them.
    _run(["hookctl", "render", "-s", "stacks/example.yaml", "-e", "sandbox", "-o", "out/"], clone, env, "render")
    assert (clone / "out" / "auth0.action.slack-new-user" / "code.js").exists()
    # 4. the sandbox in another shell, its exports sourced from --env-file.
    env_file = tmp_path / "sandbox.env"
    box = subprocess.Popen(
        ["hookctl", "sandbox", "--env-file", str(env_file)],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1200):
            if env_file.exists() and env_file.read_text().endswith("\n"):
                break
            assert box.poll() is None, box.stderr.read() if box.stderr else "the sandbox exited"
            time.sleep(0.1)
        exports = {}
        for line in env_file.read_text().splitlines():
            if line.startswith("export "):
                key, _, value = line[len("export ") :].partition("=")
                exports[key] = shlex.split(value)[0]
        shell = {**env, **exports, "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/services/FIRST/RUN"}
        # 5. plan, apply, plan again (empty), then the stack's tests.
        out = _run(["hookctl", "plan", "-s", "stacks/example.yaml", "-e", "sandbox"], clone, shell, "plan")
        assert "to create" in out
        out = _run(
            ["hookctl", "apply", "-s", "stacks/example.yaml", "-e", "sandbox", "--auto-approve"], clone, shell, "apply"
        )
        assert "Apply complete:" in out and "created" in out
        again = subprocess.run(
            ["hookctl", "plan", "-s", "stacks/example.yaml", "-e", "sandbox", "--detailed-exitcode", "-q"],
            cwd=clone,
            env=shell,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        out = _run(["hookctl", "test", "-s", "stacks/example.yaml", "-e", "sandbox"], clone, env, "hookctl test")
        assert " 0 failed" in out or "failed" not in out
    finally:
        box.send_signal(signal.SIGTERM)
        _, err = box.communicate(timeout=120)
    assert box.returncode == 0, err
    _no_warning(err, "hookctl sandbox")
    assert "hooks.slack.invalid" not in out


def test_build__prints_no_warning(clone: Path, tmp_path: Path) -> None:
    """Building hookctl from the clone (what pip install does first) prints no warning: the license is
    an SPDX string, every packaged folder is listed, and the extras exist."""
    pip = [sys.executable, "-m", "pip", "--isolated"]  # this machine's pip configuration aside
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(tmp_path / "wheels"), str(clone)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    _no_warning((built.stdout + built.stderr).replace(str(tmp_path), "<tmp>"), "building the wheel")
    metadata = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.metadata('moto').get_all('Provides-Extra'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pyproject = (clone / "pyproject.toml").read_text()
    extras = re.search(r'"moto\[([^\]]+)\]', pyproject)
    assert extras is not None
    for extra in extras.group(1).split(","):
        assert f"'{extra}'" in metadata, f"moto has no extra {extra!r}"
