"""Crash recovery: kill `hookctl apply` at each operation boundary of a realistic plan.

The example stack touches both providers (create, deploy and bind Auth0 actions; create roles,
functions, permissions; one read-modify-write of the pool). After a kill the state lock is left
behind: the next apply must report it (who and when) rather than break it silently; once it is
cleared, apply must finish the job, the following plan must be empty, and nothing may exist twice.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.sandbox.run import Sandbox
from tests.cli.helpers import hookctl_path
from tests.conftest import REPO

LONG = bool(os.environ.get("HOOKCTL_LONG"))
DONE_RE = re.compile(r"^\[(\d+)/(\d+)\] .*: done")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Sandbox, dict[str, str], Path]]:
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    with Sandbox() as box:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_", "AWS_"))},
            **box.environment(),
            "HOOKCTL_STATE_DIR": str(tmp_path / "state"),
            "HOOKCTL_BUILD_DIR": str(tmp_path / "build"),
            "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/crash",
            "NO_COLOR": "1",
        }
        yield box, env, tmp_path


def _hk(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([hookctl_path(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def _apply_killed_after(env: dict[str, str], cwd: Path, boundary: int) -> int:
    """Start apply and SIGKILL it right after operation ``boundary`` reports done. Returns the plan size."""
    proc = subprocess.Popen(
        [hookctl_path(), "apply", "-s", "stacks/example.yaml", "-e", "sandbox", "--auto-approve"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    total = 0
    assert proc.stderr is not None
    for line in proc.stderr:
        match = DONE_RE.match(line)
        if match:
            total = int(match.group(2))
            if int(match.group(1)) == boundary:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=60)
    return total


def _boundaries() -> list[int]:
    return list(range(1, 14)) if LONG else [1, 2, 5, 9, 11]


@pytest.mark.parametrize("boundary", _boundaries())
def test_killed_apply__next_apply_reports_lock_then_finishes(
    world: tuple[Sandbox, dict[str, str], Path], boundary: int
) -> None:
    box, env, cwd = world
    total = _apply_killed_after(env, cwd, boundary)
    assert total >= boundary
    blocked = _hk(env, cwd, "apply", "-s", "stacks/example.yaml", "-e", "sandbox", "--auto-approve")
    assert blocked.returncode == 1
    match = re.search(r"locked: lock (\w+) held by (.+) \(apply\) since (.+ UTC)", blocked.stderr)
    assert match, blocked.stderr
    assert (
        _hk(env, cwd, "state", "unlock", match.group(1), "-s", "stacks/example.yaml", "-e", "sandbox").returncode == 0
    )
    finished = _hk(env, cwd, "apply", "-s", "stacks/example.yaml", "-e", "sandbox", "--auto-approve")
    assert finished.returncode == 0, finished.stderr
    replan = _hk(env, cwd, "plan", "-s", "stacks/example.yaml", "-e", "sandbox", "--detailed-exitcode")
    assert replan.returncode == 0, replan.stdout + replan.stderr
    names = sorted(a.name for a in box.auth0.tenant.actions.values())  # type: ignore[union-attr]
    assert names == ["deny-tls-fingerprints", "slack-new-user"]
    functions = box.boto3_client("lambda").list_functions()["Functions"]
    assert sorted(f["FunctionName"] for f in functions if f["FunctionName"].startswith("example-sandbox-")) == [
        "example-sandbox-auto-confirm-domain",
        "example-sandbox-log-sign-in",
    ]
