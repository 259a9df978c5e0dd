"""`hookctl demo` — the tour behind `make demo` — through the console script, from any directory."""

from __future__ import annotations

from pathlib import Path

from .helpers import run


def test_demo__tour_runs_end_to_end_anywhere_and_leaves_nothing_running(tmp_path: Path) -> None:
    # Run where there is no stacks/ folder: the example stack ships inside the package.
    result = run(["demo"], cwd=tmp_path)
    assert result.code == 0, result.err[-3000:]
    out = result.out
    assert "==> 1. Plan the example stack" in out
    assert "Plan: 0 to create, 1 to update, 0 to delete." in out  # the one-variable change
    assert '+const CHANNEL = "#demo-signups";' in out
    assert "No changes." in out
    assert "the sandbox is stopped" in out
    assert "DEMO/ONLY" not in result.all  # the demo's secret value is never printed
    for line in out.splitlines():
        if "=http" in line or "_DOMAIN=" in line:
            assert "127.0.0.1" in line
