"""Run the installed ``hookctl`` console script as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def hookctl_path() -> str:
    found = shutil.which("hookctl", path=os.path.dirname(sys.executable))
    assert found, "the hookctl console script is not installed in this environment"
    return found


def run(args: list[str], cwd: Path | str, env: dict[str, str] | None = None, stdin: str = "") -> Result:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKCTL_", "AUTH0_"))}
    full_env["NO_COLOR"] = "1"
    full_env.update(env or {})
    proc = subprocess.run(
        [hookctl_path(), *args], cwd=cwd, env=full_env, input=stdin, capture_output=True, text=True, timeout=120
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
