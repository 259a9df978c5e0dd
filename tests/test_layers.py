"""The import-linter contracts in pyproject.toml hold, and a deliberate violation breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = shutil.which("lint-imports", path=os.path.dirname(sys.executable))

pytestmark = pytest.mark.skipif(LINT_IMPORTS is None, reason="import-linter is not installed (pip install -e '.[dev]')")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS is not None
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_contracts__hold_for_the_package_as_it_is() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_contracts__a_deliberate_violation_fails_naming_the_contract(tmp_path: Path) -> None:
    shutil.copytree(REPO / "provisioner", tmp_path / "provisioner", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    plan = tmp_path / "provisioner" / "engine" / "plan.py"
    plan.write_text(plan.read_text() + "\nimport boto3  # a violation: an SDK in the engine's core\n")
    model = tmp_path / "provisioner" / "engine" / "model.py"
    model.write_text(model.read_text() + "\nfrom provisioner.cli import main  # a violation: the core reaching up\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    out = " ".join(result.stdout.split())  # lint-imports wraps its report at 80 columns
    assert "Only the providers' clients, the state and secret readers and the sandbox import an SDK BROKEN" in out
    assert "provisioner.engine.plan -> boto3" in out
    assert "the engine's core BROKEN" in out  # the end of the layers contract's name
    assert "provisioner.engine.model -> provisioner.cli.main" in out
