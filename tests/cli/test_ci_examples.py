"""The pipeline examples under examples/ci run the same hookctl command sequence this test runs
against the local sandbox: plan on a pull request (Markdown, saved plan, exit 2 for changes),
apply the saved plan on merge, and a drift check that exits 0 once applied."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from provisioner.sandbox.run import Sandbox
from tests.conftest import REPO

from .helpers import hookctl_path

EXAMPLES = REPO / "examples" / "ci"
SEQUENCE = [
    "hookctl validate",
    'hookctl plan -s "$STACK" --out plan.hookctl --markdown --detailed-exitcode > plan.md',
    "hookctl apply plan.hookctl",
]


def _hookctl_commands(text: str) -> list[str]:
    found = []
    for match in re.finditer(r"(hookctl (?:validate|plan|apply)[^;\n]*)", text):
        command = match.group(1).strip()
        found.append(command.split("; code=")[0].strip())
    return found


def test_examples__use_exactly_the_tested_sequence() -> None:
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        commands = [c for c in _hookctl_commands((EXAMPLES / name).read_text()) if not c.startswith("hookctl as")]
        assert commands == SEQUENCE, name


def test_examples_sequence__against_the_sandbox(tmp_path: Path) -> None:
    shutil.copytree(REPO / "stacks", tmp_path / "stacks")
    with Sandbox() as box:
        env = {
            **box.environment(),
            "PATH": f"{Path(hookctl_path()).parent}:/usr/bin:/bin",
            "STACK": "stacks/example.yaml",
            "HOOKCTL_ENV": "sandbox",
            "HOOKCTL_STATE": str(tmp_path / "state"),
            "HOOKCTL_STATE_DIR": str(tmp_path / "state"),
            "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/ci",
            "NO_COLOR": "1",
        }

        def sh(command: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
            )

        assert sh(SEQUENCE[0]).returncode == 0
        planned = sh(SEQUENCE[1])
        assert planned.returncode == 2, planned.stderr
        markdown = (tmp_path / "plan.md").read_text()
        assert markdown.startswith("### hookctl plan: `example` / `sandbox`")
        assert "hooks.slack.invalid" not in markdown
        applied = sh(SEQUENCE[2])
        assert applied.returncode == 0, applied.stderr
        stale = sh(SEQUENCE[2])  # the same plan again: the live state has moved on
        assert stale.returncode == 1 and "changed since the plan was made" in stale.stderr
        drift = sh('hookctl plan -s "$STACK" --detailed-exitcode')
        assert drift.returncode == 0, drift.stdout + drift.stderr
