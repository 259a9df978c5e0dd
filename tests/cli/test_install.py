"""A plain, non-editable `pip install .` into a fresh virtual environment finds the shipped templates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.conftest import REPO


def test_wheel_install__hookctl_validates_and_renders_every_stack(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(wheels.glob("hookctl-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / "bin"
    target = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Install the wheel itself with pip --target (no index, no dependencies): exactly what pip install puts there.
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", target, str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.copytree(REPO / "stacks", tmp_path / "work" / "stacks")
    # Dependencies come from the test environment's site-packages; hookctl itself only from the wheel.
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "SLACK_WEBHOOK_URL": "https://hooks.slack.invalid/x",
        "HOME": str(tmp_path),
        "NO_COLOR": "1",
    }
    console = str(bin_dir / "hookctl")
    if not Path(console).exists():  # pip --target puts scripts in target/bin
        console = str(Path(target) / "bin" / "hookctl")

    def hk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / "python"), console, *args],
            cwd=tmp_path / "work",
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    where = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import provisioner, provisioner.engine.render as r; "
            "print(provisioner.__file__); print(r.shipped_templates_dir())",
        ],
        cwd=tmp_path / "work",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(REPO) not in where, f"hookctl was imported from the source tree: {where}"
    assert Path(where.splitlines()[1], "auth0", "pre-user-registration", "deny-tls-fingerprints.js.j2").exists()
    assert hk("--help").returncode == 0
    validated = hk("validate")
    assert validated.returncode == 0, validated.stderr
    assert validated.stdout.count(": ok") >= 6  # three stacks, two environments each
    for stack in sorted((tmp_path / "work" / "stacks").glob("*.yaml")):
        if stack.name.endswith(".tests.yaml"):
            continue
        rendered = hk("render", "-s", f"stacks/{stack.name}", "-e", "sandbox", "-o", f"out/{stack.stem}")
        assert rendered.returncode == 0, rendered.stderr
